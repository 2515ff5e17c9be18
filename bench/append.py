"""Append rates: our ledger against the plain library and against bare SQLite.

``append`` saves the same aggregates through ``LedgerApplication`` and through a
plain ``eventsourcing`` application on the same back end, in alternating blocks
over one pair of fresh databases, so both see the same machine load and the
same table sizes. Only ``save`` is timed; the aggregates are built beforehand.

``bare-append`` is the physical reference for SQLite: what the log's own work
(canonical JSON, a SHA-256 hash chain, a batched insert in WAL mode) costs when
written directly, with no event store around it. Our best batched rates are
reported as a fraction of it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from eventsourcing.application import Application

from bench.workload import (
    ORIGIN,
    Backend,
    comparison,
    make_registers,
    open_plain,
    rotations,
    timed,
)
from ledger.application import LedgerApplication, create_ledger
from ledger.note import NoteSigner
from ledger.storage import Storage


@dataclass(frozen=True)
class AppendSizes:
    """Saves per timed block, by events per save and back end, and repetitions."""

    repetitions: int
    saves: dict[tuple[str, int], int]
    bare_events: int

    @classmethod
    def choose(cls, *, quick: bool) -> AppendSizes:
        if quick:
            return cls(
                repetitions=3,
                saves={
                    ("sqlite", 1): 200,
                    ("sqlite", 100): 20,
                    ("postgres", 1): 100,
                    ("postgres", 100): 10,
                },
                bare_events=5_000,
            )
        # Each block takes about a second for the faster of the two variants.
        return cls(
            repetitions=7,
            saves={
                ("sqlite", 1): 2_000,
                ("sqlite", 100): 300,
                ("postgres", 1): 800,
                ("postgres", 100): 200,
            },
            bare_events=50_000,
        )


def _save_all(app: Application[Any], saves: int, events_per_save: int) -> float:
    """Seconds to save ``saves`` prepared registers one save at a time."""
    registers = make_registers(saves, events_per_save)

    def run() -> None:
        for register in registers:
            app.save(register)

    seconds, _ = timed(run)
    return seconds


def new_ledger(storage: Storage) -> LedgerApplication:
    """A fresh ledger; its key is thrown away, benchmarks sign nothing."""
    app: LedgerApplication
    app, _ = create_ledger(storage, ORIGIN, NoteSigner.generate(ORIGIN))
    return app


def run_append(backend: Backend, sizes: AppendSizes) -> Iterator[dict[str, Any]]:
    """``append`` rows for one back end: 1 and 100 events per save."""
    for events_per_save in (1, 100):
        saves = sizes.saves[(backend.name, events_per_save)]
        with backend.fresh() as ours_storage, backend.fresh() as plain_storage:
            apps: dict[str, Application[Any]] = {
                "ours": new_ledger(ours_storage),
                "baseline": open_plain(plain_storage),
            }
            try:
                # Warm up: connections, statement caches, the first pages.
                for app in apps.values():
                    _save_all(app, max(1, saves // 10), events_per_save)
                rates: dict[str, list[float]] = {name: [] for name in apps}
                for order in rotations(sizes.repetitions, list(apps)):
                    for name in order:
                        seconds = _save_all(apps[name], saves, events_per_save)
                        rates[name].append(saves * events_per_save / seconds)
            finally:
                for app in apps.values():
                    app.close()
        yield comparison(
            "append",
            backend.name,
            {
                "events_per_save": events_per_save,
                "saves_per_block": saves,
                "repetitions": sizes.repetitions,
            },
            rates["ours"],
            rates["baseline"],
            goal=0.9,
            units="events/s",
            baseline_is="plain eventsourcing Application, same back end and settings",
        )


# Bare append ----------------------------------------------------------------

_BARE_BATCH = 1_000


def _bare_rows(events: int) -> list[tuple[str, int]]:
    """The per-event inputs a caller would hand over: a person and an amount."""
    return [
        (hashlib.sha256(f"bare/{number}".encode()).hexdigest(), 50_000 + number)
        for number in range(events)
    ]


def _bare_append(connection: sqlite3.Connection, inputs: list[tuple[str, int]]) -> None:
    """Canonical JSON, chained SHA-256 and ``executemany``, 1,000 per transaction.

    The envelope has the log's fields, with the body of a recorded payment.
    """
    dumps = json.dumps
    sha256 = hashlib.sha256
    head = connection.execute(
        "SELECT seq, leaf FROM entries ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    seq = 0 if head is None else int(head[0]) + 1
    prev = "0" * 64 if head is None else bytes(head[1]).hex()
    for start in range(0, len(inputs), _BARE_BATCH):
        rows = []
        for person_ref, amount in inputs[start : start + _BARE_BATCH]:
            envelope = {
                "seq": seq,
                "prev": prev,
                "recorded_at": "2026-03-01T08:00:00.000000Z",
                "stream": "6f1c2b0e-7d4a-4c1e-9f57-2b8d0c3e5a91",
                "version": seq + 1,
                "type": "bench:Register.PaymentRecorded@1",
                "actor": "officer-420102",
                "body": {
                    "person_ref": person_ref,
                    "programme": "BOARD_PRI",
                    "term": "2026-1",
                    "amount": amount,
                    "timestamp": "2026-03-01T08:00:00.000000+00:00",
                },
                "signatures": [],
            }
            data = dumps(
                envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
            leaf = sha256(b"\x00" + data).digest()
            rows.append((seq, leaf, data))
            prev = leaf.hex()
            seq += 1
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO entries (seq, leaf, entry) VALUES (?, ?, ?)", rows
        )
        connection.execute("COMMIT")


def _synchronous(connection: sqlite3.Connection) -> int:
    (value,) = connection.execute("PRAGMA synchronous").fetchone()
    return int(value)


def run_bare_append(sizes: AppendSizes) -> Iterator[dict[str, Any]]:
    """Our batched SQLite appends as a fraction of the bare append path."""
    sqlite = Backend("sqlite")
    events = sizes.bare_events
    per_save = (100, 1_000)
    with (
        sqlite.fresh() as bare_storage,
        sqlite.fresh() as storage_100,
        sqlite.fresh() as storage_1000,
    ):
        assert bare_storage.sqlite_path is not None
        ours = {100: new_ledger(storage_100), 1_000: new_ledger(storage_1000)}
        bare = sqlite3.connect(bare_storage.sqlite_path, isolation_level=None)
        try:
            # The library sets WAL and leaves synchronous at SQLite's default;
            # the bare path does the same, and the row records both settings.
            (journal,) = bare.execute("PRAGMA journal_mode=WAL").fetchone()
            bare.execute(
                "CREATE TABLE entries (seq INTEGER PRIMARY KEY, "
                "leaf BLOB NOT NULL, entry BLOB NOT NULL)"
            )
            with ours[100].log_recorder._transaction(commit=False) as cursor:
                cursor.execute("PRAGMA synchronous")
                library_synchronous = int(cursor.fetchone()[0])
            bare_synchronous = _synchronous(bare)
            assert library_synchronous == bare_synchronous, (
                library_synchronous,
                bare_synchronous,
            )

            _bare_append(bare, _bare_rows(_BARE_BATCH))
            for size, app in ours.items():
                _save_all(app, max(1, _BARE_BATCH // size), size)

            rates: dict[str, list[float]] = {"bare": [], "100": [], "1000": []}
            for order in rotations(sizes.repetitions, list(rates)):
                for name in order:
                    if name == "bare":
                        inputs = _bare_rows(events)
                        seconds, _ = timed(partial(_bare_append, bare, inputs))
                    else:
                        size = int(name)
                        seconds = _save_all(ours[size], events // size, size)
                    rates[name].append(events / seconds)
        finally:
            bare.close()
            for app in ours.values():
                app.close()

    for size in per_save:
        record = comparison(
            "bare-append",
            "sqlite",
            {
                "events_per_save": size,
                "events_per_block": events,
                "bare_rows_per_transaction": _BARE_BATCH,
                "journal_mode": journal,
                "synchronous": bare_synchronous,
                "repetitions": sizes.repetitions,
            },
            rates[str(size)],
            rates["bare"],
            goal=None,
            units="events/s",
            baseline_is=(
                "bare append in the benchmark: json.dumps sort_keys compact, "
                "SHA-256 chain, executemany, 1,000 rows per transaction"
            ),
        )
        yield record
