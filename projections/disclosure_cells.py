"""Programme x county x year: how many people were paid, how much, at what rate.

The public table ``programme_county_year`` has one row per (county, programme,
school year): the distinct persons paid (``headcount``) and the net amount paid
to them, beside the policy table's rate for the programme. Payments to schools
(bulk payments the school passes on) are shown apart, with the headcount the
payment stated, because the ledger cannot tell which persons they reached.

Small cells are suppressed: when 1 to 4 persons were paid, ``headcount`` and
``amount_fen`` are NULL and ``suppressed`` is true, so that a cell cannot be
read as one pupil's subsidy. (A notice list names that pupil's masked name and
amount on purpose: 公示 is required; the statistical table is not.) The exact
figures live in the private ``programme_cell_exact`` and, per person,
``programme_cell_persons``, so the projection can go on counting.

Invariants: ``headcount`` is the number of persons whose net paid amount in the
cell is positive, so a reversed payment stops counting its person; a public
row is a pure function of its exact row and the policy.
"""

from __future__ import annotations

from typing import Any

from domain.policy import Policy
from projections.base import Column, Projection, Table
from projections.disclosure_records import BOOLEAN, INTEGER

SUPPRESS_BELOW = 5

CELLS = Table(
    "programme_county_year",
    key=(Column("county"), Column("programme"), Column("year", INTEGER)),
    values=(
        Column("prefecture"),
        Column("headcount", INTEGER),
        Column("amount_fen", INTEGER),
        Column("suppressed", BOOLEAN),
        Column("school_paid_fen", INTEGER),
        Column("school_headcount", INTEGER),
        Column("rate_kind"),
        Column("annual_rate_fen", INTEGER),
        Column("term_rate_fen", INTEGER),
    ),
)

CELL_EXACT = Table(
    "programme_cell_exact",
    key=CELLS.key,
    values=(
        Column("persons", INTEGER),
        Column("person_fen", INTEGER),
        Column("school_fen", INTEGER),
        Column("school_headcount", INTEGER),
    ),
    public=False,
)

CELL_PERSONS = Table(
    "programme_cell_persons",
    key=(*CELLS.key, Column("person_ref")),
    values=(Column("net_fen", INTEGER), Column("payments", INTEGER)),
    public=False,
)

Rate = tuple[str | None, int | None, int | None]


def rates(policy: Policy) -> dict[str, Rate]:
    """Each programme's (kind, annual rate, term rate) from the policy table."""
    return {p.code: (p.kind.value, p.annual_fen, p.term_fen) for p in policy.programmes}


def paid(
    view: Projection,
    key: tuple[str, str, int],
    *,
    rate: Rate,
    prefecture: str,
    person: str | None,
    amount_fen: int,
    headcount: int,
    seq: int,
) -> None:
    """Count a (signed) payment to ``person``, or to a school when it is None."""
    exact: Any = view.get(CELL_EXACT.name, key) or (0, 0, 0, 0)
    persons, person_fen, school_fen, school_headcount = exact

    # 1. A person counts while their net amount in the cell is positive.
    if person is None:
        school_fen += amount_fen
        school_headcount += headcount
    else:
        person_key = (*key, person)
        before: Any = view.get(CELL_PERSONS.name, person_key) or (0, 0)
        net_before, payments = before
        net_after = net_before + amount_fen
        view.put(
            CELL_PERSONS.name,
            person_key,
            (net_after, payments + (1 if amount_fen > 0 else -1)),
        )
        persons += (net_after > 0) - (net_before > 0)
        person_fen += amount_fen

    # 2. The exact figures, then the public row with small cells suppressed.
    view.put(CELL_EXACT.name, key, (persons, person_fen, school_fen, school_headcount))
    suppressed = 0 < persons < SUPPRESS_BELOW
    view.put(
        CELLS.name,
        key,
        (
            prefecture,
            None if suppressed else persons,
            None if suppressed else person_fen,
            suppressed,
            school_fen,
            school_headcount,
            *rate,
        ),
    )
    view.cite(CELLS.name, key, seq)
