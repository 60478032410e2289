"""Fuzz the .rnnc decoder: ``python -m tools.fuzz --inputs 1000000 [--model 2000]``.

Inputs are random byte strings and mutations of valid files of format versions 1 and 2
(bit flips, truncations, extensions, header field edits). The parser stage (header +
payload layout + bit planes, or version 2's arithmetic decoder; no network) must accept
each input or raise FormatError/LimitError/WeightsError; the
model stage runs the full decode on a sample and also checks the decoded size. Any other
exception is a finding: printed with the input in hex, and the exit status is 1.
"""
from __future__ import annotations

import argparse
import random
import time

from thumbcodec.codec import decode, parse
from thumbcodec.errors import ThumbcodecError
from thumbcodec.format import HEADER_SIZE, Header, parse_header
from thumbcodec import weights as W

EXPECTED = (ThumbcodecError,)


def seeds(rng: random.Random) -> list[bytes]:
    out = []
    for version in (1, 2):
        for w, h in [(32, 32), (48, 40), (100, 75), (1, 1), (7, 33), (256, 256)]:
            payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 16 * 16 + 1)))
            out.append(Header(w, h, W.DEFAULT_ID, version).pack() + payload)
    return out


def mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    op = rng.randrange(7)
    if op == 0 and b:                       # bit flips
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif op == 1:                           # truncation
        del b[rng.randrange(len(b) + 1):]
    elif op == 2:                           # extension
        b += bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 16, 300, 5000])))
    elif op == 3 and len(b) > 2:            # header field edit: version / weights id
        b[2] = rng.getrandbits(8)
    elif op == 4 and len(b) >= HEADER_SIZE:  # header field edit: size
        b[3:6] = bytes(rng.getrandbits(8) for _ in range(3))
    elif op == 5:                           # random bytes
        b = bytearray(rng.getrandbits(8) for _ in range(rng.randrange(0, 64)))
    elif b:                                 # random byte set
        b[rng.randrange(len(b))] = rng.getrandbits(8)
    return bytes(b)


def run(inputs: int, model_inputs: int, seed: int = 0, report_every: float = 30.0,
        model_max_pixels: int = 256 * 256, seconds: float | None = None):
    """``seconds``: stop the parser stage after this long (the summary says how many
    inputs ran); findings are printed as they happen too."""
    rng = random.Random(seed)
    corpus = seeds(rng)
    findings, ok, errors = [], 0, 0
    t0 = last = time.time()
    for n in range(inputs):
        if seconds is not None and time.time() - t0 > seconds:
            inputs = n
            break
        data = mutate(rng.choice(corpus), rng)
        try:
            parse(data)  # the decoder's own parsing: everything before the network
            ok += 1
            if len(corpus) < 500 and rng.random() < 0.01:
                corpus.append(data)
        except EXPECTED:
            errors += 1
        except Exception as e:  # a finding
            findings.append((data.hex(), repr(e)))
            print(f"FINDING {e!r}: {data.hex()[:200]}", flush=True)
        if time.time() - last > report_every:
            last = time.time()
            print(f"{n + 1} inputs, {(n + 1) / (last - t0):.0f}/s", flush=True)
    t_parse = time.time() - t0
    print(f"parser: {inputs} inputs in {t_parse:.1f}s, {ok} accepted, {errors} rejected "
          f"with documented errors, {len(findings)} findings", flush=True)

    t1 = last = time.time()
    m_ok = m_err = 0
    for n in range(model_inputs):
        data = mutate(rng.choice(corpus), rng)
        try:
            img = decode(data, device="cpu", max_pixels=model_max_pixels)
            h = parse_header(data, model_max_pixels)
            if img.size != (h.width, h.height):
                findings.append((data.hex(), f"decoded size {img.size} != header"))
            m_ok += 1
        except EXPECTED:
            m_err += 1
        except Exception as e:
            findings.append((data.hex(), repr(e)))
            print(f"FINDING {e!r}: {data.hex()[:200]}", flush=True)
        if time.time() - last > report_every:
            last = time.time()
            print(f"full decode: {n + 1} inputs, {m_ok} decoded, {m_err} documented errors, "
                  f"{len(findings)} findings so far", flush=True)
    print(f"full decode: {model_inputs} inputs in {time.time() - t1:.1f}s, {m_ok} decoded, "
          f"{m_err} rejected with documented errors", flush=True)
    for hx, err in findings[:20]:
        print(f"FINDING {err}: {hx[:200]}")
    print(f"total findings: {len(findings)}")
    return findings


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inputs", type=int, default=1_000_000)
    p.add_argument("--model", type=int, default=2000, help="inputs through the full decode")
    p.add_argument("--model-max-pixels", type=int, default=256 * 256,
                   help="pixel limit in the full-decode stage (bigger inputs are rejected "
                        "with LimitError, which keeps the stage fast)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, help="stop the parser stage after this long")
    a = p.parse_args(argv)
    raise SystemExit(1 if run(a.inputs, a.model, a.seed, model_max_pixels=a.model_max_pixels,
                              seconds=a.seconds) else 0)


if __name__ == "__main__":
    main()
