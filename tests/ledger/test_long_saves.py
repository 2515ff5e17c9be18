"""A save whose entries take long to build still commits, whole.

Building, hashing and chaining a large save's entries (an import of 100,000
rows is one transaction) happens between two statements of its transaction.
PostgreSQL ends a session left idle in a transaction past
``idle_in_transaction_session_timeout``, which the event-store library sets to
5 seconds unless told otherwise: a loaded machine took that long, and the
import failed. The ledger allows a save minutes of work between statements.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ledger.recorder import LogRecorder
from tests.ledger.support import append_notes, new_ledger, verify

SLOW_SECONDS = 6.0  # past the library's default of 5


@pytest.mark.slow
@pytest.mark.parametrize("events", [3, 20_000], ids=["pipelined", "unpipelined"])
def test_a_save_slow_between_its_statements_commits(
    database_url: str, monkeypatch: pytest.MonkeyPatch, events: int
) -> None:
    app, log = new_ledger(database_url)
    append_notes(app, [2])
    append_log = LogRecorder._append_log

    def slow_append_log(self: LogRecorder, *args: Any) -> None:
        time.sleep(SLOW_SECONDS)  # inside the transaction, after the events
        append_log(self, *args)

    monkeypatch.setattr(LogRecorder, "_append_log", slow_append_log)
    append_notes(app, [events])
    monkeypatch.undo()

    assert app.log_recorder.log_size() == 2 + events
    report = verify(app, log)
    assert report.ok, report
    app.close()
