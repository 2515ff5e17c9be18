"""Beneficiaries through the CLI: the vault, the rolls and the policy's rules.

Personal data goes into the vault and never into the log; payments to a person
are checked against the rolls and the plan's rates; erasing a person leaves the
log verifying and their name unreadable. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.test_cli import Cli, assert_one_line_error

ORIGIN = "people.fundledger.example/log"
# The standard's worked example (GB 11643-1999), a valid resident ID.
ID_NUMBER = "11010519491231002X"
NAME = "张小明"


class County(Cli):
    """The CLI on a ledger with one county's fund and one beneficiary."""

    person = ""


@pytest.fixture
def county(database_url: str, tmp_path: Path) -> County:
    cli = County(database_url, tmp_path / "log.key", tmp_path)
    cli.ok("init", "--origin", ORIGIN)
    for officer, role in (("rec", "recorder"), ("app", "approver")):
        cli.ok(
            "officer",
            "enrol",
            "--key",
            "fundledger-admin.key",
            "--id",
            f"officer:{officer}",
            "--name",
            officer,
            "--role",
            role,
            "--jurisdiction",
            "422822",
            "--out",
            f"{officer}.key",
        )
    cli.ok("fund", "open", "--key", "rec.key", "--county", "422822", "--name", "建始县")
    cli.ok(
        "school",
        "register",
        "--key",
        "rec.key",
        "--county",
        "422822",
        "--code",
        "422822S0001",
        "--name",
        "建始县第一高级中学",
        "--stage",
        "high_school",
    )
    cli.ok(
        "record",
        "receipt",
        "--key",
        "rec.key",
        "--county",
        "422822",
        "--id",
        "in-1",
        "--source-kind",
        "central",
        "--source",
        "central-budget",
        "--reference",
        "2026 transfer",
        "--amount",
        "100000",
    )
    cli.ok(
        "record",
        "allocation",
        "--key",
        "rec.key",
        "--county",
        "422822",
        "--id",
        "al-1",
        "--programme",
        "HS_GRANT",
        "--year",
        "2026",
        "--amount",
        "50000",
    )
    out = cli.ok(
        "beneficiary",
        "add",
        "--key",
        "rec.key",
        "--county",
        "422822",
        "--name",
        NAME,
        "--id-number",
        ID_NUMBER,
        "--household",
        "H-001",
        "--listed-on",
        "2026-03-01",
        "--bank-account",
        "6222 0212 3456 7890",
    ).decode()
    cli.person = out.strip().splitlines()[-1].removeprefix("person ")
    cli.ok(
        "beneficiary",
        "status",
        "--key",
        "rec.key",
        "--county",
        "422822",
        "--id-number",
        ID_NUMBER,
        "--school",
        "422822S0001",
        "--stage",
        "high_school",
        "--grade",
        "10",
        "--year",
        "2026",
        "--day",
    )
    return cli


def _pay(cli: County, payment_id: str, programme: str, amount: str) -> list[str]:
    person = cli.person
    return [
        "record",
        "payment",
        "--key",
        "rec.key",
        "--county",
        "422822",
        "--id",
        payment_id,
        "--programme",
        programme,
        "--year",
        "2026",
        "--term",
        "autumn",
        "--payee-kind",
        "person",
        "--payee",
        person,
        "--amount",
        amount,
    ]


def _size(cli: Cli) -> int:
    return int(cli.ok("verify").split()[1])


def test_the_log_holds_the_pseudonym_and_never_the_person(county: County) -> None:
    size = _size(county)
    person = county.person
    entries = b"".join(county.ok("log", "entry", str(i)) for i in range(size))
    assert person.encode() in entries
    for secret in (NAME, ID_NUMBER, "6222", "19491231"):
        assert secret.encode() not in entries
    shown = county.ok("beneficiary", "show", "--person", person).decode()
    assert "张*明" in shown
    assert ID_NUMBER not in shown
    unmasked = county.ok("beneficiary", "show", "--person", person, "--unmasked")
    assert NAME in unmasked.decode()


def test_a_payment_within_the_rules_is_recorded_and_approved(county: County) -> None:
    county.ok(*_pay(county, "p-1", "HS_GRANT", "1250"))
    county.ok("approve", "p-1", "--key", "app.key", "--county", "422822")
    assert county.ok("verify").startswith(b"OK ")


@pytest.mark.parametrize(
    ("programme", "amount", "words"),
    [
        pytest.param("HS_GRANT", "1250.01", ("at most 125000 fen",), id="above-rate"),
        pytest.param("BOARD_JUN", "625", ("does not cover",), id="ineligible-stage"),
        pytest.param("NO_SUCH", "100", ("no programme",), id="unknown-programme"),
        pytest.param("HS_GRANT", "0", ("positive",), id="zero"),
        pytest.param("HS_GRANT", "-5", ("positive",), id="negative"),
        pytest.param("HS_GRANT", "10.001", ("whole number of fen",), id="fractional"),
    ],
)
def test_payments_the_policy_forbids_are_refused(
    county: County, programme: str, amount: str, words: tuple[str, ...]
) -> None:
    size = _size(county)
    assert_one_line_error(county.run(*_pay(county, "p-x", programme, amount)), *words)
    assert _size(county) == size


def test_a_person_not_on_the_student_roll_is_refused(county: County) -> None:
    size = _size(county)
    command = _pay(county, "p-y", "HS_GRANT", "100")
    command[command.index("--payee") + 1] = "ab" * 32
    assert_one_line_error(county.run(*command), "student-status roll")
    assert _size(county) == size


def test_an_invalid_resident_id_is_refused_and_nothing_is_kept(county: County) -> None:
    size = _size(county)
    result = county.run(
        "beneficiary",
        "add",
        "--key",
        "rec.key",
        "--county",
        "422822",
        "--name",
        "李四",
        "--id-number",
        "110105194912310021",
        "--household",
        "H-2",
        "--listed-on",
        "2026-03-01",
    )
    assert_one_line_error(result, "check", "1101**********0021")
    assert "110105194912310021" not in result.stderr.decode()
    assert _size(county) == size


def test_erasure_leaves_the_log_verifying_and_the_name_unreadable(
    county: County,
) -> None:
    person = county.person
    county.ok(*_pay(county, "p-1", "HS_GRANT", "1250"))
    county.ok("approve", "p-1", "--key", "app.key", "--county", "422822")
    before = county.ok("log", "entry", "0")

    county.ok(
        "beneficiary",
        "erase",
        "--key",
        "fundledger-admin.key",
        "--county",
        "422822",
        "--person",
        person,
        "--reason",
        "the guardian asked (PIPL)",
    )
    assert county.ok("verify").startswith(b"OK ")
    assert county.ok("log", "entry", "0") == before
    assert_one_line_error(
        county.run("beneficiary", "show", "--person", person), "erased"
    )


def test_a_student_at_an_unregistered_school_is_refused(county: County) -> None:
    size = _size(county)
    result = county.run(
        "beneficiary",
        "status",
        "--key",
        "rec.key",
        "--county",
        "422822",
        "--id-number",
        ID_NUMBER,
        "--school",
        "422822S0777",
        "--stage",
        "high_school",
        "--grade",
        "10",
        "--year",
        "2026",
        "--day",
    )
    assert_one_line_error(result, "422822S0777")
    assert _size(county) == size


ROLL = (
    "姓名,身份证号,户编号,识别日期,学校,学段,年级,寄宿,学年\n"
    "王小红,34052419800101001X,H-9,2026-03-01,422822S0001,high_school,10,否,2026\n"
    "李小强,370101190102039973,H-10,2026-03-01,422822S0001,high_school,11,是,2026\n"
)


def test_a_roll_file_is_one_signed_request_and_importing_it_again_is_a_replay(
    county: County, tmp_path: Path
) -> None:
    roll = tmp_path / "roll.csv"
    roll.write_text(ROLL, encoding="utf-8")
    size = _size(county)
    args = ("beneficiary", "import", "--key", "rec.key", "--county", "422822")
    out = county.ok(*args, str(roll)).decode()
    assert "imported 2 people" in out
    assert _size(county) == size + 5  # the request, 2 listings, 2 statuses
    again = county.ok(*args, str(roll)).decode()
    assert "nothing new" in again
    assert _size(county) == size + 5


def test_a_roll_file_with_a_bad_row_imports_nothing(
    county: County, tmp_path: Path
) -> None:
    roll = tmp_path / "bad.csv"
    roll.write_text(ROLL + "坏,110105194912310021,H-11,2026-03-01,,,,,\n", "utf-8")
    size = _size(county)
    result = county.run(
        "beneficiary", "import", "--key", "rec.key", "--county", "422822", str(roll)
    )
    assert_one_line_error(result, "line 4", "nothing imported")
    assert _size(county) == size
