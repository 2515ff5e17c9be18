"""Signed requests in over HTTP, receipts out: the officers' write path.

A request document is exactly what ``fundledger request sign`` writes
(``{"request": {...}, "signature": "..."}``) and goes through
``api.commands.execute``, the one path every write takes, so the API checks
keys, roles, jurisdictions, key history and replays exactly as the CLI does.

A receipt proves what was recorded: the request's digest, each entry's
position and leaf hash, a checkpoint signed for a tree size that covers them
all, and for each entry the RFC 9162 inclusion proof against that size, in the
form ``fundledger log prove`` prints. With the checkpoint and the log's key, a
client can check its receipt without trusting the server again.

Invariant: a receipt is only promised when it can be given: without the log's
signer key the write is refused before anything is recorded, never recorded
and then answered with an error.
"""

from __future__ import annotations

import json
from typing import Any

from api.commands import Receipt, execute
from api.http.state import ApiState
from api.requests import SignedRequest, parse_request
from ledger.log import Log, NoSigningKey


def receipt_document(log: Log, receipt: Receipt) -> dict[str, Any]:
    """The receipt with a checkpoint and inclusion proofs for its entries."""
    size = log.size()
    note = log.checkpoint(size)
    entries = [
        {
            "index": index,
            "leaf_hash": leaf,
            "proof": json.loads(log.inclusion_proof(index, size).to_json()),
        }
        for index, leaf in receipt.entries
    ]
    return {
        "digest": receipt.digest,
        "replayed": receipt.replayed,
        "size": size,
        "checkpoint": note,
        "entries": entries,
    }


def record(state: ApiState, signed: SignedRequest) -> dict[str, Any]:
    """Execute one signed request and prove what it recorded."""
    if state.log.signer is None:
        raise NoSigningKey
    receipt = execute(state.ledger, signed)
    return receipt_document(state.log, receipt)


def parse(document: dict[str, Any]) -> SignedRequest:
    """The document's shape checked (its signature is checked by ``execute``)."""
    return parse_request(document)
