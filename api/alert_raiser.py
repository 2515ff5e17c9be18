"""The monitor: every alert the fraud rules found, raised in the log as an event.

The fraud rules are a projection (``projections.rules``): they flag after the
fact and never block a write. What they found becomes part of the record here:
for each alert of the ``alerts`` table not raised yet, the rules engine's own
officer (role ``monitor``, enrolled by an administrator like any officer)
signs an ``alert.raise`` request carrying the alert's rule, county, subject,
summary and evidence positions, and the request is recorded like every other
write (``api.commands``), many per transaction.

Invariants:

- A raise says only what the alerts row says: rule, county, subject (a
  pseudonym or a code), summary (values and pseudonyms) and log positions;
  never a name, resident ID or bank account, which the rules never see.
- The request id is ``alert-raise-<alert id>``: sending the same raise again
  is a replay and records nothing. An alert the log holds already (raised
  under any key) is left out before anything is signed, so a view that lags
  behind its own raises never raises twice.
- Alerts are raised in the order the rules found them (their first entry,
  then their id), ``batch_size`` requests per transaction: a batch is recorded
  whole or not at all.
- One alert the domain refuses (a summary too long, say) never stops the
  others: its batch is sent again one request at a time, and the refusal is
  logged and counted. A key that may not raise alerts (not a monitor's, not
  active, or acting for less than the alert's county) stops the pass at once
  with nothing of that batch recorded: the monitor acts for the province.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from api.app import FundLedger
from api.commands import execute, execute_each
from api.requests import InvalidRequest, OfficerKey, SignedRequest, parse_request
from domain.alerts import MAX_EVIDENCE, MAX_SUMMARY_LENGTH, Alert, AlertAlreadyRaised
from domain.errors import DomainError
from domain.officers import OutsideJurisdiction, RevokedKey, UnknownKey, WrongRole
from projections.base import Key, Row, Table
from projections.rules import ALERTS, FraudRules
from projections.rules_core import A_RAISED
from projections.store import ViewStore

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
ALERTS_TABLE: Table = next(t for t in FraudRules.tables if t.name == ALERTS)
_COLUMNS = [column.name for column in ALERTS_TABLE.columns]
# Refusals of the key itself, not of one alert: they end the pass.
_UNAUTHORISED = (UnknownKey, RevokedKey, WrongRole, OutsideJurisdiction)


@dataclass(frozen=True)
class FoundAlert:
    """One row of the rules' ``alerts`` table, with its evidence."""

    alert_id: str
    rule: str
    county: str | None
    subject_kind: str
    subject_ref: str
    summary: str
    first_seq: int
    raised_seq: int | None
    evidence: list[int]

    def params(self) -> dict[str, Any]:
        """The parameters of its ``alert.raise``, cut to what the domain takes."""
        summary = self.summary
        if len(summary) > MAX_SUMMARY_LENGTH:
            summary = summary[: MAX_SUMMARY_LENGTH - 1] + "…"
        # TODO(#4): an alert citing more than MAX_EVIDENCE entries is raised with
        # its first ones only; the alerts row keeps them all.
        params: dict[str, Any] = {
            "alert_id": self.alert_id,
            "rule": self.rule,
            "subject_kind": self.subject_kind,
            "subject_ref": self.subject_ref,
            "summary": summary,
            "evidence": self.evidence[:MAX_EVIDENCE],
        }
        if self.county is not None:
            params["county"] = self.county
        return params


@dataclass(frozen=True)
class Raised:
    """What one pass of the monitor did."""

    raised: int  # alerts recorded in the log now
    already: int  # found in the log before (a view lagging behind its raises)
    refused: int  # refused by the domain, logged

    def summary(self) -> str:
        """One line for people."""
        return (
            f"raised {self.raised} alerts in the log; {self.already} were raised "
            f"before; {self.refused} refused"
        )


def found_alert(key: Key, row: Row, evidence: list[int]) -> FoundAlert:
    """An alerts row (key, values, evidence) as a ``FoundAlert``."""
    record: dict[str, Any] = dict(zip(_COLUMNS, (*key, *row), strict=True))
    return FoundAlert(
        alert_id=str(record["alert_id"]),
        rule=str(record["rule"]),
        county=record["county"],
        subject_kind=str(record["subject_kind"]),
        subject_ref=str(record["subject_ref"]),
        summary=str(record["summary"]),
        first_seq=int(record["first_seq"]),
        raised_seq=record["raised_seq"],
        evidence=list(evidence),
    )


def unraised_in(rules: FraudRules) -> list[FoundAlert]:
    """The alerts a running projection holds and has not seen raised."""
    return _in_order(
        found_alert(key, row, rules.evidence(ALERTS, key))
        for key, row in rules.rows(ALERTS)
        if row[A_RAISED] is None
    )


def unraised_stored(store: ViewStore) -> list[FoundAlert]:
    """The alerts the views runner stored and has not seen raised."""
    rows = store.rows(FraudRules, ALERTS_TABLE, None)
    return _in_order(
        found_alert(key, row, evidence)
        for key, row, evidence in rows
        if row[A_RAISED] is None
    )


def _in_order(alerts: Iterable[FoundAlert]) -> list[FoundAlert]:
    return sorted(alerts, key=lambda alert: (alert.first_seq, alert.alert_id))


def raise_request(key: OfficerKey, alert: FoundAlert) -> SignedRequest:
    """The monitor's signed ``alert.raise`` for one alert."""
    document = key.sign(
        "alert.raise", alert.params(), request_id=f"alert-raise-{alert.alert_id}"
    )
    return parse_request(document)


def raise_alerts(
    ledger: FundLedger,
    key: OfficerKey,
    alerts: Sequence[FoundAlert],
    *,
    batch_size: int = BATCH_SIZE,
) -> Raised:
    """Raise each alert the log does not hold yet; see the module docstring."""
    if batch_size < 1:
        raise InvalidRequest(f"batch size must be at least 1, got {batch_size}")
    new = [alert for alert in alerts if not _in_log(ledger, alert)]
    raised = refused = 0
    for start in range(0, len(new), batch_size):
        done, failed = _raise_batch(ledger, key, new[start : start + batch_size])
        raised += done
        refused += failed
    return Raised(raised, len(alerts) - len(new), refused)


def _in_log(ledger: FundLedger, alert: FoundAlert) -> bool:
    return Alert.create_id(alert.alert_id) in ledger.repository


def _raise_batch(
    ledger: FundLedger, key: OfficerKey, batch: list[FoundAlert]
) -> tuple[int, int]:
    """(raised, refused) for one batch: at once, else one by one."""
    try:
        receipts = execute_each(ledger, [raise_request(key, a) for a in batch])
    except _UNAUTHORISED:
        raise
    except (DomainError, InvalidRequest) as error:
        # Another monitor raised one of them meanwhile, or the domain refuses
        # one: send them one at a time, so that only that one is left out.
        logger.info("raising %d alerts at once failed (%s)", len(batch), error)
    else:
        return sum(not receipt.replayed for receipt in receipts), 0
    raised = refused = 0
    for alert in batch:
        try:
            receipt = execute(ledger, raise_request(key, alert))
        except AlertAlreadyRaised:
            continue
        except _UNAUTHORISED:
            raise
        except (DomainError, InvalidRequest) as error:
            logger.warning("alert %s was not raised: %s", alert.alert_id, error)
            refused += 1
            continue
        raised += not receipt.replayed
    return raised, refused
