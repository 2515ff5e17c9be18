"""Properties of the stored log, for any sequence of appends (hypothesis).

Any sequence of saves verifies and every proof checks; any single changed byte,
swapped pair, deleted row or truncation behind a checkpoint is found at the
position where it was made. Each example gets a ledger of its own: a SQLite file
or a fresh PostgreSQL database.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from ledger.verify import FailureKind
from tests.conftest import POSTGRES_URL_VARIABLE, fresh_database
from tests.ledger.support import append_notes, new_ledger, raw_sql, verify

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
batches = st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=8)
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextmanager
def ledger_on(backend: str) -> Iterator[Any]:
    """A brand-new ledger for one hypothesis example."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            app, log = new_ledger(f"sqlite:///{directory}/ledger.db")
            try:
                yield app, log
            finally:
                app.close()
        return
    admin = os.environ.get(POSTGRES_URL_VARIABLE)
    if not admin:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} not set")
    with fresh_database(admin) as url:
        app, log = new_ledger(url)
        try:
            yield app, log
        finally:
            app.close()


@pytest.mark.parametrize("backend", BACKENDS)
@PROPERTY
@given(sizes=batches, data=st.data())
def test_any_appends_verify_and_prove(
    backend: str, sizes: list[int], data: Any
) -> None:
    with ledger_on(backend) as (app, log):
        append_notes(app, sizes)
        size = log.size()
        assert size == sum(sizes)
        assert verify(app, log).ok

        index = data.draw(st.integers(0, size - 1))
        at = data.draw(st.integers(index + 1, size))
        proof = log.inclusion_proof(index, at)
        verify_inclusion(
            leaf_hash(log.entry(index)), index, at, proof.hashes, log.root(at)
        )
        old = data.draw(st.integers(1, size))
        proof2 = log.consistency_proof(old, size)
        verify_consistency(old, size, log.root(old), log.root(), proof2.hashes)


@pytest.mark.parametrize("backend", BACKENDS)
@PROPERTY
@given(sizes=batches, data=st.data())
def test_any_changed_byte_is_found_at_its_entry(
    backend: str, sizes: list[int], data: Any
) -> None:
    with ledger_on(backend) as (app, log):
        append_notes(app, sizes)
        seq = data.draw(st.integers(0, log.size() - 1), label="seq")
        raw = bytearray(log.entry(seq))
        offset = data.draw(st.integers(0, len(raw) - 1), label="offset")
        raw[offset] ^= data.draw(st.integers(1, 255), label="xor")
        with raw_sql(app.log_recorder) as sql:
            sql.execute(
                "UPDATE log_entries SET entry = ? WHERE seq = ?", [bytes(raw), seq]
            )

        report = verify(app, log)
        assert report.failure is not None
        assert report.failure.position == seq
        assert report.failure.kind == FailureKind.CHANGED_BYTES


@pytest.mark.parametrize("backend", BACKENDS)
@PROPERTY
@given(sizes=batches.filter(lambda s: sum(s) >= 2), data=st.data())
def test_any_swapped_pair_is_found_at_the_first(
    backend: str, sizes: list[int], data: Any
) -> None:
    with ledger_on(backend) as (app, log):
        append_notes(app, sizes)
        first = data.draw(st.integers(0, log.size() - 2))
        second = data.draw(st.integers(first + 1, log.size() - 1))
        with raw_sql(app.log_recorder) as sql:
            rows = {
                row["seq"]: row
                for row in sql.execute(
                    "SELECT seq, notification_id, leaf, nodes, entry FROM log_entries "
                    "WHERE seq IN (?, ?)",
                    [first, second],
                )
            }
            for target, source in ((first, second), (second, first)):
                row = rows[source]
                sql.execute(
                    "UPDATE log_entries SET notification_id = ?, leaf = ?, nodes = ?, "
                    "entry = ? WHERE seq = ?",
                    [
                        row["notification_id"],
                        bytes(row["leaf"]),
                        bytes(row["nodes"]),
                        bytes(row["entry"]),
                        target,
                    ],
                )

        report = verify(app, log)
        assert report.failure is not None
        assert (report.failure.position, report.failure.kind) == (
            first,
            FailureKind.REORDERED,
        )


@pytest.mark.parametrize("backend", BACKENDS)
@PROPERTY
@given(sizes=batches, data=st.data())
def test_any_deleted_row_is_found_at_its_place(
    backend: str, sizes: list[int], data: Any
) -> None:
    with ledger_on(backend) as (app, log):
        append_notes(app, sizes)
        seq = data.draw(st.integers(0, log.size() - 1))
        with raw_sql(app.log_recorder) as sql:
            sql.execute("DELETE FROM log_entries WHERE seq = ?", [seq])

        report = verify(app, log)
        assert report.failure is not None
        assert report.failure.position == seq
        assert report.failure.kind == FailureKind.MISSING_ENTRY


@pytest.mark.parametrize("backend", BACKENDS)
@PROPERTY
@given(sizes=batches, data=st.data())
def test_any_truncation_behind_a_checkpoint_is_found(
    backend: str, sizes: list[int], data: Any
) -> None:
    with ledger_on(backend) as (app, log):
        append_notes(app, sizes)
        log.checkpoint()
        keep = data.draw(st.integers(0, log.size() - 1))
        with raw_sql(app.log_recorder) as sql:
            events = sql.recorder._events_table
            column = "rowid" if events == "stored_events" else "notification_id"
            sql.execute(
                f"DELETE FROM {{events}} WHERE {column} IN "
                "(SELECT notification_id FROM log_entries WHERE seq >= ?)",
                [keep],
            )
            sql.execute("DELETE FROM log_entries WHERE seq >= ?", [keep])

        report = verify(app, log)
        assert report.failure is not None
        assert (report.failure.position, report.failure.kind) == (
            keep,
            FailureKind.TRUNCATED,
        )
