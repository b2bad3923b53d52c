#!/usr/bin/env bash
# End-to-end `trainer train` on a synthetic catalog (default 1M items), release build, all cores.
# Prints the per-phase timings, wall time and peak RSS. Usage: bench/train.sh [ITEMS]
set -euo pipefail
cd "$(dirname "$0")/.."
items=${1:-1000000}
out=bench/out/train
mkdir -p "$out"
.build/release/trainer synth --items "$items" --seed 42 --out "$out/data"
sed -e "s|data/sample/|$out/data/|" -e "s|output_dir: models|output_dir: $out/models|" -e "s|log_dir: logs|log_dir: $out/logs|" \
    config/trainer.yml > "$out/trainer.yml"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" .build/release/trainer train --config "$out/trainer.yml" 2> "$out/stderr.log" || { cat "$out/stderr.log"; exit 1; }
grep -E "phase done|wall" "$out/stderr.log"
