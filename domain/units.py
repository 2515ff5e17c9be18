"""Administrative units and schools: the five levels the plan works through.

The plan runs its work through five linked levels (省、市(州)、县(市)、乡(镇)、学校
五级联动), and an officer's jurisdiction is one unit and everything below it. This
module holds those units as plain values and a ``Registry`` that keeps them as one
tree.

Codes follow GB/T 2260 for the three upper levels and extend it below:

=========== ================================ ===============
level       code                             example
=========== ================================ ===============
province    2 digits + ``0000``              ``420000``
prefecture  4 digits + ``00``                ``422800``
county      6 digits, not ending in ``00``   ``422822``
township    county code + 3 digits (GB/T     ``422822100``
            10114 style), not ``000``
school      county code + ``S`` + 4 digits   ``422822S0001``
=========== ================================ ===============

Schools have no national code we can rely on here, so the scheme is our own: the
code of the county that runs the school, the letter ``S`` and a number the county
assigns. A school's county can therefore be read from its code.

Invariants of a ``Registry``:

- every code is unique and well formed for its level;
- every unit but the province has a known parent one level up (a school may hang
  from its township or, for county-run schools, from its county directly);
- a unit's code shares its parent's leading digits: 2 under a province, 4 under
  a prefecture, 6 under a county or township (so a school's code begins with its
  county's code).

Nothing here reads or writes anything except ``load_hubei``, which reads the
packaged ``data/hubei-units.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from domain.errors import (
    DomainError,
    DuplicateUnit,
    InvalidUnit,
    UnitFileInvalid,
    UnknownUnit,
    WrongLevel,
)

HUBEI_UNITS_FILE = "hubei-units.json"


class Level(StrEnum):
    """The five administrative levels, from the top down."""

    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    TOWNSHIP = "township"
    SCHOOL = "school"


class Stage(StrEnum):
    """The stage of education a school provides (学段)."""

    KINDERGARTEN = "kindergarten"
    PRIMARY = "primary"
    JUNIOR_SECONDARY = "junior_secondary"
    TEACHING_POINT = "teaching_point"
    HIGH_SCHOOL = "high_school"
    SECONDARY_VOCATIONAL = "secondary_vocational"
    SPECIAL_EDUCATION = "special_education"


# The levels a unit's parent may have; the province is the root.
PARENT_LEVELS: dict[Level, tuple[Level, ...]] = {
    Level.PROVINCE: (),
    Level.PREFECTURE: (Level.PROVINCE,),
    Level.COUNTY: (Level.PREFECTURE,),
    Level.TOWNSHIP: (Level.COUNTY,),
    Level.SCHOOL: (Level.COUNTY, Level.TOWNSHIP),
}

# How long a prefix of a unit's code it shares with a parent at each level.
_SHARED_PREFIX: dict[Level, int] = {
    Level.PROVINCE: 2,
    Level.PREFECTURE: 4,
    Level.COUNTY: 6,
    Level.TOWNSHIP: 6,
}

_CODE_PATTERNS: dict[Level, re.Pattern[str]] = {
    Level.PROVINCE: re.compile(r"(?!00)[0-9]{2}0000"),
    Level.PREFECTURE: re.compile(r"[0-9]{2}(?!00)[0-9]{2}00"),
    Level.COUNTY: re.compile(r"[0-9]{4}(?!00)[0-9]{2}"),
    Level.TOWNSHIP: re.compile(r"[0-9]{4}(?!00)[0-9]{2}(?!000)[0-9]{3}"),
    Level.SCHOOL: re.compile(r"[0-9]{4}(?!00)[0-9]{2}S[0-9]{4}"),
}


@dataclass(frozen=True)
class Unit:
    """One administrative unit: a province, prefecture, county or township."""

    code: str
    name: str
    level: Level
    parent: str | None

    def __post_init__(self) -> None:
        if not isinstance(self.level, Level):
            raise InvalidUnit(self.code, f"level must be a Level, got {self.level!r}")
        pattern = _CODE_PATTERNS[self.level]
        if not isinstance(self.code, str) or not pattern.fullmatch(self.code):
            raise InvalidUnit(
                self.code, f"a {self.level} code must match {pattern.pattern}"
            )
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidUnit(self.code, "the name must be non-empty text")
        if (self.level is Level.PROVINCE) != (self.parent is None):
            raise InvalidUnit(
                self.code, "the province, and only the province, has no parent"
            )


@dataclass(frozen=True)
class School(Unit):
    """A school: a unit at the bottom level, with what the subsidy rules look at.

    ``county`` is the county that runs the school; it is also the first six
    characters of the code. ``boarding`` says that the school has boarders (a
    subsidy for a boarder still needs the pupil's own boarding flag), ``rural``
    that it is a rural school (农村学校).
    """

    stage: Stage
    county: str
    boarding: bool
    rural: bool

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.level is not Level.SCHOOL:
            raise InvalidUnit(
                self.code, f"a school's level is school, not {self.level}"
            )
        if not isinstance(self.stage, Stage):
            raise InvalidUnit(self.code, f"stage must be a Stage, got {self.stage!r}")
        if not isinstance(self.boarding, bool) or not isinstance(self.rural, bool):
            raise InvalidUnit(self.code, "boarding and rural must be true or false")
        if self.county != self.code[:6]:
            raise InvalidUnit(
                self.code, f"the code begins with its county, not {self.county!r}"
            )


class Registry:
    """The units of one deployment, kept as one tree; pure and in memory.

    Add parents before their children. Jurisdiction is containment: a unit
    covers itself and everything below it.
    """

    def __init__(self, units: Iterable[Unit] = ()) -> None:
        self._units: dict[str, Unit] = {}
        self._children: dict[str, list[str]] = {}
        for unit in units:
            self.add(unit)

    def add(self, unit: Unit) -> None:
        """Add ``unit`` under its parent, refusing anything that breaks the tree."""
        # 1. A unit at the bottom level is a school, with its stage and flags.
        if unit.level is Level.SCHOOL and not isinstance(unit, School):
            raise InvalidUnit(unit.code, "a unit at the school level must be a School")
        if unit.code in self._units:
            raise DuplicateUnit(unit.code)

        # 2. The parent is known and one level up.
        if unit.parent is not None:
            parent = self.get(unit.parent)
            allowed = PARENT_LEVELS[unit.level]
            if parent.level not in allowed:
                raise WrongLevel(
                    unit.code,
                    expected=self.child_levels(parent.level),
                    found=unit.level,
                )

            # 3. The code sits under the parent's code.
            shared = _SHARED_PREFIX[parent.level]
            if unit.code[:shared] != parent.code[:shared]:
                raise InvalidUnit(
                    unit.code, f"the code must begin like its parent {parent.code}"
                )

        self._units[unit.code] = unit
        self._children[unit.code] = []
        if unit.parent is not None:
            self._children[unit.parent].append(unit.code)

    @staticmethod
    def child_levels(level: Level) -> tuple[Level, ...]:
        """The levels a child of a unit at ``level`` may have."""
        return tuple(
            child for child, parents in PARENT_LEVELS.items() if level in parents
        )

    def get(self, code: str) -> Unit:
        """The unit with ``code``."""
        try:
            return self._units[code]
        except KeyError:
            raise UnknownUnit(code) from None

    def __contains__(self, code: object) -> bool:
        return code in self._units

    def __iter__(self) -> Iterator[Unit]:
        return iter(self._units.values())

    def __len__(self) -> int:
        return len(self._units)

    def children(self, code: str) -> tuple[Unit, ...]:
        """The units directly below ``code``, by code."""
        self.get(code)
        return tuple(self._units[child] for child in sorted(self._children[code]))

    def ancestors(self, code: str) -> tuple[Unit, ...]:
        """The units above ``code``, nearest first, ending at the province."""
        found: list[Unit] = []
        parent = self.get(code).parent
        while parent is not None:
            unit = self._units[parent]
            found.append(unit)
            parent = unit.parent
        return tuple(found)

    def contains(self, ancestor_code: str, code: str) -> bool:
        """Whether ``code`` is ``ancestor_code`` or lies anywhere below it."""
        self.get(ancestor_code)
        if code == ancestor_code:
            self.get(code)
            return True
        return any(unit.code == ancestor_code for unit in self.ancestors(code))

    def county_of(self, code: str) -> str:
        """The county that ``code`` is, or lies in; refused above the county level."""
        unit = self.get(code)
        if unit.level is Level.COUNTY:
            return unit.code
        for above in self.ancestors(code):
            if above.level is Level.COUNTY:
                return above.code
        raise WrongLevel(
            code,
            expected=(Level.COUNTY, Level.TOWNSHIP, Level.SCHOOL),
            found=unit.level,
        )


def load_hubei() -> Registry:
    """The packaged Hubei units: province, prefectures and the plan's poor counties.

    The file's ``county_list`` and ``notes`` say which counties it holds and why:
    the plan's 37 poor counties (28 national, 9 provincial), compiled from the
    province's public notices, since the plan itself names no county.
    """
    text = resources.files(__package__ or "domain").joinpath("data", HUBEI_UNITS_FILE)
    try:
        raw: Any = json.loads(text.read_bytes())
    except ValueError as error:
        raise UnitFileInvalid(HUBEI_UNITS_FILE, f"not JSON: {error}") from None

    expected = {"scheme", "source", "county_list", "best_effort", "notes", "units"}
    if not isinstance(raw, dict) or set(raw) != expected:
        raise UnitFileInvalid(HUBEI_UNITS_FILE, f"top level must have keys {expected}")
    registry = Registry()
    for entry in raw["units"]:
        if not isinstance(entry, dict) or set(entry) != {
            "code",
            "name",
            "level",
            "parent",
        }:
            raise UnitFileInvalid(HUBEI_UNITS_FILE, f"bad unit entry {entry!r}")
        try:
            level = Level(entry["level"])
        except ValueError:
            raise UnitFileInvalid(
                HUBEI_UNITS_FILE, f"unknown level {entry['level']!r}"
            ) from None
        try:
            registry.add(Unit(entry["code"], entry["name"], level, entry["parent"]))
        except DomainError as error:
            raise UnitFileInvalid(HUBEI_UNITS_FILE, str(error)) from error
    return registry
