#!/bin/sh
# Rebuild web/rnnc.wasm from web/src/rnnc.c (the committed .wasm is what pages load).
# Needs clang and lld >= 14 from Debian: apt-get install clang lld
# No libc, no Emscripten: the module imports nothing and exports its memory, its
# __heap_base (where rnnc.js starts its tensors) and the kernels named EXPORT in the source.
set -eu
cd "$(dirname "$0")"
clang --target=wasm32 -O3 -msimd128 -nostdlib -ffreestanding -fno-builtin \
    -Wall -Wextra -Wno-unused-parameter \
    -Wl,--no-entry -Wl,--export=__heap_base \
    -Wl,--initial-memory=1048576 -Wl,--max-memory=4294967296 -Wl,--strip-all \
    -o rnnc.wasm src/rnnc.c
echo "web/rnnc.wasm: $(wc -c < rnnc.wasm) bytes"
