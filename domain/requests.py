"""Signed requests that were accepted, each recorded once.

Every write starts as a request an officer signed. The accepted request is
recorded as an event of its own, in the same save as the changes it asked for,
under an id derived from the signing key and the request's own ``request_id``,
which is the request's idempotency key. A second save of a request with the same
key and request id therefore collides with the first in the event store and
records nothing: a replayed request changes nothing, however often it arrives,
even if it was signed again at another time.

The domain keeps the request as the officer signed it (command, parameters, key
id, request id, time) with the signature; checking the signature is the job of
the layer that knows the canonical bytes (``api``), before anything is saved,
and of anyone who verifies the log later.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

REQUEST_NAMESPACE = UUID("0b6f3c1a-52d4-4c4e-8d8e-4b9b0c2f4e61")


class AcceptedRequest(Aggregate):
    """One signed request, accepted once."""

    TOPIC = "fundledger.domain:AcceptedRequest@1"

    class Created(Aggregate.Created):
        TOPIC = "fundledger.domain:AcceptedRequest.Created@1"

    class Accepted(Created):
        TOPIC = "fundledger.domain:AcceptedRequest.Accepted@1"
        key_id: str
        request_id: str
        digest: str
        request: dict[str, Any]
        signature: str
        actor: str

    @staticmethod
    def create_id(key_id: str, request_id: str) -> UUID:
        """The record's id follows from the signing key and the request id."""
        return uuid5(REQUEST_NAMESPACE, f"request:{key_id}:{request_id}")

    @event(Accepted)
    def __init__(
        self,
        *,
        key_id: str,
        request_id: str,
        digest: str,
        request: dict[str, Any],
        signature: str,
        actor: str,
    ) -> None:
        self.key_id = key_id
        self.request_id = request_id
        self.digest = digest
        self.request = request
        self.signature = signature
        self.actor = actor
