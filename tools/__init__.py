"""Release and test tools: fuzzer, conformance vectors, weights shipping (run from a checkout)."""
