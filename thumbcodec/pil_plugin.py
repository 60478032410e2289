"""Pillow plugin: after ``import thumbcodec``, ``Image.open("x.rnnc")`` and
``im.save("x.rnnc", bytes=64)`` work.

``_open`` reads and validates only the 6-byte header; the network runs on ``load()``,
which honours ``Image.MAX_IMAGE_PIXELS`` (checked by Pillow at open) and closes the
file. ``verify()`` checks all that ``load()`` checks before the network (the payload's
layout). Errors are the ones Pillow users catch: OSError, or ValueError for a file that
is not valid (thumbcodec's FormatError is a ValueError).
"""
from __future__ import annotations

from io import BytesIO

from PIL import Image, ImageFile

from .errors import FormatError, ThumbcodecError
from .format import HEADER_SIZE, MAGIC, parse_header


def _accept(prefix: bytes) -> bool:
    return prefix[: len(MAGIC)] == MAGIC


class RnncImageFile(ImageFile.ImageFile):
    format = "RNNC"
    format_description = "thumbcodec progressive neural thumbnail"

    def _open(self) -> None:
        head = self.fp.read(HEADER_SIZE)
        try:
            h = parse_header(head, max_pixels=1 << 62)  # Pillow applies its own limit
        except ThumbcodecError as e:
            raise SyntaxError(str(e)) from None
        self._size = (h.width, h.height)
        self._mode = "RGB"
        self.info["weights_id"] = h.weights_id
        self.tile = []
        self._rnnc_loaded = False

    def _read_all(self) -> bytes:
        self.fp.seek(0)
        return self.fp.read()

    def verify(self) -> None:
        from .codec import parse
        try:
            parse(self._read_all(), max_pixels=1 << 62)
        except FormatError:
            raise  # a ValueError
        except ThumbcodecError as e:
            raise OSError(str(e)) from None
        super().verify()

    def load(self):
        if not self._rnnc_loaded:
            from .codec import decode
            try:
                img = decode(self._read_all(), max_pixels=1 << 62)
            except FormatError:
                raise
            except ThumbcodecError as e:
                raise OSError(str(e)) from None
            self._rnnc_loaded = True
            if self._exclusive_fp and self.fp:
                self.fp.close()
            self.fp = BytesIO(img.tobytes())
            self._exclusive_fp = True
            self.tile = [ImageFile._Tile("raw", (0, 0, *self.size), 0, "RGB")]
        return super().load()


def _save(im: Image.Image, fp, filename) -> None:
    """``im.save(path, "RNNC", bytes=64)`` (or ``iterations=``, ``fit=``, ``weights_id=``)."""
    from .codec import encode
    info = im.encoderinfo
    kw = {k: info[k] for k in ("bytes", "iterations", "fit", "weights_id") if k in info}
    if "bytes" not in kw and "iterations" not in kw:
        kw["bytes"] = 64
    try:
        fp.write(encode(im, **kw))
    except FormatError:
        raise
    except ThumbcodecError as e:
        raise OSError(str(e)) from None


Image.register_open(RnncImageFile.format, RnncImageFile, _accept)
Image.register_save(RnncImageFile.format, _save)
Image.register_extension(RnncImageFile.format, ".rnnc")
Image.register_mime(RnncImageFile.format, "image/x-rnnc")
