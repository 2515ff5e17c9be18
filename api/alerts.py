"""The ``alert.raise`` and ``alert.resolve`` commands: alerts as signed events.

``alert.raise`` records an alert the fraud rules found (``api.alert_raiser``
sends it, signed by the rules engine's own officer, role ``monitor``): one
``Alert`` per alert id, created once. ``alert.resolve`` records an auditor's
resolution, and only of an alert the log raised: an auditor decides about what
the log says was flagged, never about a row that a later version of the rules
might not find. Since an alert is raised once and never withdrawn from the log,
that check cannot go stale between the check and the save.

Both are authorised against the county they name; without one, against the
province the deployment's units start from, so a county officer cannot leave
it out. An auditor acting for a county names it, and the rules apply that
resolution only to an alert of that county.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from api.app import FundLedger
from domain.alerts import (
    Alert,
    AlertAlreadyRaised,
    AlertNotRaised,
    AlertResolutions,
    check_alert_id,
)
from domain.units import Level

Signatures = list[dict[str, str]]


def raise_signature(  # noqa: PLR0917 - a command's parameters, read by name
    alert_id: str,
    rule: str,
    subject_kind: str,
    subject_ref: str,
    summary: str,
    evidence: list[int],
    county: str | None = None,
) -> None:
    """Raise a fraud alert the rules found (the monitor's key)."""


def resolve_signature(
    alert_id: str, outcome: str, reason: str, county: str | None = None
) -> None:
    """Resolve a raised fraud alert: confirmed, dismissed or recovered."""


def alert_target(ledger: FundLedger, params: dict[str, Any]) -> tuple[str, ...]:
    """The unit the officer must cover: the county named, else the province."""
    county = params.get("county")
    if isinstance(county, str):
        return (county,)
    provinces = [unit.code for unit in ledger.units if unit.level is Level.PROVINCE]
    return (provinces[0],)


def apply_raise(
    ledger: FundLedger, params: dict[str, Any], actor: str, signatures: Signatures
) -> Aggregate:
    """A new ``Alert``; refused if the log raised this alert before."""
    alert_id = check_alert_id(params["alert_id"])
    if Alert.create_id(alert_id) in ledger.repository:
        raise AlertAlreadyRaised(alert_id)
    return Alert.record(
        alert_id=alert_id,
        rule=params["rule"],
        county=params.get("county"),
        subject_kind=params["subject_kind"],
        subject_ref=params["subject_ref"],
        summary=params["summary"],
        evidence=params["evidence"],
        actor=actor,
        signatures=signatures,
    )


def apply_resolution(
    ledger: FundLedger, params: dict[str, Any], actor: str, signatures: Signatures
) -> Aggregate:
    """Load (or start) the alert's resolutions and record this one."""
    alert_id = check_alert_id(params["alert_id"])
    if Alert.create_id(alert_id) not in ledger.repository:
        raise AlertNotRaised(alert_id)
    record_id = AlertResolutions.create_id(alert_id)
    if record_id in ledger.repository:
        record: AlertResolutions = ledger.repository.get(record_id)
    else:
        record = AlertResolutions.start(alert_id, actor=actor, signatures=signatures)
    record.resolve(
        outcome=params["outcome"],
        reason=params["reason"],
        county=params.get("county"),
        actor=actor,
        signatures=signatures,
    )
    return record
