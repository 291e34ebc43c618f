"""Static files under ``/static/``, with content-hashed names and a one-year immutable cache.

Files are read once at start-up: the core's ``portal/static`` and each plugin's ``static/``
folder (served under ``/static/<plugin key>/``). Each gets a name carrying the first hex digits
of its sha256 (``carnet.css`` -> ``carnet.3f2a1b9c.css``), so a browser keeps it for a year and
a new version is a new URL. Text files are compressed once, at the highest brotli level.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

import brotli
from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from portal.access import public

CORE_STATIC_DIR = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
COMPRESSIBLE = {"text/css", "text/javascript", "application/javascript", "image/svg+xml"}
SERVED_SUFFIXES = {".css", ".js", ".svg", ".png", ".ico", ".woff2"}


@dataclass(frozen=True)
class StaticFile:
    content: bytes
    media_type: str
    brotli: bytes | None
    gzip: bytes | None


class StaticFiles:
    """The portal's static files by hashed name, and the function templates call to link them."""

    def __init__(self, folders: Iterable[tuple[str, Path]]):
        self.urls: dict[str, str] = {}
        self.files: dict[str, StaticFile] = {}
        for prefix, folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.suffix in SERVED_SUFFIXES:
                    self._add(str(PurePosixPath(prefix, path.relative_to(folder).as_posix())), path)

    def _add(self, name: str, path: Path) -> None:
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()[:10]
        stem, dot, suffix = name.rpartition(".")
        hashed = f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        compressible = media_type in COMPRESSIBLE
        self.urls[name] = f"/static/{hashed}"
        self.files[hashed] = StaticFile(
            content=content,
            media_type=media_type,
            brotli=_brotli(content) if compressible else None,
            gzip=_gzip(content) if compressible else None,
        )

    def url(self, name: str) -> str:
        """The hashed URL of a static file, e.g. ``static_url("carnet.css")``."""
        try:
            return self.urls[name]
        except KeyError:
            raise LookupError(f"No static file named {name!r}") from None


# Compressed once per process: every app the process builds (tests build many) reuses them.
@cache
def _brotli(content: bytes) -> bytes:
    return brotli.compress(content, quality=11)


@cache
def _gzip(content: bytes) -> bytes:
    return gzip.compress(content, compresslevel=9, mtime=0)


@get(
    "/static/{name:path}",
    guards=[public],
    opt={"skip_compression": True},
    include_in_schema=False,
    sync_to_thread=False,
)
def serve_static(request: Request, name: FromPath[str]) -> Response:
    static: StaticFiles = request.app.state.static
    file = static.files.get(name.lstrip("/"))
    if file is None:
        raise NotFoundException()
    accepted = request.headers.get("accept-encoding", "")
    headers = {"cache-control": IMMUTABLE, "vary": "accept-encoding"}
    content = file.content
    if file.brotli is not None and "br" in accepted:
        content, headers["content-encoding"] = file.brotli, "br"
    elif file.gzip is not None and "gzip" in accepted:
        content, headers["content-encoding"] = file.gzip, "gzip"
    return Response(content, media_type=file.media_type, headers=headers)
