"""Caching headers for what never changes, and for what may.

An entry, a proof between explicit tree sizes, and the checkpoint of an
explicit size are immutable: the log only grows, and Ed25519 signatures are
deterministic, so the same request always gets the same bytes. They carry a
year-long ``Cache-Control: public, max-age=31536000, immutable`` and a strong
``ETag`` (SHA-256 of the body), and a matching ``If-None-Match`` gets 304.
What depends on the log's current size gets ``no-cache`` and an ETag, so a
client may revalidate but never reuse a stale answer.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable

from fastapi import Request, Response

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def strong_etag(body: bytes) -> str:
    """A strong validator: the quoted SHA-256 of the exact body."""
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def _matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    candidates = [part.strip() for part in header.split(",")]
    return "*" in candidates or etag in candidates


def cached(
    request: Request,
    body: bytes,
    media_type: str,
    *,
    immutable: bool,
    status_code: int = 200,
) -> Response:
    """``body`` with caching headers, or 304 when the client holds it already."""
    etag = strong_etag(body)
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if immutable else REVALIDATE,
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(
        body, status_code=status_code, media_type=media_type, headers=headers
    )


class PageCache:
    """Rendered view pages, each kept with the view position it was read at.

    A view's rows and its position are written in one transaction, so every
    read of a view at one position returns the same rows: a page rendered at
    position p is exactly what reading it again at p would render. A request
    reads the view's position (one small query), and answers from here when
    the page was rendered at that position. Least recently used pages go
    first. Thread-safe.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, tuple[int, bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, position: int) -> tuple[bytes, str] | None:
        """The body and media type rendered at ``position``, if kept."""
        with self._lock:
            kept = self._pages.get(key)
            if kept is None or kept[0] != position:
                return None
            self._pages.move_to_end(key)
            return kept[1], kept[2]

    def put(self, key: Hashable, position: int, body: bytes, media_type: str) -> None:
        """Keep a page rendered at ``position``."""
        with self._lock:
            self._pages[key] = (position, body, media_type)
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
