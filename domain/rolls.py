"""A county's rolls: who is registered poor, and who studies where.

Two rolls decide who may receive a subsidy: the registered-poor roll (建档立卡)
and the student-status roll (学籍: school, stage, grade, boarding). Both are
imported as events, entry by entry, so the ledger can show on which day a person
was on which roll, and the fraud rules can ask whether a payee was on the roll
when paid.

People appear only by ``person_ref``, the keyed pseudonym of their resident ID:
names and ID numbers never enter the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidReference
from domain.units import Stage

ROLLS_NAMESPACE = UUID("9d2a7e4c-1f3b-4c5d-8e6f-7a8b9c0d1e2f")
Signatures = list[dict[str, str]]


def _check_person_ref(person_ref: object) -> str:
    if (
        not isinstance(person_ref, str)
        or len(person_ref) != 64
        or any(c not in "0123456789abcdef" for c in person_ref)
    ):
        raise InvalidReference("person_ref", person_ref, "64 lowercase hex digits")
    return person_ref


@dataclass
class StudentStatus:
    """Where a person studies, as the student-status roll last said."""

    school: str
    stage: Stage
    grade: int
    boarding: bool
    year: int


class CountyRolls(Aggregate):
    """The registered-poor and student-status rolls of one county."""

    TOPIC = "fundledger.domain:CountyRolls@1"

    class Created(Aggregate.Created):
        TOPIC = "fundledger.domain:CountyRolls.Created@1"

    class Started(Created):
        TOPIC = "fundledger.domain:CountyRolls.Started@1"
        county_code: str
        actor: str
        signatures: Signatures

    class PoorListed(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyRolls.PoorListed@1"
        person_ref: str
        household_ref: str
        listed_on: str
        actor: str
        signatures: Signatures

    class PoorDelisted(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyRolls.PoorDelisted@1"
        person_ref: str
        reason: str
        actor: str
        signatures: Signatures

    class StatusRecorded(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyRolls.StatusRecorded@1"
        person_ref: str
        school: str
        stage: str
        grade: int
        boarding: bool
        year: int
        actor: str
        signatures: Signatures

    class PersonalDataErased(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyRolls.PersonalDataErased@1"
        person_ref: str
        reason: str
        actor: str
        signatures: Signatures

    @staticmethod
    def create_id(county_code: str) -> UUID:
        """One pair of rolls per county."""
        return uuid5(ROLLS_NAMESPACE, f"rolls:{county_code}")

    @event(Started)
    def __init__(self, *, county_code: str, actor: str, signatures: Signatures) -> None:
        self.county_code = county_code
        self.poor: dict[str, str] = {}  # person_ref -> household_ref
        self.students: dict[str, StudentStatus] = {}
        self.erased: set[str] = set()

    @classmethod
    def start(
        cls, county_code: str, *, actor: str, signatures: Signatures | None = None
    ) -> CountyRolls:
        """The empty rolls of a county."""
        return cls(county_code=county_code, actor=actor, signatures=signatures or [])

    def list_poor(
        self,
        *,
        person_ref: str,
        household_ref: str,
        listed_on: str,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Put a person on the registered-poor roll (once)."""
        _check_person_ref(person_ref)
        if not isinstance(household_ref, str) or not household_ref.strip():
            raise InvalidReference("household_ref", household_ref, "a household id")
        if not isinstance(listed_on, str) or len(listed_on) != 10:
            raise InvalidReference("listed_on", listed_on, "a date YYYY-MM-DD")
        if person_ref in self.poor:
            if self.poor[person_ref] != household_ref:
                raise InvalidReference(
                    "household_ref",
                    household_ref,
                    f"the household already on the roll, {self.poor[person_ref]}",
                )
            return
        self._list_poor(
            person_ref=person_ref,
            household_ref=household_ref,
            listed_on=listed_on,
            actor=actor,
            signatures=signatures or [],
        )

    @event(PoorListed)
    def _list_poor(
        self,
        *,
        person_ref: str,
        household_ref: str,
        listed_on: str,
        actor: str,
        signatures: Signatures,
    ) -> None:
        self.poor[person_ref] = household_ref

    def import_roll(
        self,
        *,
        poor: list[dict[str, str]] | None = None,
        students: list[dict[str, Any]] | None = None,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Import many roll entries at once (one signed request covers them all).

        ``poor`` rows have person_ref, household_ref and listed_on; ``students``
        rows have person_ref, school, stage, grade, boarding and year. Either all
        rows are valid and recorded, or the first bad one refuses the whole batch.
        """
        for row in poor or []:
            if not isinstance(row, dict):
                raise InvalidReference("poor", row, "rows that are objects")
            self.list_poor(
                person_ref=row.get("person_ref", ""),
                household_ref=row.get("household_ref", ""),
                listed_on=row.get("listed_on", ""),
                actor=actor,
                signatures=signatures,
            )
        for student in students or []:
            if not isinstance(student, dict):
                raise InvalidReference("students", student, "rows that are objects")
            self.record_status(
                person_ref=student.get("person_ref", ""),
                school=student.get("school", ""),
                stage=student.get("stage", ""),
                grade=student.get("grade", 0),
                boarding=student.get("boarding", "missing"),
                year=student.get("year", 0),
                actor=actor,
                signatures=signatures,
            )

    def delist_poor(
        self,
        *,
        person_ref: str,
        reason: str,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Take a person off the registered-poor roll (the household left poverty)."""
        _check_person_ref(person_ref)
        if person_ref not in self.poor:
            raise InvalidReference("person_ref", person_ref, "a person on the roll")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidReference("reason", reason, "a non-empty reason")
        self._delist(
            person_ref=person_ref,
            reason=reason,
            actor=actor,
            signatures=signatures or [],
        )

    @event(PoorDelisted)
    def _delist(
        self, *, person_ref: str, reason: str, actor: str, signatures: Signatures
    ) -> None:
        del self.poor[person_ref]

    def record_status(
        self,
        *,
        person_ref: str,
        school: str,
        stage: str,
        grade: int,
        boarding: bool,
        year: int,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Record where a person studies this school year."""
        _check_person_ref(person_ref)
        if not isinstance(school, str) or not school.startswith(self.county_code):
            raise InvalidReference("school", school, f"a school of {self.county_code}")
        try:
            stage_value = Stage(stage)
        except ValueError:
            raise InvalidReference(
                "stage", stage, "one of " + ", ".join(s.value for s in Stage)
            ) from None
        if (
            not isinstance(grade, int)
            or isinstance(grade, bool)
            or not 1 <= grade <= 12
        ):
            raise InvalidReference("grade", grade, "a grade from 1 to 12")
        if not isinstance(boarding, bool):
            raise InvalidReference("boarding", boarding, "true or false")
        if (
            not isinstance(year, int)
            or isinstance(year, bool)
            or not 2000 <= year <= 2100
        ):
            raise InvalidReference("year", year, "a school year from 2000 to 2100")
        self._record_status(
            person_ref=person_ref,
            school=school,
            stage=stage_value.value,
            grade=grade,
            boarding=boarding,
            year=year,
            actor=actor,
            signatures=signatures or [],
        )

    @event(StatusRecorded)
    def _record_status(
        self,
        *,
        person_ref: str,
        school: str,
        stage: str,
        grade: int,
        boarding: bool,
        year: int,
        actor: str,
        signatures: Signatures,
    ) -> None:
        self.students[person_ref] = StudentStatus(
            school, Stage(stage), grade, boarding, year
        )

    def erase_personal_data(
        self,
        *,
        person_ref: str,
        reason: str,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Record that a person's name and ID were erased from the vault (PIPL).

        The vault destroys the person's key; this event says when and why, and
        the pseudonym stays, so every payment to the person still verifies.
        """
        _check_person_ref(person_ref)
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidReference("reason", reason, "a non-empty reason")
        self._erase(
            person_ref=person_ref,
            reason=reason,
            actor=actor,
            signatures=signatures or [],
        )

    @event(PersonalDataErased)
    def _erase(
        self, *, person_ref: str, reason: str, actor: str, signatures: Signatures
    ) -> None:
        self.erased.add(person_ref)
