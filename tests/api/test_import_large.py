"""A list of 25,000 payments: more rows than one signed request may hold.

The county (25,000 high-school students sealed in the vault and on both rolls,
and a budget for them) is built through signed requests by
``bench.importing.build_county``, the benchmark's own builder: the CLI would
seal the vault one person per transaction. The list is a real CSV file and is
imported through the CLI. It is recorded all or nothing: one bad row at the
very end refuses all 25,000; a good list is recorded in three signed requests
in one transaction; a refusal in the last of several requests executed
together (a smaller county will do for that) leaves the log as it was. On
SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import FundLedger
from api.commands import execute_together
from api.requests import parse_request
from bench.importing import COUNTY, SCHOOL, TERM_FEN, YEAR, County, build_county
from bench.importing import write_list as write_csv
from domain.errors import DuplicatePayment
from domain.funds import MAX_BATCH
from ledger.application import open_ledger
from ledger.storage import parse_url

ROWS = 25_000
SMALL = 300  # students of the county where requests are executed together
CHUNK = 100
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def county(database_url: str, tmp_path: Path) -> Iterator[County]:
    built = build_county(parse_url(database_url), ROWS)
    built.recorder.save(tmp_path / "recorder.key")
    built.vault.secrets.save(tmp_path / "secrets.key")
    yield built
    built.ledger.close()


@pytest.fixture
def small_county(database_url: str) -> Iterator[County]:
    built = build_county(parse_url(database_url), SMALL)
    yield built
    built.ledger.close()


def _import(database_url: str, directory: Path, path: Path) -> tuple[int, str, str]:
    command = [
        sys.executable,
        "-m",
        "api.cli",
        "--db",
        database_url,
        "--secrets",
        str(directory / "secrets.key"),
        "import",
        str(path),
        "--key",
        str(directory / "recorder.key"),
        "--county",
        COUNTY,
        "--year",
        str(YEAR),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDLEDGER_")}
    result = subprocess.run(
        command,
        capture_output=True,
        cwd=directory,
        env=env | {"PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def _log(county: County) -> tuple[int, bytes | None]:
    """The log's size and last entry: any append changes them."""
    recorder = county.ledger.log_recorder
    size = recorder.log_size()
    return size, recorder.read_entry(size - 1)


def test_a_large_list_is_recorded_all_or_nothing(
    county: County, database_url: str, tmp_path: Path
) -> None:
    assert ROWS > 2 * MAX_BATCH
    students = county.students

    # 1. One bad row at the very end: none of the 25,000 is recorded.
    bad = write_csv(tmp_path / "bad.csv", [*students, students[0]])
    before = _log(county)
    status, out, err = _import(database_url, tmp_path, bad)
    assert status == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "1 bad rows of 25001" in err
    assert f"line {ROWS + 2}: repeats line 2" in out
    assert _log(county) == before

    # 2. The good list: every row, in three signed requests, one transaction.
    good = write_csv(tmp_path / "good.csv", students)
    status, out, err = _import(database_url, tmp_path, good)
    assert status == 0, err
    assert f"recorded {ROWS} payments" in out
    assert "in 3 signed requests" in out
    size, _ = _log(county)
    assert size == before[0] + ROWS + 3
    fund = county.ledger.fund(COUNTY)
    assert sum(1 for p in fund.payments.values() if p.status == "proposed") == ROWS

    # 3. Again, in GB18030 this time: the same list, so nothing new.
    again = write_csv(tmp_path / "again.csv", students, encoding="gb18030")
    status, out, err = _import(database_url, tmp_path, again)
    assert status == 0, err
    assert "already recorded" in out
    assert _log(county)[0] == size


def test_requests_executed_together_are_recorded_together_or_not_at_all(
    small_county: County, database_url: str
) -> None:
    county = small_county
    # A ledger without the aggregate cache the builder used: what it reads
    # after a refusal comes from the database alone.
    ledger, _ = open_ledger(parse_url(database_url), app_class=FundLedger)
    rolls = ledger.rolls_or_none(COUNTY)
    assert rolls is not None
    refs = sorted(rolls.students)
    rows = [
        {
            "payment_id": f"spring-{number}",
            "programme": "HS_GRANT",
            "year": YEAR,
            "term": "spring",
            "payee_kind": "person",
            "payee": ref,
            "amount_fen": TERM_FEN,
            "details": {"school": SCHOOL},
        }
        for number, ref in enumerate(refs[: 2 * CHUNK])
    ]
    chunks = [rows[:CHUNK], rows[CHUNK:], [rows[0]]]  # the last repeats one
    requests = [
        parse_request(
            county.recorder.sign(
                "fund.propose_payments", {"county": COUNTY, "payments": chunk}
            )
        )
        for chunk in chunks
    ]
    before = _log(county)

    try:
        with pytest.raises(DuplicatePayment, match="spring-0"):
            execute_together(ledger, requests)
        assert _log(county) == before
        assert not ledger.fund(COUNTY).payments

        # The builder's ledger hands out cached aggregates, not copies: the
        # refused changes must not stay in its cache either.
        county.ledger.fund(COUNTY)
        with pytest.raises(DuplicatePayment, match="spring-0"):
            execute_together(county.ledger, requests)
        assert not county.ledger.fund(COUNTY).payments
        assert _log(county) == before

        receipts = execute_together(ledger, requests[:2])
        assert [len(receipt.entries) for receipt in receipts] == [CHUNK + 1] * 2
        assert all(
            receipt.replayed for receipt in execute_together(ledger, requests[:2])
        )
    finally:
        ledger.close()
