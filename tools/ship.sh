#!/usr/bin/env bash
# Ship a training checkpoint as a new default weights id, with every part that belongs to
# an id, then regenerate what depends on the default weights (tools/refresh_docs.sh).
#
#   bash tools/ship.sh CKPT ID "one line about the weights" [MAX_ITERATIONS] [LOG]
#
# In order: export and register the weights (--default); fit the format-version-2 context
# table on training crops (8 to 30 minutes on one core) and register it; the id's
# version-1 conformance vectors; the browser weights, measured; everything
# refresh_docs.sh regenerates (LOG: the run's training log), which includes the default
# id's version-2 vectors and every id's browser weights; the version-2 benchmark of
# issue #15 (docs/bench/entropy.json). Each step's output goes to runs/ship-ID/*.txt. The
# edits no command can make are printed at the end. Stops at the first failing step; a
# step that finished (runs/ship-ID/NAME.done) is not redone (run again to resume).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then
    echo "usage: bash tools/ship.sh CKPT ID \"about\" [MAX_ITERATIONS] [LOG]" >&2
    exit 2
fi
ckpt="$1" id="$2" about="$3" maxit="${4:-16}" log="${5:-training/checkpoints/w3-log.jsonl}"
[ -f "$ckpt" ] || { echo "ship.sh: $ckpt: no such checkpoint" >&2; exit 2; }
[ -f "$log" ] || { echo "ship.sh: $log: no such training log" >&2; exit 2; }
[ -d ../shared/data/kodak ] || { echo "ship.sh: ../shared/data/kodak is needed" >&2; exit 2; }
out="runs/ship-$id"
mkdir -p "$out"
step() {  # step NAME COMMAND...: run once, its output kept in $out/NAME.txt
    local name="$1"; shift
    if [ -f "$out/$name.done" ]; then echo "== $name: done before"; return; fi
    echo "== $name: $*"
    "$@" 2>&1 | tee "$out/$name.txt"
    touch "$out/$name.done"
}
step weights python -m tools.ship_weights "$ckpt" "$id" --about "$about" --default \
    --max-iterations "$maxit"
step fit-context python -m tools.fit_context --weights "$id" --out "$out/rnnc-w$id.ctx.json"
step context python -m tools.ship_weights context "$id" "$out/rnnc-w$id.ctx.json"
step vectors-v1 python -m tools.make_vectors "$id" --format 1
step web-weights python tools/web_weights.py "$id" --measure
step refresh bash tools/refresh_docs.sh "$log"
step web-sizes python tools/web_sizes.py --weights "$id"
step web-demo python tools/web_demo.py --screenshot docs/web-demo.png
step entropy python -m benchmarks.entropy --kodak ../shared/data/kodak --out docs/bench \
    --weights "$id"
cat <<EOF

Shipped weights $id; outputs in $out/. Edits left to make by hand:
- tools/web_weights.py: add $id to LEVELS (the levels its browser weights were made with,
  $out/web-weights.txt);
- docs/format.md: a row for id $id in the weights table, and the error text's id list;
- docs/web.md: the download sizes ($out/web-sizes.txt) and the text under the demo picture;
- docs/quality.md and the README table: the numbers of docs/bench/quality.json and
  $out/entropy.txt (the every-byte criterion of issue #15);
- docs/benchmarks.md: the throughput table (now with a row for all $maxit iterations),
  the parameters and MACs, and the date (the table \`thumbcodec bench speed\` printed, in
  $out/refresh.txt);
- docs/training.md: the learning curve and the exact commands of the run.
Look at docs/demo.png and docs/web-demo.png: Chromium's screenshot has come out with
the last row half drawn (2 of 8 shots); if so, rerun
  python tools/web_demo.py --screenshot docs/web-demo.png
Then run the tests: python -m pytest -q
EOF
