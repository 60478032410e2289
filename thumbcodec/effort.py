"""Encoder effort: search the bits against the decoder (issue #18).

The decoder is fixed and known to the encoder, and an iteration holds few bits (128 at
32x32), so the encoder can check which bits the decoder turns into the better picture.
For each iteration t, on the NumPy network (every install has it)::

    b   = the encoder's proposal b_t, bits past the budget set to 0 (what a decoder of a
          file cut inside the iteration sees, docs/format.md)
    decode b from the decoder state after iterations < t; score it (the objective of
    the 8-bit reconstruction) and take the gradient g of the objective with respect to
    the bits (one backward pass through the decoder step, ``_Step.grad``)
    repeat up to `rounds` times:
        rank the kept bits by the first-order gain of flipping them, -2 b_k g_k;
        decode, as one batch, the `exact` best single flips and the `multi` sets of the
        2, 3, ... best flips at once (those predicted to gain); keep the best candidate
        if it raises the score, else stop; the gradient is taken again at the kept one
    the decoder state advances with the chosen b, and the encoder goes on from the
    residual x - x_hat_t of the chosen b.

The objective (``tune``): "ssim" the project's patch SSIM (``metrics.patch_ssim``) of the
8-bit reconstruction against the input at the coded size (images under 8 px on a side use
"psnr"); "psnr" minus the mean squared error of the 8-bit pixels; "loss" the form of the
training loss, MSE in model range + SSIM_SHARE * (1 - patch SSIM): it raises SSIM and PSNR
together, where "ssim" alone costs PSNR (issue #18), and is the default (DEFAULT_TUNE).
Gradients use the reconstruction before rounding to 8 bits; scores use the 8-bit pixels.

The search decodes with its own channels-last NumPy code (``_Step``): the same
arithmetic as ``npmodel`` up to float rounding, so the reconstruction a decoder makes of
the chosen bits matches the search's score to within a rare pixel value of rounding.
Each image is searched on its own, with batches whose shape depends on that image only,
so an image gets the same bits alone or in a batch. Level 0 is not a search: the codec
then keeps the ordinary encoder (byte for byte).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from .errors import ThumbcodecError
from .metrics import PATCH, patch_ssim
from .npmodel import _sigmoid
from .pixels import RANGE, from_model, pad_to, to_model

TUNES = ("ssim", "psnr", "loss")
DEFAULT_TUNE = "loss"
SSIM_SHARE = 0.1  # "loss": MSE + 0.1 (1 - patch SSIM), the form of the training loss (weights
                  # 2 used 0.04, the w3 run 0.1); 0.1 gained more SSIM than 0.04 at the same
                  # PSNR on Kodak (experiments/effort_probe.json)
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # metrics.ssim_from_moments, 8-bit pixels


@dataclass(frozen=True)
class Level:
    rounds: int      # search rounds per iteration at most (0: the ordinary encoder)
    exact: int       # best-ranked single flips decoded exactly per round
    multi: int = 0   # and sets of the 2..multi+1 best flips at once
    last: int = 0    # rounds for the file's last iteration, the picture a reader sees
                     # (0: as the others)

    @property
    def searches(self) -> bool:
        return bool(self.rounds or self.last)

    __bool__ = searches.fget  # a level is true when it searches (level 0 is false)


# Effort levels, measured in docs/benchmarks.md (python -m benchmarks.effort); chosen from
# experiments/effort_probe.json, where extra rounds on the file's last iteration bought the
# most per second.
LEVELS = (Level(0, 0), Level(1, 3, 2, 12), Level(2, 4, 3, 16), Level(4, 4, 3, 16),
          Level(10, 6, 3, 24))
DEFAULT_EFFORT = 2  # the CLI's: >= +0.01 SSIM at 64 and 128 B, PSNR kept, well under 1 s


def level(effort: int) -> Level:
    """The search of an effort level (0: the ordinary encoder)."""
    if isinstance(effort, bool) or not isinstance(effort, (int, np.integer)) \
            or not 0 <= effort < len(LEVELS):
        raise ThumbcodecError(f"effort must be 0..{len(LEVELS) - 1}, got {effort!r}")
    return LEVELS[int(effort)]


rounds_for = level  # the name codec.py knew it by


def _check_tune(tune):
    if tune not in TUNES:
        raise ThumbcodecError(f"unknown tune {tune!r}: use one of {', '.join(TUNES)}")


def objective(recon_u8: np.ndarray, ref_u8: np.ndarray, tune: str = DEFAULT_TUNE) -> np.ndarray:
    """Higher is better. (N, H, W, 3) uint8 reconstructions against one (H, W, 3) uint8
    reference -> (N,) float64."""
    _check_tune(tune)
    small = min(ref_u8.shape[:2]) < PATCH
    if tune == "ssim" and not small:
        return patch_ssim(recon_u8, ref_u8)
    d = recon_u8.astype(np.float64) - ref_u8.astype(np.float64)
    mse = (d * d).mean(axis=(-3, -2, -1))
    if tune == "loss":
        mse = mse * (2 * RANGE / 255) ** 2  # in model range, as the training loss
        return -mse if small else -(mse + SSIM_SHARE * (1 - patch_ssim(recon_u8, ref_u8)))
    return -mse


def _ssim_grad(u, ref):
    """d patch SSIM / d u for one (H, W, 3) float64 image u (8-bit scale, not rounded)."""
    h, w, c = u.shape
    nh, nw = h // PATCH, w // PATCH
    a = u[: nh * PATCH, : nw * PATCH].reshape(nh, PATCH, nw, PATCH, c)
    b = ref[: nh * PATCH, : nw * PATCH].astype(np.float64).reshape(nh, PATCH, nw, PATCH, c)
    mu_a, mu_b = a.mean((1, 3), keepdims=True), b.mean((1, 3), keepdims=True)
    da, db = a - mu_a, b - mu_b
    var_a, var_b = (da * da).mean((1, 3), keepdims=True), (db * db).mean((1, 3), keepdims=True)
    cov = (da * db).mean((1, 3), keepdims=True)
    a1, a2 = 2 * mu_a * mu_b + _C1, 2 * cov + _C2
    b1, b2 = mu_a ** 2 + mu_b ** 2 + _C1, var_a + var_b + _C2
    s = a1 * a2 / (b1 * b2)
    n = PATCH * PATCH
    ds = s * (2 / n) * (mu_b / a1 + db / a2 - mu_a / b1 - da / b2) / (nh * nw * c)
    g = np.zeros_like(u)
    g[: nh * PATCH, : nw * PATCH] = ds.reshape(nh * PATCH, nw * PATCH, c)
    return g


def objective_grad(u: np.ndarray, ref_u8: np.ndarray, tune: str = DEFAULT_TUNE) -> np.ndarray:
    """d ``objective`` / d u at one (H, W, 3) reconstruction u in 8-bit scale before
    rounding (the rounding itself has no useful gradient)."""
    small = min(ref_u8.shape[:2]) < PATCH
    if tune == "ssim" and not small:
        return _ssim_grad(u, ref_u8)
    g = -2.0 * (u - ref_u8) / u.size
    if tune == "loss":
        g *= (2 * RANGE / 255) ** 2
        if not small:
            g += SSIM_SHARE * _ssim_grad(u, ref_u8)
    return g

# ---- the decoder step, channels-last, forward for many candidates and backward for one

def _conv(x, w, b=None):
    """'same' convolution, stride 1, channels last: (N, H, W, C) * (k*k*C, O) taps-major
    weights (``_taps``) -> (N, H, W, O), as one matrix product over the k*k shifted copies."""
    n, hh, ww, c = x.shape
    k = int(round((w.shape[0] // c) ** 0.5))
    if k == 1:
        y = (x.reshape(-1, c) @ w).reshape(n, hh, ww, -1)
    else:
        p = k // 2
        xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        cols = np.empty((n, hh, ww, k, k, c), np.float32)
        for i in range(k):
            for j in range(k):
                cols[:, :, :, i, j] = xp[:, i:i + hh, j:j + ww]
        y = (cols.reshape(-1, k * k * c) @ w).reshape(n, hh, ww, -1)
    return y if b is None else y + b


def _conv_narrow(x, w, b=None):
    """The same for few output channels (the RGB layer): one product to the k*k*O tap
    outputs, laid out (k, k, O, N, H, W), then the k*k shifted sums along whole rows
    (cheaper than copying k*k inputs)."""
    n, hh, ww, c = x.shape
    o = w.shape[1]
    k = int(round((w.shape[0] // c) ** 0.5))
    p = k // 2
    wt = w.reshape(k, k, c, o).transpose(0, 1, 3, 2).reshape(k * k * o, c)
    z = (wt @ x.reshape(-1, c).T).reshape(k, k, o, n, hh, ww)
    zp = np.pad(z, ((0, 0), (0, 0), (0, 0), (0, 0), (p, p), (p, p)))
    y = zp[0, 0, :, :, 0:hh, 0:ww].copy()
    for i in range(k):
        for j in range(k):
            if i or j:
                y += zp[i, j, :, :, i:i + hh, j:j + ww]
    y = y.transpose(1, 2, 3, 0)
    return y if b is None else y + b


_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(np.float32(a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027,
                                       1.061405429))


def _erf_(x):
    """``npmodel._erf`` (the same float32 operations, the same results), in place with
    few temporaries: overwrites x."""
    a = np.abs(x)
    t = a * _ERF_P
    t += 1
    np.reciprocal(t, out=t)
    poly = t * _ERF_A[4]
    for coef in _ERF_A[3::-1]:
        poly += coef
        poly *= t
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    np.subtract(1, poly, out=poly)
    return np.copysign(poly, x, out=x)


def _taps(w):
    """(O, C, k, k) torch-layout weights -> (k*k*C, O) for ``_conv``."""
    o, c, k, _ = w.shape
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(k * k * c, o), np.float32)


def _taps_t(w):
    """Weights of the input gradient of a 'same' convolution: the transposed, flipped
    kernel, (O, C, k, k) -> (k*k*O, C)."""
    return _taps(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])


def _shuffle(x):
    """Depth-to-space x2, channels last, the channel order of ``npmodel.pixel_shuffle``."""
    n, h, w, c = x.shape
    return x.reshape(n, h, w, c // 4, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(n, 2 * h, 2 * w, c // 4)


def _unshuffle(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 5, 2, 4).reshape(n, h // 2, w // 2, 4 * c)


def _nhwc(a):
    return None if a is None else np.ascontiguousarray(a.transpose(0, 2, 3, 1))


_SQRT1_2 = np.float32(np.sqrt(0.5))
_INV_SQRT_2PI = np.float32(1 / np.sqrt(2 * np.pi))


def _weights(codec) -> dict:
    """The decoder's weights laid out for ``_Step``, made once per network."""
    w = getattr(codec, "_search_weights", None)
    if w is not None:
        return w
    p, cfg = codec.p, codec.cfg
    wx = p["decoder.stages.0.conv_x.weight"]                            # (G, D, 3, 3)
    wd = p["decoder.conv.weight"][:, :, 0, 0]                           # (D, C)
    w = {"k": np.einsum("gdij,dc->cijg", wx, wd).astype(np.float32),   # (C, 3, 3, G)
         "kp": wx.shape[-1] // 2,
         "w0": _taps(p["decoder.conv.weight"]), "b0": p["decoder.conv.bias"],
         "wx0": _taps(wx), "bx0": p["decoder.stages.0.conv_x.bias"],
         "wx0_t": _taps_t(wx), "w0_t": np.ascontiguousarray(wd),       # backward
         "wo": _taps(p["decoder.out.weight"]), "bo": p["decoder.out.bias"],
         "wo_t": _taps_t(p["decoder.out.weight"]), "layers": []}
    for i in range(len(cfg.dec)):
        name = f"decoder.stages.{i}"
        if i < cfg.dec_lstm:   # (kind, input weights, bias, their backward, hidden weights)
            wi = p[f"{name}.conv_x.weight"]
            w["layers"].append(("lstm", _taps(wi), p[f"{name}.conv_x.bias"], _taps_t(wi),
                                _taps(p[f"{name}.conv_h.weight"])))
        else:
            wi = p[f"{name}.0.weight"]
            w["layers"].append(("conv", _taps(wi), p[f"{name}.0.bias"], _taps_t(wi)))
    codec._search_weights = w
    return w


class _Step:
    """One decoder step from one image's decoder state, written for the search: the
    candidates' decoded images in a batch, and for one of them the gradient of the
    objective with respect to its bits (a backward pass through the same layers,
    ``_Step.grad``; checked against torch autograd in tests/test_effort.py).

    The first two layers (the 1x1 convolution, then the first ConvLSTM's 3x3 input
    convolution) are affine in the bits, so the gates of b with bit (c, y, x) flipped are
    those of b plus -2 b[c, y, x] times one 3x3 kernel K_c placed at (y, x): a flip costs
    no convolution there. The hidden-state convolutions see the same previous state for
    every candidate and are computed once. Arrays are channels last, (N, H, W, C).
    """

    def __init__(self, codec, states):
        """``states``: per LSTM (h, c) channels last, or (None, None) before the first step."""
        w = _weights(codec)
        self.k, self.kp = w["k"], w["kp"]
        self.w0, self.b0, self.wx0, self.bx0 = w["w0"], w["b0"], w["wx0"], w["bx0"]
        self.wx0_t, self.w0_t = w["wx0_t"], w["w0_t"]
        self.wo, self.bo, self.wo_t = w["wo"], w["bo"], w["wo_t"]
        self.layers = []
        for layer, (h, c) in zip(w["layers"], list(states) + [(None, None)] * len(w["layers"])):
            if layer[0] == "lstm":
                hg = None if h is None else _conv(h, layer[4])
                layer = layer[:4] + (hg, c)
            self.layers.append(layer)

    def gates(self, b):
        """First-LSTM input gates of codes b, (1, C, h, w) -> (1, h, w, G)."""
        x = _conv(_nhwc(b), self.w0, self.b0)
        return _conv(x, self.wx0, self.bx0)

    def flipped(self, base, b, sets):
        """Gates of b with each set of bits (flat indices) flipped: (len(sets), h, w, G)."""
        _, nc, hh, ww = b.shape
        out = np.repeat(base, len(sets), 0)
        kp = self.kp
        for j, bits in enumerate(sets):
            for k in bits:
                c, y, x = np.unravel_index(k, (nc, hh, ww))
                y0, y1 = max(0, y - kp), min(hh, y + kp + 1)
                x0, x1 = max(0, x - kp), min(ww, x + kp + 1)
                # output (Y, X) takes input (y, x) through kernel tap (y - Y + kp, x - X + kp)
                ker = self.k[c][kp + y - (y1 - 1): kp + y - y0 + 1][::-1]
                ker = ker[:, kp + x - (x1 - 1): kp + x - x0 + 1][:, ::-1]
                out[j, y0:y1, x0:x1] += np.float32(-2.0 * b[0, c, y, x]) * ker
        return out

    def forward(self, gates):
        """Decoded images (N, H, W, 3) in model range for first-LSTM input gates
        (N, h, w, G), and what ``grad`` needs."""
        cache = []
        x = None
        for i, layer in enumerate(self.layers):
            if layer[0] == "lstm":
                _, wx, bx, _, hg, cp = layer
                g = gates if i == 0 else _conv(x, wx, bx)
                if hg is not None:
                    g = g + hg
                ig, fg, gg, og = np.split(g, 4, axis=-1)
                si, so, tg = _sigmoid(ig), _sigmoid(og), np.tanh(gg)
                sf = None if cp is None else _sigmoid(fg)
                c = si * tg if cp is None else sf * cp + si * tg
                tc = np.tanh(c)
                x = so * tc
                cache.append((si, sf, tg, so, tc, x, c))
            else:
                z = _conv(x, layer[1], layer[2])
                phi = _erf_(z * _SQRT1_2)
                phi += 1
                phi *= 0.5
                x = z * phi
                cache.append((z, phi))
            x = _shuffle(x)
        y = np.tanh(_conv_narrow(x, self.wo, self.bo))
        return y, (cache, y)

    @staticmethod
    def states(fwd, j):
        """The decoder state after candidate j of ``forward``: per LSTM (h, c), channels last."""
        return [(a[5][j:j + 1], a[6][j:j + 1]) for a in fwd[0] if len(a) == 7]

    def grad(self, fwd, j, dy):
        """d objective / d bits (C, h, w) of candidate j of ``forward``'s output ``fwd``,
        from d objective / d y (H, W, 3) of its decoded image y in model range."""
        cache, y = fwd
        d = (dy * (1.0 - y[j] * y[j]))[None].astype(np.float32)
        d = _unshuffle(_conv(d, self.wo_t))
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if layer[0] == "lstm":
                si, sf, tg, so, tc = (None if a is None else a[j:j + 1] for a in cache[i][:5])
                dc = d * so * (1.0 - tc * tc)
                dgi = dc * tg * si * (1.0 - si)
                dgf = np.zeros_like(dgi) if sf is None else dc * layer[5] * sf * (1.0 - sf)
                dgg = dc * si * (1.0 - tg * tg)
                dgo = d * tc * so * (1.0 - so)
                d = np.concatenate([dgi, dgf, dgg, dgo], axis=-1)
                if i > 0:
                    d = _unshuffle(_conv(d, layer[3]))
            else:
                z, phi = (a[j:j + 1] for a in cache[i])
                d = d * (phi + z * _INV_SQRT_2PI * np.exp(-0.5 * z * z))
                d = _unshuffle(_conv(d, layer[3]))
        d = _conv(_conv(d, self.wx0_t), self.w0_t)                    # (1, h, w, C)
        return d[0].transpose(2, 0, 1)


@dataclass
class Trace:
    """What the search did for one image: per iteration the encoder's proposal (bits past
    the budget zeroed), the chosen bits, the flips kept, and the objective of each."""
    codes: np.ndarray      # (T, C, h, w) chosen codes in {-1, 0, +1}
    proposed: np.ndarray   # (T, C, h, w) the encoder's proposals from the same states
    flips: list            # bits flipped per iteration
    rounds: list           # rounds that kept a candidate, per iteration
    score_proposed: list   # objective of the proposal, per iteration (search's decoder)
    score_chosen: list     # objective of the chosen bits, per iteration


_TO_U8 = np.float32(255 / (2 * RANGE))


def _u8(y, height, width):
    """The 8-bit pixels of channels-last decoder outputs y, cropped: as ``from_model``."""
    y = np.rint((y[:, :height, :width] + np.float32(RANGE)) * _TO_U8)
    return np.clip(y, 0, 255).astype(np.uint8)


def _dy(y, image, tune):
    """d objective / d y for one channels-last (H', W', 3) decoder output y."""
    height, width = image.shape[:2]
    u = (y[:height, :width].astype(np.float64) + RANGE) * (255 / (2 * RANGE))
    g = objective_grad(u, image, tune) * (255 / (2 * RANGE))
    g[(u < -0.5) | (u > 255.5)] = 0.0         # clipped pixels do not move
    out = np.zeros(y.shape, np.float32)
    out[:height, :width] = g
    return out


def search_one(codec, image: np.ndarray, iterations: int, lev: Level,
               keep_bits: int | None = None, tune: str = DEFAULT_TUNE) -> Trace:
    """Search the codes of one (H, W, 3) uint8 image for ``iterations`` steps on a
    ``npmodel.NumpyCodec``. ``keep_bits``: bits of the last iteration a file keeps (None:
    all); the others are 0 and are not searched."""
    _check_tune(tune)
    height, width = image.shape[:2]
    x = to_model(pad_to(image, codec.cfg.stride)[None])           # (1, 3, H', W')
    enc = [(None, None)] * (len(codec.cfg.enc) - 1)
    dec = [(None, None)] * codec.cfg.dec_lstm
    x_hat, r = None, x
    codes, proposed, flips, rounds, s_prop, s_chosen = [], [], [], [], [], []
    for t in range(iterations):
        b_prop, enc = codec._encode_step(codec._enc_in(r, t), enc)  # (1, C, h, w)
        n_bits = b_prop.size
        kept = n_bits if keep_bits is None or t < iterations - 1 else min(keep_bits, n_bits)
        b_prop = b_prop.copy()
        b_prop.reshape(n_bits)[kept:] = 0.0
        if not lev.searches:                        # the ordinary encoder's arithmetic
            d, dec = codec._decode_step(b_prop, dec)
            x_hat = codec._recon(x_hat, d, t)
            score = float(objective(from_model(x_hat)[:, :height, :width], image, tune)[0])
            codes.append(b_prop[0]), proposed.append(b_prop[0]), flips.append(0)
            rounds.append(0), s_prop.append(score), s_chosen.append(score)
            r = x - x_hat
            continue
        gain_t = codec._gain(t) if codec.cfg.additive else 1.0
        b, step = b_prop.copy(), _Step(codec, dec)
        base = step.gates(b)
        y, fwd = step.forward(base)
        rec = codec._recon(x_hat, y, t)                           # (N, H', W', 3)
        cur, score = (rec, fwd, 0), float(objective(_u8(rec, height, width), image, tune)[0])
        first, n_flips, n_rounds = score, 0, 0
        for _ in range(lev.last if lev.last and t == iterations - 1 else lev.rounds):
            rec, fwd, j = cur
            g = step.grad(fwd, j, _dy(rec[j], image, tune) * gain_t).reshape(n_bits)[:kept]
            gain = -2.0 * b.reshape(n_bits)[:kept] * g
            order = np.argsort(-gain, kind="stable")
            sets = [[k] for k in order[: lev.exact]]
            sets += [list(order[:n]) for n in range(2, min(lev.multi + 1, kept) + 1)
                     if gain[order[n - 1]] > 0]
            gates = step.flipped(base, b, sets)
            y, fwd = step.forward(gates)
            rec = codec._recon(x_hat, y, t)
            scores = objective(_u8(rec, height, width), image, tune)
            j = int(np.argmax(scores))                          # ties: the first
            if not scores[j] > score:
                break
            b.reshape(n_bits)[sets[j]] *= -1.0
            base, score, cur = gates[j: j + 1], float(scores[j]), (rec, fwd, j)
            n_flips, n_rounds = n_flips + len(sets[j]), n_rounds + 1
        rec, fwd, j = cur
        dec = _Step.states(fwd, j)                                # channels last
        x_hat = rec[j: j + 1]
        r = x - np.ascontiguousarray(x_hat.transpose(0, 3, 1, 2))
        codes.append(b[0]), proposed.append(b_prop[0]), flips.append(n_flips)
        rounds.append(n_rounds), s_prop.append(first), s_chosen.append(score)
    return Trace(np.stack(codes), np.stack(proposed), flips, rounds, s_prop, s_chosen)


@contextlib.contextmanager
def _one_blas_thread():
    """NumPy's OpenBLAS on one thread while searching: the search's matrix products are
    small, and OpenBLAS's threads spin-wait, which slowed it 10-20x on a busy machine
    (docs/benchmarks.md). A no-op where NumPy's OpenBLAS is not found."""
    import ctypes
    import glob
    import os
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs",
                                  "*openblas*"))
    get = put = None
    try:
        lib = ctypes.CDLL(libs[0])
        get, put = lib.scipy_openblas_get_num_threads64_, lib.scipy_openblas_set_num_threads64_
        before = get()
        put(1)
    except (IndexError, OSError, AttributeError):
        put = None
    try:
        yield
    finally:
        if put is not None:
            put(before)


def search_codes(codec, images, iterations: int, lev: Level, keep_bits: int | None = None,
                 tune: str = DEFAULT_TUNE) -> np.ndarray:
    """Searched codes (T, B, C, h, w) for images of one size ((H, W, 3) uint8 each), as
    ``Runner.compress`` returns them; bits of the last iteration past ``keep_bits`` are 0."""
    _check_tune(tune)
    with _one_blas_thread():
        return np.stack([search_one(codec, im, iterations, lev, keep_bits, tune).codes
                         for im in images], axis=1)


# --- searching many images on every core ------------------------------------------------

PARALLEL_MIN = 4   # images searched in worker processes from this many on (one per core)
_pool = None       # the worker processes, started once and reused across calls


def _worker_search(args):
    from . import engine
    wid, image, iterations, lev, keep_bits, tune = args
    with _one_blas_thread():
        return search_one(engine.load(wid, "cpu", "numpy"), image, iterations, lev,
                          keep_bits, tune).codes


def _cores() -> int:
    import os
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def search_many(weights_id: int, images, iterations: int, lev: Level,
                keep_bits: int | None = None, tune: str = DEFAULT_TUNE,
                workers: int | None = None) -> np.ndarray:
    """``search_codes`` with the weights' NumPy network, the images spread over worker
    processes (one per core, ``workers`` to choose) when there are PARALLEL_MIN or more.
    Each image is searched on its own either way, so the codes are the same as in one
    process. The workers are forked once, on Linux only (fork needs no ``if __name__ ==
    "__main__"`` guard in the caller's script, which spawn does; they run NumPy only, so
    a parent that loaded torch is safe to fork), and reused; elsewhere one process."""
    global _pool
    import sys
    from . import engine
    _check_tune(tune)
    n = _cores() if workers is None else workers
    if n < 2 or len(images) < PARALLEL_MIN or sys.platform != "linux":
        return search_codes(engine.load(weights_id, "cpu", "numpy"), images, iterations, lev,
                            keep_bits, tune)
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    if _pool is None or _pool[0] != n:
        if _pool is not None:
            _pool[1].shutdown()
        engine.load(weights_id, "cpu", "numpy")  # loaded once, before the fork
        _pool = (n, ProcessPoolExecutor(n, mp_context=mp.get_context("fork")))
        import atexit
        atexit.register(_pool[1].shutdown)  # before the interpreter tears modules down
    jobs = [(weights_id, im, iterations, lev, keep_bits, tune) for im in images]
    return np.stack(list(_pool[1].map(_worker_search, jobs)), axis=1)
