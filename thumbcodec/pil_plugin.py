"""Pillow plugin: after ``import thumbcodec``, ``Image.open("x.rnnc")`` works.

``_open`` reads and validates only the 6-byte header; the network runs on ``load()``.
"""
from __future__ import annotations

from io import BytesIO

from PIL import Image, ImageFile

from .errors import ThumbcodecError
from .format import HEADER_SIZE, MAGIC, parse_header


def _accept(prefix: bytes) -> bool:
    return prefix[: len(MAGIC)] == MAGIC


class RnncImageFile(ImageFile.ImageFile):
    format = "RNNC"
    format_description = "thumbcodec progressive neural thumbnail"

    def _open(self) -> None:
        head = self.fp.read(HEADER_SIZE)
        try:
            h = parse_header(head)
        except ThumbcodecError as e:
            raise SyntaxError(str(e)) from None
        self._size = (h.width, h.height)
        self._mode = "RGB"
        self.info["weights_id"] = h.weights_id
        self.tile = []
        self._rnnc_loaded = False

    def load(self):
        if not self._rnnc_loaded:
            from .codec import decode
            self.fp.seek(0)
            img = decode(self.fp.read())
            self._rnnc_loaded = True
            self.fp = BytesIO(img.tobytes())
            self.tile = [ImageFile._Tile("raw", (0, 0, *self.size), 0, "RGB")]
        return super().load()


Image.register_open(RnncImageFile.format, RnncImageFile, _accept)
Image.register_extension(RnncImageFile.format, ".rnnc")
Image.register_mime(RnncImageFile.format, "image/x-rnnc")
