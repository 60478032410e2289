"""Benchmarks against standard codecs (run from a checkout: python -m benchmarks.quality)."""
