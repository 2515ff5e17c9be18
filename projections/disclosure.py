"""The public disclosure views (design §7) as one pure projection of the log.

``Disclosure`` folds the log's county events into the public tables of
``disclosure_flow`` (fund flow), ``disclosure_cells`` (programme x county x
year), ``disclosure_donations``, ``disclosure_notices`` (公示 and self-check)
and ``disclosure_projects`` (projects, plan targets), with the private
bookkeeping of ``disclosure_records``. One projection, not one per view,
because every view reads the same facts (which county a stream is, what a
payment said when it was proposed) and a payment's approval changes them all:
each event is read once.

How money is read from the log: money moves only by ``FundsReceived``,
``Allocated``, ``ProjectFunded`` and ``PaymentApproved`` (which names a payment
proposed earlier in the same stream); ``TransferReversed`` moves it back, and
every row it changes shows the net and cites the reversal. A proposal moves no
money and a rejection releases none: both show only in the self-check.

Invariants:

- ``apply`` does a bounded amount of work per entry (a few rows per view),
  except ``PersonalDataErased``, which renames each of the person's lines;
- the rows depend only on the entries and the constructor's arguments: the
  policy, the units, the board and the ``NameLookup``, which is asked once per
  approved person payment and whose answer is kept only masked;
- no public table holds a name, an ID number, a bank account or a person_ref.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, cast

from domain.plan_targets import ProjectKinds, load_plan_targets
from domain.policy import Policy, load_policy
from domain.units import Registry, load_hubei
from projections import (
    disclosure_cells as cells,
)
from projections import (
    disclosure_donations as donations,
)
from projections import (
    disclosure_flow as flow,
)
from projections import (
    disclosure_notices as notices,
)
from projections import (
    disclosure_projects as projects,
)
from projections.base import Key, Projection, Row, Table
from projections.disclosure_records import (
    P_AMOUNT,
    P_EARMARKS,
    P_GRADE,
    P_HEADCOUNT,
    P_INDEX,
    P_PAYEE,
    P_PAYEE_KIND,
    P_PROGRAMME,
    P_PROPOSED,
    P_SCHOOL,
    P_STATUS,
    P_TERM,
    P_YEAR,
    PAYMENTS,
    PEOPLE,
    STREAMS,
    STUDENTS,
    T_AMOUNT,
    T_CATEGORY,
    T_EARMARKS,
    T_KIND,
    T_REVERSED,
    T_SCHOOL,
    T_SEQ,
    T_TARGET,
    T_YEAR,
    TRANSFERS,
    UNITS,
    UNPLACED_NAME,
    UNPLACED_SUFFIX,
    Geography,
    beijing_date,
    recorded_year,
)
from projections.feed import LoggedEvent
from projections.masking import ERASED_NAME, NameLookup, public_name

logger = logging.getLogger(__name__)

__all__ = ["Disclosure", "SelfCheckLine", "self_check"]

SelfCheckLine = notices.SelfCheckLine
self_check = notices.self_check


class Disclosure(Projection):
    """Fund flow, programme cells, donations, notices, projects and plan targets."""

    name: ClassVar[str] = "disclosure"
    tables: ClassVar[tuple[Table, ...]] = (
        UNITS,
        flow.FLOW,
        cells.CELLS,
        donations.DONATIONS,
        donations.EARMARKS,
        notices.NOTICES,
        projects.PROJECTS,
        projects.PLAN,
        STREAMS,
        TRANSFERS,
        PAYMENTS,
        STUDENTS,
        PEOPLE,
        cells.CELL_EXACT,
        cells.CELL_PERSONS,
        notices.SELF_CHECK,
    )

    def __init__(
        self,
        names: NameLookup | None = None,
        *,
        policy: Policy | None = None,
        units: Registry | None = None,
        kinds: ProjectKinds | None = None,
    ) -> None:
        super().__init__()
        self._names = names
        self._masked: dict[str, str] = {}
        # Counties with an earmark row: derived from the rows (see ``restore``),
        # so that a payment in a county nobody earmarked for looks nothing up.
        self._earmarked: set[str] = set()
        policy = policy or load_policy()
        self._rates = cells.rates(policy)
        self._programmes = frozenset(self._rates)
        self._geography = Geography(units or load_hubei())
        self._board = projects.Board(
            kinds or ProjectKinds(policy, load_plan_targets(policy))
        )
        self._board.seed(self)
        self._handlers: dict[str, Callable[[LoggedEvent], None]] = {
            "CountyFund.Opened": self._opened,
            "CountyRolls.Started": self._started,
            "CountySchools.Started": self._started,
            "CountySchools.SchoolRegistered": self._school,
            "CountyRolls.StatusRecorded": self._status,
            "CountyRolls.PersonalDataErased": self._erased,
            "CountyFund.FundsReceived": self._received,
            "CountyFund.Allocated": self._allocated,
            "CountyFund.ProjectFunded": self._project_funded,
            "CountyFund.ProgressReported": self._progress,
            "CountyFund.PaymentProposed": self._proposed,
            "CountyFund.PaymentApproved": self._approved,
            "CountyFund.PaymentRejected": self._rejected,
            "CountyFund.TransferReversed": self._reversed,
        }

    def restore(
        self,
        rows: dict[str, Iterable[tuple[Key, Row]]],
        evidence: Iterable[tuple[str, Key, int]],
    ) -> None:
        """Load stored rows and evidence, and the index derived from them."""
        super().restore(rows, evidence)
        self._earmarked = {str(key[0]) for key, _ in self.rows(donations.EARMARKS.name)}

    def apply(self, event: LoggedEvent) -> None:
        """Fold one entry; entries of other aggregates are ignored."""
        handler = self._handlers.get(event.name)
        if handler is not None:
            handler(event)

    def persons_asked(self, entries: Iterable[LoggedEvent]) -> set[str]:
        """The persons whose names applying ``entries`` next will look up.

        For a name lookup that reads a batch's names in one query: a person
        missed here is looked up alone, one asked for and not used costs only
        the read, and the rows are the same either way.
        """
        if self._names is None:
            return set()
        streams, payments = self._rows[STREAMS.name], self._rows[PAYMENTS.name]
        proposed: dict[tuple[str, object], object] = {}
        asked: set[str] = set()
        for event in entries:
            body = event.body
            payment_id = body.get("payment_id")
            if not isinstance(payment_id, str):
                continue
            if event.name == "CountyFund.PaymentProposed":
                if body.get("payee_kind") == "person":
                    proposed[event.stream, payment_id] = body.get("payee")
            elif event.name == "CountyFund.PaymentApproved":
                payee = proposed.get((event.stream, payment_id))
                stream = streams.get((event.stream,))
                if payee is None and stream is not None:
                    payment = payments.get((stream[0], payment_id))
                    if payment is not None and payment[P_PAYEE_KIND] == "person":
                        payee = payment[P_PAYEE]
                if (
                    isinstance(payee, str)
                    and payee not in self._masked
                    and not notices.is_erased(self, payee)
                ):
                    asked.add(payee)
        return asked

    # Which county ---------------------------------------------------------------

    def _county(self, event: LoggedEvent) -> str | None:
        row = self.get(STREAMS.name, (event.stream,))
        if row is None:
            # A county event before its aggregate's first: not a log we wrote.
            logger.warning(
                "entry %d: stream %s was never opened", event.seq, event.stream
            )
            return None
        return cast(str, row[0])

    def _opened(self, event: LoggedEvent) -> None:
        county = str(event.body["county_code"])
        self.put(STREAMS.name, (event.stream,), (county, "fund"))
        chain = self._geography.county_chain(county)
        self.put(
            UNITS.name, (county,), ("county", chain[0][2], event.body["county_name"])
        )
        self.cite(UNITS.name, (county,), event.seq)
        for code, level, parent in chain[1:]:
            if self.get(UNITS.name, (code,)) is None:
                self.put(
                    UNITS.name, (code,), (level, parent, self._geography.name(code))
                )

    def _started(self, event: LoggedEvent) -> None:
        county = str(event.body["county_code"])
        aggregate = event.name.partition(".")[0]
        self.put(STREAMS.name, (event.stream,), (county, aggregate))

    def _school(self, event: LoggedEvent) -> None:
        county = self._county(event)
        if county is None:
            return
        code = str(event.body["code"])
        self.put(UNITS.name, (code,), ("school", county, event.body["name"]))
        self.cite(UNITS.name, (code,), event.seq)

    # Rolls ----------------------------------------------------------------------

    def _status(self, event: LoggedEvent) -> None:
        county = self._county(event)
        if county is None:
            return
        body = event.body
        self.put(
            STUDENTS.name,
            (county, body["person_ref"]),
            (body["school"], body["grade"], event.seq),
        )

    def _erased(self, event: LoggedEvent) -> None:
        person = str(event.body["person_ref"])
        self._masked.pop(person, None)
        count = notices.mark_erased(self, person)
        for n in range(count):
            line = self.get(notices.SELF_CHECK.name, (person, n))
            if line is None:
                continue
            payment = self.get(PAYMENTS.name, (line[0], line[1]))
            if payment is None or payment[P_SCHOOL] is None:
                continue  # never approved: not on any notice list
            notices.rename(self, self._notice_key(payment), ERASED_NAME, event.seq)

    # Money in and set aside ------------------------------------------------------

    def _received(self, event: LoggedEvent) -> None:
        county = self._county(event)
        if county is None:
            return
        body = event.body
        amount = int(body["amount_fen"])
        kind = str(body["source_kind"])
        year = recorded_year(event.recorded_at)
        chain = self._geography.county_chain(county)
        flow.move(
            self,
            chain,
            (flow.RECEIVED, kind, year),
            amount_fen=amount,
            transfers=1,
            seq=event.seq,
        )
        earmark = None
        if kind == "donation":
            earmark = donations.earmark_key(body.get("earmark"), self._programmes)
            donations.received(
                self,
                county,
                event.seq,
                prefecture=chain[1][0],
                source=str(body["source"]),
                amount_fen=amount,
                day=beijing_date(event.recorded_at),
                earmark=earmark,
            )
            if earmark is not None:
                self._earmarked.add(county)
        self.put(
            TRANSFERS.name,
            (county, body["transfer_id"]),
            ("receipt", amount, event.seq, year, kind, earmark, None, 0, None),
        )

    def _allocated(self, event: LoggedEvent) -> None:
        county = self._county(event)
        if county is None:
            return
        body = event.body
        amount, programme, year = (
            int(body["amount_fen"]),
            body["programme"],
            body["year"],
        )
        chain = self._geography.county_chain(county)
        flow.move(
            self,
            chain,
            (flow.ALLOCATED, programme, year),
            amount_fen=amount,
            transfers=1,
            seq=event.seq,
        )
        self.put(
            TRANSFERS.name,
            (county, body["transfer_id"]),
            ("allocation", amount, event.seq, year, programme, None, None, 0, None),
        )

    def _project_funded(self, event: LoggedEvent) -> None:
        county = self._county(event)
        if county is None:
            return
        body = event.body
        amount, project_id, school = (
            int(body["amount_fen"]),
            body["project_id"],
            body["school"],
        )
        chain = self._geography.county_chain(county)
        kind, year = projects.fund(
            self,
            self._board,
            (county, project_id),
            prefecture=chain[1][0],
            name=body["name"],
            school=school,
            amount_fen=amount,
            recorded=recorded_year(event.recorded_at),
            seq=event.seq,
        )
        category = kind or flow.UNCLASSIFIED
        where = chain if school is None else ((school, "school", county), *chain)
        flow.move(
            self,
            where,
            (flow.PROJECT, category, year),
            amount_fen=amount,
            transfers=1,
            seq=event.seq,
        )
        earmarks = self._spend(
            county,
            f"project:{project_id}",
            school,
            amount=amount,
            which=3,
            seq=event.seq,
        )
        self.put(
            TRANSFERS.name,
            (county, body["transfer_id"]),
            (
                "project",
                amount,
                event.seq,
                year,
                category,
                project_id,
                school,
                earmarks,
                None,
            ),
        )

    def _progress(self, event: LoggedEvent) -> None:
        county = self._county(event)
        if county is None:
            return
        body = event.body
        projects.progress(
            self,
            self._board,
            (county, body["project_id"]),
            percent=int(body["percent"]),
            note=str(body["note"]),
            seq=event.seq,
        )

    def _spend(
        self,
        county: str,
        first: str,
        school: str | None,
        *,
        amount: int,
        which: int,
        seq: int,
    ) -> int:
        """Count spending for the earmarks it meets; ``which`` bits may count."""
        if county not in self._earmarked:
            return 0
        counted = 0
        if which & donations.FIRST and donations.spent(
            self, county, first, amount, seq
        ):
            counted |= donations.FIRST
        if (
            school is not None
            and which & donations.SECOND
            and donations.spent(self, county, f"school:{school}", amount, seq)
        ):
            counted |= donations.SECOND
        return counted

    # Payments -----------------------------------------------------------------------

    def _proposed(self, event: LoggedEvent) -> None:
        county = self._county(event)
        if county is None:
            return
        body = event.body
        payment_id, payee_kind, payee = (
            body["payment_id"],
            body["payee_kind"],
            body["payee"],
        )
        amount = int(body["amount_fen"])
        details = body.get("details") or {}
        headcount = details.get("headcount") if isinstance(details, dict) else None
        if not isinstance(headcount, int) or isinstance(headcount, bool):
            headcount = 0
        index = None
        if payee_kind == "person":
            line = (
                county,
                payment_id,
                body["programme"],
                body["year"],
                body["term"],
                amount,
            )
            index = notices.proposed(self, payee, line, event.seq)
        self.put(
            PAYMENTS.name,
            (county, payment_id),
            (
                body["programme"],
                body["year"],
                body["term"],
                payee_kind,
                payee,
                amount,
                "proposed",
                event.seq,
                None,
                None,
                None,
                None,
                headcount,
                index,
                0,
            ),
        )

    def _approved(self, event: LoggedEvent) -> None:
        county = self._county(event)
        if county is None:
            return
        key = (county, event.body["payment_id"])
        payment = self.get(PAYMENTS.name, key)
        if payment is None or payment[P_STATUS] != "proposed":
            return
        person = payment[P_PAYEE_KIND] == "person"
        payee = cast(str, payment[P_PAYEE])

        # 1. Where it is shown: the payee school, or the person's school now.
        grade = None
        if person:
            status = self.get(STUDENTS.name, (county, payee))
            if status is None:
                school = self._unplaced(county)
            else:
                school, grade = cast(str, status[0]), cast(int, status[1])
        else:
            school = payee
        values = list(payment)
        values[P_STATUS], values[P_SCHOOL], values[P_GRADE] = "approved", school, grade
        values[8] = event.seq

        # 2. Every view that money reaches.
        amount = cast(int, payment[P_AMOUNT])
        values[P_EARMARKS] = self._pay(values, county, amount, 1, event.seq)
        if person:
            notices.status(
                self, payee, cast(int, payment[P_INDEX]), "approved", event.seq
            )
            notices.notice(
                self,
                self._notice_key(values),
                county=county,
                grade=grade,
                name=self._public_name(payee),
                amount_fen=amount,
                seq=event.seq,
            )
        self.put(PAYMENTS.name, key, tuple(values))

    def _pay(
        self, payment: list[Any], county: str, amount: int, sign: int, seq: int
    ) -> int:
        """Move a payment's (signed) amount through flow, cells and earmarks."""
        programme, year = payment[P_PROGRAMME], payment[P_YEAR]
        school = payment[P_SCHOOL]
        chain = self._geography.county_chain(county)
        where = ((school, "school", county), *chain)
        flow.move(
            self,
            where,
            (flow.PAID, programme, year),
            amount_fen=sign * amount,
            transfers=sign,
            seq=seq,
        )
        person = payment[P_PAYEE] if payment[P_PAYEE_KIND] == "person" else None
        cells.paid(
            self,
            (county, programme, year),
            rate=self._rates.get(programme, (None, None, None)),
            prefecture=chain[1][0],
            person=person,
            amount_fen=sign * amount,
            headcount=sign * payment[P_HEADCOUNT],
            seq=seq,
        )
        if county not in self._earmarked:
            return 0
        which = 3 if sign > 0 else payment[P_EARMARKS]
        return self._spend(
            county,
            f"programme:{programme}",
            school,
            amount=sign * amount,
            which=which,
            seq=seq,
        )

    def _rejected(self, event: LoggedEvent) -> None:
        county = self._county(event)
        if county is None:
            return
        key = (county, event.body["payment_id"])
        payment = self.get(PAYMENTS.name, key)
        if payment is None or payment[P_STATUS] != "proposed":
            return
        values = list(payment)
        values[P_STATUS], values[9] = "rejected", event.seq
        self.put(PAYMENTS.name, key, tuple(values))
        if payment[P_PAYEE_KIND] == "person":
            payee, index = cast(str, payment[P_PAYEE]), cast(int, payment[P_INDEX])
            notices.status(self, payee, index, "rejected", event.seq)

    # Corrections ---------------------------------------------------------------

    def _reversed(self, event: LoggedEvent) -> None:
        county = self._county(event)
        if county is None:
            return
        key = (county, event.body["transfer_id"])
        transfer = self.get(TRANSFERS.name, key)
        if transfer is not None:
            if transfer[T_REVERSED] is None:
                self._undo_transfer(county, key, transfer, event.seq)
            return
        payment = self.get(PAYMENTS.name, key)
        if payment is None or payment[P_STATUS] != "approved":
            return
        values = list(payment)
        values[P_STATUS], values[9] = "reversed", event.seq
        self._pay(values, county, cast(int, payment[P_AMOUNT]), -1, event.seq)
        if payment[P_PAYEE_KIND] == "person":
            payee, index = cast(str, payment[P_PAYEE]), cast(int, payment[P_INDEX])
            notices.status(self, payee, index, "reversed", event.seq)
            notices.withdraw(self, self._notice_key(values), event.seq)
        self.put(PAYMENTS.name, key, tuple(values))

    def _undo_transfer(
        self, county: str, key: tuple[str, Any], transfer: tuple[Any, ...], seq: int
    ) -> None:
        kind, amount = transfer[T_KIND], cast(int, transfer[T_AMOUNT])
        category, year = cast(str, transfer[T_CATEGORY]), cast(int, transfer[T_YEAR])
        chain = self._geography.county_chain(county)
        if kind == "receipt":
            flow.move(
                self,
                chain,
                (flow.RECEIVED, category, year),
                amount_fen=-amount,
                transfers=-1,
                seq=seq,
            )
            if category == "donation":
                donations.reversed_(
                    self, county, transfer[T_SEQ], transfer[T_TARGET], seq
                )
        elif kind == "allocation":
            flow.move(
                self,
                chain,
                (flow.ALLOCATED, category, year),
                amount_fen=-amount,
                transfers=-1,
                seq=seq,
            )
        else:
            school = transfer[T_SCHOOL]
            where = chain if school is None else ((school, "school", county), *chain)
            flow.move(
                self,
                where,
                (flow.PROJECT, category, year),
                amount_fen=-amount,
                transfers=-1,
                seq=seq,
            )
            projects.unfund(
                self, self._board, (county, transfer[T_TARGET]), amount, seq
            )
            self._spend(
                county,
                f"project:{transfer[T_TARGET]}",
                school,
                amount=-amount,
                which=transfer[T_EARMARKS],
                seq=seq,
            )
        self.put(TRANSFERS.name, key, (*transfer[:T_REVERSED], seq))

    # Names and places ----------------------------------------------------------

    def _public_name(self, person: str) -> str:
        if notices.is_erased(self, person):
            return ERASED_NAME
        masked = self._masked.get(person)
        if masked is None:
            masked = self._masked[person] = public_name(self._names, person)
        return masked

    def _unplaced(self, county: str) -> str:
        code = county + UNPLACED_SUFFIX
        if self.get(UNITS.name, (code,)) is None:
            self.put(UNITS.name, (code,), ("school", county, UNPLACED_NAME))
        return code

    @staticmethod
    def _notice_key(
        payment: tuple[Any, ...] | list[Any],
    ) -> tuple[str, int, str, str, int]:
        return (
            payment[P_SCHOOL],
            payment[P_YEAR],
            payment[P_PROGRAMME],
            payment[P_TERM],
            payment[P_PROPOSED],
        )
