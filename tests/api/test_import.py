"""``fundledger import``: payment lists from spreadsheets, through the CLI.

The ledger is the synthetic province at tiny scale (``demo --scale tiny``),
built with the CLI; the lists are real files written here (CSV in UTF-8 with
and without a byte-order mark and in GB18030, XLSX written with openpyxl),
holding the real names and IDs sealed in the vault. A good list is recorded
once and its payments appear in ``fund show``; a list with every kind of bad
row lists each one at its line and records nothing; a dry run records nothing;
user errors are one line on stderr. Nothing recorded means the log's size and
Merkle root (which commits to every byte of every entry) are unchanged. On
SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import Workbook

from api.app import FundLedger
from api.vault_store import DeploymentSecrets, Vault
from domain.units import Stage
from ledger.application import open_ledger
from ledger.storage import parse_url
from tests.api.test_cli import Cli, assert_one_line_error

ORIGIN = "import.fundledger.example/log"
YEAR = 2027  # the province paid 2026; this year's budgets are the tests' own
RECORDER = "province-tiny-recorder.key"
HEADINGS = [
    "序号",
    "姓名",
    "身份证号码",
    "学校",
    "年级",
    "资助项目",
    "金额(元)",
    "学期",
    "银行账号",
]
ENGLISH = ["name", "ID_Number", " School ", "grade", "programme", "amount", "term"]
# The standard's worked example: a valid resident ID nobody in the vault has.
STRANGER = "11010519491231002X"


@dataclass(frozen=True)
class Student:
    """A beneficiary as the county's list writes them."""

    name: str
    id_number: str
    bank_account: str
    school: str
    grade: int
    stage: Stage


@dataclass
class Province:
    """The CLI on a tiny province, with one county's students and a 2027 budget."""

    cli: Cli
    county: str
    students: list[Student]  # high-school students on both rolls
    pupils: list[Student]  # primary day pupils, on the rolls

    def run(self, *args: str) -> tuple[int, str, str]:
        result = self.cli.run(*args)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    def imported(self, path: Path, *options: str) -> tuple[int, str, str]:
        return self.run(
            "import", str(path), "--key", RECORDER, "--county", self.county, *options
        )

    def log_state(self) -> str:
        """``verify``'s line: the log's size and root, so any change shows."""
        out = self.cli.ok("verify").decode()
        return out.split(",")[0] + out.split(",")[1]


@pytest.fixture
def province(database_url: str, tmp_path: Path) -> Province:
    cli = Cli(database_url, tmp_path / "log.key", tmp_path)
    cli.ok("init", "--origin", ORIGIN)
    truth_path = tmp_path / "truth.json"
    cli.ok("demo", "--scale", "tiny", "--truth", str(truth_path))
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    county = str(truth["summary"]["county_codes"][0])
    signed = ("--key", RECORDER, "--county", county)
    cli.ok(
        "record",
        "receipt",
        *signed,
        "--id",
        "in-2027",
        "--source-kind",
        "central",
        "--source",
        "central-budget",
        "--reference",
        "2027 grants",
        "--amount",
        "200000",
    )
    for programme in ("HS_GRANT", "BOARD_PRI"):
        cli.ok(
            "record",
            "allocation",
            *signed,
            "--id",
            f"al-2027-{programme}",
            "--programme",
            programme,
            "--year",
            str(YEAR),
            "--amount",
            "50000",
        )
    students, pupils = _students(database_url, tmp_path / "log.secrets", county)
    assert len(students) >= 8
    assert pupils
    return Province(cli, county, students, pupils)


def _students(
    url: str, secrets_path: Path, county: str
) -> tuple[list[Student], list[Student]]:
    """High-school students eligible for HS_GRANT, and primary day pupils."""
    ledger, _ = open_ledger(parse_url(url), app_class=FundLedger)
    try:
        rolls = ledger.rolls_or_none(county)
        assert rolls is not None
        vault = Vault(ledger.log_recorder, DeploymentSecrets.load(secrets_path))
        people = vault.get_many(rolls.students)
        found: dict[Stage, list[Student]] = {}
        for ref, status in sorted(rolls.students.items()):
            data = people[ref]
            if data is None or data.bank_account is None or ref not in rolls.poor:
                continue
            found.setdefault(status.stage, []).append(
                Student(
                    data.name,
                    data.resident_id,
                    data.bank_account,
                    status.school,
                    status.grade,
                    status.stage,
                )
            )
    finally:
        ledger.close()
    return found.get(Stage.HIGH_SCHOOL, []), found.get(Stage.PRIMARY, [])


def _wrong_check(id_number: str) -> str:
    return id_number[:-1] + ("1" if id_number[-1] != "1" else "2")


def _row(student: Student, **changes: str) -> dict[str, str]:
    row = {
        "序号": "",
        "姓名": student.name,
        "身份证号码": student.id_number,
        "学校": student.school,
        "年级": f"高{'一二三'[student.grade - 1]}" if student.grade <= 3 else "",
        "资助项目": "普通高中国家助学金",
        "金额(元)": "1250.00",
        "学期": "秋季学期",
        "银行账号": student.bank_account,
    }
    return row | changes


def _write_csv(
    path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.DictWriter(file, fieldnames=HEADINGS)
        writer.writeheader()
        for number, row in enumerate(rows, start=1):
            writer.writerow(row | {"序号": str(number)})
    return path


def _write_xlsx(path: Path, rows: list[dict[str, str]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADINGS)
    for number, row in enumerate(rows, start=1):
        values: list[object] = [row[heading] for heading in HEADINGS]
        values[0] = number
        values[6] = float(row["金额(元)"])  # a number cell, as Excel writes amounts
        sheet.append(values)
    book.save(path)
    return path


def _payments(province: Province) -> list[str]:
    shown = province.cli.ok("fund", "show", "--county", province.county).decode()
    return [line for line in shown.splitlines() if line.startswith("imp-")]


def test_a_good_list_is_recorded_once_whatever_its_format(
    province: Province, tmp_path: Path
) -> None:
    autumn = [_row(student) for student in province.students[:6]]
    xlsx = _write_xlsx(tmp_path / "autumn.xlsx", autumn)

    status, out, err = province.imported(xlsx, "--year", str(YEAR))

    assert status == 0, err
    assert err == ""
    assert "xlsx, 6 rows" in out
    assert "ignored columns: 序号" in out
    assert "HS_GRANT: 6 payments, 7,500.00 yuan" in out
    assert "recorded 6 payments, 7,500.00 yuan from 6 rows" in out
    paid = _payments(province)
    assert len(paid) == 6
    assert all("proposed" in line and "1,250.00" in line for line in paid)
    assert province.cli.ok("verify").decode().startswith("OK ")

    # The same list saved as CSV, in UTF-8 with a BOM or in GB18030, is the
    # same list: importing it again records nothing and says so.
    before = province.log_state()
    for encoding in ("utf-8-sig", "gb18030"):
        again = _write_csv(
            tmp_path / f"again-{encoding}.csv", autumn, encoding=encoding
        )
        status, out, err = province.imported(again, "--year", str(YEAR))
        assert status == 0, err
        assert "already recorded" in out
    assert province.log_state() == before
    assert len(_payments(province)) == 6

    # A new list, with English headings and the term given on the command line.
    spring = tmp_path / "spring.csv"
    with spring.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(ENGLISH)
        for student in province.students[6:8]:
            writer.writerow(
                [
                    student.name,
                    student.id_number.lower(),
                    student.school,
                    student.grade,
                    "hs_grant",
                    "1,250",
                    "",
                ]
            )
    status, out, err = province.imported(
        spring, "--year", str(YEAR), "--term", "spring"
    )
    assert status == 0, err
    assert "recorded 2 payments, 2,500.00 yuan" in out
    assert len(_payments(province)) == 8


def test_every_bad_row_is_listed_with_its_line_and_nothing_is_recorded(
    province: Province, tmp_path: Path
) -> None:
    good, other, third, fourth = province.students[:4]
    pupil = province.pupils[0]
    rows = [
        _row(good),  # line 2: good
        _row(other, 身份证号码=_wrong_check(other.id_number)),  # 3: check character
        _row(other, 身份证号码=STRANGER),  # 4: not in the vault
        _row(other, 姓名=other.name + "某"),  # 5: another name
        _row(third, 学校=f"{province.county}S9999"),  # 6: not registered
        _row(third, 资助项目="SPACE_GRANT"),  # 7: no such programme
        _row(third, **{"金额(元)": "1250.005"}),  # 8: finer than a fen
        _row(third, **{"金额(元)": "1300.00"}),  # 9: above the rate
        _row(third, **{"金额(元)": "一千"}),  # 10: not a number
        _row(good),  # 11: repeats line 2
        _row(fourth, 银行账号="6217 12"),  # 12: not an account number
        _row(fourth, 银行账号="6217000011112222333"),  # 13: not the vault's
        _row(pupil),  # 14: a primary pupil cannot have HS_GRANT
        _row(fourth, 学期="冬季"),  # 15: no such term
        _row(other),  # 16: good (line 5 named the same person wrongly)
    ]
    path = _write_csv(tmp_path / "bad.csv", rows, encoding="gb18030")
    before = province.log_state()

    status, out, err = province.imported(path, "--year", str(YEAR))

    assert status == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "13 bad rows of 15" in err
    assert "nothing recorded" in err
    assert "Traceback" not in err
    problems = {
        int(line.split(":")[0].removeprefix("line ")): line
        for line in out.splitlines()
        if line.startswith("line ")
    }
    expected = {
        3: "check character",
        4: "no beneficiary with this ID is held in the vault",
        5: "姓名/name does not match",
        6: "is not registered in this county",
        7: "SPACE_GRANT",
        8: "at most two decimals",
        9: "HS_GRANT",
        10: "金额/amount must be yuan",
        11: "repeats line 2",
        12: "银行账号/bank_account",
        13: "not the account held in the vault",
        14: "does not cover the primary stage",
        15: "学期/term must be one of",
    }
    assert set(problems) == set(expected), out
    for line, reason in expected.items():
        assert reason in problems[line], problems[line]
    assert province.log_state() == before
    assert _payments(province) == []

    # --skip-bad records the good rows (lines 2 and 16), all at once.
    status, out, err = province.imported(path, "--year", str(YEAR), "--skip-bad")
    assert status == 0, err
    assert "recorded 2 payments" in out
    assert len(_payments(province)) == 2


def test_a_dry_run_records_nothing(province: Province, tmp_path: Path) -> None:
    rows = [_row(student) for student in province.students[:5]]
    path = _write_xlsx(tmp_path / "list.xlsx", rows)
    before = province.log_state()

    status, out, err = province.imported(path, "--year", str(YEAR), "--dry-run")

    assert status == 0, err
    assert "HS_GRANT: 5 payments, 6,250.00 yuan" in out
    assert "dry run: would record 5 payments, 6,250.00 yuan from 5 rows" in out
    assert province.log_state() == before
    assert _payments(province) == []

    # ... and a dry run of a list that would be refused says so and fails.
    rows.append(_row(province.students[0]))
    path = _write_xlsx(tmp_path / "twice.xlsx", rows)
    status, out, err = province.imported(path, "--year", str(YEAR), "--dry-run")
    assert status == 2
    assert "line 7: repeats line 2" in out
    assert province.log_state() == before


def test_a_list_larger_than_its_budget_records_nothing(
    province: Province, tmp_path: Path
) -> None:
    rows = [_row(student) for student in province.students[:6]]
    path = _write_csv(tmp_path / "list.csv", rows)
    before = province.log_state()

    status, out, err = province.imported(path, "--year", str(YEAR + 1), "--skip-bad")

    assert status == 2
    assert len(err.strip().splitlines()) == 1, err
    assert f"budget:{province.county}:HS_GRANT:{YEAR + 1}" in err
    assert "needs 7,500.00" in out
    assert province.log_state() == before


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(None, ("cannot read it",), id="missing-file"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", (".xls",), id="xls"),
        pytest.param(b"PK\x03\x04not a zip", ("not a readable XLSX",), id="bad-xlsx"),
        pytest.param(b"\xff\xfe\x00\x00\x81", ("UTF-8 or GB18030",), id="binary"),
        pytest.param(
            "姓名,身份证号,学校\n张三,1,2\n".encode(),
            ("missing required columns", "资助项目", "金额"),
            id="missing-columns",
        ),
        pytest.param(
            "姓名,身份证号,学校,项目,金额,身份证号码\n".encode(),
            ("both give 身份证号",),
            id="column-twice",
        ),
        pytest.param(
            "姓名,身份证号,学校,项目,金额\n".encode(), ("学期/term",), id="no-term"
        ),
    ],
)
def test_user_errors_are_one_line_and_record_nothing(
    database_url: str, tmp_path: Path, content: bytes | None, words: tuple[str, ...]
) -> None:
    cli = Cli(database_url, tmp_path / "log.key", tmp_path)
    cli.ok("init", "--origin", ORIGIN)
    path = tmp_path / "list.csv"
    if content is not None:
        path.write_bytes(content)
    before = cli.ok("verify").decode().split(",")[:2]

    result = cli.run(
        "import", str(path), "--key", "fundledger-admin.key", "--county", "422822"
    )

    assert result.returncode == 2
    assert_one_line_error(result, *words)
    assert cli.ok("verify").decode().split(",")[:2] == before
