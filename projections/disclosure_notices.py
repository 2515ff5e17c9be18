"""Notice lists (公示) and the self-check: each person's payments, two ways.

``notices`` is public: one row per approved payment to a person, keyed by
(school, school year, programme, term, the proposal's seq), with the county,
the grade, the masked name and the net amount (0 and ``reversed`` once the
payment was reversed, the reversal cited). The key uses the proposal's seq, not
the payment id, since an officer chooses ids and might put a pseudonym in one.
It holds no ID number, address, phone, birth date, bank account or pseudonym.

``self_check`` is private: (person_ref, n) -> the n-th payment proposed to the
person, whatever became of it (proposed, approved, rejected, reversed), with the
seqs of its proposal, approval and rejection or reversal, so that a student or
guardian can fetch an inclusion proof for each. ``self_check(view, person_ref)``
answers for one pseudonym; the api computes the pseudonym from the ID and checks
the name against the vault before asking, so nobody sees another's rows.

Invariants: a person's self-check rows are numbered 0.. ``disclosure_people``'s
count, in log order; every notice row's name came from ``masking.public_name``
or is ``ERASED_NAME`` (after ``PersonalDataErased``, all of that person's rows,
past and future).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from projections.base import Column, Projection, Table
from projections.disclosure_records import BOOLEAN, INTEGER, PEOPLE

NOTICES = Table(
    "notices",
    key=(
        Column("school"),
        Column("year", INTEGER),
        Column("programme"),
        Column("term"),
        Column("entry", INTEGER),
    ),
    values=(
        Column("county"),
        Column("grade", INTEGER),
        Column("name"),
        Column("amount_fen", INTEGER),
        Column("reversed", BOOLEAN),
    ),
)

SELF_CHECK = Table(
    "self_check",
    key=(Column("person_ref"), Column("n", INTEGER)),
    values=(
        Column("county"),
        Column("payment_id"),
        Column("programme"),
        Column("year", INTEGER),
        Column("term"),
        Column("amount_fen", INTEGER),
        Column("status"),
        Column("proposed_seq", INTEGER),
        Column("approved_seq", INTEGER),
        Column("closed_seq", INTEGER),
    ),
    public=False,
)
S_STATUS, S_APPROVED, S_CLOSED = 6, 8, 9


@dataclass(frozen=True)
class SelfCheckLine:
    """One of a person's payments, as the self-check shows it."""

    county: str
    payment_id: str
    programme: str
    year: int
    term: str
    amount_fen: int
    status: str
    proposed_seq: int
    approved_seq: int | None
    closed_seq: int | None
    evidence: tuple[int, ...]


def self_check(view: Projection, person_ref: str) -> list[SelfCheckLine]:
    """Every payment proposed to ``person_ref``, in log order (no one else's)."""
    person = view.get(PEOPLE.name, (person_ref,))
    count = 0 if person is None else cast(int, person[0])
    lines = []
    for n in range(count):
        row = view.get(SELF_CHECK.name, (person_ref, n))
        if row is None:  # pragma: no cover - rows are written with the count
            continue
        lines.append(
            SelfCheckLine(
                *cast(
                    tuple[str, str, str, int, str, int, str, int, int | None], row[:9]
                ),
                closed_seq=cast(int | None, row[9]),
                evidence=tuple(view.evidence(SELF_CHECK.name, (person_ref, n))),
            )
        )
    return lines


def proposed(
    view: Projection,
    person_ref: str,
    line: tuple[str, str, str, int, str, int],
    seq: int,
) -> int:
    """A payment to the person was proposed: their next self-check row."""
    person = view.get(PEOPLE.name, (person_ref,))
    n, erased = (0, False) if person is None else cast(tuple[int, bool], person)
    view.put(PEOPLE.name, (person_ref,), (n + 1, erased))
    view.put(SELF_CHECK.name, (person_ref, n), (*line, "proposed", seq, None, None))
    view.cite(SELF_CHECK.name, (person_ref, n), seq)
    return n


def status(
    view: Projection, person_ref: str, n: int, new_status: str, seq: int
) -> None:
    """The payment was approved, rejected or reversed."""
    key = (person_ref, n)
    row = view.get(SELF_CHECK.name, key)
    if row is None:
        return
    where = S_APPROVED if new_status == "approved" else S_CLOSED
    values = list(row)
    values[S_STATUS] = new_status
    values[where] = seq
    view.put(SELF_CHECK.name, key, tuple(values))
    view.cite(SELF_CHECK.name, key, seq)


def is_erased(view: Projection, person_ref: str) -> bool:
    """Whether the person's data was erased before now."""
    person = view.get(PEOPLE.name, (person_ref,))
    return person is not None and bool(person[1])


def notice(
    view: Projection,
    key: tuple[str, int, str, str, int],
    *,
    county: str,
    grade: int | None,
    name: str,
    amount_fen: int,
    seq: int,
) -> None:
    """An approved payment's line on the school's notice list."""
    view.put(NOTICES.name, key, (county, grade, name, amount_fen, False))
    view.cite(NOTICES.name, key, seq)


def withdraw(view: Projection, key: tuple[str, int, str, str, int], seq: int) -> None:
    """The payment was reversed: the line stays, with nothing paid."""
    row = view.get(NOTICES.name, key)
    if row is None:
        return
    view.put(NOTICES.name, key, (*row[:3], 0, True))
    view.cite(NOTICES.name, key, seq)


def rename(
    view: Projection, key: tuple[str, int, str, str, int], name: str, seq: int
) -> None:
    """Show another name on a line (the person's data was erased)."""
    row = view.get(NOTICES.name, key)
    if row is None:
        return
    view.put(NOTICES.name, key, (row[0], row[1], name, *row[3:]))
    view.cite(NOTICES.name, key, seq)


def mark_erased(view: Projection, person_ref: str) -> int:
    """Remember the erasure; returns how many payments the person was proposed."""
    person = view.get(PEOPLE.name, (person_ref,))
    count = 0 if person is None else cast(int, person[0])
    view.put(PEOPLE.name, (person_ref,), (count, True))
    return count
