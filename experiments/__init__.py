"""One-off studies behind the numbers in docs/ (run from a checkout: python -m experiments.NAME)."""
