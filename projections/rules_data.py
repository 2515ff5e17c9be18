"""The data the fraud rules read: tendering thresholds (R15) and ages (R07).

Like the policy table, these are data with a version, not code: the file is
``domain/data/fraud-rules-2018.json``. It is read strictly (every key known,
every amount a whole number of fen), so a mistyped file never half-applies.

Invariant: a category's keywords decide it in the file's order; a project that
matches none is of ``default_category``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ledger.errors import LedgerMisuse

DEFAULT_RULES_DATA = "fraud-rules-2018.json"


class RulesDataInvalid(LedgerMisuse):
    """The rules' data file is not one this version can read."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"fraud rules data {name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class TenderCategory:
    """A kind of contract and the amount from which it must be tendered."""

    code: str
    threshold_fen: int
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class RulesData:
    """One version of the rules' data."""

    version: str
    near_fraction_percent: int
    categories: tuple[TenderCategory, ...]
    default_category: str
    ages: dict[str, tuple[int, int]]

    def category_of(self, name: str) -> TenderCategory:
        """The contract category a project's name suggests."""
        lowered = name.lower()
        for category in self.categories:
            if any(word in lowered for word in category.keywords):
                return category
        return next(c for c in self.categories if c.code == self.default_category)

    def just_below(self, category: TenderCategory, amount_fen: int) -> bool:
        """Whether an amount lies within the near fraction below the threshold."""
        low = category.threshold_fen * (100 - self.near_fraction_percent)
        return low <= amount_fen * 100 < category.threshold_fen * 100


def load_rules_data(name: str = DEFAULT_RULES_DATA) -> RulesData:
    """The packaged data file ``name`` (in ``domain/data``)."""
    path = resources.files("domain").joinpath("data", name)
    try:
        document: Any = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise RulesDataInvalid(name, f"unreadable: {error}") from None
    try:
        tendering = document["tendering"]
        categories = tuple(
            TenderCategory(
                _text(entry["code"]),
                _fen(entry["threshold_fen"]),
                tuple(_text(word).lower() for word in entry["keywords"]),
            )
            for entry in tendering["categories"]
        )
        near = _fen(tendering["near_fraction_percent"])
        ages = {
            _text(stage): (_fen(bounds[0]), _fen(bounds[1]))
            for stage, bounds in document["ages"]["stages"].items()
        }
        data = RulesData(
            version=_text(document["version"]),
            near_fraction_percent=near,
            categories=categories,
            default_category=_text(tendering["default_category"]),
            ages=ages,
        )
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise RulesDataInvalid(name, f"malformed: {error!r}") from None
    if not 0 < near < 100:
        raise RulesDataInvalid(name, f"near_fraction_percent must be 1..99, got {near}")
    if data.default_category not in {c.code for c in categories}:
        raise RulesDataInvalid(name, "default_category names no category")
    return data


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected text, found {value!r}")
    return value


def _fen(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"expected a whole non-negative number, found {value!r}")
    return value
