"""The plan's board of targets (挂图作战) and how a project is recognised as one.

The plan asks for a task book and battle map of its targets, pushed on by dates
and struck off as they are met (四、(三), file line 63). The targets themselves
are the policy table's projects (``domain.policy.Project``: 3,861 schools
renovated, 945 kindergartens, ...); ``data/plan-targets-hubei.json`` says which
of them are on the board, the short codes (aliases) a project id may use for
them, and whether one project counts as one unit of the target.

``CountyFund.ProjectFunded`` records no kind, so ``ProjectKinds.kind_of`` reads
it from the project id by the file's convention: the id's hyphen-separated
parts are matched against the policy's project codes and the board's aliases
(``422828-GAIBO-2026`` is a SCHOOL_RENOVATION of 2026).

Invariants: every indicator names a project of the policy the file was written
for, an alias belongs to one kind only, and the file is read strictly (unknown,
missing or duplicate keys refuse it whole, ``PolicyFileInvalid``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from domain.errors import PolicyFileInvalid, UnknownPolicyProject
from domain.policy import Policy, Project

DEFAULT_PLAN_TARGETS = "plan-targets-hubei.json"

_ALIAS = re.compile(r"[A-Z][A-Z0-9_]*")
_YEAR = re.compile(r"20[0-9]{2}|2100")


@dataclass(frozen=True)
class PlanTarget:
    """One target on the board: the policy's project with how the ledger counts it.

    ``one_per_project`` says that a project is one unit of ``measure`` (a school,
    a room); where it is false (person-times) the ledger cannot count progress.
    """

    project: Project
    aliases: tuple[str, ...]
    one_per_project: bool
    notes: str

    @property
    def code(self) -> str:
        """The policy's project code, e.g. SCHOOL_RENOVATION."""
        return self.project.code


class ProjectKinds:
    """Reads a project's kind and year from its id, by the file's convention."""

    def __init__(self, policy: Policy, targets: tuple[PlanTarget, ...]) -> None:
        self.targets = targets
        self._kinds: dict[str, str] = {p.code: p.code for p in policy.projects}
        for target in targets:
            for alias in target.aliases:
                self._kinds[alias] = target.code

    def kind_of(self, project_id: str) -> str | None:
        """The policy project code the id names, or None."""
        for part in project_id.upper().split("-"):
            kind = self._kinds.get(part)
            if kind is not None:
                return kind
        return None

    @staticmethod
    def year_of(project_id: str) -> int | None:
        """The school year the id names (a part 2000 to 2100), or None."""
        for part in project_id.split("-"):
            if _YEAR.fullmatch(part):
                return int(part)
        return None


def load_plan_targets(
    policy: Policy, name: str = DEFAULT_PLAN_TARGETS
) -> tuple[PlanTarget, ...]:
    """The packaged board ``name`` from ``domain/data``, checked against ``policy``."""
    if not name or "/" in name or "\\" in name or name in {".", ".."}:
        raise PolicyFileInvalid(name, "not the name of a packaged targets file")
    path = resources.files(__package__ or "domain").joinpath("data", name)
    if not path.is_file():
        raise PolicyFileInvalid(name, "no such packaged targets file")
    return parse_plan_targets(path.read_bytes(), name, policy)


def parse_plan_targets(
    raw: bytes, origin: str, policy: Policy
) -> tuple[PlanTarget, ...]:
    """Validate the board in ``raw`` (UTF-8 JSON) against ``policy``."""
    # 1. Strict JSON with exactly the expected keys.
    try:
        document: Any = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_dupes)
    except (UnicodeDecodeError, ValueError) as error:
        raise PolicyFileInvalid(origin, f"not valid JSON: {error}") from None
    top = _keys(origin, "targets", document, _TOP_KEYS)
    if top["policy"] != policy.version:
        raise PolicyFileInvalid(
            origin, f"written for policy {top['policy']!r}, not {policy.version!r}"
        )

    # 2. Each indicator names a policy project; aliases are codes, used once.
    targets: list[PlanTarget] = []
    seen: dict[str, str] = {p.code: p.code for p in policy.projects}
    for index, entry in enumerate(_list(origin, "indicators", top["indicators"])):
        where = f"indicators[{index}]"
        fields = _keys(origin, where, entry, _INDICATOR_KEYS)
        code = fields["project"]
        try:
            project = policy.project(code)
        except UnknownPolicyProject:
            raise PolicyFileInvalid(
                origin, f"{where}.project {code!r} is not a project of the policy"
            ) from None
        if any(target.code == code for target in targets):
            raise PolicyFileInvalid(origin, f"{where}.project {code} is repeated")
        aliases = _list(origin, f"{where}.aliases", fields["aliases"])
        for alias in aliases:
            if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
                raise PolicyFileInvalid(
                    origin, f"{where}.aliases: {alias!r} is not an upper-case code"
                )
            if alias in seen:
                raise PolicyFileInvalid(
                    origin, f"{where}.aliases: {alias} already names {seen[alias]}"
                )
            seen[alias] = code
        if not isinstance(fields["one_per_project"], bool):
            raise PolicyFileInvalid(origin, f"{where}.one_per_project must be a flag")
        if not isinstance(fields["notes"], str) or not fields["notes"].strip():
            raise PolicyFileInvalid(origin, f"{where}.notes must be non-empty text")
        targets.append(
            PlanTarget(
                project, tuple(aliases), fields["one_per_project"], fields["notes"]
            )
        )
    return tuple(targets)


_TOP_KEYS = frozenset(
    {"version", "policy", "source", "notes", "project_id_convention", "indicators"}
)
_INDICATOR_KEYS = frozenset({"project", "aliases", "one_per_project", "notes"})


def _keys(
    origin: str, where: str, value: object, keys: frozenset[str]
) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        found = sorted(value) if isinstance(value, dict) else value
        raise PolicyFileInvalid(
            origin, f"{where} must have exactly the keys {sorted(keys)}, got {found!r}"
        )
    return value


def _list(origin: str, where: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise PolicyFileInvalid(origin, f"{where} must be a list, got {value!r}")
    return value


def _no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"duplicate key {key!r}")
        document[key] = value
    return document
