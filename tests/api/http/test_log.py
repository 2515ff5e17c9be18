"""The public log over HTTP: the same bytes as ``fundledger log``, cached right.

Entries must be byte-identical to ``fundledger log entry N``; proofs must
verify against checkpoints signed by the log's key; immutable answers must
carry a year-long Cache-Control and a strong ETag that 304s.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli import main
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from tests.api.http.support import Served, assert_problem

IMMUTABLE = "public, max-age=31536000, immutable"


def cli_output(
    served: Served, capsysbinary: pytest.CaptureFixture[bytes], *args: str
) -> bytes:
    capsysbinary.readouterr()
    assert main([*served.options, "log", *args]) == 0
    return capsysbinary.readouterr().out


def test_entries_and_key_are_the_cli_bytes(
    served: Served, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    size = served.size()
    for index in (0, 1, size // 2, size - 1):
        response = served.client.get(f"/log/entries/{index}")
        assert response.status_code == 200
        assert response.content == cli_output(served, capsysbinary, "entry", str(index))
        assert json.loads(response.content)["seq"] == index
        assert response.headers["cache-control"] == IMMUTABLE
    key = served.client.get("/log/key")
    assert key.content == cli_output(served, capsysbinary, "key")
    assert key.headers["cache-control"] == "no-cache"


def test_proofs_are_the_cli_json_and_verify(
    served: Served, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    size = served.size()
    checkpoint = served.checkpoint(served.client.get("/log/checkpoint").text)
    assert checkpoint.size == size
    for index in (0, 5, size - 1):
        response = served.client.get("/log/proof/inclusion", params={"index": index})
        expected = cli_output(served, capsysbinary, "prove", str(index))
        assert response.content + b"\n" == expected
        assert response.headers["cache-control"] == "no-cache"  # size is "now"
        proof = response.json()
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        entry = served.client.get(f"/log/entries/{index}").content
        verify_inclusion(leaf_hash(entry), index, size, hashes, checkpoint.root)

    early = served.checkpoint(served.client.get("/log/checkpoint?size=7").text)
    response = served.client.get("/log/proof/consistency?old=7&new=" + str(size))
    assert response.content + b"\n" == cli_output(
        served, capsysbinary, "consistency", "7", str(size)
    )
    proof = response.json()
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    verify_consistency(7, size, early.root, checkpoint.root, hashes)


def test_immutable_answers_carry_strong_etags_and_304(served: Served) -> None:
    for path in (
        "/log/entries/3",
        "/log/checkpoint?size=9",
        "/log/proof/inclusion?index=2&size=9",
        "/log/proof/consistency?old=3&new=9",
    ):
        first = served.client.get(path)
        assert first.status_code == 200, path
        assert first.headers["cache-control"] == IMMUTABLE
        etag = first.headers["etag"]
        assert etag.startswith('"')
        assert not etag.startswith("W/")
        again = served.client.get(path)
        assert again.content == first.content  # the same bytes every time
        assert again.headers["etag"] == etag
        cached = served.client.get(path, headers={"If-None-Match": etag})
        assert cached.status_code == 304
        assert cached.content == b""
        other = served.client.get(path, headers={"If-None-Match": '"other"'})
        assert other.status_code == 200


def test_current_checkpoint_moves_with_the_log(served: Served) -> None:
    first = served.client.get("/log/checkpoint")
    assert first.headers["cache-control"] == "no-cache"
    recorder = served.key("demo-recorder")
    document = recorder.sign(
        "fund.report_progress",
        {
            "county": "422822",
            "project_id": "422822-GAIBO-2026",
            "percent": 60,
            "note": "屋面完工",
        },
    )
    assert served.post(document).status_code == 201
    second = served.client.get(
        "/log/checkpoint", headers={"If-None-Match": first.headers["etag"]}
    )
    assert second.status_code == 200  # the old ETag no longer matches
    assert served.checkpoint(second.text).size > served.checkpoint(first.text).size


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/log/entries/100000", 404, id="entry-past-the-end"),
        pytest.param("/log/entries/-1", 422, id="negative-entry"),
        pytest.param("/log/entries/x", 422, id="entry-not-a-number"),
        pytest.param("/log/entries/" + "9" * 40, 422, id="entry-huge"),
        pytest.param("/log/checkpoint?size=100000", 404, id="checkpoint-past-end"),
        pytest.param("/log/proof/inclusion?index=5&size=5", 404, id="index-at-size"),
        pytest.param("/log/proof/inclusion?size=5", 422, id="index-missing"),
        pytest.param("/log/proof/consistency?old=0&new=5", 404, id="old-zero"),
        pytest.param("/log/proof/consistency?old=9&new=5", 404, id="old-above-new"),
        pytest.param("/log/proof/consistency?old=1&new=10000000", 404, id="new-past"),
    ],
)
def test_log_refusals_are_problems(served: Served, path: str, status: int) -> None:
    assert_problem(served.client.get(path), status)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_inclusion_proof_verifies_against_its_checkpoint(
    served: Served, data: st.DataObject
) -> None:
    total = served.size()
    size = data.draw(st.integers(1, total), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    note = served.client.get(f"/log/checkpoint?size={size}").text
    checkpoint = served.checkpoint(note)
    proof = served.client.get(f"/log/proof/inclusion?index={index}&size={size}").json()
    entry = served.client.get(f"/log/entries/{index}").content
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    verify_inclusion(leaf_hash(entry), index, size, hashes, checkpoint.root)
