/* The compute kernels of web/rnnc.js: the decoder's convolutions, ConvLSTM gating, GELU,
 * depth-to-space and pixel output, on float32 tensors in channels-last layout
 * (image, row, column, channel) inside this module's memory. rnnc.js owns the memory
 * layout and the order of the layers (it mirrors thumbcodec/npmodel.py); nothing here
 * allocates. Built by web/build.sh (clang --target=wasm32 -msimd128, no libc).
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define TILE 64         /* pixels whose tap offsets are computed together */
#define MAX_TAPS 25     /* kernels up to 5x5 */
#define MAX_CHANNELS 1024

static const float zeros[MAX_CHANNELS];
static const float *taps[TILE * MAX_TAPS];

/* exp(x) on 4 floats: Cephes' range reduction and polynomial (about 1 ulp). */
static v128_t exp4(v128_t x) {
    x = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-87.0f)), wasm_f32x4_splat(88.0f));
    v128_t k = wasm_f32x4_floor(wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)),
                                               wasm_f32x4_splat(0.5f)));
    v128_t r = wasm_f32x4_add(wasm_f32x4_sub(x, wasm_f32x4_mul(k, wasm_f32x4_splat(0.693359375f))),
                              wasm_f32x4_mul(k, wasm_f32x4_splat(2.12194440e-4f)));
    v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
    v128_t y = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r),
                              wasm_f32x4_splat(1.0f));
    v128_t e = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(k), wasm_i32x4_splat(127)), 23);
    return wasm_f32x4_mul(y, e);  /* e: the float 2^k */
}

static v128_t tanh4(v128_t x) {
    v128_t e = exp4(wasm_f32x4_add(x, x));
    return wasm_f32x4_sub(wasm_f32x4_splat(1.0f),
                          wasm_f32x4_div(wasm_f32x4_splat(2.0f), wasm_f32x4_add(e, wasm_f32x4_splat(1.0f))));
}

static v128_t sigmoid4(v128_t x) {  /* (1 + tanh(x / 2)) / 2, as npmodel */
    v128_t h = wasm_f32x4_splat(0.5f);
    return wasm_f32x4_mul(h, wasm_f32x4_add(wasm_f32x4_splat(1.0f), tanh4(wasm_f32x4_mul(h, x))));
}

/* erf, Abramowitz & Stegun 7.1.26: the formula npmodel.py uses. */
static v128_t erf4(v128_t x) {
    v128_t a = wasm_f32x4_abs(x);
    v128_t t = wasm_f32x4_div(wasm_f32x4_splat(1.0f),
                              wasm_f32x4_add(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(wasm_f32x4_splat(0.3275911f), a)));
    v128_t p = wasm_f32x4_splat(1.061405429f);
    p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(-1.453152027f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(1.421413741f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(-0.284496736f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(0.254829592f));
    p = wasm_f32x4_mul(p, t);
    v128_t y = wasm_f32x4_sub(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(p, exp4(wasm_f32x4_neg(wasm_f32x4_mul(a, a)))));
    v128_t sign = wasm_i32x4_splat((int)0x80000000);
    return wasm_v128_or(wasm_v128_andnot(y, sign), wasm_v128_and(x, sign));  /* copysign */
}

/* 4 pixels x 8 output channels: acc[j] += sum over taps t, channels c of
 * src[j][t][c] * w[(t*C + c)*8 .. +8], w this block's packed weights. */
static void block4x8(float *out, const float **src, int T, int C, const float *w, int O,
                     const float *bias, int acc, int rows) {
    v128_t a0, a1, b0, b1, c0, c1, d0, d1;
    if (acc) {
        a0 = wasm_v128_load(out);         a1 = wasm_v128_load(out + 4);
        b0 = wasm_v128_load(out + O);     b1 = wasm_v128_load(out + O + 4);
        c0 = wasm_v128_load(out + 2 * O); c1 = wasm_v128_load(out + 2 * O + 4);
        d0 = wasm_v128_load(out + 3 * O); d1 = wasm_v128_load(out + 3 * O + 4);
    } else if (bias) {
        a0 = b0 = c0 = d0 = wasm_v128_load(bias);
        a1 = b1 = c1 = d1 = wasm_v128_load(bias + 4);
    } else {
        a0 = a1 = b0 = b1 = c0 = c1 = d0 = d1 = wasm_f32x4_splat(0.0f);
    }
    for (int t = 0; t < T; t++) {
        const float *s0 = src[t], *s1 = src[T + t], *s2 = src[2 * T + t], *s3 = src[3 * T + t];
        if (s0 == zeros && s1 == zeros && s2 == zeros && s3 == zeros) continue;  /* padding */
        const float *wt = w + t * C * 8;
        for (int c = 0; c < C; c++, wt += 8) {
            v128_t w0 = wasm_v128_load(wt), w1 = wasm_v128_load(wt + 4);
            v128_t x = wasm_v128_load32_splat(s0 + c);
            a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(x, w0));
            a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(x, w1));
            x = wasm_v128_load32_splat(s1 + c);
            b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(x, w0));
            b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(x, w1));
            x = wasm_v128_load32_splat(s2 + c);
            c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(x, w0));
            c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(x, w1));
            x = wasm_v128_load32_splat(s3 + c);
            d0 = wasm_f32x4_add(d0, wasm_f32x4_mul(x, w0));
            d1 = wasm_f32x4_add(d1, wasm_f32x4_mul(x, w1));
        }
    }
    wasm_v128_store(out, a0); wasm_v128_store(out + 4, a1);
    if (rows > 1) { wasm_v128_store(out + O, b0); wasm_v128_store(out + O + 4, b1); }
    if (rows > 2) { wasm_v128_store(out + 2 * O, c0); wasm_v128_store(out + 2 * O + 4, c1); }
    if (rows > 3) { wasm_v128_store(out + 3 * O, d0); wasm_v128_store(out + 3 * O + 4, d1); }
}

/* 4 pixels x 4 output channels: the tail when O is not a multiple of 8. */
static void block4x4(float *out, const float **src, int T, int C, const float *w, int O,
                     const float *bias, int acc, int rows) {
    v128_t a, b, c_, d;
    if (acc) {
        a = wasm_v128_load(out); b = wasm_v128_load(out + O);
        c_ = wasm_v128_load(out + 2 * O); d = wasm_v128_load(out + 3 * O);
    } else {
        a = b = c_ = d = bias ? wasm_v128_load(bias) : wasm_f32x4_splat(0.0f);
    }
    for (int t = 0; t < T; t++) {
        const float *s0 = src[t], *s1 = src[T + t], *s2 = src[2 * T + t], *s3 = src[3 * T + t];
        if (s0 == zeros && s1 == zeros && s2 == zeros && s3 == zeros) continue;
        const float *wt = w + t * C * 8;
        for (int c = 0; c < C; c++, wt += 8) {
            v128_t w0 = wasm_v128_load(wt);
            a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load32_splat(s0 + c), w0));
            b = wasm_f32x4_add(b, wasm_f32x4_mul(wasm_v128_load32_splat(s1 + c), w0));
            c_ = wasm_f32x4_add(c_, wasm_f32x4_mul(wasm_v128_load32_splat(s2 + c), w0));
            d = wasm_f32x4_add(d, wasm_f32x4_mul(wasm_v128_load32_splat(s3 + c), w0));
        }
    }
    wasm_v128_store(out, a);
    if (rows > 1) wasm_v128_store(out + O, b);
    if (rows > 2) wasm_v128_store(out + 2 * O, c_);
    if (rows > 3) wasm_v128_store(out + 3 * O, d);
}

/* out (n, H, W, O) [+]= conv(in (n, H, W, C), w) + bias: a k x k convolution, stride 1,
 * zero 'same' padding. w is packed in blocks of 8 output channels, each block contiguous
 * (the slice a block of pixels multiplies stays in L1): w[o/8][(ky*k + kx)*C + c][o%8],
 * zero past O. O is a multiple of 4 (rnnc.js pads it); bias (O floats) may be 0; acc adds
 * to out instead of starting from bias. */
EXPORT(conv)
void conv(float *out, const float *in, int n, int H, int W, int C, const float *w, int O,
          const float *bias, int k, int acc) {
    int P = n * H * W, T = k * k, r = k / 2;
    for (int p0 = 0; p0 < P; p0 += TILE) {
        int np = P - p0 < TILE ? P - p0 : TILE;
        for (int j = 0; j < ((np + 3) & ~3); j++) {
            int p = p0 + (j < np ? j : np - 1);  /* a short last block repeats a pixel */
            int x = p % W, y = (p / W) % H, img = p / (W * H);
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    int yy = y + ky - r, xx = x + kx - r;
                    taps[j * T + ky * k + kx] = (yy < 0 || yy >= H || xx < 0 || xx >= W)
                        ? zeros : in + ((img * H + yy) * W + xx) * C;
                }
        }
        for (int o = 0; o < O; o += 8) {
            int wide = O - o >= 8;
            for (int j = 0; j < np; j += 4) {
                int rows = np - j < 4 ? np - j : 4;
                float *dst = out + (p0 + j) * O + o;
                const float *b = bias ? bias + o : 0;
                const float *wb = w + o * T * C;  /* block o/8, of T*C*8 floats */
                if (wide) block4x8(dst, taps + j * T, T, C, wb, O, b, acc, rows);
                else block4x4(dst, taps + j * T, T, C, wb, O, b, acc, rows);
            }
            if (!wide) break;
        }
    }
}

/* ConvLSTM update for P positions: gates (P, 4*hid) in the order i, f, g, o;
 * c = sigmoid(f) c + sigmoid(i) tanh(g), h = sigmoid(o) tanh(c). hid is a multiple of 4
 * (rnnc.js checks). */
EXPORT(lstm)
void lstm(const float *gates, float *c, float *h, int P, int hid) {
    for (int p = 0; p < P; p++, gates += 4 * hid, c += hid, h += hid)
        for (int j = 0; j < hid; j += 4) {
            v128_t i = sigmoid4(wasm_v128_load(gates + j));
            v128_t f = sigmoid4(wasm_v128_load(gates + hid + j));
            v128_t g = tanh4(wasm_v128_load(gates + 2 * hid + j));
            v128_t o = sigmoid4(wasm_v128_load(gates + 3 * hid + j));
            v128_t cn = wasm_f32x4_add(wasm_f32x4_mul(f, wasm_v128_load(c + j)), wasm_f32x4_mul(i, g));
            wasm_v128_store(c + j, cn);
            wasm_v128_store(h + j, wasm_f32x4_mul(o, tanh4(cn)));
        }
}

/* Exact GELU, x (1 + erf(x / sqrt 2)) / 2, in place; n a multiple of 4. */
EXPORT(gelu)
void gelu(float *x, int n) {
    for (int i = 0; i < n; i += 4) {
        v128_t v = wasm_v128_load(x + i);
        v128_t e = erf4(wasm_f32x4_mul(v, wasm_f32x4_splat(0.70710678118654752f)));
        wasm_v128_store(x + i, wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_splat(0.5f), v),
                                              wasm_f32x4_add(wasm_f32x4_splat(1.0f), e)));
    }
}

/* Depth-to-space x2: in (n, H, W, 4C) -> out (n, 2H, 2W, C), as torch.pixel_shuffle:
 * out[2y+i][2x+j][c] = in[y][x][4c + 2i + j]. */
EXPORT(shuffle)
void shuffle(float *out, const float *in, int n, int H, int W, int C) {
    for (int img = 0; img < n; img++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++, in += 4 * C)
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        float *o = out + ((img * 2 * H + 2 * y + i) * 2 * W + 2 * x + j) * C;
                        for (int c = 0; c < C; c++) o[c] = in[4 * c + 2 * i + j];
                    }
}

/* tanh in place over n values, n a multiple of 4. */
EXPORT(tanh_all)
void tanh_all(float *x, int n) {
    for (int i = 0; i < n; i += 4) wasm_v128_store(x + i, tanh4(wasm_v128_load(x + i)));
}

/* x_hat (+)= gain * d over n values: the additive variant's reconstruction. */
EXPORT(add_scaled)
void add_scaled(float *x_hat, const float *d, float gain, int n, int first) {
    for (int i = 0; i < n; i++) x_hat[i] = (first ? 0.0f : x_hat[i]) + gain * d[i];
}

/* Model range (n, Hp, Wp, 4) -> RGBA bytes (n, H, W, 4), cropping the padding:
 * rint((y + 0.9) * 255 / 1.8) clipped to 0..255, as thumbcodec.pixels.from_model. */
EXPORT(to_rgba)
void to_rgba(unsigned char *dst, const float *y, int n, int Hp, int Wp, int H, int W) {
    const float scale = 255.0f / 1.8f;
    for (int img = 0; img < n; img++)
        for (int r = 0; r < H; r++)
            for (int x = 0; x < W; x++, dst += 4) {
                const float *s = y + ((img * Hp + r) * Wp + x) * 4;
                for (int c = 0; c < 3; c++) {
                    float v = __builtin_rintf((s[c] + 0.9f) * scale);
                    dst[c] = v < 0 ? 0 : v > 255 ? 255 : (unsigned char)v;
                }
                dst[3] = 255;
            }
}
