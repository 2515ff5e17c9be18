"""Auditors' resolutions of fraud alerts, recorded like every other decision.

The fraud rules (``projections.rules``) raise alerts; they are views, rebuilt
from the log at will. What an auditor decides about an alert is not a view: it
is a signed decision and an event of its own, so that the log shows who
confirmed, dismissed or recovered what, when and why. The rules fold these
events into each alert's status.

One ``AlertResolutions`` aggregate per alert holds its resolutions in order; a
later one (a confirmed double claim, later recovered) supersedes the earlier.
The domain cannot know whether an alert exists (alerts are projections, above
the domain), so it checks only the shape of the decision; the rules set aside a
resolution that names no alert they raised.

Invariants: the outcome is one of ``OUTCOMES``; an alert id is 16 lowercase hex
digits, as the rules derive them; every event names its actor and carries the
signatures of the request that authorised it.
"""

from __future__ import annotations

import re
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidReference
from domain.funds import check_choice, check_reference

ALERTS_NAMESPACE = UUID("b4a0c7e2-3d5f-4e61-8a92-5c1d7e3f9b08")
OUTCOMES = ("confirmed", "dismissed", "recovered")
_ALERT_ID = re.compile(r"[0-9a-f]{16}")

Signatures = list[dict[str, str]]


def check_alert_id(alert_id: object) -> str:
    """Accept an alert id as the rules make them: 16 lowercase hex digits."""
    if not isinstance(alert_id, str) or _ALERT_ID.fullmatch(alert_id) is None:
        raise InvalidReference("alert_id", alert_id, "16 lowercase hex digits")
    return alert_id


class AlertResolutions(Aggregate):
    """The resolutions of one fraud alert, oldest first."""

    TOPIC = "fundledger.domain:AlertResolutions@1"

    class Created(Aggregate.Created):
        TOPIC = "fundledger.domain:AlertResolutions.Created@1"

    class Started(Created):
        TOPIC = "fundledger.domain:AlertResolutions.Started@1"
        alert_id: str
        actor: str
        signatures: Signatures

    class AlertResolved(Aggregate.Event):
        TOPIC = "fundledger.domain:AlertResolutions.AlertResolved@1"
        alert_id: str
        outcome: str
        reason: str
        county: str | None
        actor: str
        signatures: Signatures

    @staticmethod
    def create_id(alert_id: str) -> UUID:
        """One aggregate per alert, derived from the alert's id."""
        return uuid5(ALERTS_NAMESPACE, f"alert:{alert_id}")

    @event(Started)
    def __init__(self, *, alert_id: str, actor: str, signatures: Signatures) -> None:
        self.alert_id = alert_id
        self.outcomes: list[tuple[str, str]] = []

    @classmethod
    def start(
        cls, alert_id: str, *, actor: str, signatures: Signatures | None = None
    ) -> AlertResolutions:
        """The empty record of an alert's resolutions."""
        return cls(
            alert_id=check_alert_id(alert_id), actor=actor, signatures=signatures or []
        )

    @property
    def outcome(self) -> str | None:
        """The latest outcome, or None before any resolution."""
        return self.outcomes[-1][0] if self.outcomes else None

    def resolve(
        self,
        *,
        outcome: str,
        reason: str,
        county: str | None = None,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Record an auditor's outcome and reason.

        ``county`` is the county the auditor acts for, when they act for one: the
        rules apply the resolution only to an alert of that county.
        """
        self._resolve(
            alert_id=self.alert_id,
            outcome=check_choice("outcome", outcome, OUTCOMES),
            reason=check_reference("reason", reason),
            county=None if county is None else check_reference("county", county),
            actor=actor,
            signatures=signatures or [],
        )

    @event(AlertResolved)
    def _resolve(
        self,
        *,
        alert_id: str,
        outcome: str,
        reason: str,
        county: str | None,
        actor: str,
        signatures: Signatures,
    ) -> None:
        self.outcomes.append((outcome, reason))
