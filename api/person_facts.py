"""PersonFacts from the personal-data vault: what the fraud rules may know.

The rules (``projections.rules``) need a person's birth date (R07), whether their
resident ID passes its checks (R09) and a way to compare names without seeing
them (R10). This module answers from the vault, under the deployment's secret:

- ``birth_date``: the date the ID encodes (digits 7 to 14), where it is a date;
- ``id_problems``: every check the ID fails, in GB 11643's order: ``length``,
  ``characters``, ``region`` (no such province), ``unknown-region`` (a region
  the deployment's units should know and do not), ``birth-date`` (not a date,
  or before 1900), ``check-character`` (ISO 7064 MOD 11-2);
- ``name_key``: HMAC-SHA256(pseudonym secret, ``name:`` + the normalised name),
  normalised as NFKC, case-folded, without spaces or middle dots, so that
  ``张 三`` and ``张三`` are one name and the key says nothing to anyone without
  the secret.

A birth date after the listing is judged by the rules, which know the date of
the listing; nothing here depends on today's date, so the answer for a person is
the same whenever it is asked.

NOTE: a code of a province the units cover (Hubei, 42) is ``unknown-region``
unless it is one of the units (a county or a prefecture). The packaged units
hold Hubei's prefectures and the plan's poor counties only, so an ID first
issued in one of Hubei's other counties (a Wuhan district, say) is reported too,
for an auditor to dismiss. Codes of other provinces are judged by their
two-digit prefix. TODO(#4): a full GB/T 2260 list, retired codes included, would
judge every code exactly.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date

from api.vault_store import PersonalDataErased, UnknownPerson, Vault
from domain.resident_id import EARLIEST_BIRTH_DATE, PROVINCE_CODES, check_character
from domain.units import Level, Registry
from domain.vault import PersonalData
from projections.feed import LoggedEvent
from projections.people import PersonFacts, PersonLookup

_DIGITS = frozenset("0123456789")
_NAME_DROPPED = frozenset(" \t\u00b7\u2022\u30fb\u3000")


def name_key(secret: bytes, name: str) -> str:
    """The keyed hash of a normalised name (see the module docstring)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    normalised = "".join(c for c in folded if c not in _NAME_DROPPED)
    message = b"name:" + normalised.encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def units_know_region(units: Registry) -> Callable[[str], bool]:
    """Whether a six-digit region code is one the units could hold."""
    provinces = {unit.code[:2] for unit in units if unit.level is Level.PROVINCE}

    def known(code: str) -> bool:
        return code[:2] not in provinces or code in units

    return known


def birth_date_of(number: str) -> date | None:
    """The birth date an 18-character ID encodes, or None."""
    if len(number) != 18 or not _DIGITS.issuperset(number[6:14]):
        return None
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def id_problems(number: str, known_region: Callable[[str], bool]) -> tuple[str, ...]:
    """Every check of GB 11643-1999 the ID fails, in order (empty: none)."""
    number = number.strip().replace("x", "X")
    if len(number) != 18:
        return ("length",)
    if not _DIGITS.issuperset(number[:17]) or number[17] not in _DIGITS | {"X"}:
        return ("characters",)
    problems: list[str] = []
    if number[:2] not in PROVINCE_CODES:
        problems.append("region")
    elif not known_region(number[:6]):
        problems.append("unknown-region")
    born = birth_date_of(number)
    if born is None or born < EARLIEST_BIRTH_DATE:
        problems.append("birth-date")
    if number[17] != check_character(number[:17]):
        problems.append("check-character")
    return tuple(problems)


class VaultReader:
    """Reads the vault for the views: one query per batch, not one per person.

    ``prefetch`` is the runner's ``before_batch``: it collects the persons a
    batch of entries names (``person_ref``, a person ``payee``) and unseals them
    together; ``data`` answers from that batch's cache, or asks the vault for a
    person the batch did not name. The cache holds one batch at a time, so its
    size is bounded by the batch size, not by the province.
    """

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._cache: dict[str, PersonalData | None] = {}

    def prefetch(self, entries: Sequence[LoggedEvent]) -> None:
        """Unseal every person named in ``entries`` (the next batch)."""
        wanted = set()
        for entry in entries:
            body = entry.body
            person = body.get("person_ref")
            if isinstance(person, str):
                wanted.add(person)
            if body.get("payee_kind") == "person" and isinstance(
                body.get("payee"), str
            ):
                wanted.add(body["payee"])
        self._cache = self.vault.get_many(wanted)

    def data(self, person_ref: str) -> PersonalData | None:
        """The person's data, or None if erased or never held."""
        if person_ref in self._cache:
            return self._cache[person_ref]
        try:
            found: PersonalData | None = self.vault.get(person_ref)
        except (UnknownPerson, PersonalDataErased):
            found = None
        self._cache[person_ref] = found
        return found


def vault_lookup(vault: Vault | VaultReader, units: Registry) -> PersonLookup:
    """The rules' person lookup, answered from ``vault`` and its secret.

    An erased person, or one the vault never held, has no facts (None): the
    rules that need them stay silent about that person.
    """
    reader = vault if isinstance(vault, VaultReader) else VaultReader(vault)
    secret = reader.vault.secrets.person_secret
    known = units_know_region(units)

    def lookup(person_ref: str) -> PersonFacts | None:
        data = reader.data(person_ref)
        if data is None:
            return None
        return PersonFacts(
            birth_date=birth_date_of(data.resident_id),
            id_problems=id_problems(data.resident_id, known),
            name_key=name_key(secret, data.name),
        )

    return lookup
