"""Standard codecs for comparison, each with its "header-less" size (docs/quality.md).

Each codec is ``encode(img: PIL RGB, q) -> (file bytes, header-less bytes)`` over an
integer quality ladder where larger q means more bytes, plus ``decode(file) -> PIL``.
- JPEG: the entropy-coded bytes between the end of the SOS header and EOI (standard
  Huffman tables, no optimisation), 4:2:0 and 4:4:4.
- WebP: the payload of the 'VP8 ' chunk.
- JPEG 2000: the tile-part data after SOD (.j2k codestream, irreversible 9/7).
- AVIF: the payload of the 'mdat' box.
- JPEG XL: the raw codestream (imagecodecs, if installed).
Placeholders (fixed size, no quality setting): ThumbHash (benchmarks.placeholder) and
BlurHash (the `blurhash` package, if installed).
"""
from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image


def _jpeg_payload(data: bytes) -> int:
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2: i + 4])[0]
        if marker == 0xDA:  # SOS: entropy-coded data follows its header
            start = i + 2 + length
            end = data.rindex(b"\xff\xd9")
            return end - start
        i += 2 + length
    raise ValueError("no SOS marker")


def _riff_chunk(data: bytes, fourcc: bytes) -> int:
    i = 12
    while i + 8 <= len(data):
        tag, size = data[i: i + 4], struct.unpack("<I", data[i + 4: i + 8])[0]
        if tag == fourcc:
            return size
        i += 8 + size + (size & 1)
    raise ValueError(f"no {fourcc!r} chunk")


def _j2k_payload(data: bytes) -> int:
    total, i = 0, data.index(b"\xff\x90")  # first SOT
    while i < len(data) and data[i: i + 2] == b"\xff\x90":
        psot = struct.unpack(">I", data[i + 6: i + 10])[0]
        sod = data.index(b"\xff\x93", i) + 2
        end = i + psot if psot else data.rindex(b"\xff\xd9")
        total += end - sod
        i = end
    return total


def _mdat(data: bytes) -> int:
    i = 0
    while i + 8 <= len(data):
        size, tag = struct.unpack(">I", data[i: i + 4])[0], data[i + 4: i + 8]
        hdr = 8
        if size == 1:
            size, hdr = struct.unpack(">Q", data[i + 8: i + 16])[0], 16
        if tag == b"mdat":
            return size - hdr
        if size == 0:
            break
        i += size
    raise ValueError("no mdat box")


def _pil_save(img, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _pil_open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


class Codec:
    name: str
    qualities: range

    def encode(self, img, q) -> tuple[bytes, int]:
        raise NotImplementedError

    def decode(self, data: bytes) -> Image.Image:
        return _pil_open(data)


class JPEG(Codec):
    qualities = range(1, 101)

    def __init__(self, subsampling: str):
        self.name = f"jpeg-{subsampling}"
        self.sub = {"420": 2, "444": 0}[subsampling]

    def encode(self, img, q):
        d = _pil_save(img, "JPEG", quality=q, subsampling=self.sub, optimize=False)
        return d, _jpeg_payload(d)


class WebP(Codec):
    name, qualities = "webp", range(0, 101)

    def encode(self, img, q):
        d = _pil_save(img, "WEBP", quality=q, method=6)
        return d, _riff_chunk(d, b"VP8 ")


class JPEG2000(Codec):
    name = "jpeg2000"
    qualities = range(1, 121)  # q -> compression ratio 240 / q

    def encode(self, img, q):
        d = _pil_save(img, "JPEG2000", irreversible=True, quality_mode="rates",
                      quality_layers=[240.0 / q], no_jp2=True)
        return d, _j2k_payload(d)


class AVIF(Codec):
    name, qualities = "avif", range(0, 101)

    def encode(self, img, q):
        d = _pil_save(img, "AVIF", quality=q, speed=6, subsampling="4:2:0")
        return d, _mdat(d)


class JXL(Codec):
    name = "jpegxl"
    qualities = range(0, 100)  # q -> distance (100 - q) / 6.6, 15 .. 0.15

    def __init__(self):
        import imagecodecs
        self.ic = imagecodecs

    def encode(self, img, q):
        d = self.ic.jpegxl_encode(np.asarray(img), distance=max(0.1, (100 - q) / 6.6),
                                  effort=7)
        return bytes(d), len(d)

    def decode(self, data):
        return Image.fromarray(self.ic.jpegxl_decode(data)).convert("RGB")


def available() -> list[Codec]:
    from PIL import features
    out: list[Codec] = [JPEG("420"), JPEG("444"), WebP()]
    if features.check("jpg_2000"):
        out.append(JPEG2000())
    if features.check("avif"):
        out.append(AVIF())
    try:
        out.append(JXL())
    except ImportError:
        pass
    return out


def search(codec: Codec, img, target: int):
    """Smallest header-less size >= target over the quality ladder (binary search).

    Returns (file bytes, header-less bytes, status): "ok"; "under" when even the top
    quality stays below target (the largest is returned); "over" when the lowest quality
    is already larger than the target (the codec cannot get down to it; the lowest is
    returned).
    """
    qs = list(codec.qualities)
    lo, hi = 0, len(qs) - 1
    best = None
    cache = {}

    def enc(k):
        if k not in cache:
            cache[k] = codec.encode(img, qs[k])
        return cache[k]

    if enc(hi)[1] < target:
        d, n = enc(hi)
        return d, n, "under"
    while lo <= hi:
        mid = (lo + hi) // 2
        d, n = enc(mid)
        if n >= target:
            best = (d, n)
            hi = mid - 1
        else:
            lo = mid + 1
    return best[0], best[1], "over" if lo == 0 and best[1] > target else "ok"


def placeholders() -> dict:
    """name -> function(img) -> (size in bytes, decoded PIL image of img's size)."""
    out = {"thumbhash": _thumbhash}
    try:
        import blurhash  # noqa: F401
        out["blurhash"] = _blurhash
    except ImportError:
        pass
    return out


def _thumbhash(img):
    from . import placeholder
    hsh = placeholder.encode(np.asarray(img.convert("RGB")))
    dec = Image.fromarray(placeholder.decode(hsh))
    return len(hsh), dec.resize(img.size, Image.BILINEAR)


def _blurhash(img):
    import blurhash
    w, h = img.size
    s = blurhash.encode(np.asarray(img), components_x=4, components_y=3)
    dec = Image.fromarray(np.asarray(blurhash.decode(s, w, h)).astype("uint8")).convert("RGB")
    return len(s), dec
