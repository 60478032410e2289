"""Encode a whole catalogue on a Dask cluster: thumbcodec's batch job, one share per worker.

    python examples/scale_out.py SRC_DIR OUT_DIR --bytes 64 --workers 2
    python examples/scale_out.py --table in.parquet --out-table out.parquet --bytes 64
    python examples/scale_out.py SRC_DIR OUT_DIR --bytes 64 --scheduler tcp://host:8786

Files: every image Pillow reads under SRC_DIR gives OUT_DIR/<relative path without its
suffix>.rnnc, by ``thumbcodec.batch.plan`` (the rule of ``thumbcodec encode DIR -o OUT``,
clashes included: the later input fails). Each task runs ``thumbcodec.batch.encode_files``
on its share of those pairs, so outputs are written atomically, created exclusively, a bad
image is a failed row and not a failed job, and a re-run skips what exists. The bytes are
those ``thumbcodec encode`` writes with the same options and backend.

Table: a Parquet file with a ``path`` column gives a Parquet dataset (a folder of
``part-*.parquet`` files, one per task, each written atomically; a re-run skips parts that
exist) with columns path, width, height (the coded size), rnnc (the file's bytes) and
error (null when it worked).

Without ``--scheduler`` a local cluster of ``--workers`` processes (one thread each) is
started and closed here. Each worker loads the model once, when it joins (a worker
plugin), and keeps it for every task. stdout gets exactly one JSON object; Dask's own
logs go to stderr. Needs the ``scale-out`` extra: ``pip install -e '.[scale-out]'``.
"""
from __future__ import annotations

import io
import json
import math
import os
import sys
import time
from pathlib import Path

import click
from distributed import Client, LocalCluster, WorkerPlugin, get_worker

from thumbcodec import batch, engine
from thumbcodec import weights as W
from thumbcodec.files import clean_stale, write_atomic

TASKS_PER_WORKER = 4  # shares per worker: enough to balance uneven workers, few enough to batch


# ---- on the workers

class LoadModel(WorkerPlugin):
    """Worker plugin: load the network when a worker starts (``engine.load`` keeps one per
    process, so every task on that worker uses it)."""

    name = "thumbcodec-model"

    def __init__(self, weights_id: int, device: str, backend: str):
        self.args = (weights_id, device, backend)

    def setup(self, worker):
        engine.load(*self.args)


def _where(opts) -> dict:
    # the network this worker used: the same object for all its tasks if it loaded once
    model = engine.load(opts["weights_id"], opts["device"], opts["backend"])
    return {"worker": get_worker().address, "pid": os.getpid(), "model": id(model)}


def encode_share(pairs, opts: dict) -> dict:
    """One task: ``batch.encode_files`` on (input, output) pairs; skips outputs that exist."""
    results = batch.encode_files(pairs, skip_existing=True, **opts)
    return {**_where(opts), "results": [r.to_dict() for r in results]}


def encode_part(paths, part: Path, opts: dict) -> dict:
    """One task of the table job: encode ``paths`` in memory (``batch.encode_files`` with
    standard output as the output, so the bytes come back in ``Result.data``) and write one
    Parquet part file, atomically; a part that exists is skipped whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    clean_stale(part)  # temporary files of a killed writer of this part
    if part.exists():  # done by an earlier run: its failures are still failures
        done = pq.read_table(part, columns=["path", "error"]).to_pylist()
        return {**_where(opts), "results": [
            {"input": r["path"], "ok": r["error"] is None, "error": r["error"], "skipped": True}
            for r in done]}
    pairs = [(Path(p), batch.STDIO) for p in paths if p != batch.STDIO]
    results = iter(batch.encode_files(pairs, **opts))
    rows = []
    for p in paths:
        r = next(results) if p != batch.STDIO else batch.Result(p, False, error="- is not a file")
        rows.append({"path": p, "width": r.details.get("width"), "height": r.details.get("height"),
                     "rnnc": r.data, "error": r.error})
    schema = pa.schema([("path", pa.string()), ("width", pa.int32()), ("height", pa.int32()),
                        ("rnnc", pa.binary()), ("error", pa.string())])
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema), buf)
    part.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(part, buf.getvalue())
    return {**_where(opts), "results": [{"input": row["path"], "ok": row["error"] is None,
                                         "error": row["error"]} for row in rows]}


# ---- on the client

def start(workers: int = 2, scheduler: str | None = None):
    """A Dask client: of the cluster at ``scheduler``, or of a local cluster of ``workers``
    processes with one thread each (closed with the client: ``client.close();
    client.cluster.close()``, or use ``close``)."""
    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster)


def close(client) -> None:
    """Close the client, and the local cluster that ``start`` made for it (a remote
    cluster keeps running)."""
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()


def job_options(*, nbytes=None, iterations=None, fit="auto", weights_id=None, device="auto",
                backend="auto", n_images=batch.CHUNK + 1, max_pixels=None) -> dict:
    """The options of ``batch.encode_files`` for every task, with "auto" resolved once, here,
    for the whole job (as ``thumbcodec encode`` would for a folder of that many images) so
    that no share picks another backend because it is small."""
    if (nbytes is None) == (iterations is None):
        raise ValueError("give exactly one of nbytes or iterations")
    return {"nbytes": nbytes, "iterations": iterations, "fit": fit,
            "weights_id": W.DEFAULT_ID if weights_id is None else weights_id,
            "device": device, "max_pixels": max_pixels,
            "backend": engine.pick_backend(backend, device, n_images)}


def _shares(items, n_workers: int) -> list[list]:
    size = max(1, min(batch.CHUNK, math.ceil(len(items) / (n_workers * TASKS_PER_WORKER))))
    return [items[s: s + size] for s in range(0, len(items), size)]


def _run(client, fn, tasks) -> tuple[dict, float]:
    """fn(*args) for every args in tasks, on the cluster; the report's counts and the
    seconds it took."""
    t0 = time.perf_counter()
    outs = client.gather([client.submit(fn, *args, pure=False) for args in tasks])
    seconds = time.perf_counter() - t0
    per_worker, models = {}, {}
    done = skipped = 0
    failed = []
    for out in outs:
        per_worker[out["worker"]] = per_worker.get(out["worker"], 0) + len(out["results"])
        models.setdefault(out["worker"], set()).add((out["pid"], out["model"]))
        for r in out["results"]:
            if not r["ok"]:
                failed.append({"input": r["input"], "error": r["error"]})
            elif r.get("skipped"):
                skipped += 1
            else:
                done += 1
    report = {"done": done, "skipped": skipped, "failed": failed,
              "per_worker": dict(sorted(per_worker.items())),
              "model_loads": {w: len(m) for w, m in sorted(models.items())},
              "worker_rss_mb": {w: round(b / 2**20) for w, b in sorted(client.run(_rss).items())}}
    return report, seconds


def _rss() -> int:
    import psutil  # a dependency of distributed
    return psutil.Process().memory_info().rss


def _prepare(client, opts) -> int:
    workers = len(client.scheduler_info()["workers"])
    client.register_plugin(LoadModel(opts["weights_id"], opts["device"], opts["backend"]))
    return workers


def encode_folder(client, src, out, **options) -> dict:
    """Encode every image under ``src`` into ``out`` (``thumbcodec encode src -o out
    --skip-existing`` on the cluster); the report ``main`` prints."""
    pairs = batch.plan(batch.expand([src]), out, ".rnnc") if Path(src).is_dir() else []
    if not pairs:
        raise click.UsageError(f"{src}: no images found (give a folder)")
    opts = job_options(n_images=len(pairs), **options)
    workers = _prepare(client, opts)
    report, seconds = _run(client, encode_share, [(s, opts) for s in _shares(pairs, workers)])
    return {"engine": "dask", "version": _version(), "workers": workers,
            "images": len(pairs), **report, "seconds": round(seconds, 3),
            "backend": opts["backend"]}


def encode_table(client, table, out_table, **options) -> dict:
    """Encode the images named in the ``path`` column of a Parquet file into the Parquet
    dataset ``out_table`` (a folder of parts; read it whole with
    ``pyarrow.parquet.read_table(out_table)``)."""
    import pyarrow.parquet as pq
    paths = pq.read_table(table, columns=["path"]).column("path").to_pylist()
    if not paths:
        raise click.UsageError(f"{table}: no rows")
    opts = job_options(n_images=len(paths), **options)
    workers = _prepare(client, opts)
    shares = _shares(paths, workers)
    out_table, width, first = Path(out_table), len(str(len(paths))), 0
    parts = []
    for share in shares:  # named by their rows, so that a re-run finds the same parts
        parts.append(out_table / f"part-{first:0{width}d}-{first + len(share):0{width}d}.parquet")
        first += len(share)
    if out_table.exists() and not out_table.is_dir():
        raise click.UsageError(f"{out_table}: exists and is not a folder")
    report, seconds = _run(client, encode_part, [(s, p, opts) for s, p in zip(shares, parts)])
    return {"engine": "dask", "version": _version(), "workers": workers,
            "images": len(paths), **report, "seconds": round(seconds, 3),
            "backend": opts["backend"], "table": str(out_table)}


def _version() -> str:
    import distributed
    return distributed.__version__


@click.command()
@click.argument("src", required=False, type=click.Path(exists=True, file_okay=False))
@click.argument("out", required=False, type=click.Path())
@click.option("--table", type=click.Path(exists=True, dir_okay=False),
              help="Input Parquet file with a path column (instead of SRC OUT).")
@click.option("--out-table", type=click.Path(), help="Output Parquet dataset (a folder).")
@click.option("--bytes", "nbytes", type=click.IntRange(1), help="Whole-file budget, header "
              "included; filled byte-exact.")
@click.option("--iterations", type=click.IntRange(0), help="Whole iterations to write.")
@click.option("--fit", type=click.IntRange(1, 4096), help="Code with the longer side N "
              "[default: as thumbcodec encode].")
@click.option("--weights", "weights_id", type=click.IntRange(1, 31), default=None,
              help="Weights id [default: the default id of this install].")
@click.option("--backend", type=click.Choice(engine.BACKENDS), default="auto",
              help="Network backend, resolved once for the whole job.")
@click.option("--device", type=click.Choice(engine.DEVICES), default="auto")
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True,
              help="Local worker processes (one thread each).")
@click.option("--scheduler", help="Address of a running Dask scheduler (tcp://host:8786) "
              "instead of a local cluster.")
def main(src, out, table, out_table, nbytes, iterations, fit, weights_id, backend, device,
         workers, scheduler):
    """Encode a folder (SRC OUT) or a table (--table IN --out-table OUT) on Dask; prints one
    JSON report on stdout."""
    if (src is None) == (table is None) or (src is None) != (out is None) \
            or (table is None) != (out_table is None):
        raise click.UsageError("give SRC_DIR OUT_DIR, or --table IN --out-table OUT")
    if (nbytes is None) == (iterations is None):
        raise click.UsageError("give exactly one of --bytes or --iterations")
    options = dict(nbytes=nbytes, iterations=iterations, fit=fit or "auto",
                   weights_id=weights_id, backend=backend, device=device)
    t0 = time.perf_counter()
    client = start(workers, scheduler)
    started = time.perf_counter() - t0
    try:
        if table:
            report = encode_table(client, table, out_table, **options)
        else:
            report = encode_folder(client, src, out, **options)
    finally:
        close(client)
    report["startup_seconds"] = round(started, 3)
    click.echo(json.dumps(report))
    sys.exit(1 if report["failed"] else 0)


if __name__ == "__main__":
    main()
