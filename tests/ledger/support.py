"""Shared pieces for the log's tests: a tiny aggregate, a ledger, raw SQL access.

The log knows nothing of funds, so its tests record a neutral ``Note`` aggregate
with explicit topics, exactly as a domain would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.application import LedgerApplication, create_ledger, open_ledger
from ledger.log import Log
from ledger.note import NoteSigner
from ledger.recorder import LogRecorder
from ledger.storage import parse_url
from ledger.verify import Report, verify_log

ORIGIN = "test.fundledger.example/log"


class Note(Aggregate):
    """A neutral aggregate: a title and lines appended to it."""

    TOPIC = "tests:Note@1"

    class Created(Aggregate.Created):
        TOPIC = "tests:Note.Created@1"
        title: str

    class LineAdded(Aggregate.Event):
        TOPIC = "tests:Note.LineAdded@1"
        text: str
        amount: int
        actor: str

    @event(Created)
    def __init__(self, title: str) -> None:
        self.title = title
        self.lines: list[str] = []

    @event(LineAdded)
    def add(self, text: str, amount: int = 0, actor: str = "tester") -> None:
        self.lines.append(text)


def new_ledger(
    url: str, signer: NoteSigner | None = None
) -> tuple[LedgerApplication, Log]:
    """Create a ledger at ``url`` with a fresh log key."""
    signer = signer or NoteSigner.generate(ORIGIN)
    return create_ledger(parse_url(url), ORIGIN, signer)


def reopen(url: str, signer: NoteSigner | None = None) -> tuple[LedgerApplication, Log]:
    """Open the ledger at ``url`` again, as another process would."""
    return open_ledger(parse_url(url), signer)


def append_notes(app: LedgerApplication, batches: list[int]) -> list[UUID]:
    """Save one note per batch with ``n - 1`` lines: ``n`` events in one save."""
    ids = []
    for number, size in enumerate(batches):
        note = Note(f"note {number}")
        for line in range(size - 1):
            note.add(f"line {line} 中文 ☃", amount=line * 100)
        app.save(note)
        ids.append(note.id)
    return ids


def verify(app: LedgerApplication, log: Log, extra: list[str] | None = None) -> Report:
    """Run full verification with the log's own key."""
    return verify_log(
        app.log_recorder, log.origin, log.verifier, extra_checkpoints=extra or []
    )


@contextmanager
def raw_sql(recorder: LogRecorder) -> Iterator[Any]:
    """A committing cursor on the ledger's database, for tampering in tests."""
    with recorder._transaction(commit=True) as cursor:
        yield _Tamper(recorder, cursor)


class _Tamper:
    def __init__(self, recorder: LogRecorder, cursor: Any) -> None:
        self.recorder = recorder
        self.cursor = cursor

    def execute(self, statement: str, params: list[Any] | None = None) -> list[Any]:
        statement = statement.replace("{events}", self.recorder._events_table)
        self.cursor.execute(self.recorder._sql(statement), params or [])
        try:
            return list(self.cursor.fetchall())
        except Exception:  # noqa: BLE001 - statements without rows
            return []
