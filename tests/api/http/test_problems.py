"""No input makes the API fail: every error is a problem document, never a 500.

Every operation of the OpenAPI document is called with malformed bodies, huge
numbers, wrong types, odd paths and query values, and with random JSON
documents (hypothesis); the answer must be a success, a 304, or a 4xx problem
document. The OpenAPI document itself must give an example for every answer
of every operation.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.http.problems import title_of, type_uri, values_of
from domain.errors import InvalidResidentId, PoolOverdrawn
from tests.api.http.support import COUNTY, PROBLEM_JSON, Served, assert_problem

BODIES: list[bytes] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'"text"',
    b"1e999",
    b"1" * 5000,
    b"[" * 50_000 + b"]" * 50_000,
    b"\xff\xfe\x00",
    b'{"request": 1, "signature": 2}',
    b'{"request": {}, "signature": ""}',
    (
        b'{"request": {"command": "fund.receive", "params": [], "key_id": "a", '
        b'"request_id": "b", "signed_at": "c"}, "signature": "AAAA"}'
    ),
    b'{"request": {"command": "fund.receive", "params": {"amount_fen": '
    + b"9" * 400
    + b'}, "key_id": "a", "request_id": "b", "signed_at": "c"}, "signature": "'
    + b"A" * 88
    + b'"}',
    (
        b'{"request": {"command": "fund.receive", "params": {"amount_fen": 1e308}, '
        b'"key_id": "a", "request_id": "b", "signed_at": "c"}, "signature": "x"}'
    ),
]
VALUES = ["x", "-1", "1.5", "", "9" * 40, "%00", "\u00e9\u4e2d", "true", "0" * 300]


def operations(served: Served) -> list[tuple[str, str, dict[str, Any]]]:
    spec = served.client.get("/openapi.json").json()
    return [
        (path, method, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def assert_answer(response: Any) -> None:
    assert response.status_code < 500, (response.request.url, response.text[:300])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        body = response.json()
        assert body["status"] == response.status_code
        assert body["type"].startswith("https://fundledger.example/problems/")


def test_no_input_gets_a_500(served: Served) -> None:
    calls = 0
    for path, method, operation in operations(served):
        names = [
            p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
        ]
        for value in VALUES:
            url = fill(path, value) if "{" in path else path
            params = dict.fromkeys(names, value)
            if method == "get":
                assert_answer(served.client.get(url, params=params))
                assert_answer(served.client.get(url, headers={"Accept": "text/csv"}))
                calls += 2
            else:
                for body in BODIES:
                    headers = {"Content-Type": "application/json"}
                    response = served.client.post(
                        url, content=body, params=params, headers=headers
                    )
                    assert_answer(response)
                    calls += 1
    assert calls > 200
    assert_answer(served.client.put("/requests", content=b"{}"))
    assert_answer(served.client.get("/views/balances/balances?limit=10001"))
    assert_answer(served.client.get("/views/balances/balances?offset=" + "9" * 30))
    long_name = "a" * 5000
    assert_answer(served.client.get(f"/views/{long_name}/{long_name}"))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
REQUEST = st.fixed_dictionaries(
    {
        "request": st.fixed_dictionaries(
            {
                "command": st.sampled_from(["fund.receive", "alert.resolve", "x"])
                | st.text(max_size=10),
                "params": st.dictionaries(st.text(max_size=12), JSON, max_size=5),
                "key_id": st.text(max_size=20),
                "request_id": st.text(max_size=20),
                "signed_at": st.text(max_size=20),
            }
        )
        | JSON,
        "signature": st.text(max_size=100) | JSON,
    }
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(document=REQUEST | JSON)
def test_random_documents_are_refused_cleanly(served: Served, document: Any) -> None:
    size = served.size()
    for path in ("/requests", "/audit/alerts/0123456789abcdef/resolution"):
        response = served.client.post(path, content=json.dumps(document))
        assert_answer(response)
        assert response.status_code >= 400  # nobody signed it
    assert served.size() == size


def test_openapi_has_an_example_for_every_operation(served: Served) -> None:
    found = operations(served)
    assert len(found) >= 11
    for path, method, operation in found:
        assert operation.get("summary"), (path, method)
        for status, answer in operation["responses"].items():
            for media, content in answer.get("content", {}).items():
                assert "example" in content or "examples" in content, (
                    path,
                    method,
                    status,
                    media,
                )
        body = operation.get("requestBody")
        if body is not None:
            for content in body["content"].values():
                assert "example" in content or "examples" in content, (path, method)


def test_problem_types_and_values_come_from_the_error() -> None:
    assert type_uri("PoolOverdrawn").endswith("/problems/pool-overdrawn")
    assert type_uri("InvalidResidentId").endswith("/problems/invalid-resident-id")
    assert title_of("OutsideJurisdiction") == "Outside jurisdiction"
    error = PoolOverdrawn("422822:pool", 100, 250)
    assert values_of(error) == {"pool": "422822:pool", "balance": 100, "amount": 250}
    secret = InvalidResidentId(
        "42282220100314011X",
        "check-character",
        masked="4228**********011X",
        expected="check character 5",
        found="X",
    )
    values = values_of(secret)
    assert "42282220100314011X" not in json.dumps(values)
    assert values["masked"] == "4228**********011X"


def test_a_huge_refused_value_is_named_not_echoed(served: Served) -> None:
    recorder = served.key("demo-recorder")
    note = "进度" * 500_000  # one megabyte of text where a line is allowed
    document = recorder.sign(
        "fund.report_progress",
        {
            "county": COUNTY,
            "project_id": f"{COUNTY}-GAIBO-2026",
            "percent": 55,
            "note": note,
        },
    )
    size = served.size()
    response = served.post(document)
    assert_problem(response, 422, "invalid-reference")
    assert len(response.content) < 2_000
    body = response.json()
    assert body["values"]["field"] == "note"
    assert body["values"]["value"].endswith("… (1000002 characters)")
    assert body["values"]["value"].startswith("'进度进度")
    assert served.size() == size
