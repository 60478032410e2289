"""Export a training checkpoint as shipped weights and register it.

    python -m tools.ship_weights CKPT ID --about "one line" [--default] [--max-iterations N]

Writes ``weights/rnnc-wID.npz`` and adds the id to ``thumbcodec/registry.json`` (file,
sha256, model config, maximum iterations, one line on what it is): the one writer of the
registry. Ids are never reused (the files of older ids stay and keep decoding);
``--default`` also makes it the id new files are encoded with. Re-exporting an id that is
already registered is refused unless ``--unreleased`` says it never left this repository.
CKPT is a training checkpoint (``training.checkpoint``, .npz); its iterations are the
default maximum.

    python -m tools.ship_weights context ID FILE

registers FILE (``tools/fit_context.py``'s table, copied to ``weights/rnnc-wID.ctx.json``)
as the format-version-2 context table of ID: frozen like the weights once registered
(``--unreleased`` to replace one that never left this repository).
"""
import argparse
import json
import sys
from pathlib import Path

from thumbcodec.files import write_atomic
from thumbcodec.format import MAX_ITERATIONS, MAX_WEIGHTS_ID
from thumbcodec.entropy import ContextModel
from thumbcodec.weights import REGISTRY_FILE, sha256_of
from training import checkpoint

ROOT = Path(__file__).resolve().parent.parent


def _write(reg) -> None:
    write_atomic(REGISTRY_FILE, (json.dumps(reg, indent=1) + "\n").encode(), overwrite=True)


def context(argv) -> None:
    ap = argparse.ArgumentParser(prog="ship_weights context",
                                 description="register a context table for a weights id")
    ap.add_argument("id", type=int)
    ap.add_argument("file")
    ap.add_argument("--unreleased", action="store_true", help="allow replacing a registered table")
    args = ap.parse_args(argv)
    reg = json.loads(REGISTRY_FILE.read_text())
    entry = reg["ids"].get(str(args.id))
    if entry is None:
        sys.exit(f"weights id {args.id} is not registered")
    if "context" in entry and not args.unreleased:
        sys.exit(f"weights id {args.id} has a context table: it is frozen (--unreleased if "
                 "it never left this repository)")
    model = ContextModel.load(args.file)
    if model.weights_id != args.id or model.channels != entry["config"]["bits"]:
        sys.exit(f"{args.file} is a table for weights {model.weights_id} with "
                 f"{model.channels} channels")
    name = f"rnnc-w{args.id}.ctx.json"
    dest = ROOT / "weights" / name
    if Path(args.file).resolve() != dest.resolve():
        write_atomic(dest, Path(args.file).read_bytes(), overwrite=True)
    entry["context"] = {"file": name, "sha256": sha256_of(dest)}
    _write(reg)
    print(name, entry["context"]["sha256"])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["context"]:
        return context(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ckpt")
    ap.add_argument("id", type=int)
    ap.add_argument("--about", required=True, help="one line on what these weights are")
    ap.add_argument("--max-iterations", type=int, help="the encoder's cap [default: the "
                    "iterations the checkpoint was trained with]")
    ap.add_argument("--default", action="store_true", help="make ID the default for encoding")
    ap.add_argument("--unreleased", action="store_true", help="allow re-exporting a registered ID")
    args = ap.parse_args(argv)

    reg = json.loads(REGISTRY_FILE.read_text())
    wid, name = args.id, f"rnnc-w{args.id}.npz"
    if str(wid) in reg["ids"] and not args.unreleased:
        sys.exit(f"weights id {wid} is registered: ids are frozen (use a new id, or "
                 f"--unreleased if it never left this repository)")
    if not 1 <= wid <= MAX_WEIGHTS_ID:
        sys.exit(f"weights ids are 1..{MAX_WEIGHTS_ID} (5 bits of header byte 2)")
    meta, _ = checkpoint.read(args.ckpt)
    iters = args.max_iterations or meta.get("iterations") or 8
    if not 1 <= iters <= MAX_ITERATIONS:
        sys.exit(f"--max-iterations must be 1..{MAX_ITERATIONS}")
    digest = checkpoint.export_weights(args.ckpt, ROOT / "weights" / name)
    reg["ids"][str(wid)] = {"file": name, "sha256": digest, "max_iterations": iters,
                            "config": meta["config"], "about": args.about}
    if args.default:
        reg["default"] = wid
    _write(reg)
    print(name, digest)


if __name__ == "__main__":
    main()
