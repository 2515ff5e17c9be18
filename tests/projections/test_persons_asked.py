"""Which persons a batch will ask the vault about, said before it is applied.

A runner's vault reader fetches a batch's persons in one query
(``api.views.ViewsReader``); the projections say which ones with
``persons_asked``. A person left out would be read alone, one too many read
for nothing: neither changes a row, so these tests check the prediction only,
on the demo ledger cut into batches of several sizes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from projections.disclosure import Disclosure
from projections.feed import LoggedEvent
from projections.people import PersonFacts
from projections.rules import FraudRules
from tests.projections.runner_support import all_entries, make_demo


@pytest.fixture
def demo_entries(tmp_path: Path) -> list[LoggedEvent]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    make_demo(url, tmp_path)
    return all_entries(url)


@pytest.mark.parametrize("batch_size", [1, 7, 60, 100_000])
def test_each_batch_asks_for_exactly_the_persons_said(
    demo_entries: list[LoggedEvent], batch_size: int
) -> None:
    named: list[str] = []
    looked_up: list[str] = []

    def name_of(person_ref: str) -> str:
        named.append(person_ref)
        return "张三明"

    def facts_of(person_ref: str) -> PersonFacts | None:
        looked_up.append(person_ref)
        return None

    disclosure = Disclosure(name_of)
    rules = FraudRules(lookup=facts_of)
    said_names: set[str] = set()
    said_facts: set[str] = set()
    for start in range(0, len(demo_entries), batch_size):
        batch = demo_entries[start : start + batch_size]
        names, facts = disclosure.persons_asked(batch), rules.persons_asked(batch)
        named.clear()
        looked_up.clear()
        disclosure.apply_all(batch)
        rules.apply_all(batch)
        assert set(named) == names
        assert set(looked_up) == facts
        said_names |= names
        said_facts |= facts
    assert said_names, "the demo pays students, so names were asked for"
    assert said_facts, "the demo lists students, so their facts were asked for"


def test_without_a_lookup_nobody_is_asked_about(
    demo_entries: list[LoggedEvent],
) -> None:
    assert Disclosure().persons_asked(demo_entries) == set()
    assert FraudRules().persons_asked(demo_entries) == set()
