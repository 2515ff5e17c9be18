"""Fraud alerts in the log: raised by the rules' monitor, resolved by auditors.

The fraud rules (``projections.rules``) find alerts; the rows they find them in
are views, rebuilt from the log at will. What happens to an alert is not a view
but a signed decision, an event of its own, so that the log shows which alerts
were raised, and who confirmed, dismissed or recovered what, when and why:

- ``Alert``: one per alert id, created by ``alert.raise``, which the rules
  engine's own officer (role ``monitor``) signs for each alert the rules found,
  after the fact; it carries the rule, the county, the subject, a summary and
  the log positions of the evidence. An alert is raised once.
- ``AlertResolutions``: one per alert id, holding the auditors' resolutions in
  order; a later one (a confirmed double claim, later recovered) supersedes
  the earlier. ``api.alerts`` accepts a resolution only of a raised alert.

The domain cannot know what the rules would find (they are projections, above
the domain), so it checks the shape of a raise, and that its alert id is the one
``alert_id_of`` derives from its rule and subject; the rules set aside a raise
or a resolution that names no alert they found.

Invariants: an alert id is 16 lowercase hex digits of ``alert_id_of``; an
``Alert`` is created once per id and never changes; its summary and subject are
pseudonyms, codes and values, never personal data (the rules make them so, and
the rules' tests check it); its evidence is a sorted list of distinct log
positions; the outcome of a resolution is one of ``OUTCOMES``; every event names
its actor and carries the signatures of the request that authorised it.
"""

from __future__ import annotations

import hashlib
import re
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, InvalidReference
from domain.funds import check_choice, check_reference

ALERTS_NAMESPACE = UUID("b4a0c7e2-3d5f-4e61-8a92-5c1d7e3f9b08")
OUTCOMES = ("confirmed", "dismissed", "recovered")
_ALERT_ID = re.compile(r"[0-9a-f]{16}")
_RULE = re.compile(r"R[0-9]{2}")
MAX_SUMMARY_LENGTH = 4000
MAX_EVIDENCE = 10_000

Signatures = list[dict[str, str]]


class AlertAlreadyRaised(DomainError):
    """An alert.raise for an alert that the log holds already."""

    def __init__(self, alert_id: str) -> None:
        super().__init__(f"alert {alert_id} was raised before; it is raised once")
        self.alert_id = alert_id


class AlertNotRaised(DomainError):
    """A resolution of an alert that was never raised in the log."""

    def __init__(self, alert_id: str) -> None:
        super().__init__(
            f"alert {alert_id} was never raised in the log; only a raised alert "
            "can be resolved"
        )
        self.alert_id = alert_id


def alert_id_of(rule: str, subject_kind: str, subject_ref: str) -> str:
    """The alert's id: 16 hex digits of SHA-256 over rule and subject.

    A pure function, so that the same fraud found again (incrementally, from
    scratch, after a restart) is the same alert, raised and resolved for good.
    """
    text = f"{rule}\x1f{subject_kind}\x1f{subject_ref}".encode()
    return hashlib.sha256(text).hexdigest()[:16]


def check_alert_id(alert_id: object) -> str:
    """Accept an alert id as the rules make them: 16 lowercase hex digits."""
    if not isinstance(alert_id, str) or _ALERT_ID.fullmatch(alert_id) is None:
        raise InvalidReference("alert_id", alert_id, "16 lowercase hex digits")
    return alert_id


def check_rule(rule: object) -> str:
    """Accept a rule id: R and two digits (R01 to R15 today)."""
    if not isinstance(rule, str) or _RULE.fullmatch(rule) is None:
        raise InvalidReference("rule", rule, "R and two digits, e.g. R01")
    return rule


def check_summary(summary: object) -> str:
    """Accept one line of text of at most ``MAX_SUMMARY_LENGTH`` characters."""
    if not isinstance(summary, str) or not summary.strip():
        raise InvalidReference("summary", summary, "a non-empty string")
    if len(summary) > MAX_SUMMARY_LENGTH or "\n" in summary:
        raise InvalidReference(
            "summary",
            summary[:80],
            f"one line of at most {MAX_SUMMARY_LENGTH} characters",
        )
    return summary


def check_evidence(evidence: object) -> list[int]:
    """Accept 1 to ``MAX_EVIDENCE`` distinct log positions in ascending order."""
    expected = f"1 to {MAX_EVIDENCE} log positions (integers >= 0), ascending"
    if not isinstance(evidence, list) or not 0 < len(evidence) <= MAX_EVIDENCE:
        raise InvalidReference("evidence", _shown(evidence), expected)
    previous = -1
    for position in evidence:
        if (
            not isinstance(position, int)
            or isinstance(position, bool)
            or position <= previous
        ):
            raise InvalidReference("evidence", _shown(evidence), expected)
        previous = position
    return list(evidence)


def _shown(value: object) -> object:
    """A long list cut short for an error message."""
    return value[:20] if isinstance(value, list) else value


class Alert(Aggregate):
    """One fraud alert as the log holds it: raised once, never changed.

    Created by the monitor's ``alert.raise``; ``AlertResolutions`` holds what
    auditors decided about it.
    """

    TOPIC = "fundledger.domain:Alert@1"

    class Created(Aggregate.Created):
        TOPIC = "fundledger.domain:Alert.Created@1"

    class Raised(Created):
        TOPIC = "fundledger.domain:Alert.Raised@1"
        alert_id: str
        rule: str
        county: str | None
        subject_kind: str
        subject_ref: str
        summary: str
        evidence: list[int]
        actor: str
        signatures: Signatures

    @staticmethod
    def create_id(alert_id: str) -> UUID:
        """One aggregate per alert, derived from the alert's id."""
        return uuid5(ALERTS_NAMESPACE, f"raised:{alert_id}")

    @event(Raised)
    def __init__(
        self,
        *,
        alert_id: str,
        rule: str,
        county: str | None,
        subject_kind: str,
        subject_ref: str,
        summary: str,
        evidence: list[int],
        actor: str,
        signatures: Signatures,
    ) -> None:
        self.alert_id = alert_id
        self.rule = rule
        self.county = county
        self.evidence = evidence

    @classmethod
    def record(
        cls,
        *,
        alert_id: str,
        rule: str,
        county: str | None,
        subject_kind: str,
        subject_ref: str,
        summary: str,
        evidence: list[int],
        actor: str,
        signatures: Signatures | None = None,
    ) -> Alert:
        """The alert the rules found, checked for shape and for its id."""
        rule = check_rule(rule)
        subject_kind = check_reference("subject_kind", subject_kind)
        subject_ref = check_reference("subject_ref", subject_ref)
        derived = alert_id_of(rule, subject_kind, subject_ref)
        if check_alert_id(alert_id) != derived:
            raise InvalidReference(
                "alert_id", alert_id, f"{derived}, the id of this rule and subject"
            )
        return cls(
            alert_id=alert_id,
            rule=rule,
            county=None if county is None else check_reference("county", county),
            subject_kind=subject_kind,
            subject_ref=subject_ref,
            summary=check_summary(summary),
            evidence=check_evidence(evidence),
            actor=actor,
            signatures=signatures or [],
        )


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
