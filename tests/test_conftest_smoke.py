"""The shared database fixtures hand out empty databases, one per test."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import TEST_DATABASE_PREFIX, fresh_database


def test_database_url_points_at_an_empty_database(
    database_url: str, request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params["database_url"]
    if backend == "sqlite":
        assert database_url.startswith("sqlite:///")
        path = Path(database_url.removeprefix("sqlite:///"))
        assert path.is_absolute()
        assert path.name == "ledger.db"
        assert path.parent.is_dir()
        assert not path.exists()
    else:
        assert backend == "postgres"
        assert database_url.startswith("postgresql://")
        with psycopg.connect(database_url) as connection:
            row = connection.execute("select 1, current_database()").fetchone()
            tables = connection.execute(
                "select count(*) from information_schema.tables"
                " where table_schema = 'public'"
            ).fetchone()
        assert row is not None
        assert row[0] == 1
        assert row[1].startswith(TEST_DATABASE_PREFIX)
        assert tables == (0,)


def database_exists(admin_url: str, database: str) -> bool:
    with psycopg.connect(admin_url) as admin:
        row = admin.execute(
            "select count(*) from pg_database where datname = %s", (database,)
        ).fetchone()
    return row == (1,)


@pytest.mark.postgres
def test_fresh_database_is_dropped_even_with_a_connection_open(
    postgres_url: str,
) -> None:
    with fresh_database(postgres_url) as url:
        database = url.rsplit("/", 1)[1]
        assert database.startswith(TEST_DATABASE_PREFIX)
        assert database_exists(postgres_url, database)
        left_open = psycopg.connect(url)
        left_open.execute("create table probe (id integer)")
        left_open.commit()

    assert not database_exists(postgres_url, database)
    with pytest.raises(psycopg.OperationalError):
        left_open.execute("select 1")
    left_open.close()


@pytest.mark.postgres
def test_fresh_databases_are_distinct(postgres_url: str) -> None:
    with fresh_database(postgres_url) as first, fresh_database(postgres_url) as second:
        assert first != second
