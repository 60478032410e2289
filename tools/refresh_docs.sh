#!/usr/bin/env bash
# Regenerate everything that depends on the shipped weights (run after ship_weights.py):
# conformance vectors, the README demo picture, the learning curve, the quality and speed
# benchmarks (docs/bench/), and the fuzzer's full-decode stage.
#   bash tools/refresh_docs.sh [RUN_DIR]   (the run whose log is the learning curve; default runs/main)
set -euo pipefail
cd "$(dirname "$0")/.."
run="${1:-runs/main}"
python -m tools.make_vectors
python examples/demo.py
python -m training.train plot "$run/log.jsonl" docs/learning-curve.png
cp "$run/log.jsonl" docs/train-log.jsonl
python -m benchmarks.quality --kodak ../shared/data/kodak --out docs/bench --cache runs/bench-cache.json --device cpu
thumbcodec bench speed --device cpu --out docs/bench
python -m tools.fuzz --inputs 20000 --model 500 --seed 8 | tee docs/bench/fuzz-model-stage.txt
