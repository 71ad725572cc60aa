"""Benchmark: how small is what a provider's page and the iframe's first view download?

Prints the snippet's size (source, minified, gzipped), the widget's own script, and the bytes
and requests of the widget's first view (HTML + CSS + JS) inside the iframe.

    .venv/bin/python bench/embed_size.py
"""

from __future__ import annotations

import gzip
import re
import sys
import tempfile
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from widget_server.app import create_app  # noqa: E402
from widget_server.core.db import migrate  # noqa: E402
from widget_server.core.settings import Settings  # noqa: E402
from widget_server.demo import TENANTS_DIR  # noqa: E402
from widget_server.web import assets


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 9))


def main() -> None:
    built = assets.build()
    print("Embedding JavaScript (target: <= 2252 bytes gzipped in all)")
    total = 0
    for name in ("embed.js", "widget.js"):
        source = assets.SOURCES[name].read_bytes()
        body = built[name].body
        total += gz(body)
        print(f"  {name:10} source {len(source):6} B   minified {len(body):6} B   "
              f"gzipped {gz(body):5} B")
    print(f"  together (gzipped): {total} B")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate(url)
        app = create_app(Settings(database_url=url, secret_keys=("bench",), tenants_dir=TENANTS_DIR,
                                  send_in_process=False))
        client = TestClient(app)
        page = client.get("/t/demo/login")
        requests = [("HTML", page.content)]
        for ref in re.findall(r'(?:href|src)="(https?://[^"]+/assets/[^"]+)"', page.text):
            requests.append((ref.rsplit("/", 1)[1], client.get(ref).content))
        print("\nFirst view inside the iframe (the login page)")
        raw = sum(len(body) for _, body in requests)
        packed = sum(gz(body) for _, body in requests)
        for name, body in requests:
            print(f"  {name:28} {len(body):6} B   gzipped {gz(body):5} B")
        print(f"  {len(requests)} requests, {raw} B raw, {packed} B gzipped")
        app.state.engine.dispose()


if __name__ == "__main__":
    main()
