"""End to end: a double claim recorded through the real CLI on SQLite, found by
the rules over the ledger's entries (R01), raised in the log by the monitor's
signed request, then resolved by a signed auditor request and seen resolved."""

from __future__ import annotations

from pathlib import Path

from api.app import FundLedger
from api.person_facts import vault_lookup
from api.vault_store import DeploymentSecrets, Vault
from domain.resident_id import check_character
from ledger.application import open_ledger
from ledger.storage import parse_url
from projections.feed import decode
from projections.rules import FraudRules
from projections.runner import ProjectionRunner
from projections.store import ViewStore
from tests.api.test_cli import Cli, assert_one_line_error

ORIGIN = "rules.fundledger.example/log"
COUNTIES = ("422822", "422823")


def resident_id(body: str) -> str:
    return body + check_character(body)


def rules_over(cli: Cli) -> FraudRules:
    """Run the rules over every entry of the CLI's ledger, with its vault."""
    ledger, _ = open_ledger(parse_url(cli.db), None, app_class=FundLedger)
    try:
        secrets = DeploymentSecrets.load(cli.key.with_suffix(".secrets"))
        vault = Vault(ledger.log_recorder, secrets)
        rules = FraudRules(lookup=vault_lookup(vault, ledger.units))
        recorder = ledger.log_recorder
        for seq in range(recorder.log_size()):
            entry = recorder.read_entry(seq)
            assert entry is not None
            rules.apply(decode(seq, seq + 1, entry))
    finally:
        ledger.close()
    return rules


def test_a_double_claim_across_two_counties_is_found_and_resolved(
    tmp_path: Path,
) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "log.key", tmp_path)
    cli.ok("init", "--origin", ORIGIN)
    for role in ("recorder", "approver", "auditor", "monitor"):
        cli.ok(
            "officer", "enrol", "--key", "fundledger-admin.key",
            "--id", f"officer:{role}", "--name", role, "--role", role,
            "--jurisdiction", "420000", "--out", f"{role}.key",
        )  # fmt: skip
    number = resident_id("42282220100101123")
    for county in COUNTIES:
        school = f"{county}S0001"
        recorder = ("--key", "recorder.key", "--county", county)
        cli.ok("fund", "open", *recorder, "--name", county)
        cli.ok(
            "school", "register", *recorder, "--code", school, "--name", "高中",
            "--stage", "high_school",
        )  # fmt: skip
        cli.ok(
            "record", "receipt", *recorder, "--id", f"in-{county}",
            "--source-kind", "central", "--source", "central-budget",
            "--reference", "2026", "--amount", "100000",
        )  # fmt: skip
        cli.ok(
            "record", "allocation", *recorder, "--id", f"al-{county}",
            "--programme", "HS_GRANT", "--year", "2026", "--amount", "50000",
        )  # fmt: skip
        out = cli.ok(
            "beneficiary", "add", *recorder, "--name", "张小明",
            "--id-number", number, "--household", f"{county}-H1",
            "--listed-on", "2026-03-01",
        ).decode()  # fmt: skip
        person = out.split("person ")[-1].strip()
        cli.ok(
            "beneficiary", "status", *recorder, "--id-number", number,
            "--school", school, "--stage", "high_school", "--grade", "10",
            "--year", "2026", "--boarding",
        )  # fmt: skip
        cli.ok(
            "record", "payment", *recorder, "--id", f"pay-{county}",
            "--programme", "HS_GRANT", "--year", "2026", "--term", "autumn",
            "--payee-kind", "person", "--payee", person, "--amount", "1250",
        )  # fmt: skip
        cli.ok("approve", f"pay-{county}", "--key", "approver.key", "--county", county)

    # 1. The rules find the double claim, and only it.
    rules = rules_over(cli)
    alerts = list(rules.rows("alerts"))
    assert [row[0] for _, row in alerts] == ["R01"], alerts
    (alert_id,), row = alerts[0]
    assert row[3] == f"{person}/HS_GRANT/2026/autumn"
    assert row[6] == "open"
    assert len(rules.evidence("alerts", (alert_id,))) == 6

    # 2. Raised in the log by the monitor, and by nobody else; not resolved
    # before it was raised.
    unraised = cli.run(
        "alert", "resolve", str(alert_id), "--outcome", "confirmed",
        "--reason", "paid twice", "--key", "auditor.key",
    )  # fmt: skip
    assert_one_line_error(unraised, "never raised")
    cli.ok("views", "update")
    size = cli.ok("log", "checkpoint").splitlines()[1]
    refused = cli.run("alert", "raise", "--key", "recorder.key")
    assert_one_line_error(refused, "may not alert.raise")
    assert cli.ok("log", "checkpoint").splitlines()[1] == size
    assert b"raised 1 alerts" in cli.ok("alert", "raise", "--key", "monitor.key")
    assert b"raised 0 alerts" in cli.ok("alert", "raise", "--key", "monitor.key")

    # 3. Only an auditor may resolve it.
    refused = cli.run(
        "alert", "resolve", str(alert_id), "--outcome", "confirmed",
        "--reason", "paid twice", "--key", "recorder.key",
    )  # fmt: skip
    assert_one_line_error(refused, "may not alert.resolve")
    cli.ok(
        "alert", "resolve", str(alert_id), "--outcome", "confirmed",
        "--reason", "paid in both counties", "--key", "auditor.key",
    )  # fmt: skip

    # 4. The resolution is in the log, verifies, and the alert is confirmed.
    assert cli.ok("verify").startswith(b"OK ")
    rules = rules_over(cli)
    resolved = rules.get("alerts", (alert_id,))
    assert resolved is not None
    assert resolved[6:8] == ("confirmed", "paid in both counties")
    assert isinstance(resolved[8], int)

    # 5. Kept by the runner in the ledger's database, in small batches, the
    # rules' rows come back as they were made.
    ledger, _ = open_ledger(parse_url(cli.db), None, app_class=FundLedger)
    try:
        secrets = DeploymentSecrets.load(cli.key.with_suffix(".secrets"))
        lookup = vault_lookup(Vault(ledger.log_recorder, secrets), ledger.units)
        with ViewStore(ledger.storage) as store:
            ProjectionRunner(store, [FraudRules(lookup=lookup)], batch_size=7).update()
            stored = FraudRules(lookup=lookup)
            store.load(stored)
    finally:
        ledger.close()
    assert stored.snapshot() == rules.snapshot()
