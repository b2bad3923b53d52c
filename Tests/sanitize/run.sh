#!/usr/bin/env bash
# The unit tests, a local cluster build and a training run on the bundled sample
# under a sanitizer, in a separate scratch path so the normal build is untouched.
#   Tests/sanitize/run.sh thread [test filter]    ThreadSanitizer  (.build-tsan)
#   Tests/sanitize/run.sh address [test filter]   AddressSanitizer with LeakSanitizer (.build-asan)
# Every report of every process (the test runner, the coordinator and its worker processes, the
# training run) is written to .build-<san>/reports/; any report fails the run. ThreadSanitizer uses
# no suppressions; LeakSanitizer uses Tests/sanitize/lsan.supp (three leaks of XCTest and Foundation
# themselves, each explained there), whose "Suppressions used" tables are printed, not failures.
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
if [ "$san" = address ]; then
    opts="$opts detect_leaks=1"
    export LSAN_OPTIONS="suppressions=$PWD/Tests/sanitize/lsan.supp print_suppressions=1"
fi
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

# The whole training run on the bundled sample (the Parquet and JSON readers, the pipeline, the
# index, the quality measures, the report and the artifacts), then an incremental run over it,
# with the bundled configuration writing to the temporary folder.
sed -e "s#^\(  output_dir:\) models\b#\1 $work/models#" -e "s#^\(  log_dir:\) logs\b#\1 $work/logs#" \
    config/trainer.yml >"$work/trainer.yml"
if [ "$(grep -c "$work/" "$work/trainer.yml")" != 2 ]; then
    echo "config/trainer.yml: export.output_dir or export.log_dir not found where run.sh expects them" >&2
    status=1
else
    "$bin" train --config "$work/trainer.yml" >/dev/null 2>>"$work/log" || { cat "$work/log" >&2; status=1; }
    "$bin" train --config "$work/trainer.yml" --incremental >/dev/null 2>>"$work/log" || { cat "$work/log" >&2; status=1; }
fi

# A file that holds nothing but LeakSanitizer's table of the suppressions it used is shown, not a
# failure; anything else in any file is.
suppressions_only='^(-+|Suppressions used:|  count +bytes template| +[0-9]+ +[0-9]+ .+|)$'
failed=0
for f in "$reports"/report*; do
    [ -e "$f" ] || continue
    if grep -qvE "$suppressions_only" "$f"; then
        failed=1
        echo "$san sanitizer report ($(basename "$f")):" >&2
        cat "$f" >&2
    else
        echo "$(basename "$f"): suppressed by Tests/sanitize/lsan.supp:"
        grep -E '^ +[0-9]+ +[0-9]+ ' "$f"
    fi
done
[ $failed -eq 0 ] || exit 1
[ $status -eq 0 ] || { echo "$san-sanitized run failed (status $status)" >&2; exit $status; }
echo "$san sanitizer: clean (unit tests${filter:+ matching $filter}, a 2-worker local cluster build, a training run and an incremental one)"
