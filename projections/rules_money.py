"""Rules on the pool's money: R12's allocations, R14 earmarks, R15 split contracts.

The pool of a county is followed as the fund keeps it: receipts in,
allocations and projects out, reversals back. Two amounts are kept per county:
the pool's balance and what it still owes to earmarks (``owed``: money received
with an earmark and not yet spent inside it).

- An outflow is *inside* an earmark E when it is an allocation to programme E,
  or a project whose id or school is E; it spends E's owed money first.
- R14 flags an outflow, or the part of one, outside every earmark that leaves
  the balance below ``owed``: the pool spent money that was promised elsewhere.
- R15 groups projects by county, calendar year of recording (Beijing time),
  contract category and target (the school, else the name's stem) and flags a
  group with two or more projects each within the near fraction below the
  category's tendering threshold that together reach it.

Invariants: ``owed`` of a county is the sum of its earmarks' owed amounts, and
never exceeds what those earmarks received; a reversed transfer is undone in
every total it entered.
"""

from __future__ import annotations

import re
from typing import Any

from projections.feed import LoggedEvent
from projections.rules_core import (
    BUDGETS,
    EARMARKS,
    PAYMENTS,
    POOLS,
    SPLITS,
    TRANSFERS,
    beijing_day,
    dumps,
    loads,
)
from projections.rules_payments import PaymentRules

_BRACKETS = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_TAILS = (
    re.compile(
        r"第?[0-9一二三四五六七八九十百零\u3007]+\s*(?:期|标段|标|批次|批|号|包|部分|段)?$"
    ),
    re.compile(r"(?:期|标段|批次|部分)$"),
    re.compile(r"(?i)(?:phase|lot|part|section|batch|stage)$"),
    re.compile(r"(?<=[\s\-_#])[A-Za-z]$"),
)
_SEPARATORS = " \t-_#.,:：、/·"


def name_stem(name: str) -> str:
    """A project's name without its lot or phase: ``校舍改造（一期）`` → ``校舍改造``.

    Brackets are dropped, then trailing numbers (Arabic or Chinese, with 期, 标段,
    批, 号, 包 or 部分) and words like "phase" or "lot", until nothing changes.
    """
    stem = _BRACKETS.sub("", name).strip(_SEPARATORS)
    while True:
        before = stem
        for tail in _TAILS:
            stem = tail.sub("", stem).rstrip(_SEPARATORS)
        if stem == before:
            break
    return stem or name.strip()


class MoneyRules(PaymentRules):
    """Receipts, allocations, projects and their reversals (on top of payments)."""

    def on_received(self, event: LoggedEvent, county: str) -> None:
        """Money in; an earmarked receipt is owed to its earmark."""
        body = event.body
        amount = int(body["amount_fen"])
        earmark = body.get("earmark")
        balance, owed, open_ = self._pool(county)
        consumed: dict[str, int] = {}
        if isinstance(earmark, str) and earmark:
            key = (county, earmark)
            left, receipts = self.row(EARMARKS, key) or (0, "[]")
            self.put(
                EARMARKS,
                key,
                (int(left) + amount, dumps([*loads(receipts), event.seq])),
            )
            if earmark not in open_:
                open_.append(earmark)
            owed += amount
            consumed[earmark] = amount
        self.put(POOLS, (county,), (balance + amount, owed, dumps(open_)))
        self._remember(county, event, "receipt", amount, None, None, consumed, None)

    def on_allocated(self, event: LoggedEvent, county: str) -> None:
        """Pool to a programme's budget of one year."""
        body = event.body
        amount = int(body["amount_fen"])
        programme = str(body["programme"])
        year = int(body["year"])
        key = (county, programme, year)
        allocated, paid, allocations = self.row(BUDGETS, key) or (0, 0, "[]")
        allocations = dumps([*loads(allocations), event.seq])
        self.put(BUDGETS, key, (int(allocated) + amount, paid, allocations))
        consumed = self._spend(
            county, event, amount, [programme], f"allocation to {programme} {year}"
        )
        self._remember(
            county, event, "allocation", amount, programme, year, consumed, None
        )

    def on_project(self, event: LoggedEvent, county: str) -> None:
        """Pool to a project: earmarks (R14), then split contracts (R15)."""
        body = event.body
        amount = int(body["amount_fen"])
        project = str(body["project_id"])
        school = body.get("school")
        name = str(body.get("name", ""))
        targets = [project] + ([school] if isinstance(school, str) and school else [])
        consumed = self._spend(county, event, amount, targets, f"project {project}")
        group = self._split(county, event, amount, name, targets)
        self._remember(county, event, "project", amount, project, None, consumed, group)

    def on_reversed(self, event: LoggedEvent, county: str) -> None:
        """Undo a transfer in every total it entered (a payment's in its rules)."""
        transfer_id = str(event.body["transfer_id"])
        payment = self.row(PAYMENTS, (county, transfer_id))
        if payment is not None:
            if payment[10] == "approved":
                self.reverse_payment(event, county, payment)
            return
        key = (county, transfer_id)
        row = self.row(TRANSFERS, key)
        if row is None or row[0].endswith(":reversed"):
            return
        kind, amount, target, year, earmarks, _, group, seq = row
        self.put(TRANSFERS, key, (f"{kind}:reversed", *row[1:]))
        balance, owed, open_ = self._pool(county)
        consumed: dict[str, int] = loads(earmarks) or {}
        if kind == "receipt":
            balance -= amount
            for earmark in consumed:
                left, receipts = self.row(EARMARKS, (county, earmark))
                taken = min(int(left), amount)
                owed -= taken
                self._set_owed(county, earmark, int(left) - taken, receipts, open_)
        else:
            balance += amount
            for earmark, taken in consumed.items():
                left, receipts = self.row(EARMARKS, (county, earmark))
                owed += taken
                self._set_owed(county, earmark, int(left) + taken, receipts, open_)
        self.put(POOLS, (county,), (balance, owed, dumps(open_)))
        if kind == "allocation":
            budget = (county, target, year)
            allocated, paid, allocations = self.row(BUDGETS, budget)
            self.put(BUDGETS, budget, (int(allocated) - amount, paid, allocations))
            self.check_budget(budget, [event.seq])
        if group is not None:
            split_key = tuple(loads(group))
            total, members = self.row(SPLITS, split_key)
            kept = [m for m in loads(members) if m[1] != seq]
            self.put(SPLITS, split_key, (int(total) - amount, dumps(kept)))

    # Steps ----------------------------------------------------------------------------

    def _pool(self, county: str) -> tuple[int, int, list[str]]:
        balance, owed, open_ = self.row(POOLS, (county,)) or (0, 0, "[]")
        return int(balance), int(owed), loads(open_)

    def _set_owed(
        self, county: str, earmark: str, left: int, receipts: Any, open_: list[str]
    ) -> None:
        self.put(EARMARKS, (county, earmark), (left, receipts))
        if left > 0 and earmark not in open_:
            open_.append(earmark)
        elif left <= 0 and earmark in open_:
            open_.remove(earmark)

    def _remember(  # noqa: PLR0917 - one transfer's columns, in the table's order
        self,
        county: str,
        event: LoggedEvent,
        kind: str,
        amount: int,
        target: str | None,
        year: int | None,
        consumed: dict[str, int],
        group: str | None,
    ) -> None:
        self.put(
            TRANSFERS,
            (county, str(event.body["transfer_id"])),
            (kind, amount, target, year, dumps(consumed), 0, group, event.seq),
        )

    def _spend(
        self,
        county: str,
        event: LoggedEvent,
        amount: int,
        targets: list[str],
        what: str,
    ) -> dict[str, int]:
        """Take an outflow from the pool, inside its earmarks first; R14."""
        balance, owed, open_ = self._pool(county)
        consumed: dict[str, int] = {}
        left = amount
        for target in targets:
            if left == 0 or target not in open_:
                continue
            owed_here, receipts = self.row(EARMARKS, (county, target))
            taken = min(int(owed_here), left)
            consumed[target] = taken
            left -= taken
            owed -= taken
            self._set_owed(county, target, int(owed_here) - taken, receipts, open_)
        balance -= amount
        self.put(POOLS, (county,), (balance, owed, dumps(open_)))
        if left > 0 and balance < owed:
            evidence: list[int | None] = []
            for earmark in open_:
                evidence += loads(self.row(EARMARKS, (county, earmark))[1])
            self.raise_alert(
                "R14",
                county,
                "transfer",
                f"{county}/{event.body['transfer_id']}",
                f"{what}: {left} of {amount} fen outside any earmark leaves the pool "
                f"{balance} fen for {owed} fen still owed to earmarks "
                f"{', '.join(sorted(open_))}",
                event.seq,
                evidence,
            )
        return consumed

    def _split(
        self,
        county: str,
        event: LoggedEvent,
        amount: int,
        name: str,
        targets: list[str],
    ) -> str | None:
        """R15: projects of one target and year just below a tendering threshold."""
        category = self.data.category_of(name)
        if not self.data.just_below(category, amount):
            return None
        year = int(beijing_day(event.recorded_at)[:4])
        target = (
            f"school:{targets[1]}" if len(targets) > 1 else f"name:{name_stem(name)}"
        )
        key = (county, year, category.code, target)
        total, members = self.row(SPLITS, key) or (0, "[]")
        listed = [*loads(members), [str(event.body["transfer_id"]), event.seq]]
        total = int(total) + amount
        self.put(SPLITS, key, (total, dumps(listed)))
        if len(listed) >= 2 and total >= category.threshold_fen:
            self.raise_alert(
                "R15",
                county,
                "project-group",
                "/".join(str(part) for part in key),
                f"{len(listed)} {category.code} contracts for {target} in {year}, "
                f"each just below the {category.threshold_fen} fen tendering "
                f"threshold, together {total} fen",
                event.seq,
                [m[1] for m in listed],
            )
        return dumps(list(key))
