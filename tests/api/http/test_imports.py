"""``/imports``: a payment list checked over HTTP, signed by its officer, recorded.

The ledger is the tiny synthetic province of the CLI's import tests
(``tests.api.test_import``), with the same files. The check answers what the
CLI prints and the requests it would sign; recorded through ``POST /imports``
they are exactly the CLI's (the CLI then finds the list already recorded);
sending them again records nothing; a forged or edited request, or an officer
of another county, records nothing; no upload, however broken, is a 500.
Nothing recorded means the log's size is unchanged. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.import_routes import REQUEST_HEADER, XLSX
from api.http.settings import Settings
from api.requests import OfficerKey
from tests.api.http.support import PROBLEM_JSON, assert_problem
from tests.api.http.test_serve_follow import running
from tests.api.test_import import (
    RECORDER,
    STRANGER,
    YEAR,
    Province,
    _row,
    _write_csv,
    _write_xlsx,
    _wrong_check,
    province,
)

__all__ = ["province"]  # the fixture, used by name


def settings(province: Province, **changes: Any) -> Settings:
    directory = province.cli.cwd
    return Settings(
        db=province.cli.db,
        log_key=directory / "log.key",
        secrets=directory / "log.secrets",
        threads=4,
        **changes,
    )


@pytest.fixture
def client(province: Province) -> Iterator[TestClient]:
    with TestClient(create_app(settings(province))) as client:
        yield client


def recorder(province: Province) -> OfficerKey:
    return OfficerKey.load(province.cli.cwd / RECORDER)


def check_request(
    key: OfficerKey,
    county: str,
    data: bytes,
    *,
    term: str | None = None,
    skip_bad: bool = False,
) -> str:
    params = {
        "county": county,
        "year": YEAR,
        "term": term,
        "skip_bad": skip_bad,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    return json.dumps(key.sign("import.check", params))


def check_form(
    client: TestClient, name: str, data: bytes, document: str, media: str = XLSX
) -> Any:
    return client.post(
        "/imports/check",
        files={"file": (name, data, media)},
        data={"request": document},
    )


def check_body(client: TestClient, data: bytes, document: str) -> Any:
    return client.post(
        "/imports/check",
        content=data,
        headers={"Content-Type": "text/csv", REQUEST_HEADER: document},
    )


def sign_all(key: OfficerKey, requests: list[dict[str, Any]]) -> list[Any]:
    return [
        key.sign(
            request["command"],
            request["params"],
            request_id=request["request_id"],
            signed_at=request["signed_at"],
        )
        for request in requests
    ]


def size(client: TestClient) -> int:
    return int(client.get("/log/checkpoint").text.splitlines()[1])


def test_a_good_list_is_checked_signed_and_recorded_once(
    province: Province, client: TestClient, tmp_path: Path
) -> None:
    key = recorder(province)
    autumn = [_row(student) for student in province.students[:6]]
    data = _write_xlsx(tmp_path / "autumn.xlsx", autumn).read_bytes()
    before = size(client)

    # 1. The check: the CLI's report as data, and the requests to sign.
    checked = check_form(
        client, "autumn.xlsx", data, check_request(key, province.county, data)
    )
    assert checked.status_code == 200, checked.text
    assert checked.headers["cache-control"] == "no-store"
    report = checked.json()
    assert report["status"] == "dry run"
    assert (report["source"], report["format"], report["rows"]) == (
        "autumn.xlsx",
        "xlsx",
        6,
    )
    assert report["problems"] == []
    assert report["ignored_columns"] == ["序号"]
    assert report["totals"] == [
        {"programme": "HS_GRANT", "payments": 6, "amount_fen": 750000}
    ]
    (planned,) = report["requests"]
    assert planned["command"] == "fund.propose_payments"
    assert planned["key_id"] == key.key_id
    assert len(planned["params"]["payments"]) == 6
    assert size(client) == before

    # 2. Signed by the officer and recorded: a receipt per request.
    signed = sign_all(key, report["requests"])
    recorded = client.post("/imports", json=signed)
    assert recorded.status_code == 201, recorded.text
    (receipt,) = recorded.json()["receipts"]
    assert not receipt["replayed"]
    assert len(receipt["entries"]) == 7  # the request and six proposals
    assert size(client) == before + 7

    # 3. The same set again records nothing and answers the original receipts.
    again = client.post("/imports", json=signed)
    assert again.status_code == 200, again.text
    (replayed,) = again.json()["receipts"]
    assert replayed["replayed"]
    assert replayed["digest"] == receipt["digest"]
    # A replay names the entry that accepted the request.
    assert replayed["entries"][0]["index"] == receipt["entries"][0]["index"]
    assert size(client) == before + 7

    # 4. The same list as GB18030 CSV, sent as the body, was imported before.
    csv_data = _write_csv(
        tmp_path / "autumn.csv", autumn, encoding="gb18030"
    ).read_bytes()
    second = check_body(client, csv_data, check_request(key, province.county, csv_data))
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "already recorded"
    assert second.json()["requests"] == []

    # 5. They were the very requests the CLI signs: the CLI finds them recorded.
    status, out, err = province.imported(tmp_path / "autumn.xlsx", "--year", str(YEAR))
    assert status == 0, err
    assert "already recorded" in out
    assert size(client) == before + 7


def test_every_bad_row_is_answered_with_its_line_and_reasons(
    province: Province, client: TestClient, tmp_path: Path
) -> None:
    key = recorder(province)
    good, other, third, fourth = province.students[:4]
    rows = [
        _row(good),  # line 2: good
        _row(other, 身份证号码=_wrong_check(other.id_number)),  # 3
        _row(other, 身份证号码=STRANGER),  # 4
        _row(other, 姓名=other.name + "某"),  # 5
        _row(third, 学校=f"{province.county}S9999"),  # 6
        _row(third, 资助项目="SPACE_GRANT"),  # 7
        _row(third, **{"金额(元)": "1250.005"}),  # 8
        _row(third, **{"金额(元)": "1300.00"}),  # 9
        _row(third, **{"金额(元)": "一千"}),  # 10
        _row(good),  # 11
        _row(fourth, 银行账号="6217 12"),  # 12
        _row(fourth, 银行账号="6217000011112222333"),  # 13
        _row(province.pupils[0]),  # 14
        _row(fourth, 学期="冬季"),  # 15
        _row(other),  # 16: good
    ]
    data = _write_csv(tmp_path / "bad.csv", rows, encoding="gb18030").read_bytes()
    before = size(client)

    answer = check_body(client, data, check_request(key, province.county, data))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["status"] == "refused"
    assert report["requests"] == []
    reasons = {problem["line"]: problem["reason"] for problem in report["problems"]}
    expected = {
        3: "check character",
        4: "no beneficiary with this ID is held in the vault",
        5: "姓名/name does not match",
        6: "is not registered in this county",
        7: "SPACE_GRANT",
        8: "at most two decimals",
        9: "HS_GRANT",
        10: "金额/amount must be yuan",
        11: "repeats line 2",
        12: "银行账号/bank_account",
        13: "not the account held in the vault",
        14: "does not cover the primary stage",
        15: "学期/term must be one of",
    }
    assert set(reasons) == set(expected)
    for line, reason in expected.items():
        assert reason in reasons[line], reasons[line]

    # Skipping bad rows: the two good ones, to sign.
    skipping = check_body(
        client, data, check_request(key, province.county, data, skip_bad=True)
    )
    report = skipping.json()
    assert report["status"] == "dry run"
    (planned,) = report["requests"]
    assert len(planned["params"]["payments"]) == 2
    assert size(client) == before


def test_a_forged_or_edited_request_records_nothing(
    province: Province, client: TestClient, tmp_path: Path
) -> None:
    key = recorder(province)
    rows = [_row(student) for student in province.students[:3]]
    data = _write_xlsx(tmp_path / "three.xlsx", rows).read_bytes()
    report = check_form(
        client, "three.xlsx", data, check_request(key, province.county, data)
    ).json()
    (signed,) = sign_all(key, report["requests"])
    before = size(client)

    # An amount changed after signing.
    edited = json.loads(json.dumps(signed))
    edited["request"]["params"]["payments"][0]["amount_fen"] = 999_900
    assert_problem(client.post("/imports", json=[edited]), 401, "bad-signature")

    # A good request beside a forged one: neither is recorded.
    forged = recorder(province).sign(
        "fund.propose_payments",
        {"county": province.county, "payments": []},
        request_id="forged",
    )
    forged["signature"] = signed["signature"]
    assert_problem(client.post("/imports", json=[signed, forged]), 401)
    assert size(client) == before

    # A check request that signed another file.
    other = check_request(key, province.county, data + b" ")
    assert_problem(check_form(client, "x.xlsx", data, other), 400, "file-not-signed")

    # The good one alone is recorded.
    assert client.post("/imports", json=[signed]).status_code == 201
    assert size(client) == before + 4


def test_an_officer_of_another_county_is_refused(
    province: Province, client: TestClient, tmp_path: Path
) -> None:
    counties = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    elsewhere = next(
        str(code)
        for code in counties["summary"]["county_codes"]
        if str(code) != province.county
    )
    province.cli.ok(
        "officer",
        "enrol",
        "--key",
        "fundledger-admin.key",
        "--id",
        "officer:elsewhere",
        "--name",
        "Recorder elsewhere",
        "--role",
        "recorder",
        "--jurisdiction",
        elsewhere,
        "--out",
        "elsewhere.key",
    )
    stranger = OfficerKey.load(tmp_path / "elsewhere.key")
    rows = [_row(student) for student in province.students[:2]]
    data = _write_xlsx(tmp_path / "two.xlsx", rows).read_bytes()
    before = size(client)

    # Checking is refused: the answer would tell who is on this county's rolls.
    refused = check_form(
        client, "two.xlsx", data, check_request(stranger, province.county, data)
    )
    assert_problem(refused, 403, "outside-jurisdiction")

    # Recording the county's planned requests under their own key is refused.
    report = check_form(
        client,
        "two.xlsx",
        data,
        check_request(recorder(province), province.county, data),
    ).json()
    planned = [r | {"key_id": stranger.key_id} for r in report["requests"]]
    answer = client.post("/imports", json=sign_all(stranger, planned))
    assert_problem(answer, 403, "outside-jurisdiction")
    assert size(client) == before


BROKEN_BODIES = [
    pytest.param(b"", "text/csv", 400, id="empty-file"),
    pytest.param(b"\x00\x01\x02binary", "application/octet-stream", 400, id="binary"),
    pytest.param(b"\xff\xfe\xfa" * 10, "text/csv", 400, id="no-encoding"),
    pytest.param(b"PK\x03\x04broken zip", XLSX, 400, id="damaged-xlsx"),
    pytest.param(b"a,b\n1,2\n", "text/csv", 400, id="no-known-columns"),
    pytest.param(b"a,b\n1,2\n", "image/png", 415, id="unsupported-type"),
]


@pytest.mark.parametrize(("data", "media", "status"), BROKEN_BODIES)
def test_broken_files_are_problems(
    province: Province, client: TestClient, data: bytes, media: str, status: int
) -> None:
    document = check_request(recorder(province), province.county, data)
    response = client.post(
        "/imports/check",
        content=data,
        headers={"Content-Type": media, REQUEST_HEADER: document},
    )
    assert_problem(response, status)


def test_malformed_requests_are_problems_never_500(
    province: Province, client: TestClient
) -> None:
    key = recorder(province)
    data = b"name,id_number\n"
    good = check_request(key, province.county, data)
    multipart = "multipart/form-data; boundary=xyz"
    cases = [
        client.post(
            "/imports/check", content=data, headers={"Content-Type": "text/csv"}
        ),
        check_body(client, data, "not json"),
        check_body(client, data, json.dumps({"request": 1})),
        check_body(client, data, json.dumps(key.sign("fund.receive", {}))),
        client.post(
            "/imports/check",
            content=b"--xyz\r\nno headers\r\n--xyz--",
            headers={"Content-Type": multipart},
        ),
        client.post(
            "/imports/check", content=b"garbage", headers={"Content-Type": multipart}
        ),
        client.post("/imports/check", files={"file": ("a.csv", data)}),
        client.post("/imports/check", data={"request": good}),
        client.post("/imports", content=b"{not json"),
        client.post("/imports", json={"requests": []}),
        client.post("/imports", json=[]),
        client.post("/imports", json=[{"request": {}, "signature": ""}]),
        client.post("/imports", json=[key.sign("fund.receive", {"county": "x"})]),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith(PROBLEM_JSON)


def test_an_upload_past_the_limit_is_413(province: Province) -> None:
    with TestClient(create_app(settings(province, max_upload_bytes=1000))) as client:
        data = b"x" * 2000
        document = check_request(recorder(province), province.county, data)
        assert_problem(check_body(client, data, document), 413, "upload-too-large")
        assert_problem(client.post("/imports", content=data), 413)


def test_an_import_through_a_running_server(province: Province, tmp_path: Path) -> None:
    # The served tests' layout: secrets.key beside log.key.
    shutil.copy(tmp_path / "log.secrets", tmp_path / "secrets.key")
    (tmp_path / "secrets.key").chmod(0o600)
    key = recorder(province)
    rows = [_row(student) for student in province.students[:4]]
    data = _write_xlsx(tmp_path / "four.xlsx", rows).read_bytes()
    with running(province.cli.db, tmp_path, "--no-follow") as (http, _):
        checked = http.post(
            "/imports/check",
            files={"file": ("four.xlsx", data, XLSX)},
            data={"request": check_request(key, province.county, data)},
        )
        assert checked.status_code == 200, checked.text
        signed = sign_all(key, checked.json()["requests"])
        assert http.post("/imports", json=signed).status_code == 201
        assert http.post("/imports", json=signed).status_code == 200
    assert province.cli.ok("verify").decode().startswith("OK ")
