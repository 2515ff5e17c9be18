"""A small builder of synthetic log entries for the fraud rules' tests.

Entries are ``LoggedEvent``s as ``projections.feed.decode`` makes them from
the log, with bodies shaped as the domain's events (``domain/*.py``). Each
county has one stream per aggregate (fund, rolls, schools), opened on first
use, so tests write only the entries they are about. Every method returns the
new entry's ``seq``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from projections.feed import LoggedEvent


def ref(name: str) -> str:
    """A stand-in pseudonym (64 hex digits) for a test person or account."""
    return hashlib.sha256(name.encode()).hexdigest()


class LogBuilder:
    """Appends entries in order; ``at`` is the UTC time of the next entry."""

    def __init__(self, start: str = "2026-09-10T02:00:00+00:00") -> None:
        self.events: list[LoggedEvent] = []
        self.at = datetime.fromisoformat(start)
        self._streams: dict[tuple[str, str], str] = {}

    # Plumbing ------------------------------------------------------------------------

    def _add(self, stream: str, name: str, body: dict[str, Any]) -> int:
        seq = len(self.events)
        self.events.append(
            LoggedEvent(
                seq=seq,
                notification_id=seq + 1,
                stream=stream,
                name=name,
                topic_version=1,
                actor="officer:test",
                recorded_at=self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                body=body,
            )
        )
        self.at += timedelta(seconds=1)
        return seq

    def _stream(self, county: str, kind: str) -> str:
        key = (county, kind)
        if key not in self._streams:
            stream = f"{kind}-{county}"
            self._streams[key] = stream
            start = {
                "fund": "CountyFund.Opened",
                "rolls": "CountyRolls.Started",
                "schools": "CountySchools.Started",
            }[kind]
            self._add(stream, start, {"county_code": county, "county_name": county})
        return self._streams[key]

    def later(self, **delta: float) -> LogBuilder:
        """Move the clock on (``days=40``)."""
        self.at += timedelta(**delta)
        return self

    # The fund ------------------------------------------------------------------------

    def receive(
        self, county: str, transfer_id: str, amount: int, earmark: str | None = None
    ) -> int:
        return self._add(
            self._stream(county, "fund"),
            "CountyFund.FundsReceived",
            {
                "transfer_id": transfer_id,
                "source_kind": "donation" if earmark else "central",
                "source": "donor" if earmark else "central-budget",
                "amount_fen": amount,
                "reference": "ref",
                "earmark": earmark,
            },
        )

    def allocate(
        self, county: str, transfer_id: str, programme: str, year: int, amount: int
    ) -> int:
        return self._add(
            self._stream(county, "fund"),
            "CountyFund.Allocated",
            {
                "transfer_id": transfer_id,
                "programme": programme,
                "year": year,
                "amount_fen": amount,
            },
        )

    def project(
        self,
        county: str,
        transfer_id: str,
        amount: int,
        *,
        name: str = "校舍改造",
        school: str | None = None,
        project_id: str | None = None,
    ) -> int:
        return self._add(
            self._stream(county, "fund"),
            "CountyFund.ProjectFunded",
            {
                "transfer_id": transfer_id,
                "project_id": project_id or transfer_id,
                "name": name,
                "school": school,
                "amount_fen": amount,
            },
        )

    def propose(  # noqa: PLR0917 - the event's own fields, in its order
        self,
        county: str,
        payment_id: str,
        programme: str,
        year: int,
        term: str,
        payee: str,
        amount: int,
        *,
        payee_kind: str = "person",
        **details: Any,
    ) -> int:
        return self._add(
            self._stream(county, "fund"),
            "CountyFund.PaymentProposed",
            {
                "payment_id": payment_id,
                "programme": programme,
                "year": year,
                "term": term,
                "payee_kind": payee_kind,
                "payee": payee,
                "amount_fen": amount,
                "details": details,
            },
        )

    def approve(self, county: str, payment_id: str) -> int:
        return self._add(
            self._stream(county, "fund"),
            "CountyFund.PaymentApproved",
            {"payment_id": payment_id, "rule": "second-officer"},
        )

    def reject(self, county: str, payment_id: str) -> int:
        return self._add(
            self._stream(county, "fund"),
            "CountyFund.PaymentRejected",
            {"payment_id": payment_id, "reason": "no"},
        )

    def pay(  # noqa: PLR0917 - the event's own fields, in its order
        self,
        county: str,
        payment_id: str,
        programme: str,
        year: int,
        term: str,
        payee: str,
        amount: int,
        **details: Any,
    ) -> tuple[int, int]:
        """Propose and approve at once: (proposal seq, approval seq)."""
        proposed = self.propose(
            county, payment_id, programme, year, term, payee, amount, **details
        )
        return proposed, self.approve(county, payment_id)

    def reverse(self, county: str, transfer_id: str) -> int:
        return self._add(
            self._stream(county, "fund"),
            "CountyFund.TransferReversed",
            {"transfer_id": transfer_id, "reason": "mistake"},
        )

    # The rolls -----------------------------------------------------------------------

    def list_poor(
        self,
        county: str,
        person: str,
        household: str = "H1",
        listed_on: str = "2026-03-01",
    ) -> int:
        return self._add(
            self._stream(county, "rolls"),
            "CountyRolls.PoorListed",
            {"person_ref": person, "household_ref": household, "listed_on": listed_on},
        )

    def delist(self, county: str, person: str) -> int:
        return self._add(
            self._stream(county, "rolls"),
            "CountyRolls.PoorDelisted",
            {"person_ref": person, "reason": "left poverty"},
        )

    def status(
        self,
        county: str,
        person: str,
        school: str,
        stage: str = "high_school",
        *,
        year: int = 2026,
        boarding: bool = True,
        grade: int = 10,
    ) -> int:
        return self._add(
            self._stream(county, "rolls"),
            "CountyRolls.StatusRecorded",
            {
                "person_ref": person,
                "school": school,
                "stage": stage,
                "grade": grade,
                "boarding": boarding,
                "year": year,
            },
        )

    def student(
        self,
        county: str,
        person: str,
        school: str,
        stage: str = "high_school",
        *,
        household: str = "H1",
        **status: Any,
    ) -> tuple[int, int]:
        """List a person as registered poor and record their status."""
        return (
            self.list_poor(county, person, household),
            self.status(county, person, school, stage, **status),
        )

    # Alerts --------------------------------------------------------------------------

    def raise_alert(
        self,
        alert_id: str,
        rule: str,
        county: str | None,
        evidence: list[int] | None = None,
    ) -> int:
        """The monitor's ``Alert.Raised`` (subject and summary do not matter)."""
        return self._add(
            f"raised-{alert_id}",
            "Alert.Raised",
            {
                "alert_id": alert_id,
                "rule": rule,
                "county": county,
                "subject_kind": "subject",
                "subject_ref": "ref",
                "summary": "found",
                "evidence": evidence or [0],
            },
        )

    def resolve(
        self, alert_id: str, outcome: str, reason: str, county: str | None = None
    ) -> int:
        return self._add(
            f"alert-{alert_id}",
            "AlertResolutions.AlertResolved",
            {
                "alert_id": alert_id,
                "outcome": outcome,
                "reason": reason,
                "county": county,
            },
        )
