// rnnc.js: decode .rnnc thumbnails (docs/format.md) in a browser, a Worker or Node.
//
//   import { decode, toDataURL } from "./rnnc.js";
//   const img = await decode(bytes);                 // ImageData (or {width, height, data})
//   imgElement.src = await toDataURL("jlIiAfAf...");  // base64 of a 32x32 .rnnc file
//
// The network is thumbcodec/npmodel.py's decoder, run by the WebAssembly SIMD kernels of
// rnnc.wasm (source web/src/rnnc.c, built by web/build.sh) on the int8 web weights
// rnnc-w<ID>.bin that tools/web_weights.py makes, listed with their sha256 in
// weights.json. All three load relative to this module unless `weights` names another
// folder. Format version 2 payloads (an arithmetic-coded stream of the same bits) also
// need the weights id's context table, rnnc-w<ID>.ctx.json, listed in weights.json too and
// fetched only when a version-2 file comes. Errors are Error objects with the Python
// decoder's one-line messages.

const MAGIC = [0x8e, 0x52];
const VERSIONS = [1, 2];
const HEADER_SIZE = 6;
const MAX_ITERATIONS = 16;           // longest payload a file may carry (both versions)
export const MAX_PIXELS = 1024 * 1024;  // default guard against absurd sizes, as in Python
const BATCH_POSITIONS = 1024;        // code positions decoded together (64 thumbnails 32x32)

const HERE = new URL(".", import.meta.url);

// ---- header ----------------------------------------------------------------------

/** Validate and read the 6-byte header, as thumbcodec.format.parse_header. */
export function parseHeader(bytes, maxPixels = MAX_PIXELS) {
  const d = asBytes(bytes);
  if (d.length < HEADER_SIZE) {
    if (d.length > 0 && d[0] !== MAGIC[0] || d.length > 1 && d[1] !== MAGIC[1])
      throw new Error("not a .rnnc file (wrong magic)");
    throw new Error(`header cut short: ${d.length} of ${HEADER_SIZE} bytes`);
  }
  if (d[0] !== MAGIC[0] || d[1] !== MAGIC[1]) throw new Error("not a .rnnc file (wrong magic)");
  const version = d[2] >> 5, weightsId = d[2] & 0x1f;
  if (!VERSIONS.includes(version))
    throw new Error(`unknown .rnnc version ${version} (this decoder reads ${VERSIONS.join(" and ")})`);
  if (weightsId === 0) throw new Error("invalid weights id 0");
  const width = (d[3] << 4 | d[4] >> 4) + 1, height = ((d[4] & 0xf) << 8 | d[5]) + 1;
  if (width * height > maxPixels)
    throw new Error(`image of ${width}x${height} = ${width * height} pixels exceeds the ` +
                    `limit of ${maxPixels} pixels (raise it with maxPixels)`);
  return { width, height, weightsId, version };
}

function asBytes(x) {
  if (typeof x === "string") {  // base64 (standard or URL-safe, padding optional)
    const s = atob(x.trim().replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  }
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  throw new TypeError("expected a Uint8Array, an ArrayBuffer or a base64 string");
}

// ---- loading: manifest, weights, wasm (each once per URL) --------------------------

const cache = new Map();
function once(key, make) {
  if (!cache.has(key)) cache.set(key, make().catch((e) => { cache.delete(key); throw e; }));
  return cache.get(key);
}

async function fetchBytes(url) {
  if (url.protocol === "file:" && typeof process !== "undefined") {  // Node
    const { readFile } = await import("node:fs/promises");
    return new Uint8Array(await readFile(url));
  }
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function folder(opts) {
  const w = opts.weights ?? HERE;
  return new URL(String(w).endsWith("/") ? String(w) : String(w) + "/", HERE);
}

function manifest(base) {
  return once("manifest " + base, async () =>
    JSON.parse(new TextDecoder().decode(await fetchBytes(new URL("weights.json", base)))));
}

async function sha256(bytes) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;  // not a secure context: the size check still runs
  const h = new Uint8Array(await subtle.digest("SHA-256", bytes));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
}

function weightsFile(base, id, entry) {
  return once(`weights ${base} ${id}`, async () => {
    const url = new URL(entry.file, base);
    const blob = await fetchBytes(url);
    const digest = await sha256(blob);
    if (blob.length !== entry.bytes || digest !== null && digest !== entry.sha256)
      throw new Error(`weights id ${id}: ${url} has sha256 ${(digest ?? "?").slice(0, 12)}…, ` +
                      `expected ${entry.sha256.slice(0, 12)}…`);
    if (String.fromCharCode(...blob.subarray(0, 4)) !== "RNNW")
      throw new Error(`weights id ${id}: ${url} is not a web weights file`);
    const j = new DataView(blob.buffer, blob.byteOffset).getUint32(4, true);
    const desc = JSON.parse(new TextDecoder().decode(blob.subarray(8, 8 + j)));
    return { desc, data: blob.subarray(8 + j) };
  });
}

// The context table of a weights id (format version 2), checked against the manifest as
// the weights are, then as thumbcodec.entropy.ContextModel.from_dict checks it.
function contextTable(base, id, entry) {
  const ctx = entry.context;
  if (!ctx)
    return Promise.reject(new Error(`weights id ${id} has no context table, which format version 2 needs`));
  return once(`context ${base} ${id}`, async () => {
    const url = new URL(ctx.file, base);
    let blob;
    try {
      blob = await fetchBytes(url);
    } catch (e) {
      throw new Error(`weights id ${id}: cannot read ${url}: ${e.message.replace(`${url}: `, "")}`);
    }
    const digest = await sha256(blob);
    if (blob.length !== ctx.bytes || digest !== null && digest !== ctx.sha256)
      throw new Error(`weights id ${id}: ${url} has sha256 ${(digest ?? "?").slice(0, 12)}…, ` +
                      `expected ${ctx.sha256.slice(0, 12)}…`);
    let d = null;
    try { d = JSON.parse(new TextDecoder().decode(blob)); } catch { /* refused below */ }
    const shape = Array.isArray(d?.shape) ? d.shape : [], size = shape.reduce((a, b) => a * b, 1);
    const p1 = Uint16Array.from(Array.isArray(d?.p1) ? d.p1 : []);
    if (d?.prob_bits !== PROB_BITS || shape.length !== 6 || !(shape[0] >= 1) ||
        shape[1] !== entry.bits || shape.slice(2).some((k) => k !== 3) || p1.length !== size ||
        d.p1.some((p, i) => p !== p1[i] || p < 1 || p >= ONE))
      throw new Error(`weights id ${id}: ${url} is not a context table for ${entry.bits} bit channels`);
    return { T: shape[0], C: shape[1], p1 };
  });
}

function wasmModule(opts) {
  const url = new URL(opts.wasm ?? "rnnc.wasm", HERE);
  return once("wasm " + url, async () => WebAssembly.compile(await fetchBytes(url)));
}

// ---- format version 2: the arithmetic decoder (docs/format.md, "Payload, version 2") ----

const PROB_BITS = 12, ONE = 1 << PROB_BITS;  // P(bit = 1) = p / 4096, p in 1..4095
const BOTTOM = 2 ** 24;                      // R is kept in [2^24, 2^32]
const ALPHA_P1 = 1;                          // p of the flag that opens every stream

// The spec's decoder, line by line. R, A and Z reach 2^32 (they shift by a byte only
// while R < 2^24, so they stay below 2^33): plain numbers hold them exactly, 32-bit
// bitwise operators would not.
class Decoder {
  constructor(data) {
    this.d = data; this.k = 0; this.stopped = false;
    this.R = 2 ** 32; this.A = 0; this.Z = 0;
    for (let i = 0; i < 4; i++) this.shift();
  }

  shift() {  // the next byte into A and Z; past the payload, 0x00 into A and 0xFF into Z
    const k = this.k++;
    if (k < this.d.length) { this.A = this.A * 256 + this.d[k]; this.Z = this.Z * 256 + this.d[k]; }
    else { this.A = this.A * 256; this.Z = this.Z * 256 + 0xff; }
  }

  /** The next bit, with P(1) = p / 4096: 0 or 1, or -1 from the first bit the bytes do
   *  not determine on. */
  bit(p) {
    if (this.stopped) return -1;
    const R0 = Math.floor(this.R / ONE) * (ONE - p);
    let b;
    if (this.Z < R0) { b = 0; this.R = R0; }
    else if (this.A >= R0) { b = 1; this.A -= R0; this.Z -= R0; this.R -= R0; }
    else { this.stopped = true; return -1; }
    while (this.R < BOTTOM) { this.R *= 256; this.shift(); }
    return b;
  }
}

/** The bits a byte string determines, bit i with P(1) = probs[i] / 4096 (at most
 *  probs.length), as thumbcodec.entropy.decode. */
export function arithmeticDecode(bytes, probs) {
  const dec = new Decoder(asBytes(bytes)), out = [];
  for (const p of probs) {
    const b = dec.bit(p);
    if (b < 0) break;
    out.push(b);
  }
  return out;
}

/** The code bits a version-2 payload determines, as thumbcodec.entropy.ContextModel.decode:
 *  {v, n} with v[i] = 1 + bit i in the format's order (t·B + c·h·w + y·w + x), 0 where not
 *  determined, and n the bits determined (at most iterations·B; they are v's first n). */
function decodeStream(payload, table, [C, h, w], iterations) {
  const B = C * h * w, hw = h * w, { T, p1 } = table;
  const dec = new Decoder(payload);
  const flag = dec.bit(ALPHA_P1);
  if (flag === 1) throw new Error("alpha channel (version 2 flag) is not supported by this decoder");
  const v = new Uint8Array(iterations * B);
  let n = 0;
  if (flag === 0) {
    all: for (let t = 0; t < iterations; t++) {
      const base = Math.min(t, T - 1) * C;
      for (let c = 0; c < C; c++) {
        const row = (base + c) * 81;  // p1[t][c][prev][left][up][prevch], each 0 (none) or 1 + bit
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++, n++) {
            const ctx = row + (t ? 27 * v[n - B] : 0) + (x ? 9 * v[n - 1] : 0) +
                        (y ? 3 * v[n - w] : 0) + (c ? v[n - hw] : 0);
            const b = dec.bit(p1[ctx]);
            if (b < 0) break all;
            v[n] = 1 + b;
          }
        }
      }
    }
  }
  return { v, n };
}

/** For each whole iteration a version-2 payload determines, the shortest prefix of it that
 *  determines that iteration, as ContextModel.iteration_offsets (a binary search: every
 *  added byte determines as many bits or more). */
function iterationOffsets(payload, table, shape, whole) {
  const B = shape[0] * shape[1] * shape[2], out = [];
  let lo = 0;
  for (let t = 1; t <= whole; t++) {
    let a = lo, b = payload.length;  // the shortest prefix holding t·B bits is in (a, b]
    while (b - a > 1) {
      const m = (a + b) >> 1;
      if (decodeStream(payload.subarray(0, m), table, shape, t).n >= t * B) b = m;
      else a = m;
    }
    out.push(b);
    lo = b - 1;
  }
  return out;
}

// ---- the network ---------------------------------------------------------------------

/** One decoder (weights id) in its own WebAssembly instance. */
class Net {
  constructor(instance, desc, data) {
    this.k = instance.exports;
    this.cfg = desc.config;
    this.top = this.k.__heap_base.value;
    this.p = {};
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (const t of desc.tensors) this.p[t.name] = this.put(t, dv);
  }

  alloc(floats) {  // 16-byte aligned, grows memory as needed
    const at = (this.top + 15) & ~15;
    this.top = at + 4 * floats;
    const need = this.top - this.k.memory.buffer.byteLength;
    if (need > 0) this.k.memory.grow(Math.ceil(need / 65536));
    return at;
  }

  f32(at, n) { return new Float32Array(this.k.memory.buffer, at, n); }

  // A tensor into memory: a weight (O, C, k, k) packed as conv() reads it, in blocks of
  // 8 output channels, w[o/8][(ky*k + kx)*C + c][o%8], zero past O; other arrays as they
  // are (padded with zeros to a multiple of 4).
  put(t, dv) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    if (t.dtype === "int8") {
      const per = n / t.shape[0];
      for (let o = 0; o < t.shape[0]; o++) {
        const s = dv.getFloat32(t.scales + 4 * o, true);
        for (let i = 0; i < per; i++) v[o * per + i] = dv.getInt8(t.offset + o * per + i) * s;
      }
    } else {
      for (let i = 0; i < n; i++) v[i] = dv.getFloat32(t.offset + 4 * i, true);
    }
    if (!t.name.endsWith(".weight")) {
      const O4 = (n + 3) & ~3, at = this.alloc(O4);
      this.f32(at, O4).set(v);
      return { at, shape: t.shape };
    }
    const [O, C, k] = t.shape, O4 = (O + 3) & ~3, O8 = (O + 7) & ~7, T = k * k;
    const at = this.alloc(T * C * O8), w = this.f32(at, T * C * O8);
    for (let o = 0; o < O; o++)
      for (let c = 0; c < C; c++)
        for (let i = 0; i < T; i++) w[((o >> 3) * T * C + i * C + c) * 8 + (o & 7)] = v[(o * C + c) * T + i];
    return { at, O, O4, C, k };
  }

  // out = conv(x) + bias (or += conv(x) with acc) over (n, H, W, C) channels-last.
  conv(out, x, n, H, W, name, acc = false) {
    const w = this.p[name + ".weight"], b = this.p[name + ".bias"];
    this.k.conv(out, x, n, H, W, w.C, w.at, w.O4, b ? b.at : 0, w.k, acc ? 1 : 0);
    return w.O4;
  }

  /** Decode codes (steps, n, h, w, bits) of n images padded to (8h, 8w); calls
   *  onStep(t, rgba) with the n images' RGBA bytes cropped to (H, W) after each step. */
  run(codes, steps, n, h, w, H, W, onStep) {
    const cfg = this.cfg, mark = this.top, pos = n * h * w;
    const dec = cfg.dec, nl = cfg.dec_lstm;
    // scratch A: a layer's output; B: a shuffled input; states per LSTM stage
    let perA = 0, perB = cfg.dec_in, res = 1;
    for (let i = 0; i < dec.length; i++, res *= 4) {
      perA = Math.max(perA, res * (i < nl ? 4 * dec[i] : dec[i]));
      perB = Math.max(perB, res * dec[i]);  // shuffled: 4x the positions, dec[i]/4 channels
    }
    perA = Math.max(perA, res * 4);
    const A = this.alloc(pos * perA), B = this.alloc(pos * perB);
    const codeBuf = this.alloc(pos * cfg.bits);
    const states = [];
    for (let i = 0, r = 1; i < nl; i++, r *= 4)
      states.push({ h: this.alloc(pos * r * dec[i]), c: this.alloc(pos * r * dec[i]) });
    const Hp = h << dec.length, Wp = w << dec.length, pix = n * Hp * Wp;
    const xHat = cfg.additive ? this.alloc(pix * 4) : 0;
    const rgbaAt = this.alloc(n * H * W);  // n*H*W floats = n*H*W*4 bytes
    for (let i = 0, r = 1; i < nl; i++, r *= 4) {
      this.f32(states[i].h, pos * r * dec[i]).fill(0);
      this.f32(states[i].c, pos * r * dec[i]).fill(0);
    }
    for (let t = 0; t < steps; t++) {
      this.f32(codeBuf, pos * cfg.bits).set(codes.subarray(t * pos * cfg.bits, (t + 1) * pos * cfg.bits));
      let hh = h, ww = w;
      this.conv(B, codeBuf, n, hh, ww, "decoder.conv");
      for (let i = 0; i < dec.length; i++) {
        const name = `decoder.stages.${i}`;
        let src;
        if (i < nl) {
          const st = states[i];
          this.conv(A, B, n, hh, ww, name + ".conv_x");
          if (t > 0) this.conv(A, st.h, n, hh, ww, name + ".conv_h", true);
          this.k.lstm(A, st.c, st.h, n * hh * ww, dec[i]);
          src = st.h;
        } else {
          this.conv(A, B, n, hh, ww, name + ".0");
          this.k.gelu(A, n * hh * ww * dec[i]);
          src = A;
        }
        this.k.shuffle(B, src, n, hh, ww, dec[i] / 4);
        hh *= 2; ww *= 2;
      }
      this.conv(A, B, n, hh, ww, "decoder.out");
      this.k.tanh_all(A, n * hh * ww * 4);
      let y = A;
      if (cfg.additive) {
        const g = this.p.log_gain, gains = this.f32(g.at, g.shape[0]);
        this.k.add_scaled(xHat, A, Math.exp(gains[Math.min(t, g.shape[0] - 1)]), pix * 4, t === 0 ? 1 : 0);
        y = xHat;
      }
      if (onStep) {
        this.k.to_rgba(rgbaAt, y, n, Hp, Wp, H, W);
        onStep(t, new Uint8Array(this.k.memory.buffer, rgbaAt, n * H * W * 4));
      }
    }
    this.top = mark;
  }
}

function net(opts, base, id, entry) {
  return once(`net ${base} ${id} ${opts.wasm ?? ""}`, async () => {
    const [{ desc, data }, module] = await Promise.all([weightsFile(base, id, entry), wasmModule(opts)]);
    return new Net(await WebAssembly.instantiate(module, {}), desc, data);
  });
}

// ---- public API ------------------------------------------------------------------------

function image(width, height, data) {
  const px = new Uint8ClampedArray(data);  // a copy the caller owns
  return typeof ImageData !== "undefined" && typeof document !== "undefined"
    ? new ImageData(px, width, height) : { width, height, data: px };
}

/** The header fields and payload layout, as thumbcodec.info (needs weights.json):
 *  iterations, leftoverBits and iterationOffsets (the payload length at which each whole
 *  iteration ends) are null for a version-2 file whose context table cannot be had. */
export async function info(bytes, opts = {}) {
  const { entry, base, table, stream, ...f } = await layout(bytes, opts, false);
  const L = Math.ceil(f.bitsPerIteration / 8);
  f.iterationOffsets = f.version === 1 ? Array.from({ length: f.iterations }, (_, t) => L * (t + 1))
    : table && iterationOffsets(asBytes(bytes).subarray(HEADER_SIZE), table,
                                [f.bits, f.gridHeight, f.gridWidth], f.iterations);
  return f;
}

/** The code bits of a file, in the format's order (bit t·B + c·h·w + y·w + x of iteration
 *  t), as the decoder reads them: {n, bits}, bits[i] = 0 or 1 for the n bits present (a
 *  version-2 file: the bits its bytes determine). */
export async function codeBits(bytes, opts = {}) {
  const d = asBytes(bytes), f = await layout(d, opts);
  const n = f.iterations * f.bitsPerIteration + f.leftoverBits, bits = new Uint8Array(n);
  if (f.stream) for (let i = 0; i < n; i++) bits[i] = f.stream.v[i] - 1;
  else for (let i = 0; i < n; i++) bits[i] = payloadBit(d, f, i);
  return { n, bits };
}

// The header, the payload layout of its weights id (from the manifest) and, for version 2,
// the bits its stream determines. Without `strict` (info), a version-2 file whose context
// table cannot be had gets null iterations and leftoverBits, as in Python.
async function layout(bytes, opts, strict = true) {
  const d = asBytes(bytes);
  const h = parseHeader(d, opts.maxPixels ?? MAX_PIXELS);
  const base = folder(opts), m = await manifest(base);
  const entry = m.weights[String(h.weightsId)];
  if (!entry)
    throw new Error(`unknown weights id ${h.weightsId}: this install has ids ` +
                    `[${Object.keys(m.weights).join(", ")}]`);
  const s = entry.stride;
  const gw = Math.ceil(h.width / s), gh = Math.ceil(h.height / s);
  const B = gw * gh * entry.bits, L = Math.ceil(B / 8), P = d.length - HEADER_SIZE;
  const maxIt = Math.min(entry.max_iterations, MAX_ITERATIONS);
  if (P > maxIt * L)  // (version 2 too: its payloads are never longer than version 1's)
    throw new Error(`payload of ${P} bytes is longer than ${maxIt} iterations of ${L} bytes`);
  let whole = Math.floor(P / L), leftover = Math.min(8 * (P % L), B), table = null, stream = null;
  if (h.version === 2) {
    table = await contextTable(base, h.weightsId, entry).catch((e) => { if (strict) throw e; return null; });
    if (table) {
      stream = decodeStream(d.subarray(HEADER_SIZE), table, [entry.bits, gh, gw], maxIt);
      whole = Math.floor(stream.n / B);
      leftover = stream.n % B;
    } else {
      whole = leftover = null;
    }
  }
  return { ...h, headerBytes: HEADER_SIZE, payloadBytes: P, bitsPerIteration: B,
           iterations: whole, leftoverBits: leftover, gridWidth: gw, gridHeight: gh,
           bits: entry.bits, stride: s, entry, base, table, stream };
}

// Bit i (the format's order) of a version-1 payload: iteration i / B starts on a byte.
function payloadBit(d, f, i) {
  const B = f.bitsPerIteration, t = Math.floor(i / B), j = i % B;
  return d[HEADER_SIZE + t * Math.ceil(B / 8) + (j >> 3)] >> (7 - (j & 7)) & 1;
}

/** Codes of one file, channels-last per step: (steps, gh, gw, bits) in {-1, 0, +1}. */
function unpack(d, f, steps) {
  const { gridWidth: gw, gridHeight: gh, bits: C, bitsPerIteration: B } = f;
  const n = Math.min(steps * B, f.iterations * B + f.leftoverBits), out = new Float32Array(steps * B);
  for (let i = 0; i < n; i++) {
    const bit = f.stream ? f.stream.v[i] - 1 : payloadBit(d, f, i);
    const t = Math.floor(i / B), j = i % B;
    const c = Math.floor(j / (gh * gw)), yx = j % (gh * gw);  // bit index c*h*w + y*w + x
    out[t * B + yx * C + c] = bit ? 1 : -1;
  }
  return out;
}

/**
 * Decode many .rnnc files (Uint8Array, ArrayBuffer or base64 each); files of the same
 * weights, size and number of steps run through the network together.
 * opts: iterations (decode at most this many), onStep(index, image, step, steps) after
 * every step of every file (progressive display), weights (folder URL of weights.json),
 * wasm (URL of rnnc.wasm), maxPixels. Returns the final images, in order.
 */
export async function decodeAll(files, opts = {}) {
  const datas = files.map(asBytes);
  // every header is checked before anything is fetched or any network runs
  for (const d of datas) parseHeader(d, opts.maxPixels ?? MAX_PIXELS);
  const infos = await Promise.all(datas.map((d) => layout(d, opts)));
  const groups = new Map();
  infos.forEach((f, i) => {
    let steps = f.iterations + (f.leftoverBits ? 1 : 0);
    if (opts.iterations !== undefined) steps = Math.min(steps, Math.max(0, opts.iterations));
    const key = `${f.weightsId} ${f.width} ${f.height} ${Math.max(steps, 1)}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push({ i, f, steps });
  });
  const out = new Array(datas.length);
  for (const items of groups.values()) {
    const { f } = items[0], steps = Math.max(items[0].steps, 1);  // no bits: one zero step
    const model = await net(opts, f.base, f.weightsId, f.entry);
    const per = Math.max(1, Math.floor(BATCH_POSITIONS / (f.gridWidth * f.gridHeight)));
    for (let s0 = 0; s0 < items.length; s0 += per) {
      const chunk = items.slice(s0, s0 + per), n = chunk.length, B = f.bitsPerIteration;
      const codes = new Float32Array(steps * n * B);
      chunk.forEach(({ i, f: fi, steps: own }, j) => {
        const c = unpack(datas[i], fi, own);
        for (let t = 0; t < own; t++) codes.set(c.subarray(t * B, (t + 1) * B), (t * n + j) * B);
      });
      const size = f.width * f.height * 4;
      model.run(codes, steps, n, f.gridHeight, f.gridWidth, f.height, f.width, (t, rgba) => {
        chunk.forEach(({ i }, j) => {
          if (opts.onStep) opts.onStep(i, image(f.width, f.height, rgba.subarray(j * size, (j + 1) * size)), t + 1, steps);
          if (t === steps - 1) out[i] = image(f.width, f.height, rgba.subarray(j * size, (j + 1) * size));
        });
      });
    }
  }
  return out;
}

/** Decode one file; opts as decodeAll, with onStep(image, step, steps). */
export async function decode(bytes, opts = {}) {
  const onStep = opts.onStep && ((i, img, t, n) => opts.onStep(img, t, n));
  return (await decodeAll([bytes], { ...opts, onStep }))[0];
}

/** A PNG data URL for an <img>: of a decoded image, or of .rnnc bytes (decoded first). */
export async function toDataURL(x, opts = {}) {
  const img = x && x.data && x.width ? x : await decode(x, opts);
  let s = "";
  const png = encodePNG(img);
  for (let i = 0; i < png.length; i += 0x8000) s += String.fromCharCode(...png.subarray(i, i + 0x8000));
  return "data:image/png;base64," + btoa(s);
}

// ---- decoding in a Worker ---------------------------------------------------------------

const pool = [];              // module Workers (rnnc-worker.js), started as needed
const pending = new Map();   // job id -> { resolve, reject, opts, offset, worker }
let jobs = 0;

function startWorker() {
  const w = new Worker(new URL("rnnc-worker.js", import.meta.url), { type: "module" });
  w.onerror = (e) => {  // the Worker could not start: fail its pending jobs
    for (const [id, job] of pending) {
      if (job.worker !== w) continue;
      pending.delete(id);
      job.reject(new Error(`rnnc-worker.js: ${e.message ?? "failed to load"}`));
    }
    pool.splice(pool.indexOf(w), 1);
  };
  w.onmessage = ({ data: m }) => {
    const job = pending.get(m.job);
    if (!job) return;
    if (m.step) {
      job.opts.onStep?.(job.offset + m.index, image(m.width, m.height, m.data), m.step, m.steps);
    } else {
      pending.delete(m.job);
      if (m.error) job.reject(new Error(m.error));
      else job.resolve(m.images.map((r) => image(r.width, r.height, r.data)));
    }
  };
  return w;
}

function send(worker, files, offset, opts) {
  const job = ++jobs, bytes = files.map((f) => f.slice());
  const plain = { iterations: opts.iterations, maxPixels: opts.maxPixels, progressive: !!opts.onStep,
                  weights: String(folder(opts)), wasm: String(new URL(opts.wasm ?? "rnnc.wasm", HERE)) };
  return new Promise((resolve, reject) => {
    pending.set(job, { resolve, reject, opts, offset, worker });
    worker.postMessage({ job, files: bytes, opts: plain }, bytes.map((b) => b.buffer));
  });
}

/**
 * decodeAll in module Workers, so the page stays responsive: the files are split in
 * `opts.workers` consecutive parts (default: one Worker per spare core, at most 4), each
 * decoded (batched per size) by its own Worker; onStep indices are the list's.
 */
export async function decodeInWorker(files, opts = {}) {
  const datas = files.map(asBytes);
  for (const d of datas) parseHeader(d, opts.maxPixels ?? MAX_PIXELS);  // fail before any work
  if (datas.length === 0) return [];
  const cores = globalThis.navigator?.hardwareConcurrency || 2;
  const k = Math.max(1, Math.min(opts.workers ?? Math.min(4, cores - 1), datas.length));
  while (pool.length < k) pool.push(startWorker());
  const per = Math.ceil(datas.length / k), parts = [];
  for (let w = 0; w * per < datas.length; w++)
    parts.push(send(pool[w], datas.slice(w * per, (w + 1) * per), w * per, opts));
  return (await Promise.all(parts)).flat();
}

// ---- a minimal PNG writer (stored deflate), for data URLs without a canvas ------------

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function encodePNG({ width, height, data }) {
  const row = width * 4 + 1, raw = new Uint8Array(row * height);
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * width * 4, (y + 1) * width * 4), y * row + 1);
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const z = new Uint8Array(2 + raw.length + 5 * blocks + 4);
  z[0] = 0x78; z[1] = 0x01;
  let p = 2, a = 1, b = 0;
  for (let i = 0; i < blocks; i++) {
    const part = raw.subarray(i * 65535, (i + 1) * 65535), len = part.length;
    z.set([i === blocks - 1 ? 1 : 0, len & 255, len >> 8, ~len & 255, (~len >> 8) & 255], p);
    z.set(part, p + 5);
    p += 5 + len;
  }
  for (let i = 0; i < raw.length; i++) { a = (a + raw[i]) % 65521; b = (b + a) % 65521; }
  new DataView(z.buffer).setUint32(p, ((b << 16) | a) >>> 0);
  const chunk = (type, body) => {
    const c = new Uint8Array(12 + body.length), dv = new DataView(c.buffer);
    dv.setUint32(0, body.length);
    for (let i = 0; i < 4; i++) c[4 + i] = type.charCodeAt(i);
    c.set(body, 8);
    let crc = 0xffffffff;
    for (let i = 4; i < 8 + body.length; i++) crc = CRC[(crc ^ c[i]) & 255] ^ (crc >>> 8);
    dv.setUint32(8 + body.length, (crc ^ 0xffffffff) >>> 0);
    return c;
  };
  const ihdr = new Uint8Array(13), dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width); dv.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8);  // 8-bit RGBA
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), chunk("IHDR", ihdr),
                 chunk("IDAT", z), chunk("IEND", new Uint8Array(0))];
  const png = new Uint8Array(parts.reduce((s, q) => s + q.length, 0));
  let o = 0;
  for (const q of parts) { png.set(q, o); o += q.length; }
  return png;
}
