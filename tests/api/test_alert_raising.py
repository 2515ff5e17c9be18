"""Alerts as events of the log, end to end on the tiny synthetic province.

The province is built through the CLI (``demo --scale tiny``, which enrols the
demo's monitor), the views runner finds its planted fraud cases, and the
monitor raises them: one ``Alert.Raised`` entry per alert of the view, with
its rule, county and evidence; nothing personal in any of them; nothing new
when raised again; nothing at all with a key that is not a monitor's. A raised
alert can be resolved, an unraised one cannot, and the views rebuilt from
scratch over a log holding the raises equal the views followed step by step.
Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import PersistenceError

from api.alert_quality import RULE_IDS, score
from api.alert_raiser import ALERTS_TABLE
from api.app import FundLedger
from api.cli import main
from api.vault_store import DeploymentSecrets, Vault
from ledger.application import open_ledger
from ledger.storage import parse_url
from projections.disclosure import Disclosure
from projections.feed import LoggedEvent
from projections.rules import FraudRules
from projections.store import ViewStore, stored_rows
from tests.projections.runner_support import all_entries, cli_args

MONITOR = "demo-demo-monitor.key"
RAISED = "Alert.Raised"


def _province(url: str, tmp_path: Path) -> tuple[list[str], dict[str, Any]]:
    """The tiny province and its truth; views not updated yet."""
    base = cli_args(url, tmp_path)
    admin = str(tmp_path / "admin.key")
    truth = tmp_path / "truth.json"
    init = [*base, "init", "--origin", "raise.example/log", "--admin-key", admin]
    assert main(init) == 0
    demo = [*base, "demo", "--key", admin, "--scale", "tiny", "--truth", str(truth)]
    assert main(demo) == 0
    return base, json.loads(truth.read_text(encoding="utf-8"))


def _raised(url: str) -> list[LoggedEvent]:
    return [event for event in all_entries(url) if event.name == RAISED]


def _alerts(url: str) -> dict[str, dict[str, Any]]:
    """The stored alerts by id, each with its evidence."""
    columns = [column.name for column in ALERTS_TABLE.columns]
    with ViewStore(parse_url(url)) as store:
        rows = store.rows(FraudRules, ALERTS_TABLE, None)
    return {
        str(key[0]): dict(zip(columns, (*key, *row), strict=True))
        | {"evidence": evidence}
        for key, row, evidence in rows
    }


def _size(url: str) -> int:
    with ViewStore(parse_url(url)) as store:
        return store.log_size()


def test_the_monitor_raises_every_alert_once(database_url: str, tmp_path: Path) -> None:
    base, truth = _province(database_url, tmp_path)
    assert main([*base, "views", "update"]) == 0
    found = _alerts(database_url)
    assert {a["rule"] for a in found.values()} == {
        s.rule for s in score(found.values(), truth).values() if s.planted
    }

    # 1. A key that is not a monitor's raises nothing.
    size = _size(database_url)
    recorder = str(tmp_path / "province-tiny-recorder.key")
    with pytest.raises(SystemExit) as refused:
        main([*base, "alert", "raise", "--key", recorder])
    assert refused.value.code == 2
    assert _size(database_url) == size

    # 2. The monitor raises each alert of the view, in small batches, as it is.
    monitor = str(tmp_path / MONITOR)
    assert main([*base, "alert", "raise", "--key", monitor, "--batch-size", "7"]) == 0
    raised = _raised(database_url)
    assert len(raised) == len(found)
    for event in raised:
        alert = found[event.body["alert_id"]]
        assert event.actor == "officer:demo-monitor"
        for field in ("rule", "county", "subject_kind", "subject_ref", "summary"):
            assert event.body[field] == alert[field], field
        assert event.body["evidence"] == alert["evidence"]
    planted = {case["rule"] for case in truth["cases"]}
    assert planted <= {event.body["rule"] for event in raised}
    assert len(planted) == len(RULE_IDS) - 1  # R12: the domain prevents it

    # 3. Raised again: nothing new.
    size = _size(database_url)
    assert main([*base, "alert", "raise", "--key", monitor]) == 0
    assert _size(database_url) == size

    # 4. Once the views followed the raises, each alert names its entry.
    assert main([*base, "views", "update"]) == 0
    positions = {event.seq: event.body["alert_id"] for event in raised}
    after = _alerts(database_url)
    assert after.keys() == found.keys()
    for alert_id, alert in after.items():
        assert positions[alert["raised_seq"]] == alert_id
        assert alert["raised_seq"] in alert["evidence"]
    assert main([*base, "verify"]) == 0


def test_raised_alerts_hold_nothing_personal(database_url: str, tmp_path: Path) -> None:
    base, truth = _province(database_url, tmp_path)
    assert main([*base, "views", "update"]) == 0
    assert main([*base, "alert", "raise", "--key", str(tmp_path / MONITOR)]) == 0
    raised = [json.dumps(e.body, ensure_ascii=False) for e in _raised(database_url)]
    assert raised

    people = {ref for case in truth["cases"] for ref in case["person_refs"]}
    secrets = DeploymentSecrets.load(tmp_path / "secrets.key")
    ledger, _ = open_ledger(parse_url(database_url), None, app_class=FundLedger)
    try:
        vault = Vault(ledger.log_recorder, secrets).get_many(people)
    finally:
        ledger.close()
    personal = [
        value
        for data in vault.values()
        if data is not None
        for value in (data.name, data.resident_id, data.bank_account)
        if value
    ]
    assert len(personal) > len(people)  # the check below has targets
    assert [value for value in personal if any(value in text for text in raised)] == []
    # Their pseudonyms are there instead.
    assert any(ref in text for ref in people for text in raised)


def test_only_a_raised_alert_is_resolved(database_url: str, tmp_path: Path) -> None:
    base, _ = _province(database_url, tmp_path)
    admin = str(tmp_path / "admin.key")
    auditor = str(tmp_path / "auditor.key")
    enrol = [
        *base, "officer", "enrol", "--key", admin, "--id", "officer:auditor",
        "--name", "审计", "--role", "auditor", "--jurisdiction", "420000",
        "--out", auditor,
    ]  # fmt: skip
    assert main(enrol) == 0
    assert main([*base, "views", "update"]) == 0
    alert_id = sorted(_alerts(database_url))[0]

    def resolve(outcome: str, reason: str) -> list[str]:
        return [
            *base, "alert", "resolve", alert_id, "--key", auditor,
            "--outcome", outcome, "--reason", reason,
        ]  # fmt: skip

    size = _size(database_url)
    with pytest.raises(SystemExit):
        main(resolve("confirmed", "before it was raised"))
    assert _size(database_url) == size

    assert main([*base, "alert", "raise", "--key", str(tmp_path / MONITOR)]) == 0
    assert main(resolve("recovered", "repaid by the county")) == 0
    assert main([*base, "views", "update"]) == 0
    alert = _alerts(database_url)[alert_id]
    assert (alert["status"], alert["reason"]) == ("recovered", "repaid by the county")
    assert isinstance(alert["raised_seq"], int)


def test_views_rebuilt_over_raised_alerts_equal_followed_views(
    database_url: str, tmp_path: Path
) -> None:
    base, _ = _province(database_url, tmp_path)
    monitor = str(tmp_path / MONITOR)
    # Followed in small batches, with raises between catch-ups.
    assert main([*base, "views", "update", "--batch-size", "97"]) == 0
    assert main([*base, "alert", "raise", "--key", monitor]) == 0
    assert main([*base, "views", "update", "--batch-size", "13"]) == 0

    projections = (Disclosure(), FraudRules())
    with ViewStore(parse_url(database_url)) as store:
        followed = {p.name: stored_rows(store, p) for p in projections}
    assert main([*base, "views", "rebuild", "--batch-size", "100000"]) == 0
    with ViewStore(parse_url(database_url)) as store:
        rebuilt = {p.name: stored_rows(store, p) for p in projections}
    assert rebuilt == followed
    assert all(a["raised_seq"] is not None for a in _alerts(database_url).values())


def _caught_up_alerts(url: str) -> dict[str, dict[str, Any]]:
    """The stored alerts once every view is at the end of the log, else none."""
    try:
        with ViewStore(parse_url(url)) as store:
            positions = [p for p, _ in store.positions().values()]
            caught_up = len(positions) == 3 and min(positions) == store.log_size()
    except PersistenceError:  # the follower has not made its tables yet
        return {}
    return _alerts(url) if caught_up else {}


def test_a_follower_raises_as_it_goes(database_url: str, tmp_path: Path) -> None:
    base, _ = _province(database_url, tmp_path)
    root = Path(__file__).resolve().parents[2]
    errors = (tmp_path / "follower.err").open("wb")
    follower = subprocess.Popen(
        [
            sys.executable, "-m", "api.cli", *base, "views", "follow",
            "--interval", "0.2", "--raise-with", str(tmp_path / MONITOR),
        ],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            alerts = _caught_up_alerts(database_url)
            if alerts and all(a["raised_seq"] is not None for a in alerts.values()):
                break
            assert follower.poll() is None, (tmp_path / "follower.err").read_text()
            time.sleep(0.5)
        else:
            pytest.fail("the follower did not raise every alert in time")
    finally:
        follower.terminate()
        follower.wait(timeout=60)
        errors.close()
    assert len(_raised(database_url)) == len(alerts)


def test_the_demo_raises_its_alerts_when_asked(
    database_url: str, tmp_path: Path
) -> None:
    base = cli_args(database_url, tmp_path)
    admin = str(tmp_path / "admin.key")
    init = [*base, "init", "--origin", "raise.example/log", "--admin-key", admin]
    assert main(init) == 0
    assert main([*base, "demo", "--key", admin]) == 0
    assert _raised(database_url) == []  # views and alerts: after the fact

    assert main([*base, "demo", "--key", admin, "--raise-alerts"]) == 0
    raised = _raised(database_url)
    assert raised  # the demo's students share names and birth dates: R10
    alerts = _alerts(database_url)
    assert {e.body["alert_id"] for e in raised} == alerts.keys()
    assert all(a["raised_seq"] is not None for a in alerts.values())
    assert main([*base, "verify"]) == 0
