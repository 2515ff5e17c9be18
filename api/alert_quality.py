"""How well the fraud rules find what the synthetic province planted.

The ground truth that ``fundledger demo --scale`` writes (``api.province``)
lists every planted case with the identifiers it involves: the pseudonyms of
the persons, the payment, transfer and project ids, and its subject (a school,
an account, a transfer). An alert *names* a case when its rule is the case's
rule and its subject or summary holds one of those identifiers as a whole
token. Then, per rule:

- precision = alerts that name a case of their rule / alerts of the rule;
- recall = cases named by at least one alert / cases planted.

A case planted for one rule may be, unavoidably, a case of another, which its
record lists in ``also`` (one payment made again at a second school of the same
county is a double claim, R01, and a duplicate, R13): an alert of that other
rule naming it is a true alert of its rule, though not a planted case for its
recall.

A case may raise more than one alert (R06 once per payment to a ghost pupil,
say), so alerts and cases are counted apart. A rule with nothing planted has
no recall (None); its precision is 1.0 only while it raises nothing. Alerts
that name a planted near miss (a legitimate mid-year transfer, allowed
stacking) are counted apart too, and are false alerts like any other.

Invariant: scoring reads only the alerts and the truth; it never looks at the
log, so it judges the rules exactly as an auditor would meet them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from projections.rules import FraudRules
from projections.rules_core import ALERTS
from projections.store import ViewStore

# Identifiers in truth files and alerts: hex pseudonyms, codes, ids with - and _.
_TOKEN = re.compile(r"[0-9A-Za-z_\-]+")
_ID_FIELDS = ("person_refs", "payment_ids", "transfer_ids", "project_ids")
RULE_IDS = tuple(f"R{number:02d}" for number in range(1, 16))


@dataclass(frozen=True)
class RuleScore:
    """One rule's alerts against its planted cases."""

    rule: str
    planted: int
    found: int  # planted cases named by at least one alert
    alerts: int
    true_alerts: int  # alerts that name a planted case of the rule
    near_miss_alerts: int  # alerts that name a planted near miss of the rule

    @property
    def precision(self) -> float:
        """Share of the rule's alerts that name a planted case (1.0 if none)."""
        return self.true_alerts / self.alerts if self.alerts else 1.0

    @property
    def recall(self) -> float | None:
        """Share of the planted cases found (None: nothing was planted)."""
        return self.found / self.planted if self.planted else None

    def as_dict(self) -> dict[str, Any]:
        """The score as plain JSON values."""
        return {
            "rule": self.rule,
            "planted": self.planted,
            "found": self.found,
            "alerts": self.alerts,
            "true_alerts": self.true_alerts,
            "near_miss_alerts": self.near_miss_alerts,
            "precision": self.precision,
            "recall": self.recall,
        }


def _identifiers(case: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for name in _ID_FIELDS:
        found.update(str(value) for value in case.get(name) or ())
    if case.get("subject"):
        found.update(_TOKEN.findall(str(case["subject"])))
    for name in ("project_ids", "schools"):
        found.update(str(value) for value in case.get(name) or ())
    return found


def _index(
    cases: Iterable[Mapping[str, Any]], *, also: bool = False
) -> dict[tuple[str, str], set[int]]:
    """(rule, identifier) -> the numbers of the cases that hold it: cases of
    the rule, or with ``also``, cases that list the rule in their ``also``."""
    index: dict[tuple[str, str], set[int]] = defaultdict(set)
    for number, case in enumerate(cases):
        rules = (case.get("also") or ()) if also else (case["rule"],)
        for rule in rules:
            for identifier in _identifiers(case):
                index[(str(rule), identifier)].add(number)
    return index


def _named(
    alert: Mapping[str, Any], index: Mapping[tuple[str, str], set[int]]
) -> set[int]:
    text = f"{alert.get('subject_ref', '')} {alert.get('summary', '')}"
    rule = str(alert["rule"])
    named: set[int] = set()
    for token in _TOKEN.findall(text):
        named |= index.get((rule, token), set())
    return named


def score(
    alerts: Iterable[Mapping[str, Any]], truth: Mapping[str, Any]
) -> dict[str, RuleScore]:
    """Every rule's score (R01 to R15) of ``alerts`` against ``truth``."""
    cases = list(truth["cases"])
    misses = list(truth.get("near_misses") or ())
    case_index = _index(cases)
    also_index = _index(cases, also=True)
    miss_index = _index(misses)

    alerts_of: dict[str, int] = defaultdict(int)
    true_of: dict[str, int] = defaultdict(int)
    near_of: dict[str, int] = defaultdict(int)
    found: set[int] = set()
    for alert in alerts:
        rule = str(alert["rule"])
        alerts_of[rule] += 1
        named = _named(alert, case_index)
        if named:
            true_of[rule] += 1
            found |= named
        elif _named(alert, also_index):
            true_of[rule] += 1
        elif _named(alert, miss_index):
            near_of[rule] += 1

    planted: dict[str, int] = defaultdict(int)
    found_of: dict[str, int] = defaultdict(int)
    for number, case in enumerate(cases):
        planted[str(case["rule"])] += 1
        if number in found:
            found_of[str(case["rule"])] += 1
    return {
        rule: RuleScore(
            rule,
            planted[rule],
            found_of[rule],
            alerts_of[rule],
            true_of[rule],
            near_of[rule],
        )
        for rule in sorted(set(RULE_IDS) | set(alerts_of) | set(planted))
    }


def stored_alerts(store: ViewStore) -> list[dict[str, Any]]:
    """The alerts the views runner stored, as the ``views show`` records."""
    table = next(table for table in FraudRules.tables if table.name == ALERTS)
    columns = [column.name for column in table.columns]
    return [
        dict(zip(columns, (*key, *row), strict=True))
        for key, row, _ in store.rows(FraudRules, table, None)
    ]
