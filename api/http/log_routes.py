"""The public log: checkpoints, the verifier key, entries and proofs.

Each answer is byte for byte what the matching ``fundledger log`` command
prints (without the trailing newline ``print`` adds to JSON), so that a tool
checking one checks the other. Entries are served as their exact stored bytes:
the bytes that were hashed into the tree.

Immutable answers (an entry; a checkpoint, inclusion or consistency proof for
explicit sizes) may be cached for a year; answers about "now" must be
revalidated (``api.http.caching``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.http.caching import cached
from api.http.examples import (
    CHECKPOINT,
    CONSISTENCY,
    ENTRY,
    INCLUSION,
    INVALID_PARAMETERS,
    VERIFIER_KEY,
    answer,
    problems,
)
from api.http.state import ApiState, state_of

router = APIRouter(prefix="/log", tags=["log"], responses=INVALID_PARAMETERS)

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
# Sizes beyond a signed 64-bit integer cannot be a tree size (C2SP checkpoints).
MAX_SIZE = 2**63 - 1

Size = Annotated[int, Query(ge=0, le=MAX_SIZE, description="a tree size")]
State = Annotated[ApiState, Depends(state_of)]

_OUT_OF_RANGE = (404, "OutOfRange", "size must be in [0, 42], got 50")


@router.get(
    "/checkpoint",
    summary="A signed checkpoint of the log now, or of an earlier size",
    responses={
        **answer(200, "A C2SP signed checkpoint note", TEXT, CHECKPOINT),
        **problems(
            _OUT_OF_RANGE,
            (503, "NoSigningKey", "signing a checkpoint needs the log's key"),
        ),
    },
    response_class=Response,
)
def checkpoint(request: Request, state: State, size: Size | None = None) -> Response:
    """Sign (and keep, for later verification) the checkpoint of ``size``."""
    note = state.log.checkpoint(size)
    return cached(request, note.encode(), TEXT, immutable=size is not None)


@router.get(
    "/key",
    summary="The log's verifier key",
    responses=answer(200, "The signed-note verifier key", TEXT, VERIFIER_KEY),
    response_class=Response,
)
def key(request: Request, state: State) -> Response:
    """``<origin>+<key id>+<base64 key>``; checks every checkpoint."""
    body = (state.log.verifier.verifier_key + "\n").encode()
    return cached(request, body, TEXT, immutable=False)


@router.get(
    "/entries/{index}",
    summary="The exact stored bytes of one entry",
    responses={
        **answer(200, "RFC 8785 canonical JSON of the entry", JSON, ENTRY),
        **problems((404, "OutOfRange", "index must be in [0, 41], got 42")),
    },
    response_class=Response,
)
def entry(
    request: Request,
    state: State,
    index: Annotated[int, Path(ge=0, le=MAX_SIZE, description="the position")],
) -> Response:
    """The entry's bytes, unchanged: hash them to get its leaf."""
    return cached(request, state.log.entry(index), JSON, immutable=True)


@router.get(
    "/proof/inclusion",
    summary="RFC 9162 inclusion proof of one entry",
    responses={
        **answer(
            200, "The proof, as 'fundledger log prove' prints it", JSON, INCLUSION
        ),
        **problems(_OUT_OF_RANGE),
    },
    response_class=Response,
)
def inclusion(
    request: Request,
    state: State,
    index: Annotated[int, Query(ge=0, le=MAX_SIZE, description="the entry")],
    size: Size | None = None,
) -> Response:
    """Prove entry ``index`` is in the tree of ``size`` (default: now)."""
    proof = state.log.inclusion_proof(index, size)
    return cached(request, proof.to_json().encode(), JSON, immutable=size is not None)


@router.get(
    "/proof/consistency",
    summary="RFC 9162 consistency proof between two tree sizes",
    responses={
        **answer(
            200,
            "The proof, as 'fundledger log consistency' prints it",
            JSON,
            CONSISTENCY,
        ),
        **problems(_OUT_OF_RANGE),
    },
    response_class=Response,
)
def consistency(
    request: Request,
    state: State,
    old: Annotated[int, Query(ge=0, le=MAX_SIZE, description="the older size")],
    new: Annotated[int, Query(ge=0, le=MAX_SIZE, description="the newer size")],
) -> Response:
    """Prove the tree of size ``new`` extends the tree of size ``old``."""
    proof = state.log.consistency_proof(old, new)
    return cached(request, proof.to_json().encode(), JSON, immutable=True)
