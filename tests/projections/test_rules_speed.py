"""The fraud rules' cost per entry: a province-like stream of payments.

All views and rules together must rebuild at 50,000 entries a second or more,
so the rules alone must be well above it. ``python -m
tests.projections.test_rules_speed`` prints the rate over about 100,000 entries.
"""

from __future__ import annotations

import os
import time
from datetime import date

import pytest

from projections.people import PersonFacts
from projections.rules import FraudRules
from tests.projections.rules_builder import LogBuilder, ref


def province(students: int) -> LogBuilder:
    """Ten counties; each student listed, placed and paid for two terms."""
    log = LogBuilder()
    counties = [f"4228{20 + i:02d}" for i in range(10)]
    for county in counties:
        log.receive(county, "in", 10**12)
        log.receive(county, "gift", 10**6, earmark=f"{county}S0001")
        log.allocate(county, "al-hs", "HS_GRANT", 2026, 10**11)
        log.allocate(county, "al-bj", "BOARD_JUN", 2026, 10**11)
    for index in range(students):
        county = counties[index % 10]
        person = ref(f"student-{index}")
        school = f"{county}S{index % 50:04d}"
        high = index % 2 == 1
        log.list_poor(county, person, f"H{index // 2}")
        log.status(
            county, person, school, "high_school" if high else "junior_secondary"
        )
        programme, amount = ("HS_GRANT", 125_000) if high else ("BOARD_JUN", 62_500)
        for term in ("spring", "autumn"):
            log.pay(
                county, f"p{index}-{term}", programme, 2026, term, person, amount,
                account_ref=ref(f"account-{index // 2}"), school=school,
            )  # fmt: skip
    return log


def lookup(person: str) -> PersonFacts | None:
    return PersonFacts(date(2010, 3, 1), (), person[:12])


def rate(log: LogBuilder, runs: int = 3) -> float:
    """Best entries per second over ``runs`` rebuilds from scratch."""
    best = 0.0
    for _ in range(runs):
        rules = FraudRules(lookup=lookup)
        start = time.perf_counter()
        rules.apply_all(log.events)
        rules.take_changes()
        best = max(best, len(log.events) / (time.perf_counter() - start))
    return best


@pytest.mark.slow
@pytest.mark.skipif(
    "PYTEST_XDIST_WORKER" in os.environ,
    reason="a rate measured beside other test workers measures them too",
)
def test_the_rules_rebuild_above_fifty_thousand_entries_a_second() -> None:
    assert rate(province(3_000), runs=5) > 50_000


if __name__ == "__main__":
    stream = province(16_700)
    print(f"{len(stream.events)} entries: {rate(stream, 5):,.0f} entries/s")
