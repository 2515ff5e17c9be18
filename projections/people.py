"""What the fraud rules may know about a person beyond the log: ``PersonFacts``.

The log holds only pseudonyms (``person_ref``), so three rules need a little
more: the age for the stage (R07) needs the birth date the resident ID encodes,
the invalid-ID rule (R09) needs the ID's own checks, and the one-ID-two-names
rule (R10) needs to compare names without seeing them. The deployment answers
those questions from its personal-data vault (``api.person_facts``); the
projections see only the answers.

Invariants:

- ``PersonFacts`` holds no name, no ID number and no bank account: a name
  appears only as ``name_key``, a keyed hash of the normalised name that the
  rules compare for equality and nothing else.
- A lookup is a pure function of its argument while the vault holds the person:
  the rules call it once, when a person first appears on a roll, and keep what it
  said in their own (private) rows, so a restart or a rebuild from those rows
  never asks again and never sees a different answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the vault says about one ``person_ref``.

    ``id_problems`` names each check the resident ID fails (``check-character``,
    ``unknown-region``, ...), empty for a good ID. ``other_name_keys`` are name
    keys of other names the same ID was presented under (a roll import that
    disagreed with the vault, say); a deployment that keeps no such history
    leaves it empty.
    """

    birth_date: date | None
    id_problems: tuple[str, ...]
    name_key: str | None
    other_name_keys: tuple[str, ...] = ()


PersonLookup = Callable[[str], PersonFacts | None]
"""Facts about a ``person_ref``, or None where the vault holds nothing (erased)."""


def no_lookup(person_ref: str) -> PersonFacts | None:
    """The default lookup: nothing is known, so R07, R09 and R10 stay silent."""
    del person_ref
    return None
