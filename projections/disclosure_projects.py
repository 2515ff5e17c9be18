"""Projects and the plan's board of targets against progress (挂图作战).

``projects`` has one row per (county, project id): its kind and year (read from
the id, ``domain.plan_targets``), name (the latest funding's), school (the
first funding's, as the fund keeps it), budget (net of reversals), source (the
county's pool: every project is paid from it), the latest progress percent and
note, and how many fundings stand. Every funding, reversal and report is cited.

``plan_progress`` has one row per (target, year) and one per target with year
NULL for all years together, for every target on the board, from the start:
the plan's target beside the projects funded (budget above 0), their money, the
projects that reported progress and those whose latest report says 100.
``achieved`` is the completed count where one project is one unit of the
target (a school, a room), and NULL where the target counts what no event
records (person-times of training).

Invariants: a project counts as funded in exactly the rows of its kind and year
while its budget is positive, and as completed while its latest percent is 100;
a project of no kind counts towards no target.
"""

from __future__ import annotations

from typing import cast

from domain.plan_targets import PlanTarget, ProjectKinds
from projections.base import Column, Projection, Table
from projections.disclosure_records import BOOLEAN, INTEGER

PROJECTS = Table(
    "projects",
    key=(Column("county"), Column("project_id")),
    values=(
        Column("prefecture"),
        Column("kind"),
        Column("year", INTEGER),
        Column("name"),
        Column("school"),
        Column("budget_fen", INTEGER),
        Column("source"),
        Column("percent", INTEGER),
        Column("note"),
        Column("fundings", INTEGER),
    ),
)
J_KIND, J_YEAR, J_BUDGET, J_PERCENT = 1, 2, 5, 7

PLAN = Table(
    "plan_progress",
    key=(Column("target"), Column("year", INTEGER)),
    values=(
        Column("name_zh"),
        Column("measure"),
        Column("target_count", INTEGER),
        Column("per_year", BOOLEAN),
        Column("approximate", BOOLEAN),
        Column("projects_funded", INTEGER),
        Column("funded_fen", INTEGER),
        Column("projects_reported", INTEGER),
        Column("projects_completed", INTEGER),
        Column("achieved", INTEGER),
    ),
)
FUNDED, FUNDED_FEN, REPORTED, COMPLETED, ACHIEVED = 5, 6, 7, 8, 9


class Board:
    """The board's targets by code, and the rows a project counts in."""

    def __init__(self, kinds: ProjectKinds) -> None:
        self.kinds = kinds
        self.targets: dict[str, PlanTarget] = {t.code: t for t in kinds.targets}

    def seed(self, view: Projection) -> None:
        """Every target's all-years row, before anything was funded."""
        for code in self.targets:
            view.put(PLAN.name, (code, None), self._empty(code))

    def _empty(self, code: str) -> tuple[str | int | bool | None, ...]:
        project = self.targets[code].project
        return (
            project.name_zh,
            project.measure,
            project.target,
            project.per_year,
            project.approximate,
            0,
            0,
            0,
            0,
            0 if self.targets[code].one_per_project else None,
        )

    def count(
        self,
        view: Projection,
        kind: str | None,
        year: int,
        seq: int,
        **changes: int,
    ) -> None:
        """Add ``changes`` (column index -> signed change) to a kind's two rows."""
        if kind is None or kind not in self.targets:
            return
        one_per_project = self.targets[kind].one_per_project
        for key in ((kind, None), (kind, year)):
            values = list(view.get(PLAN.name, key) or self._empty(kind))
            for column, change in changes.items():
                index = _PLAN_COLUMNS[column]
                values[index] = cast(int, values[index]) + change
            if one_per_project:
                values[ACHIEVED] = values[COMPLETED]
            view.put(PLAN.name, key, tuple(values))
            view.cite(PLAN.name, key, seq)


_PLAN_COLUMNS = {
    "funded": FUNDED,
    "funded_fen": FUNDED_FEN,
    "reported": REPORTED,
    "completed": COMPLETED,
}


def fund(
    view: Projection,
    board: Board,
    key: tuple[str, str],
    *,
    prefecture: str,
    name: str,
    school: str | None,
    amount_fen: int,
    recorded: int,
    seq: int,
) -> tuple[str | None, int]:
    """Money of the pool went to a project; returns its kind and year."""
    row = view.get(PROJECTS.name, key)
    if row is None:
        project_id = key[1]
        kind = board.kinds.kind_of(project_id)
        year = board.kinds.year_of(project_id) or recorded
        row = (prefecture, kind, year, name, school, 0, f"pool:{key[0]}", None, None, 0)
    kind, year = cast(str | None, row[J_KIND]), cast(int, row[J_YEAR])
    budget = cast(int, row[J_BUDGET])
    view.put(
        PROJECTS.name,
        key,
        (*row[:3], name, row[4], budget + amount_fen, *row[6:9], cast(int, row[9]) + 1),
    )
    view.cite(PROJECTS.name, key, seq)
    newly = budget <= 0 < budget + amount_fen
    board.count(view, kind, year, seq, funded=int(newly), funded_fen=amount_fen)
    return kind, year


def unfund(
    view: Projection, board: Board, key: tuple[str, str], amount_fen: int, seq: int
) -> None:
    """A funding was reversed: the budget falls by its amount."""
    row = view.get(PROJECTS.name, key)
    if row is None:
        return
    budget = cast(int, row[J_BUDGET])
    after = budget - amount_fen
    view.put(PROJECTS.name, key, (*row[:5], after, *row[6:9], cast(int, row[9]) - 1))
    view.cite(PROJECTS.name, key, seq)
    gone = after <= 0 < budget
    kind, year = cast(str | None, row[J_KIND]), cast(int, row[J_YEAR])
    board.count(view, kind, year, seq, funded=-int(gone), funded_fen=-amount_fen)


def progress(
    view: Projection,
    board: Board,
    key: tuple[str, str],
    *,
    percent: int,
    note: str,
    seq: int,
) -> None:
    """A project reported how far it has come."""
    row = view.get(PROJECTS.name, key)
    if row is None:  # the fund refuses reports on unknown projects
        return
    before = cast(int | None, row[J_PERCENT])
    view.put(PROJECTS.name, key, (*row[:7], percent, note, row[9]))
    view.cite(PROJECTS.name, key, seq)
    completed = int(percent == 100) - int(before == 100)
    kind, year = cast(str | None, row[J_KIND]), cast(int, row[J_YEAR])
    board.count(
        view,
        kind,
        year,
        seq,
        reported=int(before is None),
        completed=completed,
    )
