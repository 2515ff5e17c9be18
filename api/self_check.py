"""Self-check (自查): a student or guardian sees their own payments, with receipts.

Given a resident ID and the name that goes with it, the answer is every
payment ever proposed to that person (proposed, approved, rejected, reversed),
as the disclosure view's private ``self_check`` table holds it, and for each
one the log entries behind it with RFC 9162 inclusion proofs against one
signed checkpoint, so that the family can check with any verifier that those
entries are in the public log.

Invariants:

- Both the ID and the name must match what the vault holds: an ID alone never
  shows anything (IDs are printed on too many forms to be a secret), and a
  wrong name, an unknown ID and an erased person get the same answer, so the
  answer does not reveal who is in the vault.
- Only that person's rows are read (a filter on their pseudonym); the answer
  names nobody else and shows the person's own name masked only.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from api.http.view_query import ViewReader
from api.vault_store import DeploymentSecrets, PersonalDataErased, UnknownPerson, Vault
from domain.pseudonyms import mask_name
from ledger.errors import LedgerMisuse
from ledger.log import Log
from projections.disclosure import Disclosure
from projections.disclosure_notices import SELF_CHECK

MAX_LINES = 1_000  # more payments than a school career could hold


class NothingFound(LedgerMisuse):
    """No payments for this ID and name (or they do not belong together)."""

    def __init__(self) -> None:
        super().__init__(
            "no payments are recorded for this resident ID and name; check both "
            "(the name as registered with the school)"
        )


@dataclass(frozen=True)
class SelfCheck:
    """One person's payments with the proofs of the entries behind them."""

    masked_name: str
    lines: list[dict[str, Any]]
    checkpoint: str
    proofs: dict[int, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """The answer as plain JSON values."""
        return {
            "name": self.masked_name,
            "payments": self.lines,
            "checkpoint": self.checkpoint,
            "proofs": {str(seq): proof for seq, proof in self.proofs.items()},
        }


def _same_name(left: str, right: str) -> bool:
    def fold(name: str) -> str:
        folded = unicodedata.normalize("NFKC", name).casefold()
        return "".join(folded.split()).replace("·", "").replace("•", "")

    return fold(left) == fold(right)


def self_check(
    *,
    log: Log,
    vault: Vault,
    secrets: DeploymentSecrets,
    backend: str,
    id_number: str,
    name: str,
) -> SelfCheck:
    """The payments of the person with ``id_number`` and ``name``."""
    # 1. The pseudonym, and the vault's word that the name goes with the ID.
    person_ref = secrets.person_ref_of(id_number)
    try:
        held = vault.get(person_ref)
    except (UnknownPerson, PersonalDataErased):
        raise NothingFound from None
    if not _same_name(held.name, name):
        raise NothingFound

    # 2. Their rows of the disclosure view, and nobody else's.
    reader = ViewReader(vault.recorder, backend)
    page = reader.page(
        Disclosure(),
        SELF_CHECK,
        filters={"person_ref": person_ref},
        order=[],
        limit=MAX_LINES,
        offset=0,
    )
    lines: list[dict[str, Any]] = []
    cited: list[int] = []
    for record, evidence in page.rows:
        line: dict[str, Any] = {
            key: value for key, value in record.items() if key != "person_ref"
        }
        line["evidence"] = evidence
        lines.append(line)
        cited.extend(evidence)

    # 3. One checkpoint, and a proof of each entry behind the lines against it.
    size = log.size()
    checkpoint = log.checkpoint(size)
    proofs = {
        seq: json.loads(log.inclusion_proof(seq, size).to_json())
        for seq in sorted(set(cited))
    }
    return SelfCheck(mask_name(held.name), lines, checkpoint, proofs)
