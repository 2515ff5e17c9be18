"""Self-check through the CLI: one's own payments with proofs, nobody else's.

A tiny synthetic province is built and its views updated; a pupil's ID and
name (read from the vault, as the family knows them) give exactly that pupil's
payments, each entry proven against the signed checkpoint in the answer. A
wrong name or an unknown ID gives one line on stderr and nothing else.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from api.app import FundLedger
from api.cli import main
from api.vault_store import DeploymentSecrets, Vault
from domain.resident_id import check_character
from ledger.application import open_ledger
from ledger.checkpoint import open_checkpoint
from ledger.keys import read_signer_key
from ledger.merkle import leaf_hash, verify_inclusion
from ledger.storage import parse_url
from tests.projections.runner_support import cli_args

ORIGIN = "self-check.fundledger.example/log"


def _pupil_with_payments(url: str, secrets: Path) -> tuple[str, str, str, bytes]:
    """A paid pupil's (person_ref, ID, name) and an entry of someone else's."""
    ledger, log = open_ledger(parse_url(url), None, app_class=FundLedger)
    try:
        vault = Vault(ledger.log_recorder, DeploymentSecrets.load(secrets))
        paid: list[str] = []
        for seq in range(log.size()):
            body = json.loads(log.entry(seq))["body"]
            if body.get("payee_kind") == "person" and "payee" in body:
                paid.append(body["payee"])
        person = paid[0]
        other = next(p for p in paid if p != person)
        data = vault.get(person)
        return person, data.resident_id, data.name, other.encode()
    finally:
        ledger.close()


def _answer(capsys: pytest.CaptureFixture[str], args: list[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(args) == 0
    answer: dict[str, Any] = json.loads(capsys.readouterr().out)
    return answer


def test_a_family_sees_its_own_payments_with_proofs(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = cli_args(database_url, tmp_path)
    admin = str(tmp_path / "admin.key")
    assert main([*base, "init", "--origin", ORIGIN, "--admin-key", admin]) == 0
    truth = str(tmp_path / "truth.json")
    assert (
        main([*base, "demo", "--key", admin, "--scale", "tiny", "--truth", truth]) == 0
    )
    assert main([*base, "views", "update"]) == 0
    person, id_number, name, other = _pupil_with_payments(
        database_url, tmp_path / "secrets.key"
    )

    answer = _answer(
        capsys,
        [*base, "views", "self-check", "--id-number", id_number, "--name", name],
    )

    # 1. Their payments, and the answer holds no personal data but a mask.
    assert answer["payments"]
    assert answer["name"] != name
    assert answer["name"][0] == name[0]
    text = json.dumps(answer, ensure_ascii=False)
    for secret in (id_number, name, person, other.decode()):
        assert secret not in text

    # 2. Each entry behind a line is about this person, and proven in the log.
    verifier = read_signer_key(tmp_path / "log.key").verifier()
    checkpoint = open_checkpoint(answer["checkpoint"], [verifier], ORIGIN)
    ledger, log = open_ledger(parse_url(database_url), None, app_class=FundLedger)
    try:
        for line in answer["payments"]:
            assert line["evidence"]
            for seq in line["evidence"]:
                entry = log.entry(seq)
                body = json.loads(entry)["body"]
                named = {body.get("payee"), body.get("payment_id")}
                assert person in named or line["payment_id"] in named
                proof = answer["proofs"][str(seq)]
                assert (proof["index"], proof["size"]) == (seq, checkpoint.size)
                verify_inclusion(
                    leaf_hash(entry),
                    seq,
                    checkpoint.size,
                    [base64.b64decode(h) for h in proof["hashes"]],
                    checkpoint.root,
                )
    finally:
        ledger.close()


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param("name", id="right-id-wrong-name"),
        pytest.param("id", id="valid-id-nobody-holds"),
    ],
)
def test_a_wrong_name_or_id_shows_nothing(
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    wrong: str,
) -> None:
    base = cli_args(database_url, tmp_path)
    admin = str(tmp_path / "admin.key")
    assert main([*base, "init", "--origin", ORIGIN, "--admin-key", admin]) == 0
    truth = str(tmp_path / "truth.json")
    assert (
        main([*base, "demo", "--key", admin, "--scale", "tiny", "--truth", truth]) == 0
    )
    assert main([*base, "views", "update"]) == 0
    _, id_number, name, _ = _pupil_with_payments(database_url, tmp_path / "secrets.key")
    if wrong == "name":
        name = name[0] + "某某"
    else:
        body = "42280120100101999"
        id_number = body + check_character(body)

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "views", "self-check", "--id-number", id_number, "--name", name])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "no payments are recorded for this resident ID and name" in captured.err
