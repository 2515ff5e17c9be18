"""Auditors over HTTP: alerts with evidence, signed resolutions, the export.

The export must be the log's exact entries and must hold no personal data: the
demo vaults synthetic students (names, resident IDs) and pays them, and none of
those values may appear in it, while their pseudonyms do.
"""

from __future__ import annotations

import json
from typing import Any

from api.demo import COUNTIES, STUDENTS, demo_resident_id
from api.requests import OfficerKey
from tests.api.http.support import Served, assert_problem, check_receipt

PREFECTURE = "422800"


def enrol_auditor(served: Served) -> OfficerKey:
    key = OfficerKey.generate("officer:http-auditor")
    document = served.key("admin").sign(
        "officer.enrol",
        {
            "officer_id": key.officer_id,
            "name": "审计员",
            "role": "auditor",
            "jurisdiction": PREFECTURE,
            "public_key": key.public_key_hex,
        },
    )
    assert served.post(document).status_code == 201
    return key


def open_alert(served: Served) -> dict[str, Any]:
    alerts = served.client.get("/audit/alerts", params={"status": "open"}).json()
    assert alerts["total"] > 0  # the demo's students raise R10 alerts
    alert: dict[str, Any] = alerts["alerts"][0]
    return alert


def test_alerts_come_with_their_evidence(served: Served) -> None:
    listing = served.client.get("/audit/alerts").json()
    table = served.client.get("/views/fraud_rules/alerts").json()
    assert listing["alerts"] == table["rows"]
    alert = open_alert(served)
    assert alert["evidence"]
    same_rule = served.client.get("/audit/alerts", params={"rule": alert["rule"]})
    assert all(a["rule"] == alert["rule"] for a in same_rule.json()["alerts"])

    one = served.client.get(f"/audit/alerts/{alert['alert_id']}").json()
    assert [entry["seq"] for entry in one["entries"]] == alert["evidence"]
    for entry in one["entries"]:
        raw = served.client.get(f"/log/entries/{entry['seq']}").content
        assert json.loads(raw) == entry
    assert_problem(served.client.get("/audit/alerts/0000000000000000"), 404)


def test_an_auditor_resolves_an_alert_with_a_signed_request(served: Served) -> None:
    auditor = enrol_auditor(served)
    alert = open_alert(served)
    params = {
        "alert_id": alert["alert_id"],
        "outcome": "dismissed",
        "reason": "同名同生日的不同学生，已核实",
        "county": alert["county"],
    }
    path = f"/audit/alerts/{alert['alert_id']}/resolution"

    # The URL must name the alert the request names, and the command must fit.
    size = served.size()
    other = auditor.sign("alert.resolve", params | {"alert_id": "0" * 16})
    assert_problem(served.post(other, path), 400, "bad-query")
    wrong = auditor.sign("fund.open", {"county": "422825", "county_name": "x"})
    assert_problem(served.post(wrong, path), 400, "bad-query")
    missing = auditor.sign("alert.resolve", params | {"alert_id": "0" * 16})
    assert_problem(
        served.post(missing, "/audit/alerts/" + "0" * 16 + "/resolution"), 404
    )
    recorder = served.key("demo-recorder").sign("alert.resolve", params)
    assert_problem(served.post(recorder, path), 403, "wrong-role")
    assert served.size() == size

    response = served.post(auditor.sign("alert.resolve", params), path)
    assert response.status_code == 201, response.text
    check_receipt(served, response.json())

    served.update_views()
    resolved = served.client.get(f"/audit/alerts/{alert['alert_id']}").json()
    assert resolved["status"] == "dismissed"
    assert resolved["reason"] == params["reason"]


def test_the_export_is_the_log_without_personal_data(served: Served) -> None:
    response = served.client.get("/audit/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jsonl")
    lines = response.content.splitlines(keepends=True)
    assert len(lines) == served.size()
    for index in (0, 7, len(lines) - 1):
        entry = served.client.get(f"/log/entries/{index}").content
        assert lines[index] == entry + b"\n"

    text = response.content.decode()
    secrets: list[str] = []
    for code, _ in COUNTIES:
        for number, (name, birth, *_) in enumerate(STUDENTS):
            secrets += [name, demo_resident_id(code, birth, 2 * number + 11)]
    leaked = [value for value in secrets if value in text]
    assert leaked == []
    # The students are in the log, as pseudonyms: the check above had a target.
    payees = {
        json.loads(line)["body"].get("payee")
        for line in lines
        if "CountyFund.PaymentProposed" in json.loads(line)["type"]
    }
    assert any(isinstance(p, str) and len(p) == 64 for p in payees)


def test_export_ranges(served: Served) -> None:
    part = served.client.get("/audit/export", params={"start": 3, "stop": 9})
    lines = part.content.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(3, 9))
    assert "immutable" in part.headers["cache-control"]
    assert served.client.get("/audit/export?start=4&stop=4").content == b""
    too_far = served.client.get("/audit/export", params={"stop": served.size() + 1})
    assert_problem(too_far, 404, "out-of-range")
    assert_problem(served.client.get("/audit/export?start=9&stop=3"), 404)


def test_raising_an_alert_the_log_holds_is_a_conflict(served: Served) -> None:
    alert = open_alert(served)
    assert alert["raised_seq"] is not None  # the demo's monitor raised it
    params = {
        "alert_id": alert["alert_id"],
        "rule": alert["rule"],
        "subject_kind": alert["subject_kind"],
        "subject_ref": alert["subject_ref"],
        "summary": alert["summary"],
        "evidence": [seq for seq in alert["evidence"] if seq != alert["raised_seq"]],
        "county": alert["county"],
    }
    size = served.size()
    again = served.key("demo-monitor").sign("alert.raise", params)
    assert_problem(served.post(again), 409, "alert-already-raised")
    assert served.size() == size
