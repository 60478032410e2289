// Decodes every case the test server lists, four ways (one file at a time, all together,
// in the Worker, progressively), and POSTs what came out; tests/test_web.py judges it.
import { arithmeticDecode, codeBits, decode, decodeAll, decodeInWorker, info, toDataURL } from "/web/rnnc.js";

const b64 = (u8) => { let s = ""; for (const b of u8) s += String.fromCharCode(b); return btoa(s); };
const post = (body) => fetch("/result", { method: "POST", body: JSON.stringify(body) });
const pixels = (img) => ({ width: img.width, height: img.height, rgba: b64(img.data),
                           isImageData: img instanceof ImageData });
const unb64 = (s) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
const json = async (path) => (await fetch(path)).json();
const same = (a, b) => a.width === b.width && a.height === b.height &&
  a.data.length === b.data.length && a.data.every((v, i) => v === b.data[i]);

async function loads(url) {  // does an <img> accept the data URL? -> [width, height]
  const im = new Image();
  im.src = url;
  await im.decode();
  return [im.naturalWidth, im.naturalHeight];
}

async function main() {
  const cases = await json("/cases.json");
  const out = { cases: [], info: [], prefixes: [] };
  const good = [];
  for (const c of cases) {
    try {
      const opts = {};
      if (c.iterations !== undefined) opts.iterations = c.iterations;
      if (c.weights !== undefined) opts.weights = c.weights;  // another weights folder
      const img = await decode(c.base64, opts);
      out.cases.push({ name: c.name, ...pixels(img) });
      if (Object.keys(opts).length === 0) good.push([c, img]);
    } catch (e) {
      out.cases.push({ name: c.name, error: e.message, isError: e instanceof Error });
    }
  }
  // info of every plain case; code bits and info at every byte prefix; the bare coder
  const plain = (x) => JSON.parse(JSON.stringify(x));
  for (const c of cases.filter((c) => c.iterations === undefined && c.weights === undefined)) {
    try {
      out.info.push({ name: c.name, ...plain(await info(c.base64)) });
    } catch (e) {
      out.info.push({ name: c.name, error: e.message });
    }
  }
  for (const p of await json("/prefixes.json")) {
    const d = unb64(p.base64);
    for (let k = 6; k <= d.length; k++) {
      const { n, bits } = await codeBits(d.subarray(0, k));
      out.prefixes.push({ name: p.name, k, n, bits: bits.join(""), info: plain(await info(d.subarray(0, k))) });
    }
  }
  out.coder = (await json("/coder.json")).map((c) => arithmeticDecode(c.base64, c.probs));
  // all the good files in one call (batched per size) and in the Worker: the same pixels
  const files = good.map(([c]) => c.base64);
  const batch = await decodeAll(files);
  out.batchSame = batch.every((img, i) => same(img, good[i][1]));
  const viaWorker = await decodeInWorker(files);
  out.workerSame = viaWorker.every((img, i) => same(img, good[i][1]));
  const pooled = [];
  const viaPool = await decodeInWorker(files, { workers: 2, onStep: (i, img, t, n) => { if (t === n) pooled[i] = img; } });
  out.poolSame = viaPool.every((img, i) => same(img, good[i][1]) && same(pooled[i], img));
  out.workerError = await decodeInWorker(["AAAA"]).then(() => null, (e) => e instanceof Error && e.message);
  // progressive: one call per step, the last equal to the final image
  const [c0, img0] = good.find(([c]) => c.name.includes("134B"));
  const steps = [];
  const fin = await decode(c0.base64, { onStep: (img, t, n) => steps.push([t, n, img]) });
  out.progressive = { name: c0.name, steps: steps.map(([t, n]) => [t, n]),
                      lastSame: same(steps.at(-1)[2], fin) && same(fin, img0),
                      first: pixels(steps[0][2]) };
  const workerSteps = [];
  const wfin = await decodeInWorker([c0.base64], { onStep: (i, img, t, n) => workerSteps.push([i, t, n, same(img, steps[t - 1][2])]) });
  out.workerProgressive = { steps: workerSteps, lastSame: same(wfin[0], fin) };
  const url = await toDataURL(c0.base64);
  out.dataURL = { prefix: url.slice(0, 22), size: await loads(url) };
  await post(out);
}

main().catch((e) => post({ fatal: String(e && e.stack || e) }));
