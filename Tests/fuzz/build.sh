#!/usr/bin/env bash
# Builds the coverage-guided fuzz harnesses (libFuzzer + AddressSanitizer) against the package's
# own modules: SwiftPM compiles HNSW, Shared and their dependencies with libFuzzer's coverage and
# AddressSanitizer into a separate scratch path (.build-fuzz), then each
# harness in Tests/fuzz/harness is linked with those objects by swiftc -sanitize=fuzzer,address.
# Binaries land in .build-fuzz/harness/<name>. Usage: Tests/fuzz/build.sh [harness ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFT=${SWIFT:-swift}
SWIFTC=${SWIFTC:-swiftc}
SCRATCH=.build-fuzz
HARNESSES=(parquet hnsw_index npy json_metadata yaml_config wire)
[ $# -gt 0 ] && HARNESSES=("$@")

# Not `--sanitize=fuzzer --sanitize=address`: SwiftPM hands swiftc two -sanitize= flags in no fixed
# order, and swiftc keeps only the last, so the Swift modules lost either coverage or ASan from one
# build to the next. One combined flag for swiftc and one for clang keep both.
FLAGS=(-c release --scratch-path $SCRATCH -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address)
$SWIFT build "${FLAGS[@]}" --target Shared >&2
BIN=$($SWIFT build "${FLAGS[@]}" --show-bin-path)

# The objects of Shared and everything it depends on (not the executables, tests or cluster roles).
TARGETS=(HNSW CKernels Shared CBuildInfo Yams CYaml Crypto CCryptoBoringSSL CCryptoBoringSSLShims CryptoBoringWrapper Logging)
OBJECTS=()
for t in "${TARGETS[@]}"; do
    [ -d "$BIN/$t.build" ] || continue
    while IFS= read -r o; do OBJECTS+=("$o"); done < <(find "$BIN/$t.build" -name '*.o' | sort)
done
# The C modules the Swift modules import: their module maps and headers.
CFLAGS=()
while IFS= read -r m; do CFLAGS+=(-Xcc "-fmodule-map-file=$m"); done < <(
    { find "$BIN" -maxdepth 2 -name module.modulemap; find Sources "$SCRATCH/checkouts" -path '*/include/module.modulemap'; \
      echo Sources/CCompression/module.modulemap; echo Sources/CNNG/module.modulemap; echo Sources/CMalloc/module.modulemap; } | sort -u)
for inc in Sources/*/include $SCRATCH/checkouts/*/Sources/*/include; do [ -d "$inc" ] && CFLAGS+=(-Xcc -I -Xcc "$inc"); done

# Both instrumentations must be in the modules under test, or the figures would be meaningless.
for o in "$BIN/Shared.build/ParquetReader.swift.o" "$BIN/HNSW.build/HNSWIndex+Persistence.swift.o"; do
    sections=$(objdump -h "$o"); symbols=$(nm "$o")   # whole outputs: `| grep -q` would end the pipe early
    grep -q sancov <<<"$sections" || { echo "$o has no coverage instrumentation" >&2; exit 1; }
    grep -q __asan <<<"$symbols" || { echo "$o has no AddressSanitizer instrumentation" >&2; exit 1; }
done

mkdir -p $SCRATCH/harness
for h in "${HARNESSES[@]}"; do
    echo "linking $h" >&2
    $SWIFTC -O -g -parse-as-library -swift-version 6 -sanitize=fuzzer,address -module-name "fuzz_$h" \
        -I "$BIN/Modules" "${CFLAGS[@]}" \
        Tests/fuzz/harness/Common.swift "Tests/fuzz/harness/$h.swift" "${OBJECTS[@]}" \
        -lstdc++ -o "$SCRATCH/harness/$h"
done
