"""Spreadsheet import: rows per second of ``fundledger import`` against one
request per row.

One county with ``rows`` high-school students of registered-poor households,
sealed in the vault and on both rolls, and a budget that covers a term of
national grants for all of them. Our side reads a CSV of one HS_GRANT payment
per student and records it with ``import_payments``, the function behind the
CLI command and the upload endpoint: every row checked, then every payment
proposed under signed requests in one transaction. The baseline records the
same kind of payments the way a client without the import would: one signed
``fund.propose_payment`` request per row through ``execute``, one transaction
each, timed on a sample (``baseline_rows``) of the same ledger's students.

Invariants:

- Both sides run on the same back end, against the same fund, rolls and vault,
  in the same run; the baseline pays a second term so it never repeats a
  payment of ours.
- The county is built from the seed alone (``build_county``), also used by the
  tests of large imports.
"""

from __future__ import annotations

import csv
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from api.app import FundLedger
from api.commands import execute
from api.importing import read_sheet
from api.importing_record import import_payments
from api.province import CachedFundLedger
from api.province_people import Identities
from api.requests import OfficerKey, parse_request
from api.vault_store import TABLE, DeploymentSecrets, Vault
from bench.workload import Backend
from domain.pseudonyms import person_ref
from domain.resident_id import parse_resident_id
from domain.vault import PersonalData, new_person_key, seal, wrap_key
from ledger.application import create_ledger, open_ledger
from ledger.note import NoteSigner
from ledger.storage import Storage

ORIGIN = "bench.fundledger.example/import"
COUNTY = "422822"  # 建始县, Enshi
SCHOOL = f"{COUNTY}S0001"
YEAR = 2026
TERM_FEN = 125_000  # HS_GRANT: 2,500 yuan a year in two terms
ROLL_CHUNK = 5_000
TODAY = date(2026, 12, 4)
GOAL_ROWS_PER_SECOND = 20_000
BIRTH_DAYS = 3 * 365
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@dataclass(frozen=True)
class Student:
    """One student's personal data as the county's list has it."""

    name: str
    id_number: str
    bank_account: str


@dataclass
class County:
    """A ledger with one county ready for an import of ``len(students)`` rows."""

    ledger: FundLedger
    vault: Vault
    recorder: OfficerKey
    students: list[Student]


def build_county(storage: Storage, students: int, *, seed: int = 1) -> County:
    """A fresh ledger: officers, the county's fund, school, budget and rolls."""
    ledger: FundLedger
    ledger, _ = create_ledger(
        storage, ORIGIN, NoteSigner.generate(ORIGIN), app_class=CachedFundLedger
    )
    ledger.log_origin = ORIGIN
    secrets = DeploymentSecrets.generate()
    vault = Vault(ledger.log_recorder, secrets)
    admin = OfficerKey.generate("officer:admin")
    recorder = OfficerKey.generate("officer:recorder")

    def send(key: OfficerKey, command: str, **params: Any) -> None:
        execute(ledger, parse_request(key.sign(command, params)))

    # 1. Officers, the fund, a school, money and the term's budget.
    for key, role in ((admin, "administrator"), (recorder, "recorder")):
        send(
            admin,
            "officer.enrol",
            officer_id=key.officer_id,
            name=role,
            role=role,
            jurisdiction="420000" if role == "administrator" else COUNTY,
            public_key=key.public_key_hex,
        )
    send(recorder, "fund.open", county=COUNTY, county_name="建始县")
    send(
        recorder,
        "school.register",
        county=COUNTY,
        code=SCHOOL,
        name="建始县第一高级中学",
        stage="high_school",
        boarding=True,
        rural=True,
    )
    budget = 2 * students * TERM_FEN  # two terms: ours and the baseline's
    send(
        recorder,
        "fund.receive",
        county=COUNTY,
        transfer_id="in-1",
        source_kind="central",
        source="central-budget",
        reference=f"{YEAR} grants",
        amount_fen=budget,
    )
    send(
        recorder,
        "fund.allocate",
        county=COUNTY,
        transfer_id="al-1",
        programme="HS_GRANT",
        year=YEAR,
        amount_fen=budget,
    )

    # 2. The students: sealed in the vault in one transaction, then on the rolls.
    rng = random.Random(seed)  # reproducible from the seed, not secret
    identities = Identities(rng)
    people: list[Student] = []
    sealed = []
    refs = []
    for number in range(students):
        # Births spread over three years: each day's 500 sequence numbers per
        # sex (GB 11643) and its names are far from used up.
        birth = date(2008, 9, 1) + timedelta(days=number % BIRTH_DAYS)
        id_number = identities.resident_id(COUNTY, birth, male=number % 2 == 0)
        student = Student(
            identities.name(rng.choice(SURNAMES), birth),
            id_number,
            identities.bank_account(),
        )
        people.append(student)
        ref = person_ref(
            secrets.person_secret, parse_resident_id(id_number, today=TODAY)
        )
        refs.append(ref)
        data = PersonalData(student.name, id_number, student.bank_account)
        person_key = new_person_key()
        box = seal(person_key, ref, data)
        wrapped = wrap_key(secrets.vault_master, ref, person_key)
        sealed.append((ref, wrapped, box.nonce, box.ciphertext))
    with vault.recorder.side_table(commit=True) as cursor:
        cursor.executemany(
            vault.recorder.sql(
                f"INSERT INTO {TABLE} (person_ref, wrapped_key, nonce, ciphertext) "
                "VALUES (?, ?, ?, ?)"
            ),
            sealed,
        )
    for start in range(0, students, ROLL_CHUNK):
        chunk = refs[start : start + ROLL_CHUNK]
        send(
            recorder,
            "roll.import",
            county=COUNTY,
            poor=[
                {
                    "person_ref": ref,
                    "household_ref": f"H-{ref[:8]}",
                    "listed_on": "2016-03-01",
                }
                for ref in chunk
            ],
            students=[
                {
                    "person_ref": ref,
                    "school": SCHOOL,
                    "stage": "high_school",
                    "grade": 1 + index % 3,
                    "boarding": True,
                    "year": YEAR,
                }
                for index, ref in enumerate(chunk, start=start)
            ],
        )
    return County(ledger, vault, recorder, people)


def write_list(
    path: Path, students: list[Student], *, encoding: str = "utf-8-sig"
) -> Path:
    """The county's autumn list of HS_GRANT payments, as officers write it."""
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "序号",
                "姓名",
                "身份证号",
                "学校",
                "年级",
                "资助项目",
                "金额",
                "学期",
                "银行账号",
            ]
        )
        for number, student in enumerate(students, start=1):
            writer.writerow(
                [
                    number,
                    student.name,
                    student.id_number,
                    SCHOOL,
                    "高一",
                    "普通高中国家助学金",
                    f"{TERM_FEN // 100}.00",
                    "秋季学期",
                    student.bank_account,
                ]
            )
    return path


@dataclass(frozen=True)
class ImportSizes:
    """Rows imported, and rows paid one request each for the baseline."""

    rows: int
    baseline_rows: int

    @classmethod
    def choose(cls, *, quick: bool) -> ImportSizes:
        if quick:
            return cls(rows=2_000, baseline_rows=200)
        return cls(rows=100_000, baseline_rows=2_000)


def run_importing(backend: Backend, sizes: ImportSizes) -> Iterator[dict[str, Any]]:
    """One result line for ``backend``: import rows/s against one per request."""
    with backend.fresh() as storage, tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        county = build_county(storage, sizes.rows)
        setup = time.perf_counter() - started
        secrets = county.vault.secrets
        county.ledger.close()
        path = write_list(Path(directory) / "list.csv", county.students)

        # Ours: what ``fundledger import`` does, from a ledger opened afresh
        # (its cache cold, as in a new process): read, check, record.
        ledger, _ = open_ledger(storage, app_class=CachedFundLedger)
        ledger.log_origin = ORIGIN
        try:
            started = time.perf_counter()
            vault = Vault(ledger.log_recorder, secrets)
            report = import_payments(
                ledger,
                vault,
                county.recorder,
                COUNTY,
                read_sheet(path),
                year=YEAR,
                today=TODAY,
            )
            ours_seconds = time.perf_counter() - started
            assert report.recorded, report.summary()

            # Baseline: one signed request, one transaction, per payment, on
            # the same ledger (its cache now warm: the rolls are not replayed).
            sample = county.students[: sizes.baseline_rows]
            refs = [
                person_ref(
                    secrets.person_secret,
                    parse_resident_id(student.id_number, today=TODAY),
                )
                for student in sample
            ]
            started = time.perf_counter()
            for number, ref in enumerate(refs):
                params = {
                    "county": COUNTY,
                    "payment_id": f"one-{number}",
                    "programme": "HS_GRANT",
                    "year": YEAR,
                    "term": "spring",
                    "payee_kind": "person",
                    "payee": ref,
                    "amount_fen": TERM_FEN,
                    "details": {"school": SCHOOL},
                }
                document = county.recorder.sign("fund.propose_payment", params)
                execute(ledger, parse_request(document))
            baseline_seconds = time.perf_counter() - started
        finally:
            ledger.close()
    ours = sizes.rows / ours_seconds
    baseline = sizes.baseline_rows / baseline_seconds
    yield {
        "name": "importing",
        "backend": backend.name,
        "parameters": {
            "rows": sizes.rows,
            "baseline_rows": sizes.baseline_rows,
            "requests": len(report.receipts),
            "setup_seconds": round(setup, 1),
        },
        "ours": round(ours, 1),
        "baseline": round(baseline, 1),
        "ratio": round(ours / baseline, 3),
        "goal": f"ours >= {GOAL_ROWS_PER_SECOND} rows/s",
        "met": ours >= GOAL_ROWS_PER_SECOND,
        "units": "rows/s",
        "baseline_is": (
            "one signed fund.propose_payment request per row through execute, "
            "one transaction each, same ledger (warm cache) and back end"
        ),
        "ours_seconds": round(ours_seconds, 2),
    }
