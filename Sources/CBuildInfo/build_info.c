#include "CBuildInfo.h"

// `make build` writes generated_commit.h (git-ignored) with the checkout's commit, or $GIT_COMMIT
// when set (a build outside a git checkout, such as a container build).
#if __has_include("generated_commit.h")
#include "generated_commit.h"
#endif

#ifndef TRAINER_GIT_COMMIT
#define TRAINER_GIT_COMMIT "unknown"
#endif

const char *trainer_git_commit(void) { return TRAINER_GIT_COMMIT; }
