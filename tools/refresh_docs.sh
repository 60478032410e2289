#!/usr/bin/env bash
# Regenerate everything that depends on the shipped weights (run after ship_weights.py):
# conformance vectors, the README demo picture, the learning curve, the quality and speed
# benchmarks (docs/bench/), the browser decoder's weights, and the fuzzer's full-decode stage.
#   bash tools/refresh_docs.sh [LOG]   (the training log of the learning curve;
#                                       default training/checkpoints/w3-log.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
log="${1:-training/checkpoints/w3-log.jsonl}"
python -m tools.make_vectors
python tools/web_weights.py
python examples/demo.py
python -m training.train plot "$log" docs/learning-curve.png
cp "$log" docs/train-log.jsonl
python -m benchmarks.quality --kodak ../shared/data/kodak --out docs/bench --cache runs/bench-cache.json --device cpu
thumbcodec bench speed --device cpu --out docs/bench
python -m tools.fuzz --inputs 20000 --model 500 --seed 8 | tee docs/bench/fuzz-model-stage.txt
