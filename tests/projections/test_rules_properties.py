"""Alerts raised step by step, with restarts from stored rows, equal alerts
raised from scratch; every row has its table's shape. The monitor's raises
(``Alert.Raised``) come at any point, before or after the rules find the alert,
naming its county or another."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.base import Key, Row
from projections.people import PersonFacts
from projections.rules import FraudRules, alert_id_of
from tests.projections.rules_builder import LogBuilder, ref

COUNTIES = ("422822", "422823")
PEOPLE = tuple(ref(f"p{i}") for i in range(4))
PROGRAMMES = ("HS_GRANT", "SV_GRANT", "VOC_POOR_EXTRA", "BOARD_JUN", "HARDSHIP")
STAGES = ("high_school", "secondary_vocational", "junior_secondary")
ACCOUNTS = (None, ref("acc1"), ref("acc2"))
TYPES = {"TEXT": str, "INTEGER": int, "BOOLEAN": bool}


def lookup(person: str) -> PersonFacts | None:
    index = PEOPLE.index(person) if person in PEOPLE else 0
    if index == 3:
        return None
    born = date(2000 if index == 2 else 2000 + 5 * index, 1, 1)
    return PersonFacts(
        born, ("check-character",) if index == 2 else (), f"n{index % 2}"
    )


county = st.sampled_from(COUNTIES)
person = st.sampled_from(PEOPLE)
amount = st.sampled_from((50_000, 62_500, 100_000, 125_000, 150_000, 3_500_000_00))
year = st.sampled_from((2025, 2026))
term = st.sampled_from(("spring", "autumn"))
small_id = st.integers(0, 5).map(str)

operations = st.one_of(
    st.tuples(st.just("list"), county, person, st.sampled_from(("H1", "H2"))),
    st.tuples(st.just("delist"), county, person),
    st.tuples(
        st.just("status"), county, person, st.integers(1, 2), st.sampled_from(STAGES),
        year, st.booleans(),
    ),
    st.tuples(
        st.just("receive"), county, small_id, amount,
        st.sampled_from((None, "HS_GRANT", "422822S0001")),
    ),
    st.tuples(
        st.just("allocate"), county, small_id, st.sampled_from(PROGRAMMES), year,
        amount,
    ),
    st.tuples(
        st.just("project"), county, small_id, amount,
        st.sampled_from(("校舍改造一期", "校舍改造二期", "课桌采购")),
        st.sampled_from((None, "422822S0001")),
    ),
    st.tuples(
        st.just("propose"), county, small_id,
        st.sampled_from(("HS_GRANT", "HS_GRANT", *PROGRAMMES)), st.just(2026),
        st.sampled_from(("autumn", "autumn", "spring")), person, amount,
        st.sampled_from(ACCOUNTS),
    ),
    st.tuples(
        st.just("pay"), county, st.integers(6, 12).map(str),
        st.sampled_from(("HS_GRANT", "VOC_POOR_EXTRA", "SV_GRANT")), st.just(2026),
        st.sampled_from(("autumn", "spring")), person,
        st.sampled_from((125_000, 50_000, 150_000)), st.sampled_from(ACCOUNTS),
    ),
    st.tuples(
        st.just("resolve-r04"), person, st.sampled_from(("confirmed", "dismissed")),
    ),
    st.tuples(st.just("approve"), county, small_id),
    st.tuples(st.just("reject"), county, small_id),
    st.tuples(st.just("reverse"), county, small_id, st.sampled_from(("pay", "t"))),
    st.tuples(
        st.just("resolve"), person, st.sampled_from(("confirmed", "dismissed")),
    ),
    st.tuples(st.just("raise-r04"), person, county),
    st.tuples(st.just("raise"), person, county),
)  # fmt: skip


def build(steps: list[tuple[Any, ...]]) -> LogBuilder:
    log = LogBuilder()
    for step in steps:
        kind, *args = step
        if kind == "list":
            log.list_poor(args[0], args[1], args[2])
        elif kind == "delist":
            log.delist(args[0], args[1])
        elif kind == "status":
            c, p, school, stage, y, boarding = args
            log.status(c, p, f"{c}S000{school}", stage, year=y, boarding=boarding)
        elif kind == "receive":
            log.receive(args[0], f"t{args[1]}", args[2], args[3])
        elif kind == "allocate":
            log.allocate(args[0], f"t{args[1]}", args[2], args[3], args[4])
        elif kind == "project":
            c, t, a, name, school = args
            log.project(c, f"t{t}", a, name=name, school=school)
        elif kind in {"propose", "pay"}:
            c, p, programme, y, tm, payee, a, account = args
            details = {} if account is None else {"account_ref": account}
            log.propose(c, f"pay{p}", programme, y, tm, payee, a, **details)
            if kind == "pay":
                log.approve(c, f"pay{p}")
        elif kind == "approve":
            log.approve(args[0], f"pay{args[1]}")
        elif kind == "reject":
            log.reject(args[0], f"pay{args[1]}")
        elif kind == "reverse":
            log.reverse(args[0], f"{args[2]}{args[1]}")
        elif kind == "resolve-r04":
            subject = f"{args[0]}/VOC_POOR_EXTRA/2026"
            log.resolve(alert_id_of("R04", "person-year", subject), args[1], "checked")
        elif kind == "raise-r04":
            subject = f"{args[0]}/VOC_POOR_EXTRA/2026"
            log.raise_alert(alert_id_of("R04", "person-year", subject), "R04", args[1])
        elif kind == "raise":
            subject = f"{args[0]}/HS_GRANT/2026/autumn"
            log.raise_alert(alert_id_of("R01", "claim", subject), "R01", args[1])
        else:
            subject = f"{args[0]}/HS_GRANT/2026/autumn"
            log.resolve(alert_id_of("R01", "claim", subject), args[1], "checked")
        log.later(hours=7)
    return log


def check_shapes(rules: FraudRules) -> None:
    for table in rules.tables:
        for key, row in rules.rows(table.name):
            assert len(key) == len(table.key), (table.name, key)
            assert len(row) == len(table.values), (table.name, row)
            for value, column in zip(key + row, table.columns, strict=True):
                if value is not None:
                    assert type(value) is TYPES[column.type], (table.name, column)


@settings(max_examples=150, deadline=None)
@given(st.lists(operations, max_size=60), st.lists(st.integers(0, 60), max_size=4))
def test_restarts_from_stored_rows_change_nothing(
    steps: list[tuple[Any, ...]], cuts: list[int]
) -> None:
    events = build(steps).events
    whole = FraudRules(lookup=lookup)
    whole.apply_all(events)
    check_shapes(whole)

    # What a runner keeps: the rows and evidence each batch changed.
    stored: dict[str, dict[Key, Row]] = {t.name: {} for t in whole.tables}
    evidence: list[tuple[str, Key, int]] = []
    rules = FraudRules(lookup=lookup)
    start = 0
    for cut in [*sorted(c for c in cuts if c <= len(events)), len(events)]:
        rules.apply_all(events[start:cut])
        start = max(start, cut)
        changes = rules.take_changes()
        for table, rows in changes.rows.items():
            for key, row in rows.items():
                if row is None:
                    stored[table].pop(key, None)
                else:
                    stored[table][key] = row
        evidence += changes.evidence
        assert stored == {t.name: dict(rules.rows(t.name)) for t in rules.tables}
        rules = FraudRules(lookup=lookup)
        rules.restore({t: list(rows.items()) for t, rows in stored.items()}, evidence)

    assert rules.snapshot() == whole.snapshot()
