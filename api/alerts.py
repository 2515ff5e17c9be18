"""The ``alert.resolve`` command: an auditor's signed resolution of a fraud alert.

An auditor acting for the province resolves any alert; one acting for a county
names it (``county``), and the rules apply that resolution only to an alert of
that county. Without a county, the request is authorised against the province
the deployment's units start from, so a county auditor cannot leave it out.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from api.app import FundLedger
from domain.alerts import AlertResolutions, check_alert_id
from domain.units import Level

Signatures = list[dict[str, str]]


def resolve_signature(
    alert_id: str, outcome: str, reason: str, county: str | None = None
) -> None:
    """The parameters of alert.resolve."""


def resolution_target(ledger: FundLedger, params: dict[str, Any]) -> tuple[str, ...]:
    """The unit the auditor must cover: the county named, else the province."""
    county = params.get("county")
    if isinstance(county, str):
        return (county,)
    provinces = [unit.code for unit in ledger.units if unit.level is Level.PROVINCE]
    return (provinces[0],)


def apply_resolution(
    ledger: FundLedger, params: dict[str, Any], actor: str, signatures: Signatures
) -> Aggregate:
    """Load (or start) the alert's resolutions and record this one."""
    alert_id = check_alert_id(params["alert_id"])
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
