"""A county's schools, registered as events.

Schools are the units money finally reaches, so they are recorded like
everything else: registered once, with the stage they teach, whether they have
boarders and whether they are rural. A payment, a project or a student status
that names a school the county never registered is refused (``UnknownUnit``).
School codes are the county's code, ``S`` and four digits (``domain.units``).
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DuplicateUnit, InvalidUnit, UnknownUnit
from domain.units import Level, School, Stage

SCHOOLS_NAMESPACE = UUID("3c8e1a52-7b4d-4f6e-9a0c-2d5e8f1b4a73")
Signatures = list[dict[str, str]]


class CountySchools(Aggregate):
    """The schools of one county."""

    TOPIC = "fundledger.domain:CountySchools@1"

    class Created(Aggregate.Created):
        TOPIC = "fundledger.domain:CountySchools.Created@1"

    class Started(Created):
        TOPIC = "fundledger.domain:CountySchools.Started@1"
        county_code: str
        actor: str
        signatures: Signatures

    class SchoolRegistered(Aggregate.Event):
        TOPIC = "fundledger.domain:CountySchools.SchoolRegistered@1"
        code: str
        name: str
        stage: str
        boarding: bool
        rural: bool
        actor: str
        signatures: Signatures

    @staticmethod
    def create_id(county_code: str) -> UUID:
        """One school list per county."""
        return uuid5(SCHOOLS_NAMESPACE, f"schools:{county_code}")

    @event(Started)
    def __init__(self, *, county_code: str, actor: str, signatures: Signatures) -> None:
        self.county_code = county_code
        self.schools: dict[str, School] = {}

    @classmethod
    def start(
        cls, county_code: str, *, actor: str, signatures: Signatures | None = None
    ) -> CountySchools:
        """The empty school list of a county."""
        return cls(county_code=county_code, actor=actor, signatures=signatures or [])

    def school(self, code: str) -> School:
        """A registered school, or ``UnknownUnit``."""
        school = self.schools.get(code)
        if school is None:
            raise UnknownUnit(code)
        return school

    def register(
        self,
        *,
        code: str,
        name: str,
        stage: str,
        boarding: bool,
        rural: bool,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Register a school of this county (once)."""
        try:
            stage_value = Stage(stage)
        except ValueError:
            raise InvalidUnit(
                code, f"stage must be one of {', '.join(Stage)}"
            ) from None
        School(
            code,
            name,
            Level.SCHOOL,
            self.county_code,
            stage_value,
            str(code)[:6],
            boarding,
            rural,
        )
        if not str(code).startswith(self.county_code):
            raise InvalidUnit(
                code, f"a school of county {self.county_code} starts with it"
            )
        if code in self.schools:
            raise DuplicateUnit(code)
        self._register(
            code=code,
            name=name,
            stage=stage_value.value,
            boarding=boarding,
            rural=rural,
            actor=actor,
            signatures=signatures or [],
        )

    @event(SchoolRegistered)
    def _register(
        self,
        *,
        code: str,
        name: str,
        stage: str,
        boarding: bool,
        rural: bool,
        actor: str,
        signatures: Signatures,
    ) -> None:
        self.schools[code] = School(
            code,
            name,
            Level.SCHOOL,
            self.county_code,
            Stage(stage),
            code[:6],
            boarding,
            rural,
        )
