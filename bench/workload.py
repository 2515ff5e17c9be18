"""What every benchmark shares: the workload, the databases and the arithmetic.

Invariants:

- Our ledger and its baseline always run on the same back end with the same
  settings: the plain application's environment is the ledger's own
  (``ledger.storage.application_env``) minus the log's recorder, so WAL, lock
  timeouts and pool sizes cannot drift apart.
- Every database is created fresh for one benchmark and removed afterwards:
  SQLite files in a temporary directory, PostgreSQL databases named
  ``fl_bench_<uuid>`` dropped with ``FORCE``.
- The workload aggregate is defined here, not borrowed from the tests, so that
  numbers stay comparable across runs while the tests change.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from ledger.storage import APP_NAME, Storage, application_env, parse_url

T = TypeVar("T")

ORIGIN = "bench.fundledger.example/log"

POSTGRES_VARIABLES = ("FUNDLEDGER_BENCH_POSTGRES", "FUNDLEDGER_TEST_POSTGRES")

# Databases left behind by a killed run are easy to recognise on a shared server.
DATABASE_PREFIX = "fl_bench_"


class Register(Aggregate):
    """A payment register: the shape of a typical fund event, nothing more.

    A payment carries a pseudonymous person reference (64 hex characters, as the
    design's HMAC gives), a programme code, a term, an amount in fen and the
    recording officer, so entries are about the size real ones will be.
    """

    TOPIC = "bench:Register@1"

    class Created(Aggregate.Created):
        TOPIC = "bench:Register.Created@1"
        title: str

    class PaymentRecorded(Aggregate.Event):
        TOPIC = "bench:Register.PaymentRecorded@1"
        person_ref: str
        programme: str
        term: str
        amount: int
        actor: str

    @event(Created)
    def __init__(self, title: str) -> None:
        self.title = title
        self.total = 0

    @event(PaymentRecorded)
    def record_payment(
        self, person_ref: str, programme: str, term: str, amount: int, actor: str
    ) -> None:
        self.total += amount


def make_registers(saves: int, events_per_save: int) -> list[Register]:
    """``saves`` registers with ``events_per_save`` pending events each.

    Built before the clock starts, so that timings measure saving, not the
    domain model.
    """
    registers = []
    for number in range(saves):
        register = Register(f"register {number}")
        for line in range(events_per_save - 1):
            register.record_payment(
                person_ref=hashlib.sha256(f"{number}/{line}".encode()).hexdigest(),
                programme="BOARD_PRI",
                term="2026-1",
                amount=50_000 + line,
                actor="officer-420102",
            )
        registers.append(register)
    return registers


class PlainApplication(Application[UUID]):
    """The baseline: the library's own application and recorder, no log."""

    name = "BenchPlain"


def plain_env(storage: Storage) -> dict[str, str]:
    """The ledger's environment for ``storage``, minus the log's recorder."""
    ours = application_env(storage, create_tables=True)
    prefix = APP_NAME.upper() + "_"
    plain = PlainApplication.name.upper() + "_"
    return {
        plain + key.removeprefix(prefix): value
        for key, value in ours.items()
        if not key.endswith("APPLICATION_RECORDER_TOPIC")
    }


def open_plain(storage: Storage) -> PlainApplication:
    """A plain library application on a fresh database."""
    return PlainApplication(env=plain_env(storage))


# Back ends ------------------------------------------------------------------


def postgres_admin_url() -> str | None:
    """The server to benchmark on, from the environment, or None."""
    for name in POSTGRES_VARIABLES:
        url = os.environ.get(name, "").strip()
        if url:
            return url
    return None


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@dataclass(frozen=True)
class Backend:
    """One database server (or SQLite) on which fresh databases are made."""

    name: str  # "sqlite" or "postgres"
    admin_url: str = ""

    @contextmanager
    def fresh(self) -> Iterator[Storage]:
        """An empty database, removed on exit."""
        if self.name == "sqlite":
            with tempfile.TemporaryDirectory(prefix="fl_bench_") as directory:
                yield parse_url(f"sqlite:///{Path(directory) / 'ledger.db'}")
            return
        database = f"{DATABASE_PREFIX}{uuid.uuid4().hex}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
            )
        try:
            yield parse_url(_with_database(self.admin_url, database))
        finally:
            # FORCE ends connections a pool may have left open.
            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(database)
                    )
                )


def storage_url(storage: Storage) -> str:
    """A psycopg connection string for a PostgreSQL ``Storage``."""
    return psycopg.conninfo.make_conninfo(
        host=storage.host,
        port=storage.port,
        user=storage.user,
        password=storage.password,
        dbname=storage.dbname,
    )


def backends(wanted: Sequence[str] = ("sqlite", "postgres")) -> list[Backend]:
    """The back ends to run on; PostgreSQL only when a server is named."""
    found = []
    for name in wanted:
        if name == "sqlite":
            found.append(Backend("sqlite"))
        elif (url := postgres_admin_url()) is not None:
            found.append(Backend("postgres", url))
    return found


def postgres_skipped(benchmark: str) -> dict[str, Any]:
    """The record printed instead of PostgreSQL rows when no server is named."""
    return {
        "name": benchmark,
        "backend": "postgres",
        "skipped": f"neither {' nor '.join(POSTGRES_VARIABLES)} is set",
    }


# Measuring ------------------------------------------------------------------


def timed(action: Callable[[], T]) -> tuple[float, T]:
    """Seconds taken by ``action``, and its result.

    Collects garbage first, so that garbage left by earlier runs is not charged
    to it.
    """
    gc.collect()
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the value ``fraction`` of samples are at or
    below."""
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * fraction))
    return ordered[rank - 1]


def rotations(count: int, variants: Sequence[str]) -> Iterator[list[str]]:
    """``count`` orderings of ``variants``, each starting one later, so that no
    variant always runs first (after a collection) or last (on a warmer cache)."""
    for repetition in range(count):
        shift = repetition % len(variants)
        yield [*variants[shift:], *variants[:shift]]


def comparison(
    name: str,
    backend: str,
    parameters: dict[str, Any],
    ours: Sequence[float],
    baseline: Sequence[float],
    *,
    goal: float | None,
    units: str,
    baseline_is: str,
) -> dict[str, Any]:
    """One result line: medians of both, their ratio and whether the goal held."""
    ours_median = median(ours)
    baseline_median = median(baseline)
    ratio = ours_median / baseline_median
    return {
        "name": name,
        "backend": backend,
        "parameters": parameters,
        "ours": round(ours_median, 1),
        "baseline": round(baseline_median, 1),
        "ratio": round(ratio, 3),
        "goal": None if goal is None else f"ratio >= {goal}",
        "met": None if goal is None else ratio >= goal,
        "units": units,
        "baseline_is": baseline_is,
        "ours_runs": [round(value, 1) for value in ours],
        "baseline_runs": [round(value, 1) for value in baseline],
    }


def emit(record: dict[str, Any]) -> None:
    """Print one result as one JSON line, at once (runs are long)."""
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()
