"""Log entries: the exact bytes that are hashed, chained, stored and exported.

An entry is the RFC 8785 canonical JSON of the envelope

    {"actor", "body", "prev", "recorded_at", "seq", "signatures", "stream",
     "type", "version"}

built from one stored domain event. ``seq`` is the entry's 0-based position in
the log and ``prev`` the hex leaf hash of entry ``seq - 1`` (64 zeros for the
first entry), which chains every entry to all that came before it.

The log takes the event as the event store holds it: the stream (originator id),
its version, its topic and its state, a JSON object. Two keys of the state are
lifted into the envelope because verifiers need them without knowing the
event's type: ``actor`` (who asked for the change) and ``signatures`` (the
signed requests that authorised it). Everything else in the state is the body.
Building the envelope from the same stored event twice gives the same body, so
a verifier can check that every stored event still says what its entry says.

Invariant: ``entry_bytes`` is a pure function of its arguments, and
``parse_entry(entry_bytes(...))`` returns the same values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger.canonical import canonical_bytes, dumps_plain, parse_plain
from ledger.errors import BadData

GENESIS_PREV = "0" * 64
LIFTED_KEYS = ("actor", "signatures")
ENVELOPE_KEYS = frozenset(
    (
        "actor",
        "body",
        "prev",
        "recorded_at",
        "seq",
        "signatures",
        "stream",
        "type",
        "version",
    )
)


class MalformedEntry(BadData):
    """Entry bytes that do not decode to a well-formed envelope."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"malformed entry: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Entry:
    """One decoded log entry; ``raw`` holds the exact stored bytes."""

    seq: int
    prev: str
    recorded_at: str
    stream: str
    version: int
    type: str
    actor: str | None
    body: dict[str, Any]
    signatures: list[Any]
    raw: bytes


def timestamp(moment: datetime | None = None) -> str:
    """Format a UTC time the way entries record it: ISO 8601, microseconds, Z."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def split_state(state: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """Separate an event state into (actor, signatures, body)."""
    body = dict(state)
    actor = body.pop("actor", None)
    signatures = body.pop("signatures", None)
    return actor, [] if signatures is None else signatures, body


def decode_state(state: bytes) -> dict[str, Any]:
    """Decode a stored event's state, which must be a JSON object."""
    try:
        value = json.loads(state)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedEntry(f"event state is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise MalformedEntry("event state is not a JSON object")
    return value


def entry_bytes(
    *,
    seq: int,
    prev: str,
    recorded_at: str,
    stream: str,
    version: int,
    type: str,  # noqa: A002 - the envelope's own field name
    state: bytes,
) -> bytes:
    """Build the canonical entry bytes for one stored event's JSON state."""
    # Nearly every state takes the fast path: parsed and re-encoded in C. The
    # fields added here are BMP strings and small integers, which keeps the
    # envelope within what dumps_plain writes canonically.
    value = parse_plain(state)
    encode = dumps_plain
    if value is None:
        value = decode_state(state)
        encode = canonical_bytes
    if not isinstance(value, dict):
        raise MalformedEntry("event state is not a JSON object")
    actor, signatures, body = split_state(value)
    if actor is not None and not isinstance(actor, str):
        raise MalformedEntry(f"actor must be a string or absent, got {actor!r}")
    if not isinstance(signatures, list):
        raise MalformedEntry("signatures must be a list")
    return encode(
        {
            "actor": actor,
            "body": body,
            "prev": prev,
            "recorded_at": recorded_at,
            "seq": seq,
            "signatures": signatures,
            "stream": stream,
            "type": type,
            "version": version,
        }
    )


def parse_entry(raw: bytes) -> Entry:
    """Decode entry bytes, checking the envelope's shape (not its hashes)."""
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedEntry(f"not JSON: {error}") from None
    if not isinstance(value, dict) or set(value) != ENVELOPE_KEYS:
        raise MalformedEntry("not an envelope with exactly the entry fields")
    checks = (
        ("seq", int),
        ("prev", str),
        ("recorded_at", str),
        ("stream", str),
        ("version", int),
        ("type", str),
        ("body", dict),
        ("signatures", list),
    )
    for field, kind in checks:
        if not isinstance(value[field], kind) or isinstance(value[field], bool):
            raise MalformedEntry(f"field {field!r} must be {kind.__name__}")
    if value["actor"] is not None and not isinstance(value["actor"], str):
        raise MalformedEntry("field 'actor' must be a string or null")
    return Entry(raw=raw, **value)
