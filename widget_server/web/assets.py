"""Our own scripts and stylesheet, minified once at start-up and served under hashed names.

A hashed URL never changes content, so it is cached for a year; the plain `/embed.js` that
providers paste is cached briefly so fixes reach every site within minutes.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass

from calmjs.parse import es5
from calmjs.parse.unparsers.es5 import minify_print
from starlette.requests import Request
from starlette.responses import Response

from widget_server.core.errors import NotFound
from widget_server.core.settings import PACKAGE_DIR

STATIC = PACKAGE_DIR / "static"
SOURCES = {
    "embed.js": STATIC / "embed.js",
    "widget.js": STATIC / "widget.js",
    "widget.css": STATIC / "widget.css",
}
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
LONG = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    digest: str

    @property
    def hashed_name(self) -> str:
        stem, _, ext = self.name.rpartition(".")
        return f"{stem}.{self.digest}.{ext}"

    @property
    def gzipped_size(self) -> int:
        return len(gzip.compress(self.body, 9))


def build() -> dict[str, Asset]:
    assets = {}
    for name, path in SOURCES.items():
        text = path.read_text(encoding="utf-8")
        if name.endswith(".js"):
            # Renaming locals (not globals) saves a tenth of the gzipped bytes.
            text = minify_print(es5(text), obfuscate=True, obfuscate_globals=False)
        body = text.encode()
        assets[name] = Asset(name, body, hashlib.sha256(body).hexdigest()[:12])
    return assets


def _respond(asset: Asset, cache: str) -> Response:
    media = TYPES["." + asset.name.rpartition(".")[2]]
    return Response(asset.body, media_type=media, headers={
        "Cache-Control": cache, "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin"})


async def embed_plain(request: Request) -> Response:
    return _respond(request.app.state.assets["embed.js"], SHORT)


async def hashed(request: Request) -> Response:
    """`/assets/widget.<digest>.js`; an old digest still answers (with the current body)."""
    name = request.path_params["name"]
    stem, _, rest = name.partition(".")
    ext = rest.rpartition(".")[2]
    asset = request.app.state.assets.get(f"{stem}.{ext}")
    if asset is None:
        raise NotFound("No such asset.")
    return _respond(asset, LONG if name == asset.hashed_name else SHORT)

