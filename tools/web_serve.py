"""A static server on 127.0.0.1 and headless Chromium, for the browser tests, the speed
measurement and the demo screenshot of web/rnnc.js.

    python tools/web_serve.py                 # serve the repository, print the demo's URL

The server serves the repository's files, any extra in-memory files it is given (e.g.
/cases.json), and takes one POST /result: the page's JSON answer, which run_page returns.
"""
from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class _Handler(SimpleHTTPRequestHandler):
    extra: dict[str, bytes] = {}
    results: queue.Queue

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in self.extra:
            body = self.extra[path]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()
        if self.path == "/result":
            self.results.put(json.loads(body))

    def log_message(self, *args):  # quiet
        pass


class Server:
    """with Server(extra={"/cases.json": b"..."}) as s: s.url("/tests/web/test.html")"""

    def __init__(self, extra: dict[str, bytes] | None = None):
        handler = type("Handler", (_Handler,), {"extra": dict(extra or {}),
                                                 "results": queue.Queue()})
        handler.extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                                  ".js": "text/javascript", ".mjs": "text/javascript",
                                  ".wasm": "application/wasm"}
        self.handler = handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(ROOT)))

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def result(self, timeout: float):
        return self.handler.results.get(timeout=timeout)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _flags(profile: str) -> list[str]:
    return ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            f"--user-data-dir={profile}"]


def run_page(path: str, extra: dict[str, bytes] | None = None, timeout: float = 60) -> dict:
    """Load a page of the repository in headless Chromium; returns the JSON it POSTs."""
    exe = chromium()
    if exe is None:
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    with Server(extra) as srv, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen([exe, *_flags(profile), srv.url(path)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            return srv.result(timeout)
        except queue.Empty:
            raise TimeoutError(f"{path}: no result from Chromium in {timeout} s") from None
        finally:
            proc.kill()
            proc.wait()


def screenshot(path: str, out: Path, size=(1000, 800), budget_ms: int = 15000) -> None:
    """Chromium --screenshot of a page of the repository (after `budget_ms` of virtual
    time, so that its decoding has run)."""
    exe = chromium()
    with Server() as srv, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        subprocess.run([exe, *_flags(profile), f"--window-size={size[0]},{size[1]}",
                        f"--virtual-time-budget={budget_ms}", "--hide-scrollbars",
                        f"--screenshot={out}", srv.url(path)],
                       check=True, capture_output=True, timeout=120)


if __name__ == "__main__":
    with Server() as s:
        print(s.url("/web/demo.html"), flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            sys.exit(0)
