"""``POST /self-check``: a family's own payments, with proofs (``api.self_check``).

The resident ID and the name travel in the body, never in the URL, so that
they stay out of access logs and caches; the answer is never cached. The
server reads the deployment's secrets file (to turn the ID into its
pseudonym and read the vault); without it the endpoint answers 503.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.http.examples import answer, problems
from api.http.state import ApiState, state_of
from api.self_check import self_check
from api.vault_store import DeploymentSecrets, NoSecrets, Vault

router = APIRouter(tags=["public"])

State = Annotated[ApiState, Depends(state_of)]


class Question(BaseModel):
    """Who asks: the resident ID and the name that goes with it."""

    id_number: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)


EXAMPLE_ANSWER: dict[str, Any] = {
    "name": "魏*嘉",
    "payments": [
        {
            "n": 0,
            "county": "422801",
            "payment_id": "422801-2026-spring-BOARD_PRI-0000075",
            "programme": "BOARD_PRI",
            "year": 2026,
            "term": "spring",
            "amount_fen": 50000,
            "status": "approved",
            "proposed_seq": 401,
            "approved_seq": 498,
            "closed_seq": None,
            "evidence": [401, 498],
        }
    ],
    "checkpoint": "demo.fundledger.example/hubei\n2013\nOeR6…=\n\n— demo… hfvM…=\n",
    "proofs": {"401": {"index": 401, "size": 2013, "hashes": ["3q2+7w=="]}},
}


@router.post(
    "/self-check",
    summary="One's own payments, with proofs",
    response_class=JSONResponse,
    responses={
        **answer(200, "The person's payments", "application/json", EXAMPLE_ANSWER),
        **problems(
            (400, "NothingFound", "no payments are recorded for this resident ID"),
            (422, "InvalidResidentId", "resident ID *** is invalid"),
            (503, "NoSecrets", "self-check needs the deployment's secrets file"),
        ),
    },
)
def check(
    state: State,
    question: Annotated[
        Question,
        Body(
            openapi_examples={
                "pupil": {
                    "summary": "a pupil's ID and name",
                    "value": {"id_number": "42280120100101123X", "name": "魏思嘉"},
                }
            }
        ),
    ],
) -> JSONResponse:
    """Every payment to the person whose ID and name these are, nobody else's."""
    path = state.settings.secrets
    if not path.exists():
        raise NoSecrets
    secrets = DeploymentSecrets.load(path)
    found = self_check(
        log=state.log,
        vault=Vault(state.ledger.log_recorder, secrets),
        secrets=secrets,
        backend=state.ledger.storage.backend,
        id_number=question.id_number,
        name=question.name,
    )
    return JSONResponse(found.as_dict(), headers={"Cache-Control": "no-store"})
