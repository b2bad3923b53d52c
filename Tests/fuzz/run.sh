#!/usr/bin/env bash
# Runs the fuzz harnesses built by build.sh, one after another.
#   Tests/fuzz/run.sh --seconds N [harness ...]   each harness for N seconds
#   Tests/fuzz/run.sh --runs N [harness ...]      each harness for N executions
# Each starts from its committed corpus (Tests/fuzz/corpus/<h>), its regression inputs
# (Tests/fuzz/regressions/<h>) and the project's real files of that kind; new inputs go to
# .build-fuzz/corpus/<h> (not committed), crashers to .build-fuzz/artifacts/<h>/, logs to
# .build-fuzz/logs/<h>.log. Every run fails on a crash, a leak, an input slower than 1 s or more
# than RSS_MB of memory. Prints one summary line per harness (executions, coverage, corpus).
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=.build-fuzz
LIMIT=(-max_total_time=20)
RSS_MB=${RSS_MB:-2048}
case "${1:-}" in
    --seconds) LIMIT=(-max_total_time="$2"); shift 2 ;;
    --runs) LIMIT=(-runs="$2"); shift 2 ;;
esac
HARNESSES=(parquet hnsw_index npy json_metadata yaml_config wire)
[ $# -gt 0 ] && HARNESSES=("$@")

extra_seeds() {
    case "$1" in
        parquet) echo Tests/SharedTests/Fixtures ;;
        yaml_config) echo config ;;
    esac
}

# libFuzzer reports crashes itself; the Swift runtime's backtracer would only slow each one down.
export SWIFT_BACKTRACE=enable=no
status=0
for h in "${HARNESSES[@]}"; do
    bin=$SCRATCH/harness/$h
    [ -x "$bin" ] || { echo "$bin is missing: run Tests/fuzz/build.sh first" >&2; exit 2; }
    mkdir -p "$SCRATCH/corpus/$h" "$SCRATCH/artifacts/$h" "$SCRATCH/logs"
    dirs=("$SCRATCH/corpus/$h" "Tests/fuzz/corpus/$h")
    [ -d "Tests/fuzz/regressions/$h" ] && dirs+=("Tests/fuzz/regressions/$h")
    for d in $(extra_seeds "$h"); do dirs+=("$d"); done
    log=$SCRATCH/logs/$h.log
    start=$(date +%s)
    if "$bin" "${LIMIT[@]}" -timeout=1 -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" -print_final_stats=1 \
        -artifact_prefix="$SCRATCH/artifacts/$h/" "${dirs[@]}" >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
    fi
    secs=$(( $(date +%s) - start ))
    # -a: a harness's log may hold bytes of an input; tail: libFuzzer may print its final stats twice.
    last=$(grep -aE '^#[0-9]+' "$log" | tail -1 || true)
    execs=$(grep -aoE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || echo "?")
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo "?")
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo "?")
    corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" | cut -d' ' -f2 || echo "?")
    printf '%-14s %-6s %9s execs %5ss  cov %5s  ft %6s  corpus %s\n' "$h" "$result" "$execs" "$secs" "$cov" "$ft" "$corp"
    if [ $result = FAILED ]; then
        grep -aE 'ERROR|fuzz harness:|Fatal error|SUMMARY|Test unit written|Slowest unit|==[0-9]+==' "$log" | head -20 >&2 || true
    fi
done
exit $status
