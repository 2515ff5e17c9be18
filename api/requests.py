"""Signed requests: what an officer signs, and how a signature is checked.

A request is the JSON object

    {"command", "params", "key_id", "request_id", "signed_at"}

and its signature is Ed25519 over the request's RFC 8785 canonical bytes, so any
implementation of JCS can reproduce exactly what was signed. The request's digest
(SHA-256 of those bytes, hex) names it everywhere: in the accepted-request record
and in the ``signatures`` of every event it caused. One signature may cover a
batch: the parameters then hold all its records.

An officer's key file is JSON (``officer_id``, ``key_id``, ``public_key`` and the
32-byte ``private_key`` seed, hex) kept with mode 0600 like every key here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
)

from domain.officers import key_id_of
from ledger.canonical import canonical_bytes
from ledger.entry import timestamp
from ledger.errors import BadData, KeyFileError, LedgerMisuse, NotCanonical
from ledger.keys import read_secret, write_secret

REQUEST_KEYS = frozenset({"command", "params", "key_id", "request_id", "signed_at"})


class InvalidRequest(LedgerMisuse):
    """A request document that is not a well-formed signed request."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid request: {reason}")
        self.reason = reason


class BadSignature(BadData):
    """A request whose signature does not verify with the key it names."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"the request's signature does not verify with key {key_id}")
        self.key_id = key_id


@dataclass(frozen=True)
class OfficerKey:
    """An officer's signing key as kept in their key file."""

    officer_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key_hex(self) -> str:
        """The raw 32-byte public key, hex."""
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return raw.hex()

    @property
    def key_id(self) -> str:
        """The id the registry knows this key by."""
        return key_id_of(self.public_key_hex)

    @classmethod
    def generate(cls, officer_id: str) -> OfficerKey:
        """A fresh key for an officer."""
        return cls(officer_id, Ed25519PrivateKey.generate())

    def save(self, path: Path) -> None:
        """Write the key file (mode 0600, never overwriting)."""
        seed = self.private_key.private_bytes_raw().hex()
        document = {
            "officer_id": self.officer_id,
            "key_id": self.key_id,
            "public_key": self.public_key_hex,
            "private_key": seed,
        }
        write_secret(path, json.dumps(document, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> OfficerKey:
        """Read a key file, refusing loose permissions and malformed content."""
        text = read_secret(path)
        try:
            document = json.loads(text)
            seed = bytes.fromhex(document["private_key"])
            key = cls(
                str(document["officer_id"]), Ed25519PrivateKey.from_private_bytes(seed)
            )
        except (ValueError, KeyError, TypeError):
            raise KeyFileError(str(path), "not an officer key file") from None
        if document.get("key_id") != key.key_id:
            raise KeyFileError(str(path), "its key_id does not match its key")
        return key

    def sign(
        self,
        command: str,
        params: dict[str, Any],
        *,
        request_id: str | None = None,
        signed_at: str | None = None,
    ) -> dict[str, Any]:
        """A signed request document, ready to send or to save as a file."""
        request = {
            "command": command,
            "params": params,
            "key_id": self.key_id,
            "request_id": request_id or str(uuid.uuid4()),
            "signed_at": signed_at or timestamp(),
        }
        signature = self.private_key.sign(_canonical(request))
        return {"request": request, "signature": base64.b64encode(signature).decode()}


@dataclass(frozen=True)
class SignedRequest:
    """A parsed request document; its signature is not checked yet."""

    request: dict[str, Any]
    signature: bytes

    @property
    def command(self) -> str:
        """What is asked for."""
        return str(self.request["command"])

    @property
    def params(self) -> dict[str, Any]:
        """The command's parameters."""
        params: dict[str, Any] = self.request["params"]
        return params

    @property
    def key_id(self) -> str:
        """The key the officer signed with."""
        return str(self.request["key_id"])

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical request bytes, hex: the request's name."""
        return hashlib.sha256(_canonical(self.request)).hexdigest()

    def check_signature(self, public_key_hex: str) -> None:
        """Raise ``BadSignature`` unless the named key signed these bytes."""
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        try:
            public_key.verify(self.signature, _canonical(self.request))
        except InvalidSignature:
            raise BadSignature(self.key_id) from None


def parse_request(document: object) -> SignedRequest:
    """Check a request document's shape (not its signature)."""
    if not isinstance(document, dict) or set(document) != {"request", "signature"}:
        raise InvalidRequest("expected an object with 'request' and 'signature'")
    request = document["request"]
    if not isinstance(request, dict) or set(request) != REQUEST_KEYS:
        raise InvalidRequest(
            "the request must have exactly: " + ", ".join(sorted(REQUEST_KEYS))
        )
    for name in ("command", "key_id", "request_id", "signed_at"):
        if not isinstance(request[name], str) or not request[name]:
            raise InvalidRequest(f"{name} must be a non-empty string")
    if not isinstance(request["params"], dict):
        raise InvalidRequest("params must be an object")
    try:
        _canonical(request)
        signature = base64.b64decode(document["signature"], validate=True)
    except (NotCanonical, binascii.Error, TypeError) as error:
        raise InvalidRequest(str(error)) from None
    if len(signature) != 64:
        raise InvalidRequest("the signature must be 64 bytes of Ed25519, base64")
    return SignedRequest(request, signature)


def _canonical(request: dict[str, Any]) -> bytes:
    return canonical_bytes(request)
