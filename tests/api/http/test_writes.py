"""Officers' writes over HTTP: signed requests through the CLI's one path.

An accepted request answers 201 with a receipt whose every entry is proven
against the checkpoint it carries; the same document again answers 200 with
the same receipt and records nothing; a refusal is a problem document and
records nothing either.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from fastapi.testclient import TestClient

from api.app import FundLedger
from api.http import receipts
from api.http.app import create_app
from api.requests import OfficerKey
from tests.api.http.support import COUNTY, Served, assert_problem, check_receipt


def receive(
    key: OfficerKey, transfer_id: str, amount_fen: Any = 10_000
) -> dict[str, Any]:
    return key.sign(
        "fund.receive",
        {
            "county": COUNTY,
            "transfer_id": transfer_id,
            "source_kind": "donation",
            "source": "org:http-test",
            "reference": "a donation over HTTP",
            "earmark": None,
            "amount_fen": amount_fen,
        },
    )


def test_a_signed_request_is_recorded_with_a_proven_receipt(served: Served) -> None:
    before = served.size()
    response = served.post(receive(served.key("demo-recorder"), "http-in-1"))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["replayed"] is False
    positions = [item["index"] for item in receipt["entries"]]
    # The accepted request and the event it caused, appended at the end.
    assert positions == list(range(before, before + len(positions)))
    assert len(positions) == 2
    assert receipt["size"] >= before + 2
    assert response.headers["location"] == f"/log/entries/{before}"
    check_receipt(served, receipt)


def test_a_replay_answers_the_original_receipt_and_records_nothing(
    served: Served,
) -> None:
    document = receive(served.key("demo-recorder"), "http-in-2")
    first = served.post(document).json()
    size = served.size()
    again = served.post(document)
    assert again.status_code == 200
    replay = again.json()
    assert replay["replayed"] is True
    assert replay["digest"] == first["digest"]
    assert replay["entries"][0]["index"] == first["entries"][0]["index"]
    assert replay["entries"][0]["leaf_hash"] == first["entries"][0]["leaf_hash"]
    assert served.size() == size
    check_receipt(served, replay)


def test_a_request_id_reused_for_another_request_is_a_conflict(
    served: Served,
) -> None:
    key = served.key("demo-recorder")
    first = receive(key, "http-in-3")
    assert served.post(first).status_code == 201
    other = receive(key, "http-in-4")
    other = key.sign(
        "fund.receive",
        other["request"]["params"],
        request_id=first["request"]["request_id"],
    )
    size = served.size()
    assert_problem(served.post(other), 409, "request-id-reused")
    assert served.size() == size


def _tampered(document: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["request"]["params"]["amount_fen"] += 1
    return changed


def _garbage_signature(document: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["signature"] = base64.b64encode(b"\x01" * 64).decode()
    return changed


def _unsigned(document: dict[str, Any]) -> dict[str, Any]:
    return {"request": document["request"]}


def _unknown_key(document: dict[str, Any]) -> dict[str, Any]:
    stranger = OfficerKey.generate("officer:stranger")
    return receive(stranger, document["request"]["params"]["transfer_id"])


@pytest.mark.parametrize(
    ("change", "status", "kind"),
    [
        pytest.param(_tampered, 401, "bad-signature", id="tampered-params"),
        pytest.param(_garbage_signature, 401, "bad-signature", id="garbage-signature"),
        pytest.param(_unsigned, 400, "invalid-request", id="no-signature"),
        pytest.param(_unknown_key, 401, "unknown-key", id="unknown-key"),
    ],
)
def test_unauthenticated_requests_are_refused_and_record_nothing(
    served: Served, change: Any, status: int, kind: str
) -> None:
    document = change(receive(served.key("demo-recorder"), "http-in-5"))
    size = served.size()
    response = served.post(document)
    assert_problem(response, status, kind)
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Signature")
    assert served.size() == size


@pytest.mark.parametrize(
    ("amount", "status", "kind"),
    [
        pytest.param(0, 422, "invalid-amount", id="zero"),
        pytest.param(-5, 422, "invalid-amount", id="negative"),
        pytest.param(2**53 - 1, 422, "invalid-amount", id="huge"),
        pytest.param("100", 422, "invalid-amount", id="text"),
        pytest.param(1.5, 422, "invalid-amount", id="fraction"),
    ],
)
def test_domain_refusals_carry_their_values(
    served: Served, amount: Any, status: int, kind: str
) -> None:
    size = served.size()
    response = served.post(receive(served.key("demo-recorder"), "http-in-6", amount))
    assert_problem(response, status, kind)
    if status == 422:
        assert response.json()["values"]["amount"] == amount
    assert served.size() == size


def test_overdrawing_a_budget_is_a_conflict_with_the_numbers(served: Served) -> None:
    recorder = served.key("demo-recorder")
    document = recorder.sign(
        "fund.propose_payment",
        {
            "county": COUNTY,
            "payment_id": "http-pay-too-much",
            "programme": "HS_GRANT",
            "year": 2026,
            "term": "autumn",
            "payee_kind": "school",
            "payee": f"{COUNTY}S0003",
            "amount_fen": 10**12,
        },
    )
    size = served.size()
    response = served.post(document)
    assert_problem(response, 409, "budget-overdrawn")
    values = response.json()["values"]
    assert values["amount"] == 10**12
    assert 0 <= values["available"] < 10**12
    assert served.size() == size


def test_without_the_log_key_writes_are_refused_before_recording(
    served: Served,
) -> None:
    (served.directory / "log.key").rename(served.directory / "moved.key")
    settings = served.settings
    with TestClient(create_app(settings)) as client:
        size = int(client.get("/log/proof/inclusion?index=0").json()["size"])
        document = receive(served.key("demo-recorder"), "http-in-7")
        assert_problem(client.post("/requests", json=document), 503, "no-signing-key")
        assert_problem(client.get("/log/checkpoint"), 503, "no-signing-key")
        assert int(client.get("/log/proof/inclusion?index=0").json()["size"]) == size


@pytest.mark.parametrize("group_commit", [True, False], ids=["grouped", "alone"])
def test_writes_lost_to_other_writers_are_tried_again(
    served: Served, monkeypatch: pytest.MonkeyPatch, group_commit: bool
) -> None:
    losses = {"left": 3}

    def losing(real: Any) -> Any:
        def save(self: FundLedger, *args: Any, **kwargs: Any) -> Any:
            # What a writer sees when another one saved the same fund first.
            if losses["left"]:
                losses["left"] -= 1
                raise IntegrityError("duplicate key value")
            return real(self, *args, **kwargs)

        return save

    monkeypatch.setattr(FundLedger, "save", losing(FundLedger.save))
    monkeypatch.setattr(FundLedger, "save_events", losing(FundLedger.save_events))
    settings = dataclasses.replace(served.settings, group_commit=group_commit)
    with TestClient(create_app(settings)) as client:
        before = served.size()
        document = receive(served.key("demo-recorder"), "http-in-race")
        response = client.post("/requests", json=document)
        assert response.status_code == 201, response.text
        assert losses["left"] == 0
        assert served.size() == before + 2

        losses["left"] = 10**6
        monkeypatch.setattr(receipts, "CONTENTION_SECONDS", 0.0)
        document = receive(served.key("demo-recorder"), "http-in-lost")
        response = client.post("/requests", json=document)
        assert_problem(response, 409, "concurrent-change")
        assert response.headers["retry-after"] == "1"
        assert served.size() == before + 2


def test_concurrent_writes_are_grouped_and_each_gets_its_own_receipt(
    served: Served,
) -> None:
    recorder = served.key("demo-recorder")
    documents = [receive(recorder, f"http-in-group-{i}", 100 + i) for i in range(24)]
    before = served.size()
    start = threading.Barrier(len(documents))

    def send(document: dict[str, Any]) -> Any:
        start.wait()
        return served.post(document)

    with ThreadPoolExecutor(len(documents)) as pool:
        responses = list(pool.map(send, documents))
    assert [r.status_code for r in responses] == [201] * len(documents)
    for document, response in zip(documents, responses, strict=True):
        receipt = response.json()
        check_receipt(served, receipt)
        transfer_id = document["request"]["params"]["transfer_id"]
        index = receipt["entries"][1]["index"]
        assert transfer_id in served.client.get(f"/log/entries/{index}").text
    assert served.size() == before + 2 * len(documents)
    committer = served.client.app.state.api.committer  # type: ignore[attr-defined]
    assert committer.largest > 1
