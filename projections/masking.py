"""How a person appears on a public notice list (公示): a masked name, nothing more.

Names never enter the log (design §3): the log holds ``person_ref``, a keyed
pseudonym. A notice list must still let a family find its own line, so the
projection asks a ``NameLookup`` (supplied by the api layer, which reads the
vault) for the full name once, when a payment is approved, and keeps only the
mask. The mask is the one rule of ``domain.pseudonyms.mask_name``, used here and
by the officers' CLI alike, so that the two can never disagree: the first
character and, from three characters on, the last (张* for 张三, 张*丰 for 张三丰,
欧**明 for 欧阳小明; a compound surname is not kept whole, since that would show
more of the name than the rule allows).

Invariants:

- ``public_name`` never returns the full name, the ``person_ref`` or any part of
  it longer than ``PLACEHOLDER_HEX`` characters;
- without a lookup, or for a person the vault does not know, the name is a
  placeholder made of ``学生`` and the last four hex digits of the pseudonym
  (65,536 values: enough to tell two pupils of one list apart, far too few to
  find the pseudonym, which in any case cannot be reversed without the secret);
- once a person's data was erased (``CountyRolls.PersonalDataErased``), the
  name is ``ERASED_NAME``, without even the four digits, so erased rows cannot
  be linked to one another.
"""

from __future__ import annotations

from collections.abc import Callable

from domain.pseudonyms import mask_name

__all__ = [
    "ERASED_NAME",
    "PLACEHOLDER_HEX",
    "NameLookup",
    "mask_name",
    "placeholder",
    "public_name",
]

NameLookup = Callable[[str], str | None]
"""person_ref -> the full name from the vault, or None if it holds none."""

PLACEHOLDER_HEX = 4
PLACEHOLDER_PREFIX = "学生"
ERASED_NAME = "（个人信息已删除）"


def placeholder(person_ref: str) -> str:
    """The name shown when no name can be looked up: 学生 and 4 hex digits."""
    return PLACEHOLDER_PREFIX + person_ref[-PLACEHOLDER_HEX:]


def public_name(lookup: NameLookup | None, person_ref: str) -> str:
    """The masked name of ``person_ref`` for a public row (never the full name)."""
    name = None if lookup is None else lookup(person_ref)
    if name is None or not name.strip():
        return placeholder(person_ref)
    masked = mask_name(name)
    # A one-letter Latin name masks to itself; a public row shows no full name.
    if masked == name.strip():
        return "*" * len(masked)
    return masked
