"""The subsidy programmes and project targets of the plan, read from a versioned table.

Rates are data, not code: ``data/policy-hubei-2016.json`` holds the plan's
programmes (rate per student per year in fen, how the rate binds, who is eligible),
which programmes one person may be paid in the same term, and the plan's project
targets. A new version of the plan is a new file with a new ``version``; awards
record the version they were checked against.

How a rate binds (``RateKind``):

- ``fixed``: the standard the plan sets; an award may not exceed it;
- ``cap``: at most the rate;
- ``floor``: at least the rate (VOC_POOR_EXTRA, 不低于3000元);
- ``discretionary``: no rate (HARDSHIP, set by each county's relief fund);
- ``configured``: the deployment supplies the yearly rate (NUTRITION).

A programme paid per term pays ``annual_fen // terms_per_year`` each term; the
table is refused unless that division is exact. An award is checked per term: an
award covering ``terms`` terms is held against ``terms`` times the per-term rate.

Stacking is an explicit list of allowed pairs; every other pair is excluded, and
no programme stacks with itself.

The table is read strictly: an unknown or missing key, a duplicate key, a rate
that is not a non-negative whole number of fen, an unknown stage or a stacking
pair naming an unknown programme refuses the whole file (``PolicyFileInvalid``),
so a mistyped table never half-applies.

NOTE: ``load_policy_file`` reads a file the caller names, so that a deployment
can hold its own version of the table and tests can feed broken ones. It is the
one reader here that is not of packaged data; it reads through the
``importlib.resources`` ``Traversable`` interface, which ``pathlib.Path`` meets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, NoReturn

from domain.errors import (
    AboveRate,
    BelowFloor,
    ConfiguredRateInvalid,
    IneligibleStage,
    InvalidAmount,
    InvalidTermCount,
    NotBoarding,
    NotRegisteredPoor,
    NotRural,
    PolicyFileInvalid,
    RateNotConfigured,
    UnknownPolicyProject,
    UnknownProgramme,
)
from domain.units import Stage

DEFAULT_POLICY = "policy-hubei-2016.json"

_CODE = re.compile(r"[A-Z][A-Z0-9_]*")


class RateKind(StrEnum):
    """How a programme's rate binds an award."""

    FIXED = "fixed"
    FLOOR = "floor"
    CAP = "cap"
    DISCRETIONARY = "discretionary"
    CONFIGURED = "configured"


# Kinds whose rate the table itself states.
_STATED = frozenset({RateKind.FIXED, RateKind.FLOOR, RateKind.CAP})
_KINDS = frozenset(kind.value for kind in RateKind)
_STAGES = frozenset(stage.value for stage in Stage)


@dataclass(frozen=True)
class Programme:
    """One subsidy programme of the plan, paid per student.

    ``annual_fen`` is the rate per student per year; ``None`` for a discretionary
    programme and for a configured one whose rate the deployment did not give.
    """

    code: str
    name_zh: str
    name_en: str
    kind: RateKind
    annual_fen: int | None
    terms_per_year: int
    stages: frozenset[Stage]
    requires_boarding: bool
    requires_registered_poor: bool
    rural_only: bool
    notes: str

    @property
    def term_fen(self) -> int | None:
        """The rate for one term, or ``None`` where there is none."""
        if self.annual_fen is None:
            return None
        return self.annual_fen // self.terms_per_year


@dataclass(frozen=True)
class Milestone:
    """A yearly step towards a project's target.

    ``year`` is ``None`` where the plan's text, as supplied, does not give it.
    """

    year: int | None
    count: int


@dataclass(frozen=True)
class Project:
    """A kind of project funding with the plan's quantitative target.

    ``target`` counts ``measure`` (schools, rooms, person-times, ...), per year if
    ``per_year``; ``approximate`` where the plan says 左右 or 余. ``funding_fen`` is
    the plan's amount per ``funding_per`` (a school, a student-year), if any.
    """

    code: str
    name_zh: str
    name_en: str
    measure: str
    target: int | None
    target_year: int | None
    per_year: bool
    approximate: bool
    milestones: tuple[Milestone, ...]
    milestone_measure: str | None
    funding_fen: int | None
    funding_per: str | None
    notes: str


class Policy:
    """One version of the policy table, with the checks awards must pass.

    Built by ``load_policy``, ``load_policy_file`` or ``parse_policy``, which
    validate the table; the constructor trusts its arguments.
    """

    def __init__(
        self,
        version: str,
        source: str,
        effective_from: date,
        *,
        programmes: Iterable[Programme],
        allowed_pairs: Iterable[tuple[str, str]],
        projects: Iterable[Project],
    ) -> None:
        self.version = version
        self.source = source
        self.effective_from = effective_from
        self._programmes = {programme.code: programme for programme in programmes}
        self._stacking = frozenset(frozenset(pair) for pair in allowed_pairs)
        self._projects = {project.code: project for project in projects}

    @property
    def programmes(self) -> tuple[Programme, ...]:
        """Every programme, in the table's order."""
        return tuple(self._programmes.values())

    @property
    def projects(self) -> tuple[Project, ...]:
        """Every project kind, in the table's order."""
        return tuple(self._projects.values())

    @property
    def allowed_pairs(self) -> tuple[tuple[str, str], ...]:
        """The pairs that may be paid to one person in one term, sorted."""
        ordered = (sorted(pair) for pair in self._stacking)
        return tuple(sorted((first, second) for first, second in ordered))

    def programme(self, code: str) -> Programme:
        """The programme named ``code``."""
        try:
            return self._programmes[code]
        except KeyError:
            raise UnknownProgramme(code) from None

    def project(self, code: str) -> Project:
        """The project kind named ``code``."""
        try:
            return self._projects[code]
        except KeyError:
            raise UnknownPolicyProject(code) from None

    def term_amount(self, code: str) -> int | None:
        """The rate of ``code`` for one term in fen, or ``None`` if it has none."""
        return self.programme(code).term_fen

    def may_stack(self, first: str, second: str) -> bool:
        """Whether one person may be paid both programmes in the same term."""
        self.programme(first)
        self.programme(second)
        return frozenset((first, second)) in self._stacking and first != second

    def check_award(
        self,
        code: str,
        stage: Stage,
        *,
        boarding: bool,
        registered_poor: bool,
        amount_fen: int,
        terms: int = 1,
        rural: bool | None = None,
    ) -> None:
        """Refuse an award of ``amount_fen`` covering ``terms`` terms that the
        programme's rules forbid; return quietly otherwise.

        The flags and amounts are keyword-only: two adjacent booleans passed by
        position are too easily swapped. ``rural`` is checked only when given: a
        caller that does not know whether the student is rural leaves that to the
        rules that see the student roll. ``AboveRate.rate`` and
        ``BelowFloor.floor`` are the limits for all ``terms`` together.
        """
        programme = self.programme(code)

        # 1. The request itself: a positive whole amount, a positive term count.
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
            raise InvalidAmount(amount_fen, "a whole number of fen")
        if amount_fen <= 0:
            raise InvalidAmount(amount_fen, "positive")
        if not isinstance(terms, int) or isinstance(terms, bool) or terms < 1:
            raise InvalidTermCount(terms)

        # 2. Who may receive it.
        if stage not in programme.stages:
            raise IneligibleStage(code, stage)
        if programme.requires_boarding and not boarding:
            raise NotBoarding(code)
        if programme.requires_registered_poor and not registered_poor:
            raise NotRegisteredPoor(code)
        if programme.rural_only and rural is False:
            raise NotRural(code)

        # 3. How much: the per-term rate times the terms covered.
        if programme.kind is RateKind.DISCRETIONARY:
            return
        term_fen = programme.term_fen
        if term_fen is None:
            raise RateNotConfigured(code)
        limit = term_fen * terms
        if programme.kind is RateKind.FLOOR:
            if amount_fen < limit:
                raise BelowFloor(code, amount_fen, limit)
        elif amount_fen > limit:
            raise AboveRate(code, amount_fen, limit)


def load_policy(
    name: str = DEFAULT_POLICY, configured_rates: Mapping[str, int] | None = None
) -> Policy:
    """The packaged policy table ``name`` from ``domain/data``."""
    if not name or name in {".", ".."} or "/" in name or "\\" in name:
        raise PolicyFileInvalid(name, "not the name of a packaged policy file")
    path = resources.files(__package__ or "domain").joinpath("data", name)
    if not path.is_file():
        raise PolicyFileInvalid(name, "no such packaged policy file")
    return parse_policy(path.read_bytes(), name, configured_rates)


def load_policy_file(
    path: Traversable, configured_rates: Mapping[str, int] | None = None
) -> Policy:
    """A policy table from a file the caller names (see the module's NOTE)."""
    return parse_policy(path.read_bytes(), str(path), configured_rates)


def parse_policy(
    raw: bytes, origin: str, configured_rates: Mapping[str, int] | None = None
) -> Policy:
    """Validate the table in ``raw`` (UTF-8 JSON) and build the ``Policy``.

    ``origin`` names the table in errors. ``configured_rates`` gives the yearly
    rate in fen of each ``configured`` programme the deployment pays.
    """
    # 1. Strict JSON: UTF-8, no duplicate keys, no NaN or Infinity.
    try:
        document: Any = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_refuse_duplicate_keys,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError) as error:
        raise PolicyFileInvalid(origin, f"not valid JSON: {error}") from None

    # 2. The header.
    top = _Object(
        origin,
        "policy",
        document,
        {
            "version",
            "source",
            "effective_from",
            "notes",
            "programmes",
            "stacking",
            "projects",
        },
    )
    effective_text = top.text("effective_from")
    try:
        effective_from = date.fromisoformat(effective_text)
    except ValueError:
        effective_from = None
    if effective_from is None or len(effective_text) != len("YYYY-MM-DD"):
        top.refuse("effective_from", "must be a YYYY-MM-DD date", effective_text)
    top.text("notes")

    # 3. The programmes, then the rates the deployment configures.
    programmes: dict[str, Programme] = {}
    for index, entry in enumerate(top.array("programmes", non_empty=True)):
        programme = _programme(origin, f"programmes[{index}]", entry)
        if programme.code in programmes:
            raise PolicyFileInvalid(origin, f"programme {programme.code} is repeated")
        programmes[programme.code] = programme
    _apply_configured_rates(programmes, configured_rates or {})

    # 4. Stacking: explicit pairs of distinct, known programmes, each listed once.
    stacking = _Object(origin, "stacking", top.value("stacking"), {"notes", "allowed"})
    stacking.text("notes")
    pairs: list[tuple[str, str]] = []
    seen: set[frozenset[str]] = set()
    for index, entry in enumerate(stacking.array("allowed", non_empty=False)):
        where = f"stacking.allowed[{index}]"
        fields = _Object(origin, where, entry, {"programmes", "notes"})
        fields.text("notes")
        pair = fields.array("programmes", non_empty=True)
        if len(pair) != 2 or not all(isinstance(code, str) for code in pair):
            fields.refuse("programmes", "must name exactly two programmes", pair)
        for code in pair:
            if code not in programmes:
                fields.refuse("programmes", "names an unknown programme", code)
        if pair[0] == pair[1]:
            fields.refuse("programmes", "pairs a programme with itself", pair)
        if frozenset(pair) in seen:
            fields.refuse("programmes", "repeats an earlier pair", pair)
        seen.add(frozenset(pair))
        pairs.append((pair[0], pair[1]))

    # 5. The project kinds and their targets.
    projects: dict[str, Project] = {}
    for index, entry in enumerate(top.array("projects", non_empty=False)):
        project = _project(origin, f"projects[{index}]", entry)
        if project.code in projects:
            raise PolicyFileInvalid(origin, f"project {project.code} is repeated")
        projects[project.code] = project

    return Policy(
        version=top.text("version"),
        source=top.text("source"),
        effective_from=effective_from,
        programmes=programmes.values(),
        allowed_pairs=pairs,
        projects=projects.values(),
    )


def _programme(origin: str, where: str, entry: object) -> Programme:
    fields = _Object(
        origin,
        where,
        entry,
        {
            "code",
            "name_zh",
            "name_en",
            "kind",
            "annual_fen",
            "terms_per_year",
            "stages",
            "requires_boarding",
            "requires_registered_poor",
            "rural_only",
            "notes",
        },
    )
    code = fields.code("code")
    kind_text = fields.text("kind")
    if kind_text not in _KINDS:
        fields.refuse("kind", f"must be one of {sorted(_KINDS)}", kind_text)
    kind = RateKind(kind_text)

    # A stated rate for fixed, floor and cap; none for the others.
    annual_fen = fields.optional_whole("annual_fen", noun="whole number of fen")
    if kind in _STATED and annual_fen is None:
        fields.refuse("annual_fen", f"is required for a {kind} rate", None)
    if kind not in _STATED and annual_fen is not None:
        fields.refuse("annual_fen", f"must be null for a {kind} rate", annual_fen)
    terms_per_year = fields.whole("terms_per_year", minimum=1)
    if annual_fen is not None and annual_fen % terms_per_year:
        fields.refuse(
            "annual_fen", f"must split evenly into {terms_per_year} terms", annual_fen
        )

    stages: set[Stage] = set()
    for stage in fields.array("stages", non_empty=True):
        if not isinstance(stage, str) or stage not in _STAGES:
            fields.refuse("stages", "names an unknown stage", stage)
        if stage in stages:
            fields.refuse("stages", "repeats a stage", stage)
        stages.add(Stage(stage))

    return Programme(
        code=code,
        name_zh=fields.text("name_zh"),
        name_en=fields.text("name_en"),
        kind=kind,
        annual_fen=annual_fen,
        terms_per_year=terms_per_year,
        stages=frozenset(stages),
        requires_boarding=fields.flag("requires_boarding"),
        requires_registered_poor=fields.flag("requires_registered_poor"),
        rural_only=fields.flag("rural_only"),
        notes=fields.text("notes"),
    )


def _apply_configured_rates(
    programmes: dict[str, Programme], configured_rates: Mapping[str, int]
) -> None:
    for code, rate in configured_rates.items():
        programme = programmes.get(code)
        if programme is None or programme.kind is not RateKind.CONFIGURED:
            raise ConfiguredRateInvalid(
                code, rate, "this policy has no configured-rate programme by that code"
            )
        if not isinstance(rate, int) or isinstance(rate, bool) or rate < 0:
            raise ConfiguredRateInvalid(
                code, rate, "must be a non-negative whole number of fen a year"
            )
        if rate % programme.terms_per_year:
            raise ConfiguredRateInvalid(
                code, rate, f"must split evenly into {programme.terms_per_year} terms"
            )
        programmes[code] = replace(programme, annual_fen=rate)


def _project(origin: str, where: str, entry: object) -> Project:
    fields = _Object(
        origin,
        where,
        entry,
        {
            "code",
            "name_zh",
            "name_en",
            "measure",
            "target",
            "target_year",
            "per_year",
            "approximate",
            "milestones",
            "milestone_measure",
            "funding_fen",
            "funding_per",
            "notes",
        },
    )
    milestones: list[Milestone] = []
    for index, entry_milestone in enumerate(
        fields.array("milestones", non_empty=False)
    ):
        step = _Object(
            origin, f"{where}.milestones[{index}]", entry_milestone, {"year", "count"}
        )
        count = step.whole("count", minimum=1)
        milestones.append(Milestone(step.optional_whole("year"), count))
    milestone_measure = fields.optional_text("milestone_measure")
    if (milestone_measure is None) != (not milestones):
        fields.refuse(
            "milestone_measure",
            "is given if and only if there are milestones",
            milestone_measure,
        )
    funding_fen = fields.optional_whole("funding_fen", noun="whole number of fen")
    funding_per = fields.optional_text("funding_per")
    if (funding_fen is None) != (funding_per is None):
        fields.refuse(
            "funding_per", "goes with funding_fen, both or neither", funding_per
        )

    return Project(
        code=fields.code("code"),
        name_zh=fields.text("name_zh"),
        name_en=fields.text("name_en"),
        measure=fields.text("measure"),
        target=fields.optional_whole("target"),
        target_year=fields.optional_whole("target_year"),
        per_year=fields.flag("per_year"),
        approximate=fields.flag("approximate"),
        milestones=tuple(milestones),
        milestone_measure=milestone_measure,
        funding_fen=funding_fen,
        funding_per=funding_per,
        notes=fields.text("notes"),
    )


class _Object:
    """One JSON object of the table with exactly the expected keys, read by type."""

    def __init__(self, origin: str, where: str, value: object, keys: set[str]) -> None:
        self.origin = origin
        self.where = where
        if not isinstance(value, dict):
            raise PolicyFileInvalid(origin, f"{where} must be an object, got {value!r}")
        unknown = sorted(set(value) - keys)
        if unknown:
            raise PolicyFileInvalid(origin, f"{where} has unknown keys {unknown}")
        missing = sorted(keys - set(value))
        if missing:
            raise PolicyFileInvalid(origin, f"{where} is missing keys {missing}")
        self._value: dict[str, Any] = value

    def refuse(self, key: str, rule: str, found: object) -> NoReturn:
        raise PolicyFileInvalid(
            self.origin, f"{self.where}.{key} {rule}, got {found!r}"
        )

    def value(self, key: str) -> Any:
        return self._value[key]

    def text(self, key: str) -> str:
        found = self._value[key]
        if not isinstance(found, str) or not found.strip():
            self.refuse(key, "must be non-empty text", found)
        return found

    def optional_text(self, key: str) -> str | None:
        if self._value[key] is None:
            return None
        return self.text(key)

    def code(self, key: str) -> str:
        found = self.text(key)
        if not _CODE.fullmatch(found):
            self.refuse(key, "must be an upper-case code like HS_GRANT", found)
        return found

    def flag(self, key: str) -> bool:
        found = self._value[key]
        if not isinstance(found, bool):
            self.refuse(key, "must be true or false", found)
        return found

    def whole(self, key: str, *, minimum: int = 0, noun: str = "whole number") -> int:
        found = self._value[key]
        if not isinstance(found, int) or isinstance(found, bool) or found < minimum:
            self.refuse(key, f"must be a {noun} of at least {minimum}", found)
        return found

    def optional_whole(self, key: str, *, noun: str = "whole number") -> int | None:
        if self._value[key] is None:
            return None
        return self.whole(key, noun=noun)

    def array(self, key: str, *, non_empty: bool) -> list[Any]:
        found = self._value[key]
        if not isinstance(found, list) or (non_empty and not found):
            wanted = "a non-empty list" if non_empty else "a list"
            self.refuse(key, f"must be {wanted}", found)
        return found


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"duplicate key {key!r}")
        document[key] = value
    return document


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number of fen")
