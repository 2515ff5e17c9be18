"""How fast the disclosure projection folds entries: a budget per event.

All views and rules together must rebuild at 50,000 entries a second or more,
so the disclosure projection alone must stay well above that. The log here is
synthetic and in memory (no database): five counties, their schools and
students, allocations, donations and projects, and mostly payments proposed and
approved, with rejections and reversals mixed in, as a school year looks.

    .venv/bin/python -m tests.projections.test_disclosure_rate 100000

prints the rate over about 100,000 entries.
"""

from __future__ import annotations

import sys
import time

from projections.disclosure import Disclosure
from projections.feed import LoggedEvent
from tests.projections.disclosure_support import Entries, ref

COUNTIES = ("422822", "422823", "422825", "422826", "422828")
PROGRAMMES = ("BOARD_PRI", "BOARD_JUN", "HS_GRANT", "HARDSHIP")


def synthetic(entries: int) -> list[LoggedEvent]:
    """A log of about ``entries`` entries, mostly payments."""
    log = Entries()
    per_county = entries // len(COUNTIES)
    for number, code in enumerate(COUNTIES):
        county = log.county(code)
        schools = [county.school(n) for n in range(1, 21)]
        county.receive(f"{code}-in", 10**12)
        county.receive(
            f"{code}-don",
            10**8,
            kind="donation",
            source="org:基金会",
            earmark="HARDSHIP",
        )
        for programme in PROGRAMMES:
            county.allocate(f"{code}-al-{programme}", programme, 10**11)
        county.project(f"{code}-pr", f"{code}-GAIBO-2026", 10**9, schools[0])
        students = per_county // 12
        for n in range(students):
            person = ref(number * 10**6 + n)
            county.status(person, schools[n % 20], grade=1 + n % 9)
        start = len(log.events)
        n = 0
        while len(log.events) - start < per_county - 2 * students // 10:
            person = ref(number * 10**6 + n % students)
            payment_id = f"{code}-p{n}"
            county.propose(
                payment_id,
                PROGRAMMES[n % 4],
                person,
                50_000,
                term=("spring", "autumn")[n // students % 2],
            )
            if n % 50 == 7:
                county.reject(payment_id)
            else:
                county.approve(payment_id)
                if n % 100 == 3:
                    county.reverse(payment_id)
            n += 1
    return log.events


def rate(events: list[LoggedEvent]) -> float:
    """Entries folded per second by a fresh projection (with a name lookup)."""
    view = Disclosure(lambda person: "张三明")
    started = time.process_time()
    view.apply_all(events)
    view.take_changes()
    return len(events) / (time.process_time() - started)


def test_a_rebuild_folds_many_entries_a_second() -> None:
    events = synthetic(20_000)
    # A loose floor, so that a loaded CI machine does not fail it; the module's
    # main prints the real figure.
    assert rate(events) > 20_000


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    log = synthetic(size)
    best = max(rate(log) for _ in range(3))
    sys.stdout.write(f"{len(log)} entries, {best:,.0f} entries/s\n")
