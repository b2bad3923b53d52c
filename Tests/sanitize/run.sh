#!/usr/bin/env bash
# The unit tests and a local cluster build under a sanitizer, in a separate scratch path so the
# normal build is untouched.
#   Tests/sanitize/run.sh thread [test filter]    ThreadSanitizer  (.build-tsan)
#   Tests/sanitize/run.sh address [test filter]   AddressSanitizer (.build-asan)
# Every report of every process (the test runner, the coordinator and its worker processes) is
# written to .build-<san>/reports/; any report fails the run. No suppressions are used.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFT=${SWIFT:-swift}
san=${1:?usage: run.sh thread|address [test filter]}
filter=${2:-}
case "$san" in
    thread) scratch=.build-tsan; opts_var=TSAN_OPTIONS ;;
    address) scratch=.build-asan; opts_var=ASAN_OPTIONS ;;
    *) echo "unknown sanitizer $san (thread or address)" >&2; exit 2 ;;
esac
reports=$PWD/$scratch/reports
rm -rf "$reports"
mkdir -p "$reports"
# log_path: one file per process; exitcode: a report also fails the process that made it.
opts="log_path=$reports/report exitcode=66"
export "$opts_var=$opts"

flags=(-c release --sanitize="$san" --scratch-path "$scratch" -Xswiftc -enable-testing)
$SWIFT build "${flags[@]}" --build-tests
status=0
if [ -n "$filter" ]; then
    $SWIFT test "${flags[@]}" --skip-build --filter "$filter" || status=$?
else
    $SWIFT test "${flags[@]}" --skip-build || status=$?
fi

# The job server, its workers and the transport: a local cluster build of 4 shards on 2 worker
# processes, every one of them sanitized.
bin=$($SWIFT build "${flags[@]}" --show-bin-path)/trainer
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" synth-vectors --rows 2000 --dim 16 --clusters 8 --out "$work/v.npy" >/dev/null
TRAINER_CLUSTER_TOKEN=sanitizer-run-token-0123456789 \
    "$bin" build-index --vectors "$work/v.npy" --out "$work/i.bin" -M 8 --ef-construction 40 --space l2 \
    --workers 2 --shards 4 --json >"$work/out.json" 2>"$work/log" || { cat "$work/log" >&2; status=1; }
"$bin" build-index --vectors "$work/v.npy" --out "$work/l.bin" -M 8 --ef-construction 40 --mode locked --threads 2 \
    >/dev/null 2>>"$work/log" || { cat "$work/log" >&2; status=1; }

if compgen -G "$reports/report*" >/dev/null; then
    echo "$san sanitizer reports:" >&2
    cat "$reports"/report* >&2
    exit 1
fi
[ $status -eq 0 ] || { echo "$san-sanitized run failed (status $status)" >&2; exit $status; }
echo "$san sanitizer: clean (unit tests${filter:+ matching $filter}, a 2-worker local cluster build, a locked build)"
