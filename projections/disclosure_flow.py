"""Fund flow: province -> prefecture -> county -> school, by source, programme, year.

One public table, ``fund_flow``, keyed by (unit, flow, category, year):

=========== ================== ============================ ======================
flow        category           year                         units
=========== ================== ============================ ======================
received    the source kind    year recorded (China, 财年)  county and above
allocated   the programme      the programme's school year  county and above
paid        the programme      the payment's school year    school and above
project     the project kind   the project's year           school (if any), above
=========== ================== ============================ ======================

``amount_fen`` is the net (a reversal subtracts what its transfer added) and
``transfers`` the number of transfers still standing; the reversal's entry is
cited on every row it changed. A person's payment is shown under the school of
the person's student status when it was approved, or under the county's
``-UNPLACED`` row when there was none.

Invariants (checked by the property tests): for each flow, category and year,
a prefecture's row is the sum of its counties' rows and the province's the sum
of its prefectures'; a county's ``paid`` rows are the sum of its schools'; a
county's ``received`` total is what it received less what was reversed.
"""

from __future__ import annotations

from typing import Any

from projections.base import Column, Projection, Table
from projections.disclosure_records import INTEGER, Chain

FLOW = Table(
    "fund_flow",
    key=(Column("unit"), Column("flow"), Column("category"), Column("year", INTEGER)),
    values=(
        Column("level"),
        Column("parent"),
        Column("amount_fen", INTEGER),
        Column("transfers", INTEGER),
    ),
)

RECEIVED = "received"
ALLOCATED = "allocated"
PAID = "paid"
PROJECT = "project"
UNCLASSIFIED = "UNCLASSIFIED"  # a project whose id names no kind


def move(
    view: Projection,
    chain: Chain,
    what: tuple[str, str, int],
    *,
    amount_fen: int,
    transfers: int,
    seq: int,
) -> None:
    """Add a (signed) amount to every unit of ``chain``, citing ``seq`` on each.

    ``what`` is the (flow, category, year) of the rows to change.
    """
    flow, category, year = what
    name, get, put, cite = FLOW.name, view.get, view.put, view.cite
    for unit, level, parent in chain:
        key = (unit, flow, category, year)
        row: Any = get(name, key)
        if row is None:
            put(name, key, (level, parent, amount_fen, transfers))
        else:
            put(name, key, (level, parent, row[2] + amount_fen, row[3] + transfers))
        cite(name, key, seq)
