"""What projections read: the log's entries, decoded once.

Projections follow the log itself, not the domain's aggregates: an entry's bytes
are what was hashed, chained and signed, so a view built from them shows what
any verifier can check, and a row's ``seq`` positions are entries anyone can
fetch with an inclusion proof.

A ``LoggedEvent`` is one entry with its topic split into the event's name and
version: ``fundledger.domain:CountyFund.PaymentProposed@1`` becomes name
``CountyFund.PaymentProposed``, version 1. Projections match on names and read
the body's fields; they never import domain classes to decode.

Invariant: ``decode`` is a pure function of the stored row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from ledger.entry import MalformedEntry

TOPIC_PREFIX = "fundledger.domain:"


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One log entry as projections see it."""

    seq: int
    notification_id: int
    stream: str
    name: str  # e.g. "CountyFund.PaymentProposed"
    topic_version: int  # the @N of the event's topic
    actor: str | None
    recorded_at: str  # ISO 8601 UTC, as the entry records it
    body: dict[str, Any]


@lru_cache(maxsize=4096)  # a log has few distinct topics; decode needs every one
def split_topic(topic: str) -> tuple[str, int]:
    """``fundledger.domain:X.Y@2`` -> ("X.Y", 2); foreign topics keep their text."""
    name, _, version = topic.rpartition("@")
    if not name or not version.isdigit():
        return topic, 0
    return name.removeprefix(TOPIC_PREFIX), int(version)


def decode(seq: int, notification_id: int, entry: bytes) -> LoggedEvent:
    """Decode one stored entry (its shape was checked when it was written)."""
    try:
        value = orjson.loads(entry)
    except orjson.JSONDecodeError as error:
        raise MalformedEntry(f"entry {seq} is not JSON: {error}") from None
    if not isinstance(value, dict) or not isinstance(value.get("body"), dict):
        raise MalformedEntry(f"entry {seq} is not an envelope with a body")
    name, version = split_topic(str(value.get("type", "")))
    return LoggedEvent(
        seq=seq,
        notification_id=notification_id,
        stream=str(value.get("stream", "")),
        name=name,
        topic_version=version,
        actor=value.get("actor"),
        recorded_at=str(value.get("recorded_at", "")),
        body=value["body"],
    )
