"""The fraud rules' tables, alerts and the bookkeeping every rule shares.

``FraudRules`` (``projections.rules``) is built from mixins over ``RulesBase``:
this module declares every table, raises alerts, marks them raised in the log
and resolved, and maps a log stream to its county. The rules themselves live
in ``rules_payments`` (one payment against the rolls, the policy and the
person's other payments) and ``rules_money`` (budgets, earmarks and split
contracts).

Invariants:

- The whole state is rows: every fact a rule needs later (a payment, a roll
  entry, a budget's totals, a person's facts) is in a private table, so a
  projection restored from its rows continues exactly like one that never
  stopped. Lists inside a row are JSON text, in log order.
- ``alert_id`` is a pure function of the rule and its subject
  (``domain.alerts.alert_id_of``), so the same fraud found again
  (incrementally, from scratch, after a restart) is the same alert, and the
  log's ``Alert.Raised`` and resolutions name it for good.
- An alert's ``raised_seq`` is the position of the log's ``Alert.Raised`` for
  it (None until the monitor raised it), whichever of the two came first: a
  raise the rules had not found yet waits in a private table until they do.
- Alerts and their subjects carry pseudonyms and codes only, never personal
  data; a summary states the values that broke the rule.
- Evidence of an alert is every entry involved, each cited once, in log order.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import orjson

from domain.alerts import alert_id_of
from domain.policy import Policy, RateKind
from projections.base import Column, Key, Projection, Table
from projections.feed import LoggedEvent
from projections.people import PersonFacts, PersonLookup, no_lookup
from projections.rules_data import RulesData

OUTCOMES = ("confirmed", "dismissed", "recovered")
OPEN = "open"

_INT = "INTEGER"
_BOOL = "BOOLEAN"


def _columns(*names: str) -> tuple[Column, ...]:
    """Columns from ``name`` or ``name:TYPE`` (TEXT when no type is given)."""
    columns = []
    for name in names:
        column, _, kind = name.partition(":")
        columns.append(Column(column, kind or "TEXT"))
    return tuple(columns)


ALERTS = "alerts"
STREAMS = "rule_streams"
PERSONS = "rule_persons"
NAMES = "rule_names"
POOR = "rule_poor"
STATUS = "rule_status"
PAYMENTS = "rule_payments"
TERMS = "rule_terms"
ACCOUNTS = "rule_accounts"
HOUSEHOLDS = "rule_account_households"
BUDGETS = "rule_budgets"
TRANSFERS = "rule_transfers"
POOLS = "rule_pools"
EARMARKS = "rule_earmarks"
SPLITS = "rule_splits"
UNMATCHED = "rule_unmatched_resolutions"
RAISES = "rule_early_raises"
YEARS = "rule_person_years"
FLOORS = "rule_floor_years"

TABLES = (
    Table(
        ALERTS,
        _columns("alert_id"),
        _columns(
            "rule",
            "county",
            "subject_kind",
            "subject_ref",
            "summary",
            "first_seq:INTEGER",
            "status",
            "reason",
            "raised_seq:INTEGER",
        ),
    ),
    Table(STREAMS, _columns("stream"), _columns("county", "kind"), public=False),
    Table(
        PERSONS,
        _columns("person_ref"),
        _columns(
            "birth_date", "id_problems", "name_key", "other_name_keys", "seq:INTEGER"
        ),
        public=False,
    ),
    Table(
        NAMES,
        _columns("name_key", "birth_date"),
        _columns("person_ref", "seq:INTEGER", "others"),
        public=False,
    ),
    Table(
        POOR,
        _columns("county", "person_ref"),
        _columns(
            "household_ref", "listed_on", "listed_seq:INTEGER", "delisted_seq:INTEGER"
        ),
        public=False,
    ),
    Table(
        STATUS,
        _columns("county", "person_ref"),
        _columns(
            "school",
            "stage",
            "grade:INTEGER",
            "boarding:BOOLEAN",
            "year:INTEGER",
            "seq:INTEGER",
        ),
        public=False,
    ),
    Table(
        PAYMENTS,
        _columns("county", "payment_id"),
        _columns(
            "programme",
            "year:INTEGER",
            "term",
            "payee_kind",
            "payee",
            "amount_fen:INTEGER",
            "school",
            "account_ref",
            "headcount:INTEGER",
            "proposed_seq:INTEGER",
            "status",
            "approved_seq:INTEGER",
            "place",
            "household",
            "status_seq:INTEGER",
        ),
        public=False,
    ),
    Table(
        TERMS,
        _columns("payee_kind", "payee", "year:INTEGER", "term"),
        _columns("payments"),
        public=False,
    ),
    Table(ACCOUNTS, _columns("account_ref"), _columns("households"), public=False),
    Table(
        HOUSEHOLDS,
        _columns("account_ref", "household"),
        _columns("active:INTEGER", "payments"),
        public=False,
    ),
    Table(
        BUDGETS,
        _columns("county", "programme", "year:INTEGER"),
        _columns("allocated_fen:INTEGER", "paid_fen:INTEGER", "allocations"),
        public=False,
    ),
    Table(
        TRANSFERS,
        _columns("county", "transfer_id"),
        _columns(
            "kind",
            "amount_fen:INTEGER",
            "target",
            "year:INTEGER",
            "earmark",
            "consumed_fen:INTEGER",
            "split_group",
            "seq:INTEGER",
        ),
        public=False,
    ),
    Table(
        POOLS,
        _columns("county"),
        _columns("balance_fen:INTEGER", "owed_fen:INTEGER", "earmarks"),
        public=False,
    ),
    Table(
        EARMARKS,
        _columns("county", "earmark"),
        _columns("owed_fen:INTEGER", "receipts"),
        public=False,
    ),
    Table(
        SPLITS,
        _columns("county", "year:INTEGER", "category", "target"),
        _columns("total_fen:INTEGER", "members"),
        public=False,
    ),
    Table(
        YEARS,
        _columns("person_ref", "year:INTEGER"),
        _columns("spring:INTEGER", "autumn:INTEGER"),
        public=False,
    ),
    Table(
        FLOORS,
        _columns("person_ref", "programme", "year:INTEGER"),
        _columns("total_fen:INTEGER", "payments"),
        public=False,
    ),
    Table(
        UNMATCHED,
        _columns("seq:INTEGER"),
        _columns("alert_id", "outcome", "reason", "county"),
        public=False,
    ),
    Table(
        RAISES,
        _columns("alert_id"),
        _columns("seq:INTEGER", "county"),
        public=False,
    ),
)

# Column positions in rows of ALERTS (values only, without the key).
A_RULE, A_COUNTY, A_SUMMARY, A_FIRST, A_STATUS, A_RAISED = 0, 1, 4, 5, 6, 8

# Column positions in rows of PAYMENTS (values only, without the key).
P_PROGRAMME, P_YEAR, P_TERM, P_KIND, P_PAYEE, P_AMOUNT = 0, 1, 2, 3, 4, 5
P_SCHOOL, P_ACCOUNT, P_HEADCOUNT, P_PROPOSED, P_STATUS, P_APPROVED = 6, 7, 8, 9, 10, 11
P_PLACE, P_HOUSEHOLD, P_STATUS_SEQ = 12, 13, 14

BEIJING = timedelta(hours=8)


def dumps(value: Any) -> str:
    """A list or object of a row as compact JSON text."""
    return orjson.dumps(value).decode()


def loads(text: object) -> Any:
    """The list or object a row holds as JSON text (empty when None)."""
    return orjson.loads(text) if isinstance(text, str) and text else []


def beijing_day(recorded_at: str) -> str:
    """The date (YYYY-MM-DD) in China of a log timestamp, which is UTC.

    NOTE: award dates compare with roll dates that officers write in China's
    calendar, so a payment approved at 01:00 Beijing time belongs to that day.
    """
    try:
        moment = datetime.fromisoformat(recorded_at)
    except ValueError:
        return recorded_at[:10]
    return (moment + BEIJING).date().isoformat()


def parse_day(text: object) -> date | None:
    """A YYYY-MM-DD text as a date, or None."""
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class RulesBase(Projection):
    """Tables, alerts and streams; the rule mixins build on it."""

    name: ClassVar[str] = "fraud_rules"
    tables: ClassVar[tuple[Table, ...]] = TABLES

    def __init__(
        self,
        policy: Policy,
        data: RulesData,
        lookup: PersonLookup = no_lookup,
    ) -> None:
        super().__init__()
        self.policy = policy
        self.data = data
        self.lookup = lookup
        self._programmes = {p.code: p for p in policy.programmes}
        self._floors = [
            p
            for p in policy.programmes
            if p.kind is RateKind.FLOOR and p.annual_fen is not None
        ]

    # Evidence: once per entry, in log order --------------------------------------

    def cite(self, table: str, key: Key, seq: int) -> None:
        """Cite ``seq`` once; rules cite older entries late (a third payment's
        proposal after the second's approval), so order is restored on reading."""
        cited = self._evidence.get((table, key))
        if cited is not None and seq in cited:
            return
        super().cite(table, key, seq)

    def evidence(self, table: str, key: Key) -> list[int]:
        """The log positions behind a row, in log order."""
        return sorted(super().evidence(table, key))

    def row(self, table: str, key: Key) -> Any:
        """A row of one of the rules' own tables, or None.

        Typed ``Any``: each table's declaration gives its columns' types, which
        the rules read by position.
        """
        return self._rows[table].get(key)

    # Streams ---------------------------------------------------------------------

    def county_of(self, event: LoggedEvent) -> str | None:
        """The county whose fund, rolls or schools wrote this entry."""
        row = self._rows[STREAMS].get((event.stream,))
        return None if row is None else str(row[0])

    def on_started(self, event: LoggedEvent, kind: str) -> None:
        """A county's fund, rolls or schools start: remember the stream's county."""
        county = event.body.get("county_code")
        if isinstance(county, str):
            self.put(STREAMS, (event.stream,), (county, kind))

    # Alerts ----------------------------------------------------------------------

    def raise_alert(  # noqa: PLR0917 - an alert is these facts, always in this order
        self,
        rule: str,
        county: str | None,
        subject_kind: str,
        subject_ref: str,
        summary: str,
        seq: int,
        evidence: list[int | None],
    ) -> str:
        """Raise (or add evidence to) the alert of ``rule`` about a subject.

        An alert found again keeps its first entry, status and resolution; its
        summary says what the latest finding saw.
        """
        alert_id = alert_id_of(rule, subject_kind, subject_ref)
        key = (alert_id,)
        row = self.row(ALERTS, key)
        if row is None:
            raised = self._early_raise(alert_id, county)
            values = (rule, county, subject_kind, subject_ref, summary, seq, OPEN)
            self.put(ALERTS, key, (*values, None, raised))
            if raised is not None:
                self.cite(ALERTS, key, raised)
        elif row[A_SUMMARY] != summary:
            self.put(ALERTS, key, (*row[:A_SUMMARY], summary, *row[A_SUMMARY + 1 :]))
        for cited in sorted({s for s in evidence if s is not None} | {seq}):
            self.cite(ALERTS, key, cited)
        return alert_id

    def withdrawable(self, row: Any) -> bool:
        """Whether an alert may be withdrawn when what it flagged stops holding.

        NOTE: only while nobody acted on it: once the log raised it (or an
        auditor resolved it), the public row stays to show what the log says.
        """
        return bool(row[A_STATUS] == OPEN and row[A_RAISED] is None)

    def _early_raise(self, alert_id: str, county: str | None) -> int | None:
        """The position of a raise that came before the rules found the alert."""
        waiting = self.row(RAISES, (alert_id,))
        if waiting is None or waiting[1] != county:
            return None
        self.delete(RAISES, (alert_id,))
        return int(waiting[0])

    def on_alert_raised(self, event: LoggedEvent) -> None:
        """The monitor raised an alert in the log: its row shows the position.

        A raise of an alert the rules have not found (yet) waits aside, and is
        taken up when they find it; one naming another county than the alert's
        never is. A second raise of one alert (the domain refuses it) changes
        nothing.
        """
        body = event.body
        alert_id = body.get("alert_id")
        if not isinstance(alert_id, str):
            return
        county = _text_or_none(body.get("county"))
        key = (alert_id,)
        row = self.row(ALERTS, key)
        if row is None:
            if self.row(RAISES, key) is None:
                self.put(RAISES, key, (event.seq, county))
            return
        if row[A_RAISED] is not None or row[A_COUNTY] != county:
            return
        self.put(ALERTS, key, (*row[:A_RAISED], event.seq))
        self.cite(ALERTS, key, event.seq)

    def on_alert_resolved(self, event: LoggedEvent) -> None:
        """An auditor's resolution sets the alert's status and reason.

        A resolution of an alert the rules never raised, or naming a county other
        than the alert's (a county auditor reaching beyond their county), is kept
        aside and changes nothing, not even an alert raised later.
        """
        body = event.body
        alert_id = body.get("alert_id")
        outcome = body.get("outcome")
        reason = body.get("reason")
        county = body.get("county")
        key = (alert_id if isinstance(alert_id, str) else "",)
        row = self.row(ALERTS, key)
        matched = (
            row is not None
            and outcome in OUTCOMES
            and isinstance(reason, str)
            and (county is None or county == row[1])
        )
        if not matched or row is None:
            self.put(
                UNMATCHED,
                (event.seq,),
                (
                    key[0],
                    _text_or_none(outcome),
                    _text_or_none(reason),
                    _text_or_none(county),
                ),
            )
            return
        self.put(
            ALERTS, key, (*row[:A_STATUS], str(outcome), str(reason), row[A_RAISED])
        )
        self.cite(ALERTS, key, event.seq)

    # Persons -----------------------------------------------------------------------

    def facts_of(self, person_ref: str, seq: int) -> Any:
        """The person's stored facts, asking the lookup the first time."""
        key = (person_ref,)
        row = self.row(PERSONS, key)
        if row is not None:
            return row
        facts = self.lookup(person_ref)
        stored = _facts_row(facts, seq)
        self.put(PERSONS, key, stored)
        return stored


def _facts_row(facts: PersonFacts | None, seq: int) -> tuple[Any, ...]:
    if facts is None:
        return (None, None, None, None, seq)
    return (
        None if facts.birth_date is None else facts.birth_date.isoformat(),
        dumps(list(facts.id_problems)),
        facts.name_key,
        dumps(list(facts.other_name_keys)),
        seq,
    )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
