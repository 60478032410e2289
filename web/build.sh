#!/bin/sh
# Rebuild web/rnnc.wasm from web/src/rnnc.c (the committed .wasm is what pages load):
#   web/build.sh [OUT]        (OUT defaults to web/rnnc.wasm)
# Needs clang and lld from Debian 12 (apt-get install clang lld: clang 14, which made the
# committed file; tests/test_web.py rebuilds with it and compares the bytes).
# No libc, no Emscripten: the module imports nothing and exports its memory, its
# __heap_base (where rnnc.js starts its tensors) and the kernels named EXPORT in the source.
set -eu
cd "$(dirname "$0")"
out="${1:-rnnc.wasm}"
clang --target=wasm32 -O3 -msimd128 -nostdlib -ffreestanding -fno-builtin \
    -Wall -Wextra -Wno-unused-parameter \
    -Wl,--no-entry -Wl,--export=__heap_base \
    -Wl,--initial-memory=1048576 -Wl,--max-memory=4294967296 -Wl,--strip-all \
    -o "$out" src/rnnc.c
echo "$out: $(wc -c < "$out") bytes"
