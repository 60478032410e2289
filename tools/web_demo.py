"""Write web/demo.html: 32x32 thumbnails inlined as base64, decoded in the page by
web/rnnc.js (in its Worker, refining step by step), beside the original and the JPEG and
WebP files of about the same size, with the bytes of each file under it.

    python tools/web_demo.py [--kodak ../shared/data/kodak] [--screenshot docs/web-demo.png]

Thumbnails: the first 8 Kodak images squeezed to 32x32 (as training.data.kodak_thumbs
makes its whole-image thumbnails) and two of examples/. thumbcodec files (the default
weights): budgets of 64 B and 134 B, and of every trained iteration when the weights have
more than 8 (262 B for 16), format version 2 where it holds more than version 1 (the
encoder's default): with weights 2, 64 B hold 3-4 whole iterations and part of the next,
and all 8 fit in 134 B, often in fewer bytes. JPEG and WebP (Pillow): the largest quality
whose whole file is at most the largest budget, or the smallest file the codec makes when
none is (JPEG's headers alone exceed 134 B: its smallest 32x32 file here is ~300 B).
"""
from __future__ import annotations

import argparse
import base64
import html
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

def _sizes() -> tuple[int, ...]:
    from thumbcodec import HEADER_SIZE
    from thumbcodec.weights import DEFAULT_ID, get_info
    full = HEADER_SIZE + get_info(DEFAULT_ID).layout(32, 32).max_payload  # every iteration
    return (64, 134) + ((full,) if full > 134 else ())


SIZES = _sizes()
TARGET = SIZES[-1]


def thumbnails(kodak: Path, n_kodak: int = 8) -> list[tuple[str, np.ndarray]]:
    from training.data import kodak_thumbs
    per = 21  # kodak_thumbs: each image whole, then its 20 crops
    thumbs = kodak_thumbs(str(kodak))
    out = [(f"kodim{i + 1:02d}", thumbs[i * per]) for i in range(n_kodak)]
    for name in ("landscape", "portrait"):
        out.append((name, np.asarray(Image.open(ROOT / "examples" / f"{name}.png").convert("RGB"))))
    return out


def std_file(img: np.ndarray, fmt: str, target: int = TARGET) -> bytes:
    """The largest-quality file of fmt at most target bytes, else the smallest one."""
    from web_sizes import std_file as encode
    files = [encode(img, fmt, q) for q in range(1, 101)]
    fitting = [f for f in files if len(f) <= target]
    return fitting[-1] if fitting else min(files, key=len)


def png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PAGE = """<!doctype html>
<meta charset="utf-8">
<title>thumbcodec: .rnnc thumbnails decoded in the browser</title>
<!-- Made by tools/web_demo.py; do not edit by hand. Serve the repository over HTTP
     (python tools/web_serve.py) and open /web/demo.html. -->
<style>
  body {{ font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }}
  table {{ border-collapse: collapse; }}
  th {{ font-weight: 600; padding: 4px 10px; text-align: center; }}
  td {{ padding: 4px 10px; text-align: center; vertical-align: top; }}
  td img, td canvas {{ width: 64px; height: 64px; display: block; margin: auto; background: #eee; }}
  td small {{ color: #555; }}
  .rnnc small b {{ color: #06c; }}
  #status {{ color: #555; }}
</style>
<h1 style="font-size: 18px">.rnnc thumbnails decoded in the page</h1>
<p>Each .rnnc file is inlined as base64 and decoded by <code>rnnc.js</code> in a Worker,
step by step (the counter shows iterations decoded). Bytes are whole files, headers
included. <span id="status">decoding…</span> <button id="replay">replay</button></p>
<table>
<tr><th>original<br><small>32×32</small></th>{heads}<th>JPEG</th><th>WebP</th></tr>
{rows}
</table>
<script type="module">
import {{ decodeAll, decodeInWorker }} from "./rnnc.js";
const cells = [...document.querySelectorAll("canvas[data-rnnc]")];
const status = document.getElementById("status");
const still = new URLSearchParams(location.search).has("still");  // for screenshots
const delay = still ? 0 : 250;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function draw(canvas, img) {{
  canvas.width = img.width; canvas.height = img.height;
  canvas.getContext("2d").putImageData(img instanceof ImageData ? img
    : new ImageData(img.data, img.width, img.height), 0, 0);
}}
async function run() {{
  const steps = new Map();  // step -> [[cell, image]]
  const t0 = performance.now();
  await (still ? decodeAll : decodeInWorker)(cells.map((c) => c.dataset.rnnc), {{ onStep: (i, img, t, n) => {{
    if (!steps.has(t)) steps.set(t, []);
    steps.get(t).push([i, img, n]);
  }} }});
  const ms = performance.now() - t0;
  for (const t of [...steps.keys()].sort((a, b) => a - b)) {{
    for (const [i, img, n] of steps.get(t)) {{
      draw(cells[i], img);
      cells[i].parentElement.querySelector("i").textContent = `${{t}}/${{n}}`;
    }}
    if (delay) await sleep(delay);
  }}
  // (?still: a screenshot's virtual clock makes a time meaningless, so none is shown)
  status.textContent = still ? `${{cells.length}} files decoded.` : `${{cells.length}} files ` +
    `decoded in ${{ms.toFixed(0)}} ms (every step, weights loading included on the first run).`;
}}
document.getElementById("replay").onclick = run;
run().catch((e) => {{ status.textContent = "error: " + e.message; }});
</script>
"""


def cell_img(data: bytes, mime: str, label: str) -> str:
    return (f'<td><img alt="{html.escape(label)}" src="data:{mime};base64,{b64(data)}">'
            f"<small>{len(data)} B</small></td>")


def cell_rnnc(data: bytes) -> str:
    return (f'<td class="rnnc"><canvas data-rnnc="{b64(data)}"></canvas>'
            f"<small><b>{len(data)} B</b> · <i>0</i></small></td>")


def build(kodak: Path) -> str:
    import thumbcodec
    thumbs = thumbnails(kodak)
    files = {b: thumbcodec.encode_batch([t for _, t in thumbs], bytes=b) for b in SIZES}
    rows = []
    for k, (name, img) in enumerate(thumbs):
        cells = [cell_img(png(img), "image/png", name)]
        cells += [cell_rnnc(files[b][k]) for b in SIZES]
        cells += [cell_img(std_file(img, "JPEG"), "image/jpeg", "JPEG"),
                  cell_img(std_file(img, "WEBP"), "image/webp", "WebP")]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    heads = "".join(f"<th>.rnnc<br><small>≤ {b} B file</small></th>" for b in SIZES)
    return PAGE.format(heads=heads, rows="\n".join(rows))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kodak", default=str(ROOT.parent / "shared" / "data" / "kodak"))
    ap.add_argument("--out", default=str(ROOT / "web" / "demo.html"))
    ap.add_argument("--screenshot", help="also write a Chromium screenshot of the page (PNG)")
    a = ap.parse_args(argv)
    Path(a.out).write_text(build(Path(a.kodak)))
    print(f"{a.out}: {Path(a.out).stat().st_size} bytes")
    if a.screenshot:
        import web_serve
        rel = Path(a.out).resolve().relative_to(ROOT).as_posix()
        web_serve.screenshot(f"/{rel}?still", Path(a.screenshot).resolve(), size=(600, 1130))
        print(f"{a.screenshot}: written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
