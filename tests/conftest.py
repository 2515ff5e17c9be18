"""Fixtures the whole suite shares: where the ledger's database lives.

Every storage test runs twice, once on SQLite and once on PostgreSQL, through the
``database_url`` fixture, so that one contract suite holds for both back ends.

PostgreSQL comes from ``FUNDLEDGER_TEST_POSTGRES``, a URL naming a role that may
create databases (``scripts/test`` starts a throwaway server and sets it). Each test
gets a database of its own, created empty and dropped afterwards, so tests never see
each other's rows, and pytest-xdist workers never share one: the name carries a
random UUID. Without the variable, PostgreSQL tests are skipped, never run against
some server that happens to be there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

POSTGRES_URL_VARIABLE = "FUNDLEDGER_TEST_POSTGRES"

# Test databases are named with this prefix, so that any left behind by a killed
# run are easy to recognise on a shared server.
TEST_DATABASE_PREFIX = "fl_test_"


def _with_database(url: str, database: str) -> str:
    """Return ``url`` with its database (the URL's path) replaced by ``database``."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ValueError(
            f"{POSTGRES_URL_VARIABLE} must be a postgresql:// URL, got {url!r}"
        )
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of the administrative database of the test server."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(
            f"{POSTGRES_URL_VARIABLE} not set: run scripts/test, "
            "which starts PostgreSQL"
        )
    return url


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """Create an empty database on the server at ``admin_url``; drop it on exit.

    Yields the URL of the new database. The name carries a random UUID, so that
    concurrent callers (pytest-xdist workers) never collide.
    """
    database = f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex}"
    url = _with_database(admin_url, database)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        yield url
    finally:
        # FORCE ends connections the caller left open (a pool, say), which would
        # otherwise make the drop fail.
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(database)
                )
            )


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty database, dropped when the test ends."""
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty ledger database, once on SQLite and once on PostgreSQL.

    The SQLite file does not exist yet; its directory does.
    """
    backend: str = request.param
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url
