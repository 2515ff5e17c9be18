"""Log entries written by hand for the disclosure tests, and a fake runner store.

``Entries`` numbers entries as the log does and gives each county its three
streams (fund, rolls, schools), so a test reads as the officers' actions.
``Store`` keeps what a runner would persist (rows and evidence from
``take_changes``), so a test can restart a projection from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from projections.base import Key, Projection, Row
from projections.feed import LoggedEvent

RECORDED_AT = "2026-09-01T08:00:00.000000Z"


def ref(number: int) -> str:
    """A well-formed person_ref (64 lowercase hex digits)."""
    return f"{number:064x}"


class Entries:
    """A log under construction."""

    def __init__(self) -> None:
        self.events: list[LoggedEvent] = []

    def add(
        self, stream: str, event: str, /, recorded_at: str = RECORDED_AT, **body: Any
    ) -> LoggedEvent:
        """Append one entry and return it."""
        entry = LoggedEvent(
            seq=len(self.events),
            notification_id=len(self.events) + 1,
            stream=stream,
            name=event,
            topic_version=1,
            actor="officer:test",
            recorded_at=recorded_at,
            body=body,
        )
        self.events.append(entry)
        return entry

    def county(self, code: str, name: str = "测试县") -> County:
        """Open a county's fund, rolls and school list."""
        county = County(self, code)
        self.add(county.fund, "CountyFund.Opened", county_code=code, county_name=name)
        self.add(county.rolls, "CountyRolls.Started", county_code=code)
        self.add(county.schools, "CountySchools.Started", county_code=code)
        return county

    @property
    def seq(self) -> int:
        """The seq of the last entry."""
        return len(self.events) - 1


class County:
    """One county's streams, with a method per kind of entry."""

    def __init__(self, log: Entries, code: str) -> None:
        self.log = log
        self.code = code
        self.fund = f"fund-{code}"
        self.rolls = f"rolls-{code}"
        self.schools = f"schools-{code}"

    def school(self, number: int, stage: str = "primary") -> str:
        code = f"{self.code}S{number:04d}"
        self.log.add(
            self.schools,
            "CountySchools.SchoolRegistered",
            code=code,
            name=f"第{number}学校",
            stage=stage,
            boarding=True,
            rural=True,
        )
        return code

    def status(
        self, person: str, school: str, grade: int = 3, year: int = 2026
    ) -> None:
        self.log.add(
            self.rolls,
            "CountyRolls.StatusRecorded",
            person_ref=person,
            school=school,
            stage="primary",
            grade=grade,
            boarding=True,
            year=year,
        )

    def erase(self, person: str) -> None:
        self.log.add(
            self.rolls,
            "CountyRolls.PersonalDataErased",
            person_ref=person,
            reason="PIPL",
        )

    def receive(
        self,
        transfer_id: str,
        amount: int,
        *,
        kind: str = "central",
        source: str = "central-budget",
        earmark: str | None = None,
        recorded_at: str = RECORDED_AT,
    ) -> None:
        self.log.add(
            self.fund,
            "CountyFund.FundsReceived",
            recorded_at=recorded_at,
            transfer_id=transfer_id,
            source_kind=kind,
            source=source,
            amount_fen=amount,
            reference="ref",
            earmark=earmark,
        )

    def allocate(
        self, transfer_id: str, programme: str, amount: int, year: int = 2026
    ) -> None:
        self.log.add(
            self.fund,
            "CountyFund.Allocated",
            transfer_id=transfer_id,
            programme=programme,
            year=year,
            amount_fen=amount,
        )

    def project(
        self, transfer_id: str, project_id: str, amount: int, school: str | None = None
    ) -> None:
        self.log.add(
            self.fund,
            "CountyFund.ProjectFunded",
            transfer_id=transfer_id,
            project_id=project_id,
            name=f"项目 {project_id}",
            school=school,
            amount_fen=amount,
        )

    def progress(self, project_id: str, percent: int, note: str = "进展") -> None:
        self.log.add(
            self.fund,
            "CountyFund.ProgressReported",
            project_id=project_id,
            percent=percent,
            note=note,
        )

    def propose(
        self,
        payment_id: str,
        programme: str,
        payee: str,
        amount: int,
        *,
        payee_kind: str = "person",
        year: int = 2026,
        term: str = "autumn",
        details: dict[str, Any] | None = None,
    ) -> None:
        self.log.add(
            self.fund,
            "CountyFund.PaymentProposed",
            payment_id=payment_id,
            programme=programme,
            year=year,
            term=term,
            payee_kind=payee_kind,
            payee=payee,
            amount_fen=amount,
            details=details or {},
        )

    def approve(self, payment_id: str) -> None:
        self.log.add(
            self.fund,
            "CountyFund.PaymentApproved",
            payment_id=payment_id,
            rule="second-officer",
        )

    def pay(
        self, payment_id: str, programme: str, payee: str, amount: int, **kw: Any
    ) -> None:
        """Propose and approve."""
        self.propose(payment_id, programme, payee, amount, **kw)
        self.approve(payment_id)

    def reject(self, payment_id: str) -> None:
        self.log.add(
            self.fund, "CountyFund.PaymentRejected", payment_id=payment_id, reason="no"
        )

    def reverse(self, transfer_id: str) -> None:
        self.log.add(
            self.fund,
            "CountyFund.TransferReversed",
            transfer_id=transfer_id,
            reason="wrong",
        )


class Store:
    """What a runner keeps of a projection: rows and evidence, by table."""

    def __init__(self, projection: Projection) -> None:
        self.rows: dict[str, dict[Key, Row]] = {t.name: {} for t in projection.tables}
        self.evidence: list[tuple[str, Key, int]] = []
        self.save(projection)

    def save(self, projection: Projection) -> None:
        """Write what changed since the last save (one runner transaction)."""
        changes = projection.take_changes()
        for table, rows in changes.rows.items():
            for key, row in rows.items():
                if row is None:
                    self.rows[table].pop(key, None)
                else:
                    self.rows[table][key] = row
        self.evidence.extend(changes.evidence)

    def load(self, projection: Projection) -> None:
        """Restore a fresh projection from what was written."""
        stored: dict[str, Iterable[tuple[Key, Row]]] = {
            table: list(rows.items()) for table, rows in self.rows.items()
        }
        projection.restore(stored, list(self.evidence))


def public_values(projection: Projection) -> list[tuple[str, str]]:
    """Every value of every public row (keys too), as text, with its table."""
    found: list[tuple[str, str]] = []
    for table in projection.tables:
        if not table.public:
            continue
        for key, row in projection.rows(table.name):
            found.extend((table.name, str(value)) for value in (*key, *row))
    return found
