"""Where the personal-data vault lives: a table beside the log, never in it.

Each person's name, ID number and bank account are sealed under a key of their
own (``domain.vault``); that key is stored wrapped under the deployment's master
key. Erasure destroys the wrapped key: the ciphertext stays but nobody can read
it, and since the log only ever held the pseudonym, every hash still verifies.

The deployment's secrets (the HMAC secret for pseudonyms and the vault's master
key) are a key file outside the database, created by ``fundledger init``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from domain.pseudonyms import person_ref
from domain.resident_id import parse_resident_id
from domain.vault import (
    PersonalData,
    SealedRecord,
    new_person_key,
    seal,
    unseal,
    unwrap_key,
    wrap_key,
)
from ledger.entry import timestamp
from ledger.errors import KeyFileError, LedgerMisuse
from ledger.keys import read_secret, write_secret
from ledger.recorder import LogRecorder

TABLE = "vault_records"
GET_MANY_CHUNK = 500  # persons per query: well under every back end's limit
BEIJING = timezone(timedelta(hours=8))  # birth dates are compared with China's day


class PersonalDataErased(LedgerMisuse):
    """The person's data was erased; it cannot be read any more."""

    def __init__(self, person: str) -> None:
        super().__init__(f"the personal data of {person[:12]}… was erased")
        self.person = person


class UnknownPerson(LedgerMisuse):
    """No personal data is held for this pseudonym."""

    def __init__(self, person: str) -> None:
        super().__init__(f"the vault holds nothing for {person[:12]}…")
        self.person = person


class NoSecrets(LedgerMisuse):
    """This server holds no deployment secrets, so it cannot find a person."""

    def __init__(self) -> None:
        super().__init__(
            "self-check needs the deployment's secrets file on the server "
            "(--secrets); ask the county education bureau"
        )


@dataclass(frozen=True)
class DeploymentSecrets:
    """The HMAC secret behind pseudonyms and the vault's master key."""

    person_secret: bytes
    vault_master: bytes

    @classmethod
    def generate(cls) -> DeploymentSecrets:
        """Fresh secrets for a new deployment."""
        return cls(secrets.token_bytes(32), secrets.token_bytes(32))

    def save(self, path: Path) -> None:
        """Write the secrets file (mode 0600, never overwriting)."""
        document = {
            "person_secret": self.person_secret.hex(),
            "vault_master": self.vault_master.hex(),
        }
        write_secret(path, json.dumps(document, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> DeploymentSecrets:
        """Read the secrets file, refusing loose permissions."""
        try:
            document = json.loads(read_secret(path))
            return cls(
                bytes.fromhex(document["person_secret"]),
                bytes.fromhex(document["vault_master"]),
            )
        except (ValueError, KeyError, TypeError):
            raise KeyFileError(str(path), "not a deployment secrets file") from None

    def person_ref_of(self, id_number: str, today: date | None = None) -> str:
        """The pseudonym of a resident ID (validated first)."""
        today = today or datetime.now(BEIJING).date()
        resident_id = parse_resident_id(id_number, today=today)
        return person_ref(self.person_secret, resident_id)


class Vault:
    """Sealed personal data in a table of the ledger's database."""

    def __init__(self, recorder: LogRecorder, secrets_: DeploymentSecrets) -> None:
        self.recorder = recorder
        self.secrets = secrets_
        blob = recorder.blob_type
        with recorder.side_table(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (person_ref TEXT PRIMARY KEY, "
                f"wrapped_key {blob}, nonce {blob} NOT NULL, "
                f"ciphertext {blob} NOT NULL, erased_at TEXT)"
            )

    def put(self, data: PersonalData, today: date | None = None) -> tuple[str, bool]:
        """Seal a person's data; returns (person_ref, whether it was new)."""
        today = today or datetime.now(BEIJING).date()
        resident_id = parse_resident_id(data.resident_id, today=today)
        data = PersonalData(data.name, resident_id.number, data.bank_account)
        ref = person_ref(self.secrets.person_secret, resident_id)
        key = new_person_key()
        sealed = seal(key, ref, data)
        wrapped = wrap_key(self.secrets.vault_master, ref, key)
        with self.recorder.side_table(commit=True) as cursor:
            cursor.execute(
                self.recorder.sql(
                    f"SELECT 1 AS held FROM {TABLE} WHERE person_ref = ?"
                ),
                [ref],
            )
            if cursor.fetchone() is not None:
                return ref, False
            cursor.execute(
                self.recorder.sql(
                    f"INSERT INTO {TABLE} (person_ref, wrapped_key, nonce, ciphertext) "
                    "VALUES (?, ?, ?, ?)"
                ),
                [ref, wrapped, sealed.nonce, sealed.ciphertext],
            )
        return ref, True

    def get(self, ref: str) -> PersonalData:
        """Unseal a person's data (refused once erased)."""
        with self.recorder.side_table(commit=False) as cursor:
            cursor.execute(
                self.recorder.sql(
                    f"SELECT wrapped_key, nonce, ciphertext FROM {TABLE} "
                    "WHERE person_ref = ?"
                ),
                [ref],
            )
            row = cursor.fetchone()
        if row is None:
            raise UnknownPerson(ref)
        if row["wrapped_key"] is None:
            raise PersonalDataErased(ref)
        return self._unseal_row(ref, row)

    def _unseal_row(self, ref: str, row: Any) -> PersonalData:
        """A stored row's data, under the person's key unwrapped first."""
        key = unwrap_key(self.secrets.vault_master, ref, bytes(row["wrapped_key"]))
        record = SealedRecord(ref, bytes(row["nonce"]), bytes(row["ciphertext"]))
        return unseal(key, record)

    def get_many(self, refs: Iterable[str]) -> dict[str, PersonalData | None]:
        """Unseal many persons' data in few queries; None where erased or unknown.

        For readers that know which persons a batch of work will need (the
        views runner): one query per ``GET_MANY_CHUNK`` persons instead of one
        transaction each.
        """
        wanted = list(dict.fromkeys(refs))
        found: dict[str, PersonalData | None] = dict.fromkeys(wanted)
        with self.recorder.side_table(commit=False) as cursor:
            for start in range(0, len(wanted), GET_MANY_CHUNK):
                chunk = wanted[start : start + GET_MANY_CHUNK]
                marks = ", ".join("?" * len(chunk))
                cursor.execute(
                    self.recorder.sql(
                        f"SELECT person_ref, wrapped_key, nonce, ciphertext "
                        f"FROM {TABLE} WHERE person_ref IN ({marks})"
                    ),
                    chunk,
                )
                for row in cursor.fetchall():
                    if row["wrapped_key"] is None:
                        continue
                    ref = str(row["person_ref"])
                    found[ref] = self._unseal_row(ref, row)
        return found

    def forget(self, ref: str) -> None:
        """Remove a record that no roll entry came to refer to."""
        with self.recorder.side_table(commit=True) as cursor:
            cursor.execute(
                self.recorder.sql(f"DELETE FROM {TABLE} WHERE person_ref = ?"), [ref]
            )

    def erase(self, ref: str) -> None:
        """Destroy the person's wrapped key: their data is unreadable for good."""
        with self.recorder.side_table(commit=True) as cursor:
            cursor.execute(
                self.recorder.sql(
                    f"UPDATE {TABLE} SET wrapped_key = NULL, erased_at = ? "
                    "WHERE person_ref = ?"
                ),
                [timestamp(), ref],
            )
