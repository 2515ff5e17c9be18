"""The private bookkeeping behind the disclosure views: what the log said before.

A view row changes when money moves, but the entry that moves it often names
only an id: ``PaymentApproved`` names the payment proposed earlier,
``TransferReversed`` the transfer it undoes, and every county event names only
its aggregate's stream. These private tables remember what the views need to
read those entries, so that the projection's whole state stays in rows and a
restarted projection goes on exactly where it stopped:

- ``disclosure_streams``: stream -> county, from ``CountyFund.Opened``,
  ``CountyRolls.Started`` and ``CountySchools.Started``;
- ``disclosure_transfers``: (county, transfer id) -> a receipt, allocation or
  project funding, with what is needed to undo it and the year it was shown in;
- ``disclosure_payments``: (county, payment id) -> a proposed payment, its
  status and, once approved, the school and grade it was shown under;
- ``disclosure_students``: (county, person_ref) -> the person's latest student
  status (school, grade), read when a payment to the person is approved;
- ``disclosure_people``: person_ref -> how many payments the person was
  proposed (the index of the self-check rows) and whether their data was erased.

Rows are tuples; the ``*_`` constants name their positions. Invariant: every
row here is written only by ``projections.disclosure`` and read back unchanged
after a restore.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.units import Registry
from projections.base import Column, Table

TEXT = "TEXT"
INTEGER = "INTEGER"
BOOLEAN = "BOOLEAN"

STREAMS = Table(
    "disclosure_streams",
    key=(Column("stream"),),
    values=(Column("county"), Column("aggregate")),
    public=False,
)

TRANSFERS = Table(
    "disclosure_transfers",
    key=(Column("county"), Column("transfer_id")),
    values=(
        Column("kind"),  # receipt | allocation | project
        Column("amount_fen", INTEGER),
        Column("seq", INTEGER),
        Column("year", INTEGER),
        Column("category"),  # source kind, programme or project kind
        Column("target"),  # earmark key (receipt), project id (project)
        Column("school"),  # the project's school
        Column("earmarks", INTEGER),  # which earmarks the spending counted for
        Column("reversed_seq", INTEGER),
    ),
    public=False,
)
T_KIND, T_AMOUNT, T_SEQ, T_YEAR, T_CATEGORY, T_TARGET, T_SCHOOL, T_EARMARKS = range(8)
T_REVERSED = 8

PAYMENTS = Table(
    "disclosure_payments",
    key=(Column("county"), Column("payment_id")),
    values=(
        Column("programme"),
        Column("year", INTEGER),
        Column("term"),
        Column("payee_kind"),
        Column("payee"),
        Column("amount_fen", INTEGER),
        Column("status"),  # proposed | approved | rejected | reversed
        Column("proposed_seq", INTEGER),
        Column("approved_seq", INTEGER),
        Column("closed_seq", INTEGER),  # the rejection or reversal
        Column("school"),
        Column("grade", INTEGER),
        Column("headcount", INTEGER),  # a school payment's stated headcount
        Column("person_index", INTEGER),  # the self-check row of a person payment
        Column("earmarks", INTEGER),
    ),
    public=False,
)
(
    P_PROGRAMME,
    P_YEAR,
    P_TERM,
    P_PAYEE_KIND,
    P_PAYEE,
    P_AMOUNT,
    P_STATUS,
    P_PROPOSED,
    P_APPROVED,
    P_CLOSED,
    P_SCHOOL,
    P_GRADE,
    P_HEADCOUNT,
    P_INDEX,
    P_EARMARKS,
) = range(15)

STUDENTS = Table(
    "disclosure_students",
    key=(Column("county"), Column("person_ref")),
    values=(Column("school"), Column("grade", INTEGER), Column("seq", INTEGER)),
    public=False,
)

PEOPLE = Table(
    "disclosure_people",
    key=(Column("person_ref"),),
    values=(Column("payments", INTEGER), Column("erased", BOOLEAN)),
    public=False,
)

UNITS = Table(
    "disclosure_units",
    key=(Column("code"),),
    values=(Column("level"), Column("parent"), Column("name")),
)

# Where a person paid without a student status is shown: a school row of its
# own under the county, so that school rows still add up to the county's.
UNPLACED_SUFFIX = "-UNPLACED"
UNPLACED_NAME = "未登记学籍"

Chain = tuple[tuple[str, str, str | None], ...]
"""(unit, level, parent) from the lowest unit up to the province."""


class Geography:
    """Which prefecture and province a county lies in, from ``domain.units``.

    A county the registry does not hold (it has 28 of the plan's 37) is placed
    by its GB/T 2260 code: the prefecture is its first four digits and ``00``.
    Results are memoised: they depend on the code alone.
    """

    def __init__(self, units: Registry) -> None:
        self.units = units
        self._chains: dict[str, Chain] = {}

    def name(self, code: str) -> str:
        """The unit's name, or its code when the registry does not hold it."""
        return self.units.get(code).name if code in self.units else code

    def prefecture(self, county: str) -> str:
        """The unit one level above the county."""
        return self.county_chain(county)[1][0]

    def county_chain(self, county: str) -> Chain:
        """County, prefecture and province, each with its level and parent."""
        chain = self._chains.get(county)
        if chain is None:
            if county in self.units and self.units.get(county).parent:
                prefecture = str(self.units.get(county).parent)
            else:
                prefecture = county[:4] + "00"
            province = county[:2] + "0000"
            chain = (
                (county, "county", prefecture),
                (prefecture, "prefecture", province),
                (province, "province", None),
            )
            self._chains[county] = chain
        return chain


_BEIJING = timedelta(hours=8)


def beijing_date(recorded_at: str) -> str:
    """The day in China (UTC+8) on which an entry was recorded, YYYY-MM-DD."""
    try:
        moment = datetime.fromisoformat(recorded_at)
    except ValueError:
        return recorded_at[:10]
    return (moment + _BEIJING).date().isoformat()


def recorded_year(recorded_at: str) -> int:
    """The calendar (fiscal) year in China in which an entry was recorded."""
    day = beijing_date(recorded_at)
    return int(day[:4]) if day[:4].isdigit() else 0
