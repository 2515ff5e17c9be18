"""Auditors' endpoints: fraud alerts with their evidence, resolutions, export.

Alerts are rows of the fraud rules' public ``alerts`` table, so reading them
needs no login, like every public view; what an auditor decides is a signed
``alert.resolve`` request through the same write path as every other change.
The export is the log's entries in a range as JSON Lines, each line one
entry's exact bytes: entries hold pseudonyms (``person_ref``), never names,
ID numbers or bank accounts, so the export is pseudonymised as it stands.

Invariant: a resolution posted to an alert's URL must name that alert; the
URL never changes what was signed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.http.caching import cached
from api.http.examples import (
    ALERTS,
    ENTRY,
    INVALID_PARAMETERS,
    RECEIPT,
    RESOLVE_REQUEST,
    answer,
    column_filters,
    problems,
)
from api.http.problems import BadQuery, NotFound
from api.http.state import ApiState, state_of
from api.http.view_query import MAX_INTEGER, ViewReader, parse_sort, public_table
from api.http.view_routes import Limit, Offset, Sort, filters_of, projection_of
from api.http.write_routes import REFUSALS, answer_receipt
from ledger.errors import OutOfRange
from projections.rules_core import ALERTS as ALERTS_TABLE

router = APIRouter(prefix="/audit", tags=["auditors"], responses=INVALID_PARAMETERS)

JSON = "application/json"
JSON_LINES = "application/jsonl"
RULES_VIEW = "fraud_rules"
MAX_EXPORT = 10_000

State = Annotated[ApiState, Depends(state_of)]
AlertId = Annotated[
    str, Path(pattern="^[0-9a-f]{16}$", description="16 lowercase hex digits")
]


@router.get(
    "/alerts",
    summary="Fraud alerts with the entries behind them",
    openapi_extra=column_filters({"status": "open", "rule": "R01"}),
    responses={
        **answer(200, "A page of alerts", JSON, ALERTS),
        **problems((400, "BadQuery", "alerts has no column 'colour'")),
    },
    response_class=Response,
)
def alerts(
    request: Request,
    state: State,
    limit: Limit = 100,
    offset: Offset = 0,
    sort: Sort = None,
) -> Response:
    """Filter by any column (``?status=open&rule=R01&county=422822``)."""
    projection = projection_of(state, RULES_VIEW)
    table = public_table(projection, ALERTS_TABLE)
    filters = filters_of(request, table)
    order = parse_sort(table, sort)
    reader = ViewReader(state.ledger.log_recorder, state.ledger.storage.backend)
    page = reader.page(
        projection,
        table,
        filters=filters,
        order=order,
        limit=limit,
        offset=offset,
    )
    body = {
        "position": page.position,
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "alerts": [record | {"evidence": seqs} for record, seqs in page.rows],
    }
    data = json.dumps(body, ensure_ascii=False).encode()
    return cached(request, data, JSON, immutable=False)


def _one_alert(state: ApiState, alert_id: str) -> dict[str, Any]:
    projection = projection_of(state, RULES_VIEW)
    table = public_table(projection, ALERTS_TABLE)
    reader = ViewReader(state.ledger.log_recorder, state.ledger.storage.backend)
    page = reader.page(
        projection, table, filters={"alert_id": alert_id}, order=[], limit=1, offset=0
    )
    if not page.rows:
        raise NotFound("alert", alert_id)
    record, evidence = page.rows[0]
    return record | {"evidence": evidence}


@router.get(
    "/alerts/{alert_id}",
    summary="One alert with its evidence entries",
    responses={
        **answer(
            200,
            "The alert and the entries behind it",
            JSON,
            ALERTS["alerts"][0] | {"entries": [ENTRY]},  # type: ignore[index]
        ),
        **problems((404, "NotFound", "no alert '3fa1c2d4e5b60718'")),
    },
    response_class=Response,
)
def alert(request: Request, state: State, alert_id: AlertId) -> Response:
    """The alert's row, and each evidence entry decoded (its bytes at /log)."""
    found = _one_alert(state, alert_id)
    found["entries"] = [json.loads(state.log.entry(seq)) for seq in found["evidence"]]
    data = json.dumps(found, ensure_ascii=False).encode()
    return cached(request, data, JSON, immutable=False)


@router.post(
    "/alerts/{alert_id}/resolution",
    summary="Resolve an alert with a signed alert.resolve request",
    status_code=201,
    responses={
        **answer(201, "Recorded now: the receipt", JSON, RECEIPT),
        **answer(200, "Recorded before: the original receipt", JSON, RECEIPT),
        **REFUSALS,
        **problems((404, "NotFound", "no alert '3fa1c2d4e5b60718'")),
    },
    response_class=JSONResponse,
)
async def resolve(
    state: State,
    alert_id: AlertId,
    document: Annotated[
        dict[str, Any],
        Body(
            description="a signed alert.resolve request naming this alert",
            openapi_examples={
                "dismiss": {"summary": "dismiss an alert", "value": RESOLVE_REQUEST}
            },
        ),
    ],
) -> JSONResponse:
    """Record an auditor's resolution of an alert the rules raised."""
    request = document.get("request")
    params = request.get("params") if isinstance(request, dict) else None
    if not isinstance(request, dict) or request.get("command") != "alert.resolve":
        raise BadQuery("command", _command(request), "expected alert.resolve")
    if not isinstance(params, dict) or params.get("alert_id") != alert_id:
        raise BadQuery("alert_id", _field(params, "alert_id"), f"expected {alert_id}")
    await anyio.to_thread.run_sync(_one_alert, state, alert_id)
    return await answer_receipt(state, document)


def _command(request: object) -> object:
    return request.get("command") if isinstance(request, dict) else None


def _field(params: object, name: str) -> object:
    return params.get(name) if isinstance(params, dict) else None


@router.get(
    "/export",
    summary="The log's entries in a range, as JSON Lines",
    responses={
        **answer(
            200,
            "One entry's exact bytes per line",
            JSON_LINES,
            json.dumps(ENTRY, separators=(",", ":"), sort_keys=True) + "\n",
        ),
        **problems((404, "OutOfRange", "stop must be in [0, 42], got 50")),
    },
    response_class=Response,
)
def export(
    request: Request,
    state: State,
    start: Annotated[int, Query(ge=0, le=MAX_INTEGER)] = 0,
    stop: Annotated[int | None, Query(ge=0, le=MAX_INTEGER)] = None,
) -> Response:
    """Entries ``start`` to ``stop - 1`` (default: to the end; 10,000 at most)."""
    size = state.log.size()
    end = size if stop is None else stop
    if end > size:
        raise OutOfRange("stop", end, size)
    if start > end:
        raise OutOfRange("start", start, end)
    if end - start > MAX_EXPORT:
        raise BadQuery("stop", end, f"at most {MAX_EXPORT} entries per export")
    lines: list[bytes] = []
    for batch in state.ledger.log_recorder.verification_rows(end, 5000, start):
        lines.extend(bytes(row[4]) + b"\n" for row in batch)
    body = b"".join(lines)
    return cached(request, body, JSON_LINES, immutable=stop is not None)
