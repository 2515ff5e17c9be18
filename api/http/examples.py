"""Examples for the OpenAPI document: one per operation and per answer.

Kept in one place so that the routes read as what they do. The values are the
shapes the API really answers with (a checkpoint note, an RFC 9162 proof, a
problem document), shortened.
"""

from __future__ import annotations

from typing import Any

from api.http.problems import PROBLEM_JSON, title_of, type_uri

CHECKPOINT = (
    "fundledger.example/hubei\n42\nT0nVm3bCwqAhYJ6d2zL1M8p4QmWl0r3yB6fS9eK1gXc=\n\n"
    "\u2014 fundledger.example/hubei 0pHc4Qvx2u0bXj...==\n"
)
VERIFIER_KEY = "fundledger.example/hubei+d2a5c3f1+AUm1xZ3...="
ENTRY = {
    "actor": "officer:demo-recorder",
    "body": {"amount_fen": 4800000000, "transfer_id": "422822-in-central-2026"},
    "prev": "9f2c...e1",
    "recorded_at": "2026-09-01T08:00:01.000000Z",
    "seq": 12,
    "signatures": [{"key_id": "4f1b2c3d4e5f6a7b", "request": "5b0e...a9"}],
    "stream": "CountyFund:422822",
    "type": "CountyFund.FundsReceived@1",
    "version": 2,
}
INCLUSION = {"index": 12, "size": 42, "hashes": ["q1w2...=", "e3r4...="]}
CONSISTENCY = {"old": 7, "new": 42, "hashes": ["t5y6...=", "u7i8...="]}
SIGNED_REQUEST: dict[str, Any] = {
    "request": {
        "command": "fund.receive",
        "params": {
            "county": "422822",
            "transfer_id": "422822-in-donation-2026-11",
            "source_kind": "donation",
            "source": "org:hubei-education-foundation",
            "reference": "2026 winter donation",
            "earmark": None,
            "amount_fen": 5000000,
        },
        "key_id": "4f1b2c3d4e5f6a7b",
        "request_id": "0b7f9b7e-3c1e-4d0a-9a57-1f6c2d1f0e11",
        "signed_at": "2026-11-02T09:30:00.000000Z",
    },
    "signature": "kq3V...base64 Ed25519 signature...==",
}
RESOLVE_REQUEST: dict[str, Any] = {
    "request": {
        "command": "alert.resolve",
        "params": {
            "alert_id": "3fa1c2d4e5b60718",
            "outcome": "dismissed",
            "reason": "two schools share one account by agreement",
            "county": "422822",
        },
        "key_id": "8e7d6c5b4a392817",
        "request_id": "a2d5c0f4-9b1e-4d77-8f10-6c3b2a1e0d99",
        "signed_at": "2026-11-03T10:00:00.000000Z",
    },
    "signature": "Zm9v...base64 Ed25519 signature...==",
}
RECEIPT = {
    "digest": "5b0e...a9",
    "replayed": False,
    "size": 44,
    "checkpoint": CHECKPOINT,
    "entries": [
        {
            "index": 42,
            "leaf_hash": "c0ffee...42",
            "proof": {"index": 42, "size": 44, "hashes": ["a1...=", "b2...="]},
        },
        {
            "index": 43,
            "leaf_hash": "beef...43",
            "proof": {"index": 43, "size": 44, "hashes": ["c3...=", "d4...="]},
        },
    ],
}
VIEWS = {
    "views": [
        {
            "view": "balances",
            "position": 40,
            "tables": [
                {
                    "table": "balances",
                    "url": "/views/balances/balances",
                    "columns": [
                        {"name": "county", "type": "TEXT", "key": True},
                        {"name": "account", "type": "TEXT", "key": True},
                        {"name": "balance_fen", "type": "INTEGER", "key": False},
                    ],
                }
            ],
        }
    ],
    "log_size": 42,
}
ROWS = {
    "view": "balances",
    "table": "balances",
    "position": 40,
    "total": 1,
    "limit": 100,
    "offset": 0,
    "rows": [
        {
            "county": "422822",
            "account": "pool",
            "balance_fen": 123400,
            "evidence": [12, 13, 20],
        }
    ],
}
ALERTS = {
    "position": 40,
    "total": 1,
    "limit": 100,
    "offset": 0,
    "alerts": [
        {
            "alert_id": "3fa1c2d4e5b60718",
            "rule": "R11",
            "county": "422822",
            "subject_kind": "account",
            "subject_ref": "9a8b...",
            "summary": "one bank account paid for 3 households",
            "first_seq": 31,
            "status": "open",
            "reason": None,
            "raised_seq": 38,
            "evidence": [31, 33, 35, 38],
        }
    ],
}


def problem_example(name: str, status: int, detail: str, **values: Any) -> Any:
    """An example problem document for the class ``name``."""
    body: dict[str, Any] = {
        "type": type_uri(name),
        "title": title_of(name),
        "status": status,
        "detail": detail,
    }
    if values:
        body["values"] = values
    return body


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "values": {"type": "object", "additionalProperties": True},
    },
}


def problems(*answers: tuple[int, str, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem answers: (status, class name, detail)."""
    result: dict[int | str, dict[str, Any]] = {}
    for status, name, detail in answers:
        result[status] = {
            "description": title_of(name),
            "content": {
                PROBLEM_JSON: {
                    "schema": PROBLEM_SCHEMA,
                    "example": problem_example(name, status, detail),
                }
            },
        }
    return result


def answer(
    status: int, description: str, media_type: str, example: Any
) -> dict[int | str, dict[str, Any]]:
    """An OpenAPI success answer with its example."""
    return {
        status: {
            "description": description,
            "content": {media_type: {"example": example}},
        }
    }


# Every operation documents its own 422 (FastAPI would add one without an example).
INVALID_PARAMETERS = problems(
    (422, "InvalidParameters", "query.limit: Input should be at most 10000")
)


def column_filters(example: dict[str, str]) -> dict[str, Any]:
    """``openapi_extra`` documenting filters on any column (``?county=...``)."""
    return {
        "parameters": [
            {
                "name": "filters",
                "in": "query",
                "required": False,
                "description": "column=value equalities, any column of the table",
                "style": "form",
                "explode": True,
                "schema": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                },
                "example": example,
            }
        ]
    }
