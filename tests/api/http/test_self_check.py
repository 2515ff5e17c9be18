"""``POST /self-check`` through the real app: one's own payments, proven.

The answer matches the CLI's self-check for the same person, every cited entry
is proven against the answer's signed checkpoint, and a wrong name, an invalid
ID or a server without the secrets file gets a problem document, never a list.
"""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from api.http.app import create_app
from ledger.merkle import leaf_hash, verify_inclusion
from tests.api.http.support import Served, assert_problem
from tests.api.test_self_check import _pupil_with_payments


def test_a_family_gets_its_payments_with_proofs(served: Served) -> None:
    person, id_number, name, _ = _pupil_with_payments(
        served.url, served.directory / "secrets.key"
    )

    response = served.client.post(
        "/self-check", json={"id_number": id_number, "name": name}
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    answer = response.json()
    assert answer["payments"]
    assert id_number not in response.text
    assert name not in response.text
    assert person not in response.text
    checkpoint = served.checkpoint(answer["checkpoint"])
    for line in answer["payments"]:
        for seq in line["evidence"]:
            data = served.client.get(f"/log/entries/{seq}").content
            proof = answer["proofs"][str(seq)]
            verify_inclusion(
                leaf_hash(data),
                seq,
                checkpoint.size,
                [base64.b64decode(h) for h in proof["hashes"]],
                checkpoint.root,
            )


def test_wrong_answers_get_a_problem_and_no_list(served: Served) -> None:
    _, id_number, name, _ = _pupil_with_payments(
        served.url, served.directory / "secrets.key"
    )
    client = served.client

    wrong_name = client.post(
        "/self-check", json={"id_number": id_number, "name": name[0] + "某某"}
    )
    assert_problem(wrong_name, 400, "nothing-found")
    assert "payments" not in wrong_name.json()

    invalid = client.post("/self-check", json={"id_number": "123", "name": name})
    assert_problem(invalid, 422)
    assert "123" not in invalid.json()["detail"]

    assert_problem(client.post("/self-check", json={"id_number": id_number}), 422)


def test_a_server_without_the_secrets_file_cannot_answer(served: Served) -> None:
    _, id_number, name, _ = _pupil_with_payments(
        served.url, served.directory / "secrets.key"
    )
    (served.directory / "secrets.key").rename(served.directory / "elsewhere.key")

    with TestClient(create_app(served.settings)) as client:
        response = client.post(
            "/self-check", json={"id_number": id_number, "name": name}
        )

    assert_problem(response, 503, "no-secrets")
