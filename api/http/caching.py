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
