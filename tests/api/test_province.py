"""The synthetic province at tiny scale, end to end on SQLite.

Two builds from one seed under one deployment's secrets must agree on every
planted case and every pseudonym; every resident ID must be one the domain
accepts, with the region and birth date the generator promises; every planted
case must be in the ledger as the ground truth says; and the whole log must
verify. The documented counts of the larger scales are checked without
building them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from api.app import FundLedger
from api.commands import execute
from api.province import run_province
from api.province_people import SCHOOL_YEAR_START
from api.province_scale import SCALES, county_weights, school_counts, split
from api.requests import OfficerKey, parse_request
from api.vault_store import DeploymentSecrets, Vault
from api.verification import RequestCheck
from domain.errors import DomainError
from domain.funds import CountyFund
from domain.resident_id import age_on, parse_resident_id
from domain.units import Stage, load_hubei
from ledger.application import create_ledger
from ledger.log import Log
from ledger.note import NoteSigner
from ledger.storage import parse_url
from ledger.verify import verify_log

ORIGIN = "province.fundledger.example/test"
TODAY = date(2026, 12, 4)
# Usual ages on 1 September (domain/data/fraud-rules-2018.json), for R07.
AGES = {
    "kindergarten": (2, 7),
    "primary": (5, 15),
    "teaching_point": (5, 15),
    "junior_secondary": (10, 18),
    "high_school": (13, 21),
    "secondary_vocational": (13, 24),
    "special_education": (3, 24),
}


@dataclass
class Built:
    """A tiny province built into a fresh ledger."""

    ledger: FundLedger
    log: Log
    truth: dict[str, Any]
    secrets: DeploymentSecrets
    directory: Path


def _build(directory: Path, secrets: DeploymentSecrets, seed: int) -> Built:
    directory.mkdir()
    signer = NoteSigner.generate(ORIGIN)
    admin = OfficerKey.generate("officer:admin")
    ledger, log = create_ledger(
        parse_url(str(directory / "ledger.db")), ORIGIN, signer, app_class=FundLedger
    )
    enrol = admin.sign(
        "officer.enrol",
        {
            "officer_id": "officer:admin",
            "name": "Administrator",
            "role": "administrator",
            "jurisdiction": "420000",
            "public_key": admin.public_key_hex,
        },
    )
    execute(ledger, parse_request(enrol))
    truth_path = directory / "truth.json"
    run_province(
        ledger,
        admin,
        directory,
        secrets,
        scale_name="tiny",
        seed=seed,
        truth_path=truth_path,
    )
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    return Built(ledger, log, truth, secrets, directory)


@pytest.fixture(scope="module")
def secrets() -> DeploymentSecrets:
    return DeploymentSecrets.generate()


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, secrets: DeploymentSecrets
) -> Iterator[Built]:
    result = _build(tmp_path_factory.mktemp("first") / "ledger", secrets, seed=1)
    yield result
    result.ledger.close()


@pytest.fixture(scope="module")
def again(
    tmp_path_factory: pytest.TempPathFactory, secrets: DeploymentSecrets
) -> Iterator[Built]:
    result = _build(tmp_path_factory.mktemp("second") / "ledger", secrets, seed=1)
    yield result
    result.ledger.close()


def _counties(built: Built) -> list[str]:
    return [str(code) for code in built.truth["summary"]["county_codes"]]


def _refs(built: Built) -> dict[str, set[str]]:
    refs = {}
    for county in _counties(built):
        rolls = built.ledger.rolls_or_none(county)
        assert rolls is not None
        refs[county] = set(rolls.students)
    return refs


def _cases(built: Built, rule: str) -> list[dict[str, Any]]:
    return [case for case in built.truth["cases"] if case["rule"] == rule]


def test_one_seed_gives_one_truth_and_one_set_of_pseudonyms(
    built: Built, again: Built
) -> None:
    assert built.truth == again.truth
    assert _refs(built) == _refs(again)
    fund = built.ledger.fund(_counties(built)[0])
    other = again.ledger.fund(_counties(again)[0])
    assert fund.balances == other.balances


def test_another_seed_gives_another_province(
    tmp_path: Path, secrets: DeploymentSecrets, built: Built
) -> None:
    other = _build(tmp_path / "other", secrets, seed=2)
    try:
        assert other.truth["cases"] != built.truth["cases"]
        assert _refs(other) != _refs(built)
    finally:
        other.ledger.close()


def test_the_counts_are_the_scales(built: Built) -> None:
    summary = built.truth["summary"]
    scale = SCALES["tiny"]
    assert summary["counties"] == scale.counties
    assert summary["beneficiaries"] == scale.beneficiaries
    for stage, count in scale.schools.items():
        assert summary["schools"][stage.value] == count
    assert summary["schools"]["special_education"] == scale.counties
    students = sum(len(refs) for refs in _refs(built).values())
    foreign = sum(1 for case in _cases(built, "R01") if len(case["counties"]) == 2)
    assert students == scale.beneficiaries + foreign


@pytest.mark.parametrize("name", sorted(SCALES))
def test_larger_scales_split_the_plans_numbers_exactly(name: str) -> None:
    import random  # noqa: PLC0415 - only this test draws weights

    scale = SCALES[name]
    units = load_hubei()
    counties = scale.counties or sum(1 for u in units if u.level.value == "county")
    weights = county_weights(random.Random(1), counties)  # noqa: S311
    per_county = school_counts(scale, weights)
    for stage, total in scale.schools.items():
        assert sum(county[stage] for county in per_county) == total
        # Every county has a school of each stage unless there are too few.
        assert all(county[stage] >= 1 for county in per_county) == (total >= counties)
    assert sum(split(scale.beneficiaries, weights)) == scale.beneficiaries
    if name == "province":
        compulsory = (Stage.JUNIOR_SECONDARY, Stage.PRIMARY, Stage.TEACHING_POINT)
        assert [scale.schools[s] for s in compulsory] == [592, 2_252, 1_017]
        assert sum(scale.schools[s] for s in compulsory) == 3_861
        assert scale.schools[Stage.SECONDARY_VOCATIONAL] == 34
        assert scale.schools[Stage.HIGH_SCHOOL] == 79
        assert scale.beneficiaries == 766_000
        assert counties == 37
        vocational = [county[Stage.SECONDARY_VOCATIONAL] for county in per_county]
        assert sorted(vocational) == [0] * 3 + [1] * 34


def test_every_resident_id_is_valid_and_fits_its_holder(built: Built) -> None:
    vault = Vault(built.ledger.log_recorder, built.secrets)
    units = built.ledger.units
    planted_age = {case["subject"] for case in _cases(built, "R07")}
    planted_region = {case["subject"] for case in _cases(built, "R09")}
    foreign = {
        (case["counties"][1], case["subject"])
        for case in _cases(built, "R01")
        if len(case["counties"]) == 2
    }
    for county, refs in _refs(built).items():
        rolls = built.ledger.rolls_or_none(county)
        assert rolls is not None
        for ref in refs:
            data = vault.get(ref)
            resident_id = parse_resident_id(data.resident_id, today=TODAY)
            assert built.secrets.person_ref_of(data.resident_id, TODAY) == ref
            if ref in planted_region:
                assert resident_id.region_code not in units
            elif (county, ref) not in foreign:
                assert resident_id.region_code == county
            stage = rolls.students[ref].stage.value
            age = age_on(resident_id, SCHOOL_YEAR_START)
            low, high = AGES[stage]
            if ref in planted_age:
                assert age == 30
            else:
                assert low <= age <= high, (stage, age)


def test_stages_and_boarding_are_spread(built: Built) -> None:
    stages: Counter[str] = Counter()
    boarders: Counter[str] = Counter()
    for county in _counties(built):
        rolls = built.ledger.rolls_or_none(county)
        assert rolls is not None
        for status in rolls.students.values():
            stages[status.stage.value] += 1
            boarders[status.stage.value] += status.boarding
    assert set(stages) == {stage.value for stage in Stage}
    total = sum(stages.values())
    assert 0.25 < stages["primary"] / total < 0.5
    assert boarders["teaching_point"] == 0
    assert boarders["kindergarten"] == 0
    assert boarders["junior_secondary"] / stages["junior_secondary"] > 0.4
    assert 0 < boarders["primary"] < stages["primary"]


def test_every_rule_is_planted_at_least_three_times(built: Built) -> None:
    counts = built.truth["counts"]
    assert counts.pop("R12") == 0
    assert built.truth["rules"]["R12"]["plantable"] is False
    assert all(count >= 3 for count in counts.values()), counts
    assert built.truth["near_misses"]
    planted = {json.dumps(case, sort_keys=True) for case in built.truth["cases"]}
    for miss in built.truth["near_misses"]:
        assert json.dumps(miss, sort_keys=True) not in planted


def _payments(built: Built, case: dict[str, Any]) -> list[Any]:
    found = []
    for county in case.get("counties") or [case["county"]]:
        fund = built.ledger.fund(county)
        found += [fund.payments[p] for p in case["payment_ids"] if p in fund.payments]
    assert len(found) == len(case["payment_ids"]), case
    assert all(payment.status == "approved" for payment in found)
    return found


def test_every_planted_case_is_in_the_ledger(built: Built) -> None:
    for case in built.truth["cases"]:
        rule, county = case["rule"], case["county"]
        fund = built.ledger.fund(county)
        rolls = built.ledger.rolls_or_none(county)
        assert rolls is not None
        payments = _payments(built, case)
        if rule == "R01":
            assert len({(p.payee, p.details["term"]) for p in payments}) == 1
            places = {p.details["school"] for p in payments}
            assert len(places) == 2
        elif rule == "R02":
            assert {p.details["programme"] for p in payments} == {
                "HS_GRANT",
                "SV_GRANT",
            }
        elif rule == "R03":
            assert len({p.amount_fen for p in payments}) == 2
            assert sum(p.amount_fen for p in payments) > case["term_rate_fen"]
        elif rule == "R04" and case["variant"] == "person-year":
            assert sum(p.amount_fen for p in payments) < 3_000_00
        elif rule == "R04":
            (payment,) = payments
            assert payment.amount_fen < payment.details["headcount"] * 1_500_00
        elif rule == "R05":
            assert case["subject"] not in rolls.poor
        elif rule == "R06":
            assert rolls.students[case["subject"]].year == 2025
        elif rule == "R08":
            assert rolls.students[case["subject"]].boarding is False
        elif rule == "R11":
            assert {p.details["account_ref"] for p in payments} == {case["subject"]}
            assert len({rolls.poor[ref] for ref in case["person_refs"]}) == 2
        elif rule == "R13":
            first, second = payments
            assert (first.payee, first.amount_fen, first.details) == (
                second.payee,
                second.amount_fen,
                second.details,
            )
        elif rule == "R14":
            donation, allocation = (fund.transfers[t] for t in case["transfer_ids"])
            assert allocation.amount_fen > case["unearmarked_before_fen"]
            assert donation.credit == fund.pool
        elif rule == "R15":
            amounts = [
                fund.balance(f"project:{county}:{p}") for p in case["project_ids"]
            ]
            threshold = case["threshold_fen"]
            assert all(threshold * 8 // 10 <= a < threshold for a in amounts)
            assert sum(amounts) > threshold


def test_payments_to_people_carry_an_account_ref(built: Built) -> None:
    for county in _counties(built):
        fund = built.ledger.fund(county)
        for payment in fund.payments.values():
            if payment.payee.startswith("person:"):
                assert len(payment.details["account_ref"]) == 64


def test_the_log_verifies(built: Built) -> None:
    report = verify_log(
        built.ledger.log_recorder,
        built.log.origin,
        built.log.verifier,
        entry_check=RequestCheck(),
    )
    assert report.failure is None


def test_a_batch_with_one_bad_row_records_nothing(built: Built) -> None:
    county = _counties(built)[0]
    fund: CountyFund = built.ledger.fund(county)
    good = next(p for p in fund.payments.values() if p.payee.startswith("person:"))
    row = {
        "payment_id": "batch-test-1",
        "programme": good.details["programme"],
        "year": 2026,
        "term": "autumn",
        "payee_kind": "person",
        "payee": good.payee.removeprefix("person:"),
        "amount_fen": 1,
    }
    bad = row | {"payment_id": "batch-test-2", "programme": "NO_SUCH_PROGRAMME"}
    key = OfficerKey.load(built.directory / "province-tiny-recorder.key")
    document = key.sign(
        "fund.propose_payments", {"county": county, "payments": [row, bad]}
    )
    size = built.ledger.log_recorder.log_size()
    with pytest.raises(DomainError):
        execute(built.ledger, parse_request(document))
    assert built.ledger.log_recorder.log_size() == size
    assert "batch-test-1" not in built.ledger.fund(county).payments


def test_the_command_line_builds_and_verifies(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDLEDGER_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    base = [sys.executable, "-m", "api.cli", "--db", str(tmp_path / "l.db")]
    base += ["--log-key", str(tmp_path / "log.key")]
    base += ["--secrets", str(tmp_path / "secrets.key")]

    def run(*args: str) -> str:
        result = subprocess.run(
            [*base, *args],
            capture_output=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()

    run("init", "--origin", ORIGIN, "--admin-key", str(tmp_path / "admin.key"))
    out = run("demo", "--key", str(tmp_path / "admin.key"), "--scale", "tiny")
    assert "360 beneficiaries" in out
    truth = json.loads((tmp_path / "l.truth.json").read_text(encoding="utf-8"))
    assert truth["scale"] == "tiny"
    assert run("verify").startswith("OK ")
