"""Encryption for the personal-data vault: names, ID numbers, bank accounts.

The log holds only pseudonyms (design §3); what they stand for is kept in a vault,
sealed here and stored elsewhere. This module is pure: it draws keys and nonces
from the operating system's random source and touches no storage.

- Every person has a key of their own: 256 random bits, used for nobody else.
- A record is sealed with AES-GCM under that key, with a fresh random 96-bit
  nonce each time and the person's ``person_ref`` in the associated data, so a
  record copied onto another person's row does not open.
- Person keys are stored only wrapped: sealed with AES-GCM under the deployment's
  master key, the ``person_ref`` again in the associated data, the nonce in
  front. A wrapped key moved to another person does not unwrap either.

Erasure (the PIPL right to deletion) is the destruction of one person's wrapped
key. The sealed records may stay where they are, in the database and in every
backup: without that key nothing opens them, neither the master key nor any
other person's key. The log is not touched, so every hash and every checkpoint
still verifies.

NOTE: erasure is only as complete as the destruction of the wrapped key. A backup
that still holds it, together with the master key, recovers the person. Backups
of the key store must expire, or the master key be rotated (every remaining key
re-wrapped, the old master destroyed) once they are gone.

NOTE: the ``person_ref`` outlives erasure. Whoever holds the pseudonym secret and
already knows the person's ID number can still find their entries in the log;
that is the price of a log that stays verifiable, and why that secret is
guarded like the master key.

NOTE: AES-GCM does not hide length: a sealed record shows roughly how long the
name is and whether a bank account is present. The vault is not public, so this
is accepted rather than padded away.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import (
    InvalidPersonRef,
    VaultRecordUnreadable,
    WrappedKeyUnreadable,
    WrongKeySize,
)

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the 96-bit nonce AES-GCM is designed for
TAG_BYTES = 16
WRAPPED_KEY_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES
# The version of the JSON document inside a sealed record.
RECORD_FORMAT = 1

# The associated data starts with what is sealed, so that a wrapped key and a
# record can never stand in for each other, whatever keys are involved.
_RECORD_CONTEXT = b"record:"
_KEY_CONTEXT = b"key:"
_PERSON_REF = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SealedRecord:
    """One person's personal data, encrypted; safe to store and back up."""

    person_ref: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True, repr=False)
class PersonalData:
    """What a ``person_ref`` stands for. Its ``repr`` shows none of it."""

    name: str
    resident_id: str
    bank_account: str | None = None

    def __repr__(self) -> str:
        return "PersonalData(<withheld>)"


def new_person_key() -> bytes:
    """A fresh, random 256-bit key for one person."""
    return AESGCM.generate_key(bit_length=8 * KEY_BYTES)


def seal(key: bytes, person_ref: str, data: PersonalData) -> SealedRecord:
    """Encrypt ``data`` under the person's key, bound to ``person_ref``."""
    _check_key("person key", key)
    _check_person_ref(person_ref)
    document = {
        "format": RECORD_FORMAT,
        "name": data.name,
        "resident_id": data.resident_id,
        "bank_account": data.bank_account,
    }
    plaintext = json.dumps(
        document, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _record_context(person_ref))
    return SealedRecord(person_ref=person_ref, nonce=nonce, ciphertext=ciphertext)


def unseal(key: bytes, record: SealedRecord) -> PersonalData:
    """Decrypt a sealed record.

    Raises ``VaultRecordUnreadable`` if the key is not the person's, or the
    record was altered or moved to another ``person_ref``.
    """
    _check_key("person key", key)

    # 1. Authenticate and decrypt; AES-GCM cannot say which of key, nonce,
    # ciphertext or person_ref is wrong, only that one is.
    if len(record.nonce) != NONCE_BYTES:
        raise VaultRecordUnreadable(
            record.person_ref,
            f"nonce must be {NONCE_BYTES} bytes, found {len(record.nonce)}",
        )
    try:
        plaintext = AESGCM(key).decrypt(
            record.nonce, record.ciphertext, _record_context(record.person_ref)
        )
    except InvalidTag:
        raise VaultRecordUnreadable(
            record.person_ref, "wrong key, or the record was altered or moved"
        ) from None

    # 2. The document must be one this version wrote. It is authentic, so a
    # mismatch means a bug or a newer writer, never an attacker.
    try:
        document = json.loads(plaintext)
    except ValueError:
        document = None
    if not _is_record_document(document):
        raise VaultRecordUnreadable(
            record.person_ref,
            f"content is not a format {RECORD_FORMAT} personal data record",
        )
    return PersonalData(
        name=document["name"],
        resident_id=document["resident_id"],
        bank_account=document["bank_account"],
    )


def wrap_key(master: bytes, person_ref: str, key: bytes) -> bytes:
    """Encrypt a person's key under the master key: nonce, then ciphertext."""
    _check_key("master key", master)
    _check_key("person key", key)
    _check_person_ref(person_ref)
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, key, _key_context(person_ref))


def unwrap_key(master: bytes, person_ref: str, wrapped: bytes) -> bytes:
    """Recover a person's key from ``wrap_key``'s output.

    Raises ``WrappedKeyUnreadable`` if the master key is wrong, or the wrapped
    key was altered or belongs to another ``person_ref``.
    """
    _check_key("master key", master)
    _check_person_ref(person_ref)
    if len(wrapped) != WRAPPED_KEY_BYTES:
        raise WrappedKeyUnreadable(
            person_ref,
            f"a wrapped key must be {WRAPPED_KEY_BYTES} bytes, found {len(wrapped)}",
        )
    nonce, ciphertext = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
    try:
        return AESGCM(master).decrypt(nonce, ciphertext, _key_context(person_ref))
    except InvalidTag:
        raise WrappedKeyUnreadable(
            person_ref, "wrong master key, or the wrapped key was altered or moved"
        ) from None


def _record_context(person_ref: str) -> bytes:
    return _RECORD_CONTEXT + person_ref.encode("utf-8")


def _key_context(person_ref: str) -> bytes:
    return _KEY_CONTEXT + person_ref.encode("utf-8")


def _check_key(what: str, key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise WrongKeySize(what, len(key), KEY_BYTES)


def _check_person_ref(person_ref: str) -> None:
    if _PERSON_REF.fullmatch(person_ref) is None:
        raise InvalidPersonRef(person_ref)


def _is_record_document(document: object) -> TypeGuard[dict[str, Any]]:
    if not isinstance(document, dict):
        return False
    return (
        set(document) == {"format", "name", "resident_id", "bank_account"}
        and type(document["format"]) is int
        and document["format"] == RECORD_FORMAT
        and isinstance(document["name"], str)
        and isinstance(document["resident_id"], str)
        and isinstance(document["bank_account"], str | None)
    )
