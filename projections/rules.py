"""The fraud rules R01 to R15 as one pure projection, with alerts and resolutions.

``FraudRules`` follows the log's entries and finds an alert (a row of the
public ``alerts`` table, with the entries behind it as evidence) whenever a
rule finds a pattern. The rules engine's monitor then raises it in the log
(``api.alert_raiser``: a signed ``alert.raise``, entry ``Alert.Raised``), which
the row shows as ``raised_seq``; an auditor's ``AlertResolutions.AlertResolved``
entry sets the alert's status. Rules never refuse anything: the domain refused what it
could when the event was recorded, and what is left is flagged for a person to
look at. ``docs/fraud-rules.md`` defines each rule exactly, with its evidence.

Where each rule lives:

- R01 to R08, R11, R13 and R12's payment totals: ``rules_payments``;
- R12's allocations, R14 and R15: ``rules_money``;
- R09 and R10 (what the vault says about a person, ``projections.people``): here,
  when a person first appears on a roll.

Invariants (besides those of ``projections.base``):

- ``apply`` costs O(1) dictionary operations per entry: every rule reads a few
  rows keyed by what the entry names, never a scan.
- The person lookup is asked once per person, and what it said is kept in a
  private row, so a restored projection never asks again.
- The same input gives the same alerts whether applied in one go or in pieces
  with restarts from stored rows in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from domain.alerts import alert_id_of
from domain.policy import Policy, load_policy
from projections.feed import LoggedEvent
from projections.people import PersonLookup, no_lookup
from projections.rules_core import (
    ALERTS,
    NAMES,
    PERSONS,
    POOR,
    STATUS,
    dumps,
    loads,
    parse_day,
)
from projections.rules_data import RulesData, load_rules_data
from projections.rules_money import MoneyRules, name_stem

logger = logging.getLogger(__name__)

Handler = Callable[[LoggedEvent, str], None]

# The entries on which a person is first seen and looked up.
_ROLL_ENTRIES = frozenset({"CountyRolls.PoorListed", "CountyRolls.StatusRecorded"})

__all__ = ["ALERTS", "FraudRules", "alert_id_of", "name_stem"]


class FraudRules(MoneyRules):
    """R01 to R15 over the log; alerts in the public ``alerts`` table."""

    # 2: alerts show where the log raised them (``raised_seq``).
    version = 2

    def __init__(
        self,
        policy: Policy | None = None,
        data: RulesData | None = None,
        lookup: PersonLookup = no_lookup,
    ) -> None:
        super().__init__(policy or load_policy(), data or load_rules_data(), lookup)
        self._county_handlers: dict[str, Handler] = {
            "CountyFund.PaymentProposed": self.on_proposed,
            "CountyFund.PaymentApproved": self.on_approved,
            "CountyFund.PaymentRejected": self.on_rejected,
            "CountyFund.TransferReversed": self.on_reversed,
            "CountyFund.FundsReceived": self.on_received,
            "CountyFund.Allocated": self.on_allocated,
            "CountyFund.ProjectFunded": self.on_project,
            "CountyRolls.PoorListed": self.on_listed,
            "CountyRolls.PoorDelisted": self.on_delisted,
            "CountyRolls.StatusRecorded": self.on_status,
        }
        self._starts = {
            "CountyFund.Opened": "fund",
            "CountyRolls.Started": "rolls",
            "CountySchools.Started": "schools",
        }

    def apply(self, event: LoggedEvent) -> None:
        """Fold one entry; entries no rule follows are passed over."""
        handler = self._county_handlers.get(event.name)
        try:
            if handler is not None:
                county = self.county_of(event)
                if county is not None:
                    handler(event, county)
            elif event.name in self._starts:
                self.on_started(event, self._starts[event.name])
            elif event.name == "Alert.Raised":
                self.on_alert_raised(event)
            elif event.name == "AlertResolutions.AlertResolved":
                self.on_alert_resolved(event)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # NOTE: the domain wrote every entry of this log; one it could not
            # have written is skipped, loudly, rather than stopping every rule.
            logger.warning(
                "fraud rules skipped entry %d (%s): %r", event.seq, event.name, error
            )

    def persons_asked(self, entries: Iterable[LoggedEvent]) -> set[str]:
        """The persons the lookup will be asked about when ``entries`` come next.

        Those a roll entry names for the first time; for a lookup that reads a
        batch's persons in one query. A person missed here is looked up alone,
        and the rows are the same either way.
        """
        if self.lookup is no_lookup:
            return set()
        persons = self._rows[PERSONS]
        asked: set[str] = set()
        for event in entries:
            if event.name in _ROLL_ENTRIES:
                person = event.body.get("person_ref")
                if isinstance(person, str) and (person,) not in persons:
                    asked.add(person)
        return asked

    # Rolls: R09 and R10 ---------------------------------------------------------------

    def on_listed(self, event: LoggedEvent, county: str) -> None:
        """A person on the registered-poor roll; their facts are looked at."""
        body = event.body
        person = str(body["person_ref"])
        listed_on = str(body["listed_on"])
        self.put(
            POOR,
            (county, person),
            (str(body["household_ref"]), listed_on, event.seq, None),
        )
        facts = self._seen(county, person, event.seq)
        born = parse_day(facts[0])
        listed = parse_day(listed_on)
        if born is not None and listed is not None and born > listed:
            self._invalid_id(county, person, ["born-after-listing"], facts, event.seq)

    def on_delisted(self, event: LoggedEvent, county: str) -> None:
        """Taken off the registered-poor roll: later awards are R05."""
        key = (county, str(event.body["person_ref"]))
        row = self.row(POOR, key)
        if row is not None:
            self.put(POOR, key, (*row[:3], event.seq))

    def on_status(self, event: LoggedEvent, county: str) -> None:
        """Where a person studies; the latest one per county counts."""
        body = event.body
        person = str(body["person_ref"])
        boarding = body["boarding"]
        self.put(
            STATUS,
            (county, person),
            (
                str(body["school"]),
                str(body["stage"]),
                int(body["grade"]),
                bool(boarding),
                int(body["year"]),
                event.seq,
            ),
        )
        self._seen(county, person, event.seq)

    def _seen(self, county: str, person: str, seq: int) -> Any:
        """The person's facts; on first sight, R09 and R10 on what they say."""
        facts = self.facts_of(person, seq)
        if facts[4] != seq:
            return facts
        problems = loads(facts[1])
        if problems:
            self._invalid_id(county, person, problems, facts, seq)
        name_key, born = facts[2], facts[0]
        others = [key for key in loads(facts[3]) if key != name_key]
        if name_key is not None and others:
            self.raise_alert(
                "R10",
                county,
                "person",
                person,
                f"one resident ID under {len(others) + 1} different names",
                seq,
                [],
            )
        if isinstance(name_key, str) and isinstance(born, str):
            self._same_name(county, person, name_key, born, seq)
        return facts

    def _invalid_id(
        self,
        county: str,
        person: str,
        problems: list[str],
        facts: Any,
        seq: int,
    ) -> None:
        """R09: the resident ID fails a check (or was born after being listed)."""
        first = facts[4] if isinstance(facts[4], int) else None
        self.raise_alert(
            "R09",
            county,
            "person",
            person,
            f"resident ID: {', '.join(problems)}",
            seq,
            [first],
        )

    def _same_name(
        self, county: str, person: str, name_key: str, born: str, seq: int
    ) -> None:
        """R10: one name and birth date under two or more resident IDs."""
        key = (name_key, born)
        row = self.row(NAMES, key)
        if row is None:
            self.put(NAMES, key, (person, seq, "[]"))
            return
        first, first_seq, others_text = row
        others = loads(others_text)
        if first == person or any(ref == person for ref, _ in others):
            return
        others.append([person, seq])
        self.put(NAMES, key, (first, first_seq, dumps(others)))
        self.raise_alert(
            "R10",
            county,
            "name-birth",
            str(first),
            f"one name and birth date under {len(others) + 1} resident IDs: "
            f"{', '.join([str(first), *(ref for ref, _ in others)])}",
            seq,
            [int(first_seq), *(s for _, s in others)],
        )
