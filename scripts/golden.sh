#!/usr/bin/env bash
# Writes every user-visible output of a build into one folder, so a refactor can be
# checked byte for byte: every shipped scenario (table and JSON), `list`, `help` and each
# command's --help, and the validation tables of docs/data.
#
#   scripts/golden.sh BINARY OUTDIR        e.g. scripts/golden.sh .build/release/attnsim /tmp/golden-before
#   diff -r /tmp/golden-before /tmp/golden-after
set -uo pipefail
bin="$1"; out="$2"
cd "$(dirname "$0")/.."
mkdir -p "$out"
for f in scenarios/*.json; do
  n=$(basename "$f" .json)
  "$bin" run "$f" > "$out/run-$n.txt" 2>&1; echo "exit $?" >> "$out/run-$n.txt"
  "$bin" run "$f" --format json > "$out/run-$n.json" 2>&1; echo "exit $?" >> "$out/run-$n.json"
done
"$bin" list > "$out/list.txt" 2>&1
"$bin" help > "$out/help.txt" 2>&1
for c in run kv paged roofline model tune validate rope list bench help version; do
  "$bin" help "$c" > "$out/help-$c.txt" 2>&1; echo "exit $?" >> "$out/help-$c.txt"
done
for f in docs/data/*.csv; do
  n=$(basename "$f" .csv)
  "$bin" validate "$f" > "$out/validate-$n.txt" 2>&1; echo "exit $?" >> "$out/validate-$n.txt"
done
"$bin" roofline --model llama-2-7b --context 1k,16k --allow-beyond-max > "$out/roofline-llama.txt" 2>&1
"$bin" model --model llama-2-7b --context 1k,4k --batch 8 > "$out/model-llama.txt" 2>&1
"$bin" kv --model llama-2-70b --context 4k,32k --batch 8 --dtype fp8 --allow-beyond-max > "$out/kv-llama.txt" 2>&1
"$bin" paged --model opt-13b --hardware a100-40gb-sxm --trace sharegpt > "$out/paged-opt.txt" 2>&1
"$bin" tune --algorithm flash2 --heads 16 --head-dim 64 --context 4k > "$out/tune-flash2.txt" 2>&1
"$bin" rope --base 10000 --head-dim 128 --train-length 4k --scaling abf --scaled-base 1e6 --tune-length 16k > "$out/rope-abf.txt" 2>&1
echo "wrote $(ls "$out" | wc -l) files to $out"
