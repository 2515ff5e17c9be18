"""Re-checking every signed request while the log is verified.

``ledger.verify`` checks bytes, links, trees and checkpoints; it knows nothing
of officers. This check runs on each entry in log order and adds what only the
fund ledger knows:

- an accepted-request entry holds a request whose digest is what it claims,
  signed by a key that was enrolled and active at that point of the log (the
  key history is rebuilt from the registry's own entries as they pass), and its
  actor is that key's officer; the first administrator's self-signed enrolment
  is accepted only while no officer exists;
- every other entry names, in ``signatures``, an accepted request that came
  before it in the log and the same key, and has that key's officer as actor.

A request is thus tied to the events it caused, and a forged, replayed or
re-attributed entry fails at its position.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from api.requests import BadSignature, SignedRequest
from domain.officers import OfficerRegistry, key_id_of
from domain.requests import AcceptedRequest

ACCEPTED = AcceptedRequest.Accepted.TOPIC
ENROLLED = OfficerRegistry.OfficerEnrolled.TOPIC
ROTATED = OfficerRegistry.KeyRotated.TOPIC
REVOKED = OfficerRegistry.KeyRevoked.TOPIC


class RequestCheck:
    """A stateful ``EntryCheck`` for ``verify_log``; use one per verification."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, str, str]] = {}  # id -> officer, hex, status
        self.requests: dict[str, str] = {}  # digest -> key id

    def __call__(self, position: int, envelope: dict[str, Any]) -> str | None:
        del position
        kind = envelope["type"]
        body = envelope["body"]
        if kind == ACCEPTED:
            return self._accepted(envelope, body)
        problem = self._signed_by_accepted(envelope)
        if problem is None and kind in (ENROLLED, ROTATED, REVOKED):
            self._update_keys(kind, body)
        return problem

    def _accepted(self, envelope: dict[str, Any], body: dict[str, Any]) -> str | None:
        try:
            signed = SignedRequest(body["request"], base64.b64decode(body["signature"]))
            key_id = signed.key_id
            claimed = body["digest"]
        except (KeyError, TypeError, binascii.Error):
            return "the accepted request is malformed"
        if signed.digest != claimed:
            return f"the accepted request's digest is not {claimed}"
        if envelope["signatures"]:
            return "an accepted request carries no signatures of its own"
        if key_id in self.keys:
            officer, public_key, status = self.keys[key_id]
            if status != "active":
                return f"the request was signed with key {key_id}, which was {status}"
        elif not self.keys and signed.command == "officer.enrol":
            officer = str(signed.params.get("officer_id"))
            public_key = str(signed.params.get("public_key"))
            if _key_id(public_key) != key_id:
                return "the first enrolment is not signed by the key it enrols"
        else:
            return f"the request was signed with key {key_id}, not enrolled then"
        try:
            signed.check_signature(public_key)
        except (BadSignature, ValueError):
            return f"the request's signature does not verify with key {key_id}"
        if envelope["actor"] != officer:
            return f"the request is attributed to {envelope['actor']}, not {officer}"
        self.requests[claimed] = key_id
        return None

    def _signed_by_accepted(self, envelope: dict[str, Any]) -> str | None:
        signatures = envelope["signatures"]
        if not signatures:
            return "the entry is not signed by any request"
        for reference in signatures:
            if not isinstance(reference, dict):
                return "a signature reference is malformed"
            digest = reference.get("request")
            key_id = self.requests.get(str(digest))
            if key_id is None:
                return f"the entry names request {digest}, not accepted before it"
            if reference.get("key_id") != key_id:
                return f"the entry names key {reference.get('key_id')} for {digest}"
            officer = self.keys.get(key_id, (None,))[0]
            if officer is not None and envelope["actor"] != officer:
                return f"the entry is attributed to {envelope['actor']}, not {officer}"
        return None

    def _update_keys(self, kind: str, body: dict[str, Any]) -> None:
        if kind == ENROLLED:
            self.keys[body["key_id"]] = (
                body["officer_id"],
                body["public_key"],
                "active",
            )
        elif kind == ROTATED:
            if body["old_key_id"] in self.keys:
                officer, public_key, _ = self.keys[body["old_key_id"]]
                self.keys[body["old_key_id"]] = (officer, public_key, "rotated")
            self.keys[body["key_id"]] = (
                body["officer_id"],
                body["public_key"],
                "active",
            )
        elif kind == REVOKED and body["key_id"] in self.keys:
            officer, public_key, _ = self.keys[body["key_id"]]
            self.keys[body["key_id"]] = (officer, public_key, "revoked")


def _key_id(public_key: str) -> str | None:
    try:
        return key_id_of(public_key)
    except ValueError:
        return None
