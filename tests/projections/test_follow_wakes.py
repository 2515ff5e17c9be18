"""A follower on PostgreSQL wakes when the log grows, not at its next poll.

The event-store library notifies a channel in every transaction that inserts
events; ``AppendListener`` listens to it. The follower below polls once a
minute: only the notification can bring it up to date within seconds. The
notification is a hint: a listener whose connection is cut falls back to
polling and listens again, and the follower's views stay exact.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import psycopg
import pytest

from api.app import FundLedger
from ledger.application import open_ledger
from ledger.recorder import append_waits
from ledger.storage import parse_url
from projections.balances import Balances
from projections.runner import ProjectionRunner
from projections.store import ViewStore
from tests.projections.runner_support import (
    all_entries,
    make_demo,
    pure,
    receive_donation,
    stored,
)

POLL_SECONDS = 60.0  # the follower's fallback: far longer than any wait below
PROMPT_SECONDS = 10.0


def test_no_listener_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    make_demo(url, tmp_path)
    ledger, _ = open_ledger(parse_url(url), app_class=FundLedger)
    try:
        with append_waits(ledger.log_recorder, ledger.storage) as wake:
            assert wake is None
    finally:
        ledger.close()


@pytest.mark.postgres
def test_a_follower_wakes_at_an_append(fresh_postgres_url: str, tmp_path: Path) -> None:
    url = fresh_postgres_url
    make_demo(url, tmp_path)
    ledger, _ = open_ledger(parse_url(url), app_class=FundLedger)
    applied: queue.Queue[int] = queue.Queue()
    stop = threading.Event()
    with (
        append_waits(ledger.log_recorder, ledger.storage) as wake,
        ViewStore(parse_url(url)) as store,
    ):
        assert wake is not None
        runner = ProjectionRunner(store, [Balances()])
        runner.update()
        wake(0)  # the demo's own notifications
        follower = threading.Thread(
            target=runner.follow,
            args=(POLL_SECONDS, stop),
            kwargs={"on_update": applied.put, "wake": wake},
        )
        follower.start()
        try:
            time.sleep(0.5)  # the follower is waiting for its next poll
            for n in range(3):
                receive_donation(ledger, f"woken-{n}")
                assert applied.get(timeout=PROMPT_SECONDS) >= 1
        finally:
            stop.set()
            # The follower ends at its next wake: one more append is one.
            receive_donation(ledger, "last")
            follower.join(PROMPT_SECONDS)
        assert not follower.is_alive()
        runner.update()  # "last", if the follower stopped before reading it
    ledger.close()
    assert stored(url, Balances()) == pure(Balances(), all_entries(url))


@pytest.mark.postgres
def test_a_listener_cut_off_polls_then_listens_again(
    fresh_postgres_url: str, tmp_path: Path, postgres_url: str
) -> None:
    url = fresh_postgres_url
    make_demo(url, tmp_path)
    ledger, _ = open_ledger(parse_url(url), app_class=FundLedger)
    try:
        with append_waits(ledger.log_recorder, ledger.storage) as wake:
            assert wake is not None
            wake(0)
            assert wake(0.2) is False  # nothing appended

            with psycopg.connect(postgres_url, autocommit=True) as admin:
                find = (
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = %s AND query LIKE 'LISTEN%%'"
                )
                database = [parse_url(url).dbname]
                (pid,) = admin.execute(find, database).fetchone() or (None,)
                assert pid is not None
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
                deadline = time.monotonic() + PROMPT_SECONDS
                while admin.execute(find, database).fetchone() is not None:
                    assert time.monotonic() < deadline, "the backend outlived its end"
                    time.sleep(0.05)
            assert wake(0.2) is False  # cut off: no error, a poll's wait
            assert wake(0.2) is False  # slept, then listened again
            receive_donation(ledger, "after-the-cut")
            assert wake(PROMPT_SECONDS) is True
    finally:
        ledger.close()
