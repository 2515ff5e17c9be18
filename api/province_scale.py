"""How big the synthetic province is: the plan's counts, and smaller scales for tests.

At ``province`` scale the synthetic province has the plan's numbers (一、(三)):
3,861 compulsory schools (592 junior secondary, 2,252 primary, 1,017 teaching
points), 34 secondary vocational schools, 79 high schools and 766,000
beneficiaries. Smaller scales keep the same proportions on fewer counties, so a
test sees every kind of school, stage and planted case in seconds.

Invariants:

- A scale's totals are split over its counties exactly (largest remainder), so
  the counts documented here are the counts the ledger holds, for every seed.
- Every county gets at least one school of each kind, except where a scale has
  fewer schools of a kind than counties: the plan's 34 vocational schools are in
  34 of the 37 poor counties (二、(四)), so the three smallest counties have none
  and their pupils are at the other stages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from domain.units import Level, Registry, Stage

ENSHI = "422800"
POOR_COUNTIES = 37  # the plan's 一、(三); domain/data/hubei-units.json holds them


@dataclass(frozen=True)
class Scale:
    """Totals of one scale; ``counties`` None means every poor county known."""

    name: str
    counties: int | None
    prefecture: str | None
    beneficiaries: int
    schools: dict[Stage, int]


# Schools besides the plan's counts: kindergartens pay PRE_LIVING and are the
# plan's kindergarten projects (945); each county has one special school.
_PROVINCE_SCHOOLS = {
    Stage.JUNIOR_SECONDARY: 592,
    Stage.PRIMARY: 2_252,
    Stage.TEACHING_POINT: 1_017,
    Stage.SECONDARY_VOCATIONAL: 34,
    Stage.HIGH_SCHOOL: 79,
    Stage.KINDERGARTEN: 945,
}

SCALES = {
    "tiny": Scale(
        "tiny",
        2,
        ENSHI,
        360,
        {
            Stage.JUNIOR_SECONDARY: 2,
            Stage.PRIMARY: 4,
            Stage.TEACHING_POINT: 2,
            Stage.SECONDARY_VOCATIONAL: 2,
            Stage.HIGH_SCHOOL: 2,
            Stage.KINDERGARTEN: 2,
        },
    ),
    "county": Scale(
        "county",
        1,
        ENSHI,
        766_000 // POOR_COUNTIES,
        {
            stage: max(1, count // POOR_COUNTIES)
            for stage, count in _PROVINCE_SCHOOLS.items()
        },
    ),
    "prefecture": Scale(
        "prefecture",
        8,
        ENSHI,
        766_000 * 8 // POOR_COUNTIES,
        {
            stage: max(8, count * 8 // POOR_COUNTIES)
            for stage, count in _PROVINCE_SCHOOLS.items()
        },
    ),
    "province": Scale("province", None, None, 766_000, dict(_PROVINCE_SCHOOLS)),
}

# Share of beneficiaries by stage, and of boarders within each stage: rural
# junior secondary pupils mostly board, village teaching points have none.
STAGE_SHARES = {
    Stage.KINDERGARTEN: 0.10,
    Stage.PRIMARY: 0.36,
    Stage.TEACHING_POINT: 0.06,
    Stage.JUNIOR_SECONDARY: 0.24,
    Stage.HIGH_SCHOOL: 0.12,
    Stage.SECONDARY_VOCATIONAL: 0.11,
    Stage.SPECIAL_EDUCATION: 0.01,
}
BOARDING_SHARES = {
    Stage.KINDERGARTEN: 0.0,
    Stage.PRIMARY: 0.25,
    Stage.TEACHING_POINT: 0.0,
    Stage.JUNIOR_SECONDARY: 0.70,
    Stage.HIGH_SCHOOL: 0.80,
    Stage.SECONDARY_VOCATIONAL: 0.60,
    Stage.SPECIAL_EDUCATION: 0.30,
}
# Grades a stage teaches (the rolls take 1 to 12; kindergarten years are 1 to 3).
GRADES = {
    Stage.KINDERGARTEN: (1, 3),
    Stage.PRIMARY: (1, 6),
    Stage.TEACHING_POINT: (1, 4),
    Stage.JUNIOR_SECONDARY: (7, 9),
    Stage.HIGH_SCHOOL: (10, 12),
    Stage.SECONDARY_VOCATIONAL: (10, 12),
    Stage.SPECIAL_EDUCATION: (1, 9),
}


def counties_of(scale: Scale, units: Registry) -> list[tuple[str, str]]:
    """The (code, name) of the scale's counties, by code."""
    counties = [unit for unit in units if unit.level is Level.COUNTY]
    if scale.prefecture is not None:
        counties = [unit for unit in counties if unit.parent == scale.prefecture]
    counties.sort(key=lambda unit: unit.code)
    if scale.counties is not None:
        counties = counties[: scale.counties]
    return [(unit.code, unit.name) for unit in counties]


def split(total: int, weights: list[float]) -> list[int]:
    """``total`` in whole parts proportional to ``weights`` (largest remainder)."""
    whole = sum(weights)
    shares = [total * weight / whole for weight in weights]
    parts = [int(share) for share in shares]
    order = sorted(
        range(len(weights)), key=lambda i: (parts[i] - shares[i], i)
    )  # largest remainder first
    for index in order[: total - sum(parts)]:
        parts[index] += 1
    return parts


def county_weights(rng: random.Random, count: int) -> list[float]:
    """How much bigger one county is than another (0.6 to 1.4 of the mean)."""
    return [rng.uniform(0.6, 1.4) for _ in range(count)]


def school_counts(scale: Scale, weights: list[float]) -> list[dict[Stage, int]]:
    """Per county, how many schools of each stage.

    Each county has at least one of each stage while the scale has as many
    schools of it as counties; with fewer, the largest counties have one each
    and the others none (0, so that a stage without a school takes no pupils).
    """
    counts: list[dict[Stage, int]] = [{} for _ in weights]
    largest = sorted(range(len(weights)), key=lambda i: (-weights[i], i))
    for stage, total in scale.schools.items():
        if total < len(weights):
            for index in range(len(weights)):
                counts[index][stage] = 0
            for index in largest[:total]:
                counts[index][stage] = 1
            continue
        extra = split(total - len(weights), weights)
        for index, more in enumerate(extra):
            counts[index][stage] = 1 + more
    for per_stage in counts:
        per_stage[Stage.SPECIAL_EDUCATION] = 1
    return counts
