"""Public views over HTTP: every public table, filtered, sorted, paged, as CSV.

What the API serves must be what the runner stored (``ViewStore.rows``), row
for row with its evidence; private tables are never served; any way of paging
through a table yields each row exactly once.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.http.view_query import ViewReader
from api.views import build_projections
from domain.funds import pool_account
from ledger.storage import parse_url
from projections.rules_core import ALERTS
from projections.store import POSITIONS, ViewStore
from tests.api.http.support import COUNTY, Served, assert_problem


def stored_tables(served: Served) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every public table as the runner stored it, as the API shapes rows."""
    ledger = served.client.app.state.api.ledger  # type: ignore[attr-defined]
    tables = {}
    with ViewStore(parse_url(served.url)) as store:
        for projection in build_projections(ledger):
            for table in projection.tables:
                if not table.public:
                    continue
                names = [c.name for c in table.columns]
                tables[projection.name, table.name] = [
                    dict(zip(names, (*key, *row), strict=True)) | {"evidence": ev}
                    for key, row, ev in store.rows(projection, table, None)
                ]
    return tables


def all_rows(served: Served, path: str, **params: Any) -> list[dict[str, Any]]:
    body = served.client.get(path, params={"limit": 10_000, **params}).json()
    assert body["total"] == len(body["rows"])
    rows: list[dict[str, Any]] = body["rows"]
    return rows


def key_of(row: dict[str, Any]) -> str:
    return repr(sorted(row.items()))


def test_every_public_table_is_served_as_stored(served: Served) -> None:
    listing = served.client.get("/views").json()
    stored = stored_tables(served)
    listed = {
        (view["view"], table["table"])
        for view in listing["views"]
        for table in view["tables"]
    }
    assert listed == set(stored)
    assert all(view["position"] == listing["log_size"] for view in listing["views"])
    for (view, table), rows in stored.items():
        served_rows = all_rows(served, f"/views/{view}/{table}")
        assert sorted(map(key_of, served_rows)) == sorted(map(key_of, rows)), table
    # The demo gives these tables rows; an empty listing would prove nothing.
    assert stored["balances", "balances"]
    assert stored["disclosure", "notices"]
    assert stored["fraud_rules", ALERTS]


def test_private_tables_and_unknown_names_are_not_found(served: Served) -> None:
    assert_problem(served.client.get("/views/fraud_rules/rule_persons"), 404)
    assert_problem(served.client.get("/views/nosuch/balances"), 404, "not-found")
    assert_problem(served.client.get("/views/balances/nosuch"), 404, "not-found")
    assert_problem(served.client.get("/nosuch"), 404, "not-found")


def test_filters_are_column_equalities(served: Served) -> None:
    path = "/views/balances/balances"
    everything = all_rows(served, path)
    mine = all_rows(served, path, county=COUNTY)
    assert mine
    assert mine == [row for row in everything if row["county"] == COUNTY]
    notices = all_rows(served, "/views/disclosure/notices", grade=3, reversed="false")
    assert notices
    assert all(row["grade"] == 3 and row["reversed"] is False for row in notices)
    assert_problem(served.client.get(path + "?colour=red"), 400, "bad-query")
    assert_problem(served.client.get(path + "?balance_fen=abc"), 400, "bad-query")
    huge = served.client.get(path + "?balance_fen=" + "9" * 30)
    assert_problem(huge, 400, "bad-query")


def test_sort_orders_rows(served: Served) -> None:
    path = "/views/balances/balances"
    rows = all_rows(served, path, sort="-balance_fen")
    amounts = [row["balance_fen"] for row in rows]
    assert amounts == sorted(amounts, reverse=True)
    rows = all_rows(served, path, sort="account,-county")
    pairs = [(row["account"], row["county"]) for row in rows]
    assert pairs == sorted(pairs, key=lambda p: (p[0], [-ord(c) for c in p[1]]))
    assert_problem(served.client.get(path + "?sort=nosuch"), 400, "bad-query")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(limit=st.integers(1, 40), sort=st.sampled_from([None, "-amount_fen", "name"]))
def test_pages_cover_every_row_exactly_once(
    served: Served, limit: int, sort: str | None
) -> None:
    path = "/views/disclosure/notices"
    extra = {} if sort is None else {"sort": sort}
    everything = all_rows(served, path, **extra)
    paged: list[dict[str, Any]] = []
    offset = 0
    while True:
        params = {"limit": limit, "offset": offset, **extra}
        page = served.client.get(path, params=params).json()
        assert page["total"] == len(everything)
        paged.extend(page["rows"])
        offset += limit
        if offset >= page["total"]:
            break
    assert paged == everything


@pytest.mark.parametrize(
    "how",
    [pytest.param({"format": "csv"}, id="parameter"), pytest.param({}, id="accept")],
)
def test_csv_has_the_same_rows(served: Served, how: dict[str, str]) -> None:
    path = "/views/disclosure/notices"
    rows = all_rows(served, path)
    response = served.client.get(
        path, params={"limit": 10_000, **how}, headers={"Accept": "text/csv"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert len(table) == len(rows)
    for line, row in zip(table, rows, strict=True):
        assert line["name"] == row["name"]  # masked Chinese names survive
        assert int(line["amount_fen"]) == row["amount_fen"]
        assert line["evidence"] == " ".join(map(str, row["evidence"]))


def test_view_pages_revalidate(served: Served) -> None:
    path = "/views/balances/balances"
    first = served.client.get(path)
    assert first.headers["cache-control"] == "no-cache"
    again = served.client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_a_page_is_read_once_per_view_position(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = {"n": 0}
    real = ViewReader.page

    def counting(self: ViewReader, *args: Any, **kwargs: Any) -> Any:
        reads["n"] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ViewReader, "page", counting)
    path = "/views/balances/balances"
    params = {"county": COUNTY, "account": pool_account(COUNTY)}
    first = served.client.get(path, params=params)
    again = served.client.get(path, params=params)
    assert first.content == again.content
    assert reads["n"] == 1
    assert served.client.get(path, params=params | {"format": "csv"}).status_code == 200
    assert reads["n"] == 2  # another rendering is another page

    # Money arrives and the views follow: the same page is read afresh.
    recorder = served.key("demo-recorder")
    document = recorder.sign(
        "fund.receive",
        {
            "county": COUNTY,
            "transfer_id": "http-page-cache",
            "source_kind": "donation",
            "source": "org:http-test",
            "reference": "a donation",
            "earmark": None,
            "amount_fen": 12_345,
        },
    )
    assert served.post(document).status_code == 201
    served.update_views()
    after = served.client.get(path, params=params).json()
    assert reads["n"] == 3
    assert after["position"] > first.json()["position"]
    (before_row,) = first.json()["rows"]
    (after_row,) = after["rows"]
    assert after_row["balance_fen"] == before_row["balance_fen"] + 12_345


def test_a_view_built_by_other_code_is_a_conflict_naming_the_rebuild(
    served: Served,
) -> None:
    recorder = served.client.app.state.api.ledger.log_recorder  # type: ignore[attr-defined]
    with recorder.side_table(commit=True) as cursor:
        cursor.execute(
            recorder.sql(
                f"UPDATE {POSITIONS} SET declaration = ? WHERE projection = ?"
            ),
            ['{"version": 0}', "fraud_rules"],
        )
    for path in ("/views/fraud_rules/alerts", "/audit/alerts"):
        response = served.client.get(path)
        assert_problem(response, 409, "view-outdated")
        assert "views rebuild fraud_rules" in response.json()["detail"]
    assert served.client.get("/views/balances/balances").status_code == 200
