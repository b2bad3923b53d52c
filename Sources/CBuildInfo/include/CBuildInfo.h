#ifndef CBUILDINFO_H
#define CBUILDINFO_H
/// The commit the trainer was built from, embedded at build time (`make build` writes it);
/// "unknown" for a build without it.
const char *trainer_git_commit(void);
#endif
