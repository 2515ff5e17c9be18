"""Indexes behind the public views' filters and sorts.

The view tables of every public table are created with an index for each
column the API filters or sorts on (``projections.store``); creating them again
changes nothing, and an index never changes an answer: every filtered and
sorted page is the same with the indexes as without them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.views import build_projections
from ledger.storage import parse_url
from projections.base import Projection, Table
from projections.store import ViewStore, index_name, table_name
from tests.api.http.support import COUNTY, Served

# (path, query): filters and sorts on key and value columns of several tables.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("/views/disclosure/notices", {}),
    ("/views/disclosure/notices", {"county": COUNTY}),
    ("/views/disclosure/notices", {"programme": "BOARD_PRI", "sort": "-amount_fen"}),
    ("/views/disclosure/notices", {"school": "x-none"}),
    ("/views/disclosure/notices", {"sort": "name,-year", "limit": 7, "offset": 3}),
    ("/views/disclosure/fund_flow", {"flow": "in", "sort": "-amount_fen"}),
    ("/views/disclosure/fund_flow", {"year": 2026, "sort": "parent,level"}),
    ("/views/disclosure/programme_county_year", {"county": COUNTY}),
    ("/views/disclosure/projects", {"county": COUNTY, "sort": "-budget_fen"}),
    ("/views/disclosure/donations", {"donor_kind": "organisation"}),
    ("/views/balances/balances", {"county": COUNTY, "sort": "-balance_fen"}),
    ("/views/balances/balances", {"account": "pool"}),
    ("/views/fraud_rules/alerts", {"status": "open", "sort": "rule,-first_seq"}),
]


def expected_indexes(projection: Projection, table: Table) -> set[str]:
    names = {index_name(projection.name, table.name, "order")}
    names |= {
        index_name(projection.name, table.name, f"by_{column.name}")
        for column in table.columns[1:]
        if column.type != "BOOLEAN"
    }
    return names


@contextmanager
def connection(url: str) -> Iterator[Any]:
    """A plain connection to the ledger's database, committing on exit."""
    storage = parse_url(url)
    if storage.backend == "sqlite":
        assert storage.sqlite_path is not None
        plain = sqlite3.connect(storage.sqlite_path)
        try:
            yield plain
            plain.commit()
        finally:
            plain.close()
    else:
        with psycopg.connect(url, autocommit=True) as conn:
            yield conn


def indexes_of(url: str, sql_table: str) -> set[str]:
    with connection(url) as conn:
        if parse_url(url).backend == "sqlite":
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = ? AND sql IS NOT NULL",
                [sql_table],
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s "
                "AND indexname NOT LIKE '%%_pkey'",
                [sql_table],
            ).fetchall()
    return {str(row[0]) for row in rows}


def public_tables(served: Served) -> list[tuple[Projection, Table]]:
    ledger = served.client.app.state.api.ledger  # type: ignore[attr-defined]
    return [
        (projection, table)
        for projection in build_projections(ledger)
        for table in projection.tables
        if table.public
    ]


def pages(served: Served) -> list[Any]:
    answers = []
    for path, query in QUERIES:
        response = served.client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        answers.append((body["total"], body["rows"]))
    return answers


def test_every_public_table_has_its_indexes_once(served: Served) -> None:
    tables = public_tables(served)
    for projection, table in tables:
        sql_table = table_name(projection.name, table.name)
        assert indexes_of(served.url, sql_table) == expected_indexes(projection, table)

    # Creating the tables again (every runner and server start does) is a no-op.
    with ViewStore(parse_url(served.url)) as store:
        for projection, _ in tables:
            store.register(projection)
    for projection, table in tables:
        sql_table = table_name(projection.name, table.name)
        assert indexes_of(served.url, sql_table) == expected_indexes(projection, table)


def test_a_rebuilt_view_has_its_indexes(served: Served) -> None:
    ledger = served.client.app.state.api.ledger  # type: ignore[attr-defined]
    balances = next(p for p in build_projections(ledger) if p.name == "balances")
    with ViewStore(parse_url(served.url)) as store:
        store.reset(balances)
    (table,) = [t for t in balances.tables if t.public]
    found = indexes_of(served.url, table_name("balances", table.name))
    assert found == expected_indexes(balances, table)


def test_indexes_never_change_an_answer(served: Served) -> None:
    served.update_views()
    with_indexes = pages(served)
    assert any(total > 0 for total, _ in with_indexes)
    with connection(served.url) as conn:
        for projection, table in public_tables(served):
            for name in expected_indexes(projection, table):
                conn.execute(f"DROP INDEX {name}")
    # A fresh app (the first may answer again pages it rendered before) that
    # does not create the view tables, and so their indexes, again.
    settings = replace(served.settings, create_view_tables=False)
    with TestClient(create_app(settings)) as client:
        fresh = Served(served.url, served.directory, client)
        assert pages(fresh) == with_indexes
    notices = table_name("disclosure", "notices")
    assert indexes_of(served.url, notices) == set()


@pytest.mark.parametrize("column", ["county", "programme"])
def test_a_filter_uses_its_index(served: Served, column: str) -> None:
    sql_table = table_name("disclosure", "notices")
    wanted = index_name("disclosure", "notices", f"by_{column}")
    with connection(served.url) as conn:
        if parse_url(served.url).backend == "sqlite":
            plan = conn.execute(
                f"EXPLAIN QUERY PLAN SELECT * FROM {sql_table} WHERE {column} = ?",
                ["x"],
            ).fetchall()
        else:
            # The demo's tables are small: make the planner show what it can use.
            conn.execute("SET enable_seqscan = off")
            plan = conn.execute(
                f'EXPLAIN SELECT * FROM {sql_table} WHERE {column} COLLATE "C" = %s',
                ["x"],
            ).fetchall()
    assert wanted in " ".join(str(row) for row in plan)
