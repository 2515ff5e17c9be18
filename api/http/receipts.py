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

Invariants: a receipt is only promised when it can be given: without the
log's signer key the write is refused before anything is recorded, never
recorded and then answered with an error. A write that lost a race with
another writer of the same aggregate (an ``IntegrityError``: its transaction
was rolled back, nothing of it is stored) is tried again, with a growing,
jittered pause, for up to ``CONTENTION_SECONDS``; ``execute`` re-reads the
aggregate and looks for a replay each time, so a retry can never record a
request twice. Only then is it refused, as ``ConcurrentChange``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from typing import Any

import anyio.to_thread
from eventsourcing.persistence import IntegrityError

from api.commands import Receipt, execute
from api.group_commit import ProvenReceipt
from api.http.state import ApiState
from api.requests import SignedRequest, parse_request
from ledger.errors import FundLedgerError
from ledger.log import Log, NoSigningKey

logger = logging.getLogger(__name__)

# How long a write keeps trying while other writers change the same aggregate.
CONTENTION_SECONDS = 10.0


class ConcurrentChange(FundLedgerError):
    """Other writers kept changing the same fund first; nothing was recorded."""

    def __init__(self, attempts: int) -> None:
        super().__init__(
            f"the request lost to concurrent changes {attempts} times and was not "
            "recorded; send it again"
        )
        self.attempts = attempts


def receipt_document(log: Log, receipt: Receipt) -> dict[str, Any]:
    """The receipt with a checkpoint and inclusion proofs for its entries.

    The checkpoint is the newest this process signed if it covers the entries
    (``Log.checkpoint_covering``): writes answered together share one.
    """
    if isinstance(receipt, ProvenReceipt):  # proven with its group
        size, note, proofs = receipt.size, receipt.checkpoint, list(receipt.proofs)
    else:
        size, note, proofs = log.proven([index for index, _ in receipt.entries])
    entries = [
        {"index": index, "leaf_hash": leaf, "proof": json.loads(proof.to_json())}
        for (index, leaf), proof in zip(receipt.entries, proofs, strict=True)
    ]
    return {
        "digest": receipt.digest,
        "replayed": receipt.replayed,
        "size": size,
        "checkpoint": note,
        "entries": entries,
    }


async def record(state: ApiState, signed: SignedRequest) -> dict[str, Any]:
    """Execute one signed request and prove what it recorded.

    With group commit the request waits for its group without holding a
    worker thread, so as many requests can wait as clients send.
    """
    if state.log.signer is None:
        raise NoSigningKey
    deadline = time.monotonic() + CONTENTION_SECONDS
    attempts = 0
    while True:
        attempts += 1
        try:
            receipt = await _execute(state, signed)
        except IntegrityError:
            if time.monotonic() >= deadline:
                logger.warning("gave up after %d conflicting attempts", attempts)
                raise ConcurrentChange(attempts) from None
            pause = min(0.2, 0.005 * attempts)
            await anyio.sleep(random.uniform(0, pause))  # noqa: S311 - jitter
            continue
        if isinstance(receipt, ProvenReceipt):  # nothing left to read
            return receipt_document(state.log, receipt)
        return await anyio.to_thread.run_sync(receipt_document, state.log, receipt)


async def _execute(state: ApiState, signed: SignedRequest) -> Receipt:
    if state.committer is None:
        return await anyio.to_thread.run_sync(execute, state.ledger, signed)
    return await asyncio.wrap_future(state.committer.submit(signed))


def parse(document: dict[str, Any]) -> SignedRequest:
    """The document's shape checked (its signature is checked by ``execute``)."""
    return parse_request(document)
