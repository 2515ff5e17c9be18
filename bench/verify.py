"""Verification rate: ``verify_log`` against a bare read-and-hash pass.

The bare pass reads the same ``log_entries.entry`` rows in ``seq`` order from
the same database through the same driver and SHA-256s each one as a leaf: the
least any verifier must do. ``verify_log`` also parses every entry, joins and
re-reads its stored event, checks the chain and recomputes the Merkle tree.

Both passes run pinned to one core, when the platform allows it, so that a
verification measures one core's work and the database server (or the rest of
a shared machine) keeps the other.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import psycopg

from bench.workload import (
    ORIGIN,
    Backend,
    comparison,
    make_registers,
    rotations,
    storage_url,
    timed,
)
from ledger.application import LedgerApplication, create_ledger
from ledger.note import NoteSigner
from ledger.recorder import ENTRIES
from ledger.storage import Storage
from ledger.verify import verify_log

_EVENTS_PER_SAVE = 1_000
_FETCH = 5_000


@dataclass(frozen=True)
class VerifySizes:
    entries: int
    repetitions: int

    @classmethod
    def choose(cls, *, quick: bool) -> VerifySizes:
        if quick:
            return cls(entries=5_000, repetitions=3)
        return cls(entries=200_000, repetitions=5)


@contextmanager
def pinned_to_one_core() -> Iterator[int | None]:
    """Run the calling thread on one core; yields it, or None if not possible."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    core = max(before)
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, before)


def _bare_pass_sqlite(storage: Storage) -> int:
    assert storage.sqlite_path is not None
    sha256 = hashlib.sha256
    count = 0
    connection = sqlite3.connect(storage.sqlite_path)
    try:
        cursor = connection.execute(f"SELECT entry FROM {ENTRIES} ORDER BY seq")
        while rows := cursor.fetchmany(_FETCH):
            for (entry,) in rows:
                sha256(b"\x00" + entry).digest()
            count += len(rows)
    finally:
        connection.close()
    return count


def _bare_pass_postgres(storage: Storage) -> int:
    sha256 = hashlib.sha256
    count = 0
    with (
        psycopg.connect(storage_url(storage)) as connection,
        connection.cursor(name="bare_pass") as cursor,
    ):
        # A server-side cursor streams the rows in batches, as verify_log's
        # pages do, instead of holding the whole log in memory.
        cursor.execute(f"SELECT entry FROM {ENTRIES} ORDER BY seq")
        while rows := cursor.fetchmany(_FETCH):
            for (entry,) in rows:
                sha256(b"\x00" + entry).digest()
            count += len(rows)
    return count


def build_ledger(app: LedgerApplication, entries: int) -> None:
    """Append ``entries`` events, 1,000 per save, in bounded memory."""
    saves = entries // _EVENTS_PER_SAVE
    rest = entries % _EVENTS_PER_SAVE
    chunk = 20
    for start in range(0, saves, chunk):
        for register in make_registers(min(chunk, saves - start), _EVENTS_PER_SAVE):
            app.save(register)
    if rest:
        for register in make_registers(1, rest):
            app.save(register)


def run_verify(backend: Backend, sizes: VerifySizes) -> Iterator[dict[str, Any]]:
    """One ``verify`` row: entries per second, ours against the bare pass."""
    bare_pass = _bare_pass_sqlite if backend.name == "sqlite" else _bare_pass_postgres
    with backend.fresh() as storage:
        signer = NoteSigner.generate(ORIGIN)
        app: LedgerApplication
        app, log = create_ledger(storage, ORIGIN, signer)
        try:
            build_ledger(app, sizes.entries)
            # A checkpoint at the end, so verification checks one as it would in
            # use; its cost is one signature.
            log.checkpoint()
            rates: dict[str, list[float]] = {"ours": [], "baseline": []}
            with pinned_to_one_core() as core:
                # One untimed pass of each first: after a bulk load PostgreSQL's
                # first reads write hint bits, and both want a warm page cache.
                verify_log(app.log_recorder, ORIGIN, log.verifier)
                bare_pass(storage)
                for order in rotations(sizes.repetitions, list(rates)):
                    for name in order:
                        if name == "ours":
                            seconds, report = timed(
                                partial(
                                    verify_log, app.log_recorder, ORIGIN, log.verifier
                                )
                            )
                            assert report.ok, report.failure
                            assert report.size == sizes.entries, report.size
                        else:
                            seconds, count = timed(partial(bare_pass, storage))
                            assert count == sizes.entries, count
                        rates[name].append(sizes.entries / seconds)
        finally:
            app.close()
    yield comparison(
        "verify",
        backend.name,
        {
            "entries": sizes.entries,
            "events_per_save": _EVENTS_PER_SAVE,
            "pinned_core": core,
            "repetitions": sizes.repetitions,
        },
        rates["ours"],
        rates["baseline"],
        goal=0.5,
        units="entries/s",
        baseline_is=(
            "bare pass in the benchmark: the same log_entries.entry rows in seq "
            "order, same driver, SHA-256 of each"
        ),
    )
