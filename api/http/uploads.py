"""Uploaded files: a request body read up to a limit, and its form fields.

A spreadsheet arrives either as the whole body (``Content-Type: text/csv``,
the XLSX type, or ``application/octet-stream``) or as one field of a
``multipart/form-data`` form (RFC 7578), which is what a browser's file input
sends. The form is parsed here, strictly: a body that is not a well-formed
form is refused as ``MalformedUpload``, never guessed at.

Invariants:

- No body is ever held beyond ``limit`` bytes: a declared length above it is
  refused before reading, and reading stops at the first byte past it
  (``UploadTooLarge``).
- Field content is returned byte for byte (a spreadsheet's bytes decide its
  digest); only header lines are decoded, as UTF-8, as browsers send names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request

from ledger.errors import FundLedgerError

_PARAMETER = re.compile(
    r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))'
)
_MAX_BOUNDARY = 70  # RFC 2046 §5.1.1


class UploadTooLarge(FundLedgerError):
    """A body longer than the server takes; nothing of it was used."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes; send a smaller one")
        self.limit = limit


class MalformedUpload(FundLedgerError):
    """A body that is not the form or file the endpoint takes."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"malformed upload: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class Field:
    """One field of a form: its content and, for a file, the file's name."""

    name: str
    content: bytes
    filename: str | None = None


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or ``UploadTooLarge`` as soon as it passes ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """``type/subtype`` in lower case and the header's parameters."""
    kind, _, rest = content_type.partition(";")
    return kind.strip().lower(), _parameters(";" + rest)


def form_fields(content_type: str, body: bytes) -> dict[str, Field]:
    """The fields of a ``multipart/form-data`` body, by name (each at most once)."""
    _, parameters = media_type(content_type)
    boundary = parameters.get("boundary", "")
    if not 0 < len(boundary) <= _MAX_BOUNDARY:
        raise MalformedUpload("a multipart body needs a boundary of 1 to 70 characters")
    delimiter = b"\r\n--" + boundary.encode("latin-1", "replace")
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise MalformedUpload("the form is not closed by its boundary")
    fields: dict[str, Field] = {}
    for piece in pieces[1:-1]:
        field = _field(piece)
        if field.name in fields:
            raise MalformedUpload(f"the field {field.name!r} is given twice")
        fields[field.name] = field
    return fields


def _field(piece: bytes) -> Field:
    """One part: the rest of the boundary line, headers, a blank line, content."""
    line_end = piece.find(b"\r\n")
    if line_end < 0 or piece[:line_end].strip(b" \t"):
        raise MalformedUpload("a boundary line has text after it")
    head, separator, content = piece[line_end + 2 :].partition(b"\r\n\r\n")
    if not separator:
        raise MalformedUpload("a part has no blank line after its headers")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise MalformedUpload(f"a part has a header line without a colon: {line!r}")
        headers[name.strip().lower()] = value.strip()
    disposition, parameters = media_type(headers.get("content-disposition", ""))
    if disposition != "form-data" or not parameters.get("name"):
        raise MalformedUpload("a part is not form-data with a name")
    return Field(parameters["name"], content, parameters.get("filename"))


def _parameters(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _PARAMETER.finditer(text):
        quoted, plain = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain
        found[match.group(1).lower()] = value
    return found
