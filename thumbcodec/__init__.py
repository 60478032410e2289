"""thumbcodec: a progressive neural codec for image thumbnails.

After Toderici et al. 2016, "Variable Rate Image Compression with Recurrent Neural
Networks" (conv/deconv LSTM). ``import thumbcodec`` is light: torch loads on first use.

    data = thumbcodec.encode(img, bytes=64)     # .rnnc bytes, exactly 64
    img = thumbcodec.decode(data[:40])          # any prefix decodes
"""
from . import pil_plugin  # noqa: F401  (registers .rnnc with Pillow)
from .codec import (Info, decode, decode_batch, encode, encode_batch, info, load_model,
                    read, write)
from .errors import (FormatError, ImageError, LimitError, ThumbcodecError,
                     WeightsError)
from .format import HEADER_SIZE, MAX_PIXELS

__all__ = ["encode", "decode", "info", "encode_batch", "decode_batch", "read", "write",
           "load_model", "Info", "ThumbcodecError", "FormatError", "LimitError",
           "WeightsError", "ImageError", "HEADER_SIZE", "MAX_PIXELS"]
__version__ = "0.2.0.dev0"
