"""Public disclosure views: every public table of every view, no login.

Rows come from the tables the projection runner keeps (``fundledger views
follow`` or a worker), never computed per request; each row lists the log
positions behind it (``evidence``), which anyone can fetch and prove with the
``/log`` endpoints. Filters are column equalities given as query parameters
(``?county=422822&programme=HS_GRANT``); ``sort`` names columns, ``-`` for
descending; ``limit`` and ``offset`` page. JSON by default, CSV with
``?format=csv`` or ``Accept: text/csv``.

Invariant: only tables a projection declares ``public`` are served; their rows
hold no personal data (``projections.base``), so nothing here needs a login.
A page is rendered once per view position (``api.http.caching.PageCache``):
later requests at the same position get the same bytes for one small query.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.http.caching import cached
from api.http.examples import (
    INVALID_PARAMETERS,
    ROWS,
    VIEWS,
    answer,
    column_filters,
    problems,
)
from api.http.problems import BadQuery, NotFound
from api.http.state import ApiState, state_of
from api.http.view_query import (
    MAX_INTEGER,
    Page,
    ViewReader,
    parse_sort,
    parse_value,
    public_table,
)
from projections.base import Projection, Table, Value

router = APIRouter(prefix="/views", tags=["views"], responses=INVALID_PARAMETERS)

JSON = "application/json"
CSV = "text/csv; charset=utf-8"
MAX_LIMIT = 10_000
RESERVED = frozenset({"format", "sort", "limit", "offset"})

State = Annotated[ApiState, Depends(state_of)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_INTEGER, description="rows to skip")]
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(description="json (default) or csv; Accept: text/csv works too"),
]
Sort = Annotated[
    str | None,
    Query(max_length=1000, description="columns, comma-separated; -col descends"),
]


def projection_of(state: ApiState, name: str) -> Projection:
    """The view called ``name``."""
    projection = state.projections.get(name)
    if projection is None:
        raise NotFound("view", name, sorted(state.projections))
    return projection


def wants_csv(request: Request, format_: str | None) -> bool:
    """Whether the client asked for CSV, by parameter or by Accept header."""
    if format_ is not None:
        return format_ == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def filters_of(request: Request, table: Table) -> dict[str, Value]:
    """Column equalities from the query string, typed by their columns."""
    columns = {column.name: column for column in table.columns}
    filters: dict[str, Value] = {}
    for name, text in request.query_params.multi_items():
        if name in RESERVED:
            continue
        column = columns.get(name)
        if column is None:
            raise BadQuery(
                name,
                text,
                f"{table.name} has no column {name!r}; filters: " + ", ".join(columns),
            )
        if name in filters:
            raise BadQuery(name, text, "one value per column")
        filters[name] = parse_value(column, text)
    return filters


def render_page(page: Page, as_csv: bool, header: dict[str, Any]) -> tuple[bytes, str]:
    """The page as JSON (with ``header``) or CSV (evidence space-separated)."""
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([*page.columns, "evidence"])
        for record, evidence in page.rows:
            cells = ["" if record[c] is None else record[c] for c in page.columns]
            writer.writerow([*cells, " ".join(str(seq) for seq in evidence)])
        return out.getvalue().encode(), CSV
    body = {
        **header,
        "position": page.position,
        "total": page.total,
        "rows": [record | {"evidence": evidence} for record, evidence in page.rows],
    }
    return json.dumps(body, ensure_ascii=False).encode(), JSON


@router.get(
    "",
    summary="Every view and its public tables",
    responses=answer(200, "The views, their columns and positions", JSON, VIEWS),
    response_class=Response,
)
def list_views(request: Request, state: State) -> Response:
    """What can be read, and how far into the log each view is."""
    reader = ViewReader(state.ledger.log_recorder, state.ledger.storage.backend)
    views = []
    for name in sorted(state.projections):
        projection = state.projections[name]
        tables = [
            {
                "table": table.name,
                "url": f"/views/{name}/{table.name}",
                "columns": [
                    {"name": c.name, "type": c.type, "key": c in table.key}
                    for c in table.columns
                ],
            }
            for table in projection.tables
            if table.public
        ]
        position = reader.position(name)
        views.append({"view": name, "position": position, "tables": tables})
    body = {"views": views, "log_size": state.log.size()}
    data = json.dumps(body, ensure_ascii=False).encode()
    return cached(request, data, JSON, immutable=False)


@router.get(
    "/{view}/{table}",
    summary="Rows of one public table, filtered, sorted and paged",
    openapi_extra=column_filters({"county": "422822"}),
    responses={
        200: {
            "description": "A page of rows with their evidence",
            "content": {
                JSON: {"example": ROWS},
                CSV: {
                    "example": "county,account,balance_fen,evidence\r\n"
                    "422822,pool,123400,12 13 20\r\n"
                },
            },
        },
        **problems(
            (404, "NotFound", "no view 'nosuch'; known: balances, disclosure"),
            (400, "BadQuery", "query parameter year='x': expected a whole number"),
            (422, "InvalidParameters", "query.limit: Input should be <= 10000"),
        ),
    },
    response_class=Response,
)
def rows(  # noqa: PLR0917 - FastAPI passes parameters by name
    request: Request,
    state: State,
    view: Annotated[str, Path(max_length=100)],
    table: Annotated[str, Path(max_length=100)],
    limit: Limit = 100,
    offset: Offset = 0,
    sort: Sort = None,
    format: Format = None,  # noqa: A002 - the documented parameter name
) -> Response:
    """Filter by any column (``?column=value``), ``sort``, ``limit``, ``offset``."""
    projection = projection_of(state, view)
    declared = public_table(projection, table)
    filters = filters_of(request, declared)
    order = parse_sort(declared, sort)
    as_csv = wants_csv(request, format)
    reader = ViewReader(state.ledger.log_recorder, state.ledger.storage.backend)
    key = (view, table, request.url.query, as_csv)
    kept = state.pages.get(key, reader.position(view))
    if kept is None:
        page = reader.page(
            projection,
            declared,
            filters=filters,
            order=order,
            limit=limit,
            offset=offset,
        )
        header = {"view": view, "table": table, "limit": limit, "offset": offset}
        kept = render_page(page, as_csv, header)
        state.pages.put(key, page.position, *kept)
    body, media_type = kept
    return cached(request, body, media_type, immutable=False)
