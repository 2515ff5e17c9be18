"""No public row of the disclosure views holds personal data, over the demo ledger.

The demo (``api.demo``) records three Enshi counties with vaulted students, rolls
and payments; one more student is vaulted with a bank account. The projection is
rebuilt from the log's own entries with a name lookup that reads the vault, as
the api will supply it. Then no public value may hold an 18-character resident
ID, a full name from the vault, a bank account number or a full person_ref, and
the self-check answers for one pseudonym with that person's payments only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import FundLedger
from api.commands import execute
from api.demo import STUDENTS, YEAR, demo_resident_id, run_demo
from api.requests import OfficerKey, parse_request
from api.vault_store import DeploymentSecrets, Vault
from domain.vault import PersonalData
from ledger.application import create_ledger
from ledger.note import NoteSigner
from ledger.storage import parse_url
from projections.disclosure import Disclosure, self_check
from projections.feed import LoggedEvent, decode
from tests.projections.disclosure_support import public_values

ORIGIN = "privacy.fundledger.example/log"
BANK_ACCOUNT = "6222021234567890123"
RESIDENT_ID = re.compile(r"[0-9]{17}[0-9Xx]")
LONG_DIGITS = re.compile(r"[0-9]{12,}")
HEX_64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[LoggedEvent], Vault, str]]:
    """The demo ledger's entries, its vault and the extra student's pseudonym."""
    directory = tmp_path_factory.mktemp("demo")
    ledger, _ = create_ledger(
        parse_url(f"sqlite:///{directory / 'ledger.db'}"),
        ORIGIN,
        NoteSigner.generate(ORIGIN),
        app_class=FundLedger,
    )
    try:
        admin = OfficerKey.generate("officer:admin")
        enrol = {
            "officer_id": "officer:admin",
            "name": "Administrator",
            "role": "administrator",
            "jurisdiction": "420000",
            "public_key": admin.public_key_hex,
        }
        execute(ledger, parse_request(admin.sign("officer.enrol", enrol)))
        secrets = DeploymentSecrets.generate()
        run_demo(ledger, admin, directory, secrets)
        vault = Vault(ledger.log_recorder, secrets)
        extra, _ = vault.put(
            PersonalData(
                "欧阳小明", demo_resident_id("422822", "20110101", 99), BANK_ACCOUNT
            )
        )
        _pay_extra(ledger, directory, extra)
        size = ledger.log_recorder.log_size()
        entries = [
            decode(row[0], row[1], bytes(row[4]))
            for batch in ledger.log_recorder.verification_rows(size)
            for row in batch
        ]
        yield entries, vault, extra
    finally:
        ledger.close()


def _pay_extra(ledger: FundLedger, directory: Path, person: str) -> None:
    """Put the extra student on the rolls of 建始县 and pay a high-school grant."""
    recorder = OfficerKey.load(directory / "demo-demo-recorder.key")
    approver = OfficerKey.load(directory / "demo-demo-approver.key")
    county = "422822"
    roll = {
        "county": county,
        "poor": [
            {
                "person_ref": person,
                "household_ref": "H-extra",
                "listed_on": "2026-03-01",
            }
        ],
        "students": [
            {
                "person_ref": person,
                "school": f"{county}S0003",
                "stage": "high_school",
                "grade": 10,
                "boarding": False,
                "year": YEAR,
            }
        ],
    }
    payment = {
        "county": county,
        "payment_id": "extra-HS_GRANT",
        "programme": "HS_GRANT",
        "year": YEAR,
        "term": "autumn",
        "payee_kind": "person",
        "payee": person,
        "amount_fen": 125_000,
    }
    for key, command, params in (
        (recorder, "roll.import", roll),
        (recorder, "fund.propose_payment", payment),
        (
            approver,
            "fund.approve_payment",
            {"county": county, "payment_id": "extra-HS_GRANT"},
        ),
    ):
        execute(ledger, parse_request(key.sign(command, params)))


def test_no_public_row_holds_personal_data(
    demo: tuple[list[LoggedEvent], Vault, str],
) -> None:
    entries, vault, extra = demo
    asked: list[str] = []

    def names(person_ref: str) -> str | None:
        asked.append(person_ref)
        return vault.get(person_ref).name

    view = Disclosure(names)
    view.apply_all(entries)
    values = public_values(view)
    assert asked, "the demo pays students, so names were looked up"
    assert len(list(view.rows("notices"))) >= 15

    full_names = {name for name, *_ in STUDENTS} | {"欧阳小明"}
    refs = set(asked) | {extra}
    for table, value in values:
        assert not RESIDENT_ID.search(value), (table, value)
        assert not LONG_DIGITS.search(value), (table, value)  # no bank account
        assert not HEX_64.search(value), (table, value)
        assert BANK_ACCOUNT not in value
        assert value not in full_names, (table, value)
        assert not any(name in value for name in full_names if len(name) > 1), value
        assert not any(person in value for person in refs)

    masked = {row[2] for _, row in view.rows("notices")}
    assert {"向*燕", "田*强", "谭*梅", "覃*军", "黄*", "欧**明"} <= masked


def test_self_check_answers_for_one_pseudonym_only(
    demo: tuple[list[LoggedEvent], Vault, str],
) -> None:
    entries, _, _ = demo
    view = Disclosure()
    view.apply_all(entries)
    payees = {
        entry.body["payee"]
        for entry in entries
        if entry.name == "CountyFund.PaymentProposed"
        and entry.body["payee_kind"] == "person"
    }
    assert len(payees) == 16
    for person in payees:
        lines = self_check(view, person)
        assert len(lines) == 1
        (line,) = lines
        assert line.status == "approved"
        assert line.year == YEAR
        assert line.payment_id.startswith((line.county, "extra-"))
        assert set(line.evidence) == {line.proposed_seq, line.approved_seq}


def test_without_a_lookup_notices_show_placeholders(
    demo: tuple[list[LoggedEvent], Vault, str],
) -> None:
    entries, _, _ = demo
    view = Disclosure()
    view.apply_all(entries)
    assert all(str(row[2]).startswith("学生") for _, row in view.rows("notices"))
