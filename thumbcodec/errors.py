"""The exceptions thumbcodec raises. Every error a user can cause is one of these."""


class ThumbcodecError(Exception):
    """Base class of all thumbcodec errors."""


class FormatError(ThumbcodecError, ValueError):
    """The bytes are not a valid .rnnc file (bad magic, version, size, payload)."""


class LimitError(FormatError):
    """The image is larger than the allowed number of pixels (a decompression bomb guard)."""


class WeightsError(ThumbcodecError):
    """The weights a file names are not installed, or a weights file fails its check."""


class ImageError(ThumbcodecError):
    """An input image cannot be read (missing, unreadable, corrupt, not an image)."""
