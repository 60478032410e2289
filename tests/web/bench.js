// Times decodeAll on the files /bench.json lists (groups of equal files), main thread, one
// Worker and two; POSTs {label: ms per thumbnail}; tools/web_bench.py prints it.
import { decode, decodeAll, decodeInWorker } from "/web/rnnc.js";

const post = (body) => fetch("/result", { method: "POST", body: JSON.stringify(body) });

async function best(fn, repeats) {  // the fastest of `repeats` runs, in ms
  let t = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await fn();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

async function main() {
  const { groups, repeats } = await (await fetch("/bench.json")).json();
  const out = { userAgent: navigator.userAgent, runs: [] };
  let t0 = performance.now();
  await decode(groups[0].files[0]);  // load weights.json, weights, compile the wasm
  out.firstDecodeMs = performance.now() - t0;
  t0 = performance.now();
  await decodeInWorker([groups[0].files[0]]);
  out.firstWorkerDecodeMs = performance.now() - t0;
  for (const g of groups) {
    for (const n of g.batches) {
      const files = g.files.slice(0, n);
      const ms = await best(() => decodeAll(files), repeats);
      const wms = await best(() => decodeInWorker(files, { workers: 1 }), repeats);
      const pms = await best(() => decodeInWorker(files, { workers: 2 }), repeats);
      out.runs.push({ label: g.label, batch: n, msPerThumb: ms / n, workerMsPerThumb: wms / n,
                      twoWorkersMsPerThumb: pms / n });
    }
  }
  await post(out);
}

main().catch((e) => post({ fatal: String(e && e.stack || e) }));
