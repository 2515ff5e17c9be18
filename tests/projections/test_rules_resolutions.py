"""The auditors' resolutions as domain events: shapes checked, topics fixed."""

from __future__ import annotations

import pytest

from domain.alerts import AlertResolutions
from domain.errors import InvalidReference

ALERT = "0123456789abcdef"


def test_resolutions_are_recorded_in_order_with_explicit_topics() -> None:
    record = AlertResolutions.start(ALERT, actor="officer:auditor")
    record.resolve(outcome="confirmed", reason="paid twice", actor="officer:auditor")
    record.resolve(
        outcome="recovered", reason="repaid", county="422822", actor="officer:auditor"
    )
    assert record.outcome == "recovered"
    events = record.collect_events()
    resolved = AlertResolutions.AlertResolved
    assert [type(e) for e in events] == [AlertResolutions.Started, resolved, resolved]
    assert AlertResolutions.Started.TOPIC == (
        "fundledger.domain:AlertResolutions.Started@1"
    )
    assert resolved.TOPIC == "fundledger.domain:AlertResolutions.AlertResolved@1"
    assert record.id == AlertResolutions.create_id(ALERT)


@pytest.mark.parametrize(
    ("alert_id", "outcome", "reason"),
    [
        pytest.param("XYZ", "confirmed", "r", id="alert-id"),
        pytest.param(ALERT.upper(), "confirmed", "r", id="uppercase-id"),
        pytest.param(ALERT, "ignored", "r", id="outcome"),
        pytest.param(ALERT, "dismissed", " ", id="empty-reason"),
        pytest.param(ALERT, "dismissed", "two\nlines", id="multi-line-reason"),
    ],
)
def test_bad_resolutions_are_refused(alert_id: str, outcome: str, reason: str) -> None:
    def resolve() -> None:
        record = AlertResolutions.start(alert_id, actor="officer:auditor")
        record.resolve(outcome=outcome, reason=reason, actor="officer:auditor")

    with pytest.raises(InvalidReference):
        resolve()
