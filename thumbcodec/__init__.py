"""thumbcodec: a progressive neural codec for image thumbnails.

After Toderici et al. 2016, "Variable Rate Image Compression with Recurrent Neural
Networks" (conv/deconv LSTM). ``import thumbcodec`` is light: torch loads on first use.

    data = thumbcodec.encode(img, bytes=64)     # .rnnc bytes, exactly 64
    img = thumbcodec.decode(data[:40])          # any prefix decodes
    r = thumbcodec.encode_target(img, ssim=0.9) # the smallest file reaching it: r.data
"""
from . import pil_plugin  # noqa: F401  (registers .rnnc with Pillow)
from .codec import (Info, decode, decode_batch, encode, encode_batch, info, load_model,
                    read, write)
from .errors import (FormatError, ImageError, LimitError, ThumbcodecError,
                     WeightsError)
from .format import HEADER_SIZE, MAX_PIXELS
from .target import encode as encode_target, encode_batch as encode_target_batch

__all__ = ["encode", "decode", "info", "encode_batch", "decode_batch", "read", "write",
           "encode_target", "encode_target_batch",
           "load_model", "Info", "ThumbcodecError", "FormatError", "LimitError",
           "WeightsError", "ImageError", "HEADER_SIZE", "MAX_PIXELS"]
__version__ = "0.2.0.dev0"
