"""Training of thumbcodec weights (run from a checkout; not part of the installed package)."""
