"""``POST /requests``: any signed request, recorded as the CLI records it.

There are no unsigned writes: every change to the ledger is a request document
signed by an officer's key, and the answer is a receipt (``api.http.receipts``):
201 when the request was recorded now, 200 when it had been recorded before
(a replay records nothing and answers with the original entries).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse

from api.http.examples import (
    INVALID_PARAMETERS,
    RECEIPT,
    SIGNED_REQUEST,
    answer,
    problems,
)
from api.http.receipts import parse, record
from api.http.state import ApiState, state_of

router = APIRouter(tags=["officers"], responses=INVALID_PARAMETERS)

JSON = "application/json"

State = Annotated[ApiState, Depends(state_of)]
Document = Annotated[
    dict[str, Any],
    Body(
        description="a signed request, as 'fundledger request sign' writes it",
        openapi_examples={
            "receipt": {"summary": "money into a pool", "value": SIGNED_REQUEST}
        },
    ),
]

REFUSALS = problems(
    (400, "InvalidRequest", "invalid request: params must be an object"),
    (401, "BadSignature", "the request's signature does not verify with key 4f1b"),
    (403, "WrongRole", "officer:x has the role auditor, which may not fund.receive"),
    (409, "PoolOverdrawn", "pool 422822:pool holds 100 fen, cannot pay out 200 fen"),
    (422, "InvalidAmount", "amount must be a positive whole number, got -5"),
    (503, "NoSigningKey", "signing a checkpoint needs the log's key (--log-key)"),
)


async def answer_receipt(state: ApiState, document: dict[str, Any]) -> JSONResponse:
    """Record the document; 201 with the receipt, or 200 for a replay."""
    receipt = await record(state, parse(document))
    status = 200 if receipt["replayed"] else 201
    headers = {"Location": f"/log/entries/{receipt['entries'][0]['index']}"}
    return JSONResponse(receipt, status_code=status, headers=headers)


@router.post(
    "/requests",
    summary="Record a signed request",
    status_code=201,
    responses={
        **answer(201, "Recorded now: the receipt", JSON, RECEIPT),
        **answer(200, "Recorded before: the original receipt", JSON, RECEIPT),
        **REFUSALS,
    },
    response_class=JSONResponse,
)
async def submit(state: State, document: Document) -> JSONResponse:
    """Check the request as every write is checked, record it, prove it."""
    return await answer_receipt(state, document)
