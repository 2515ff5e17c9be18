"""Properties of the disclosure projection over random logs.

A small generator writes valid-looking county logs (receipts, allocations,
projects, payments proposed, approved, rejected and reversed, student statuses,
erasures, and some entries a fund would refuse: approving twice, reversing what
is unknown) while a reference model keeps the money that really moved. Then:

- rebuilding from scratch equals applying the log in random batches, each in a
  fresh projection restored from what the previous batch stored (a restarted
  runner), rows and evidence alike;
- money is conserved: each county's flow rows equal the model's net figures,
  schools add up to their county, counties to their prefecture, prefectures to
  the province; the programme cells hold what was paid; earmarks balance.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.disclosure import Disclosure
from tests.projections.disclosure_support import County, Entries, Store, ref

COUNTIES = ("422822", "422823", "421381")  # two in 恩施州, one in 随州市
PROGRAMMES = ("HARDSHIP", "HARDSHIP", "HS_GRANT", "NOT_A_PROGRAMME")
KINDS = ("central", "donation", "donation", "pairing")
SOURCES = ("org:基金会", "person:某人", "person-named:李四")
EARMARKS = (None, "HARDSHIP", "HARDSHIP", "{county}S0001", "project:P0", "自由文本")
PROJECTS = ("P0", "{county}-GAIBO-2026", "{county}-YOUERYUAN-2027", "misc")
PERSONS = 6
NAMES = {ref(n): f"张{n}明" for n in range(1, PERSONS + 1)}

county_index = st.sampled_from((0, 0, 0, 1, 2))  # mostly one: cells fill up
amount = st.integers(1, 10_000)
payment = st.tuples(
    st.sampled_from(("propose", "pay", "pay")),
    county_index,
    st.sampled_from(PROGRAMMES),
    st.sampled_from((1, 2, 3, 4, 5, 6, 0, -1)),  # below 1: a school
    amount,
    st.sampled_from(("spring", "autumn")),
)
receipt = st.tuples(
    st.just("receive"),
    county_index,
    amount,
    st.sampled_from(KINDS),
    st.sampled_from(SOURCES),
    st.sampled_from(EARMARKS),
)
# Several persons paid at once, so that cells cross the suppression threshold.
crowd = st.tuples(
    st.just("crowd"), county_index, st.sampled_from(PROGRAMMES), st.integers(1, PERSONS)
)
actions = st.one_of(
    crowd,
    payment,
    payment,
    payment,
    receipt,
    receipt,
    st.tuples(st.just("allocate"), county_index, st.sampled_from(PROGRAMMES), amount),
    st.tuples(
        st.just("project"),
        county_index,
        st.sampled_from(PROJECTS),
        amount,
        st.one_of(st.none(), st.integers(1, 3)),
    ),
    st.tuples(
        st.just("progress"),
        county_index,
        st.sampled_from(PROJECTS),
        st.integers(0, 100),
    ),
    st.tuples(
        st.just("status"),
        county_index,
        st.integers(1, PERSONS),
        st.integers(1, 3),
        st.integers(1, 9),
    ),
    st.tuples(st.just("approve"), county_index, st.integers(0, 50)),
    st.tuples(st.just("reject"), county_index, st.integers(0, 50)),
    st.tuples(st.just("reverse"), county_index, st.integers(0, 80)),
    st.tuples(st.just("erase"), county_index, st.integers(1, PERSONS)),
)


@dataclass
class Model:
    """What moved, net, as the fund itself would count it."""

    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    allocated: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    projects: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    paid: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # (county, programme, year) -> person -> net
    persons: dict[tuple[str, str, int], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )


def build(steps: list[tuple[object, ...]]) -> tuple[Entries, Model]:
    """Write the log the steps describe and the model of what moved."""
    log, model = Entries(), Model()
    counties: list[County] = []
    for code in COUNTIES:
        county = log.county(code)
        for number in (1, 2, 3):
            county.school(number)
        counties.append(county)
    transfers: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    payments: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
    state: dict[tuple[str, str], str] = {}

    for number, step in enumerate(steps):
        action, index = cast(str, step[0]), cast(int, step[1])
        county = counties[index]
        code = county.code
        if action == "receive":
            _, _, value, kind, source, earmark = step
            earmark = None if earmark is None else str(earmark).format(county=code)
            county.receive(
                f"t{number}",
                cast(int, value),
                kind=str(kind),
                source=str(source),
                earmark=earmark,
            )
            transfers[code].append((f"t{number}", "received", cast(int, value)))
            model.received[code] += cast(int, value)
        elif action == "allocate":
            _, _, programme, value = step
            county.allocate(f"t{number}", str(programme), cast(int, value))
            transfers[code].append((f"t{number}", "allocated", cast(int, value)))
            model.allocated[code] += cast(int, value)
        elif action == "project":
            _, _, project, value, school = step
            school_code = None if school is None else f"{code}S{school:04d}"
            project_id = str(project).format(county=code)
            county.project(f"t{number}", project_id, cast(int, value), school_code)
            transfers[code].append((f"t{number}", "projects", cast(int, value)))
            model.projects[code] += cast(int, value)
        elif action == "progress":
            _, _, project, percent = step
            county.progress(str(project).format(county=code), cast(int, percent))
        elif action == "status":
            _, _, person, school, grade = step
            county.status(
                ref(cast(int, person)), f"{code}S{school:04d}", cast(int, grade)
            )
        elif action == "crowd":
            _, _, programme, size = step
            for person_number in range(1, cast(int, size) + 1):
                who, payment_id = ref(person_number), f"p{number}-{person_number}"
                county.pay(payment_id, str(programme), who, 100 + person_number)
                payments[code].append(
                    (payment_id, str(programme), who, 100 + person_number)
                )
                state[(code, payment_id)] = "approved"
                model.paid[code] += 100 + person_number
                model.persons[(code, str(programme), 2026)][who] += 100 + person_number
        elif action in ("propose", "pay"):
            _, _, programme, payee, value, term = step
            person = cast(int, payee) >= 1
            who = (
                ref(cast(int, payee))
                if person
                else f"{code}S{1 - cast(int, payee):04d}"
            )
            county.propose(
                f"p{number}",
                str(programme),
                who,
                cast(int, value),
                payee_kind="person" if person else "school",
                term=str(term),
                details={"headcount": 3},
            )
            payments[code].append((f"p{number}", str(programme), who, cast(int, value)))
            state[(code, f"p{number}")] = "proposed"
            if action == "pay":
                county.approve(f"p{number}")
                state[(code, f"p{number}")] = "approved"
                model.paid[code] += cast(int, value)
                if person:
                    model.persons[(code, str(programme), 2026)][who] += cast(int, value)
        elif action in ("approve", "reject") and payments[code]:
            payment_id, programme, who, value = payments[code][
                cast(int, step[2]) % len(payments[code])
            ]
            if action == "approve":
                county.approve(payment_id)
                if state[(code, payment_id)] == "proposed":
                    state[(code, payment_id)] = "approved"
                    model.paid[code] += value
                    if who[6:7] != "S":
                        model.persons[(code, programme, 2026)][who] += value
            else:
                county.reject(payment_id)
                if state[(code, payment_id)] == "proposed":
                    state[(code, payment_id)] = "rejected"
        elif action == "reverse":
            choice = cast(int, step[2])
            known = transfers[code] + [(p[0], "paid", p[3]) for p in payments[code]]
            if choice >= len(known):
                county.reverse(f"unknown-{choice}")
                continue
            transfer_id, what, value = known[choice]
            county.reverse(transfer_id)
            if what == "paid":
                if state[(code, transfer_id)] != "approved":
                    continue
                state[(code, transfer_id)] = "reversed"
                _, programme, who, _ = payments[code][choice - len(transfers[code])]
                model.paid[code] -= value
                if who[6:7] != "S":
                    model.persons[(code, programme, 2026)][who] -= value
            elif state.get((code, transfer_id)) != "reversed":
                state[(code, transfer_id)] = "reversed"
                getattr(model, what)[code] -= value
        elif action == "erase":
            county.erase(ref(cast(int, step[2])))
    return log, model


@settings(max_examples=60, deadline=None)
@given(
    st.lists(actions, min_size=5, max_size=60),
    st.lists(st.integers(0, 200), max_size=6),
)
def test_batches_with_restarts_equal_one_rebuild(
    steps: list[tuple[object, ...]], cuts: list[int]
) -> None:
    log, _ = build(steps)
    whole = Disclosure(NAMES.get)
    whole.apply_all(log.events)

    # A runner that stores each batch's changes and restarts from them.
    bounds = sorted({0, len(log.events), *(c % (len(log.events) + 1) for c in cuts)})
    view = Disclosure(NAMES.get)
    store = Store(view)
    for start, stop in itertools.pairwise(bounds):
        view = Disclosure(NAMES.get)
        store.load(view)
        view.apply_all(log.events[start:stop])
        store.save(view)

    restarted = Disclosure(NAMES.get)
    store.load(restarted)
    assert restarted.snapshot() == whole.snapshot()
    assert view.snapshot() == whole.snapshot()


def _flow(
    view: Disclosure,
) -> dict[tuple[str, str, str, int], tuple[str, str | None, int]]:
    return {
        cast(tuple[str, str, str, int], key): cast(tuple[str, str | None, int], row[:3])
        for key, row in view.rows("fund_flow")
    }


@settings(max_examples=80, deadline=None)
@given(st.lists(actions, min_size=10, max_size=100))
def test_money_is_conserved_in_every_view(steps: list[tuple[object, ...]]) -> None:
    log, model = build(steps)
    view = Disclosure(NAMES.get)
    view.apply_all(log.events)
    flow = _flow(view)

    # 1. Each county's totals are the model's net figures.
    for code in COUNTIES:
        for what, expected in (
            ("received", model.received[code]),
            ("allocated", model.allocated[code]),
            ("project", model.projects[code]),
            ("paid", model.paid[code]),
        ):
            total = sum(
                row[2]
                for (unit, f, _, _), row in flow.items()
                if (unit, f) == (code, what)
            )
            assert total == expected, (code, what)

    # 2. Every row above the lowest is the sum of the rows whose parent it is.
    sums: dict[tuple[str, str, str, int], int] = defaultdict(int)
    for (_, what, category, year), (level, parent, value) in flow.items():
        if parent is not None and not (what == "project" and level == "school"):
            sums[(parent, what, category, year)] += value
    for key, (level, _, value) in flow.items():
        if level in ("province", "prefecture") or (
            level == "county" and key[1] == "paid"
        ):
            assert sums[key] == value, key

    # 3. Programme cells hold what was paid, and count persons with money left.
    for cell, row in view.rows("programme_cell_exact"):
        county, programme, year = cast(tuple[str, str, int], cell)
        persons, person_fen, school_fen = cast(tuple[int, int, int], row[:3])
        assert (
            person_fen + school_fen
            == flow.get((county, "paid", programme, year), ("", None, 0))[2]
        )
        nets = model.persons[(county, programme, year)]
        assert persons == sum(1 for net in nets.values() if net > 0)
        public = view.get("programme_county_year", cell)
        assert public is not None
        assert public[3] == (0 < persons < 5)
        assert public[1] == (None if public[3] else persons)

    # 4. Earmarks: what is attributed and what is unspent make what was given.
    for _, row in view.rows("donation_earmarks"):
        donated, attributed, unspent = cast(
            tuple[int, int, int], (row[2], row[4], row[5])
        )
        assert attributed + unspent == donated
        assert attributed >= 0
