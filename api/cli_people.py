"""Beneficiaries: personal data into the vault, pseudonyms onto the rolls.

``beneficiary add`` validates the resident ID, seals name, ID and bank account
in the vault, and puts the person's pseudonym on the county's registered-poor
roll with a signed request. ``beneficiary status`` records where they study.
``beneficiary erase`` records the erasure with a signed request and then
destroys the person's vault key. ``beneficiary show`` reads the vault (masked
unless ``--unmasked``). A person is named by ``--id-number`` or ``--person``
(the pseudonym).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.app import FundLedger
from api.commands import Receipt, execute
from api.requests import OfficerKey, parse_request
from api.vault_store import DeploymentSecrets, Vault
from domain.errors import DomainError
from domain.pseudonyms import mask_name
from domain.resident_id import mask_resident_id
from domain.units import Stage
from domain.vault import PersonalData
from ledger.errors import LedgerMisuse
from ledger.log import Log

Opener = Callable[[argparse.Namespace], tuple[FundLedger, Log]]


class RollRejected(LedgerMisuse):
    """A roll file with bad rows: nothing of it was recorded."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(
            f"{path}: {len(problems)} bad rows, nothing imported: {shown}{more}"
        )
        self.path = path
        self.problems = problems


def add_people_commands(commands: Any, _run_write: Any) -> None:
    """Add ``beneficiary add|status|erase|show``."""
    people = commands.add_parser("beneficiary", help="students and their rolls")
    actions = people.add_subparsers(dest="people", required=True, metavar="COMMAND")

    add = actions.add_parser(
        "add", help="vault a person and list them as registered poor"
    )
    _signed(add)
    add.add_argument("--name", required=True)
    add.add_argument("--id-number", required=True, help="18-digit resident ID")
    add.add_argument("--household", required=True, help="registered household id")
    add.add_argument("--listed-on", required=True, help="YYYY-MM-DD")
    add.add_argument("--bank-account")

    status = actions.add_parser("status", help="record where a person studies")
    _signed(status)
    _person(status)
    status.add_argument("--school", required=True, help="school code, e.g. 422822S0001")
    status.add_argument("--stage", required=True, choices=[s.value for s in Stage])
    status.add_argument("--grade", type=int, required=True)
    status.add_argument("--year", type=int, required=True)
    boarding = status.add_mutually_exclusive_group(required=True)
    boarding.add_argument("--boarding", action="store_true")
    boarding.add_argument("--day", action="store_true")

    erase = actions.add_parser("erase", help="erase a person's name and ID (PIPL)")
    _signed(erase)
    _person(erase)
    erase.add_argument("--reason", required=True)

    roll = actions.add_parser(
        "import", help="import a roll (CSV) as one signed request"
    )
    _signed(roll)
    roll.add_argument("file", type=Path, metavar="FILE", help="CSV, UTF-8")

    show = actions.add_parser("show", help="read a person's vault record")
    _person(show)
    show.add_argument("--unmasked", action="store_true")


def _signed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", type=Path, required=True, help="your officer key file")
    parser.add_argument("--county", required=True)


def _person(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--id-number")
    group.add_argument("--person", help="the person_ref (pseudonym)")


def run_people(args: argparse.Namespace, open_ledger: Opener) -> int:
    """Run one ``beneficiary`` command; returns the exit status."""
    secrets = DeploymentSecrets.load(args.secrets)
    key = OfficerKey.load(args.key) if hasattr(args, "key") else None
    ledger, _ = open_ledger(args)
    try:
        vault = Vault(ledger.log_recorder, secrets)
        if args.people == "import":
            assert key is not None  # noqa: S101 - import takes --key
            return _import(args, ledger, vault, key)
        ref = _ref_of(args, secrets)
        if args.people == "show":
            data = vault.get(ref)
            shown = (
                (data.name, data.resident_id)
                if args.unmasked
                else (mask_name(data.name), mask_resident_id(data.resident_id))
            )
            print(f"{ref}  {shown[0]}  {shown[1]}")
            return 0
        assert key is not None  # noqa: S101 - every other command takes --key
        if args.people == "add":
            return _add(args, ledger, vault, key)
        if args.people == "status":
            params: dict[str, Any] = {
                "county": args.county,
                "person_ref": ref,
                "school": args.school,
                "stage": args.stage,
                "grade": args.grade,
                "boarding": bool(args.boarding),
                "year": args.year,
            }
            _send(ledger, key, "roll.record_status", params)
            return 0
        params = {"county": args.county, "person_ref": ref, "reason": args.reason}
        _send(ledger, key, "roll.erase_personal_data", params)
        vault.erase(ref)
        print(f"erased the personal data of {ref}")
        return 0
    finally:
        ledger.close()


# Column headings officers use, in Chinese or English.
COLUMNS = {
    "姓名": "name",
    "name": "name",
    "身份证号": "id_number",
    "id_number": "id_number",
    "户编号": "household",
    "household": "household",
    "识别日期": "listed_on",
    "listed_on": "listed_on",
    "银行账号": "bank_account",
    "bank_account": "bank_account",
    "学校": "school",
    "school": "school",
    "学段": "stage",
    "stage": "stage",
    "年级": "grade",
    "grade": "grade",
    "寄宿": "boarding",
    "boarding": "boarding",
    "学年": "year",
    "year": "year",
}
YES = {"是", "yes", "y", "true", "1"}
NO = {"否", "no", "n", "false", "0"}


def _import(
    args: argparse.Namespace, ledger: FundLedger, vault: Vault, key: OfficerKey
) -> int:
    """Validate every row, then record them all in one signed request, or none."""
    rows = _read_roll(args.file)
    poor: list[dict[str, Any]] = []
    students: list[dict[str, Any]] = []
    problems: list[str] = []
    people: list[tuple[int, PersonalData]] = []
    for line, row in rows:
        try:
            data = PersonalData(
                row["name"], row["id_number"], row.get("bank_account") or None
            )
            ref = vault.secrets.person_ref_of(data.resident_id)
        except KeyError as error:
            problems.append(f"line {line}: missing column {error}")
            continue
        except DomainError as error:
            problems.append(f"line {line}: {error}")
            continue
        people.append((line, data))
        if row.get("household"):
            poor.append(
                {
                    "person_ref": ref,
                    "household_ref": row["household"],
                    "listed_on": row.get("listed_on", ""),
                }
            )
        if row.get("school"):
            boarding = row.get("boarding", "").strip().lower()
            if boarding not in YES | NO:
                problems.append(f"line {line}: 寄宿/boarding must be 是 or 否")
                continue
            try:
                grade, year = int(row.get("grade", "")), int(row.get("year", ""))
            except ValueError:
                problems.append(
                    f"line {line}: 年级/grade and 学年/year must be numbers"
                )
                continue
            students.append(
                {
                    "person_ref": ref,
                    "school": row["school"],
                    "stage": row.get("stage", ""),
                    "grade": grade,
                    "boarding": boarding in YES,
                    "year": year,
                }
            )
    if problems:
        raise RollRejected(args.file, problems)

    added = [ref for ref, new in (vault.put(data) for _, data in people) if new]
    params = {"county": args.county, "poor": poor, "students": students}
    # The file's digest is the request id: importing the same file again is a
    # replay of the same request and records nothing.
    digest = hashlib.sha256(args.file.read_bytes()).hexdigest()
    try:
        receipt = _send(
            ledger, key, "roll.import", params, request_id=f"roll-import:{digest}"
        )
    except BaseException:
        for ref in added:
            vault.forget(ref)
        raise
    if receipt.replayed:
        return 0
    print(
        f"imported {len(people)} people: {len(poor)} on the registered-poor roll, "
        f"{len(students)} student statuses"
    )
    return 0


def _read_roll(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RollRejected(path, [f"cannot read it: {error}"]) from None
    reader = csv.DictReader(io.StringIO(text))
    unknown = [h for h in reader.fieldnames or [] if h.strip() not in COLUMNS]
    if unknown:
        raise RollRejected(path, [f"unknown column {', '.join(unknown)}"])
    return [
        (
            number,
            {COLUMNS[k.strip()]: (v or "").strip() for k, v in row.items() if k},
        )
        for number, row in enumerate(reader, start=2)
    ]


def _ref_of(args: argparse.Namespace, secrets: DeploymentSecrets) -> str:
    if getattr(args, "person", None):
        return str(args.person)
    return secrets.person_ref_of(args.id_number)


def _add(
    args: argparse.Namespace, ledger: FundLedger, vault: Vault, key: OfficerKey
) -> int:
    data = PersonalData(args.name, args.id_number, args.bank_account)
    ref, new = vault.put(data)
    params = {
        "county": args.county,
        "person_ref": ref,
        "household_ref": args.household,
        "listed_on": args.listed_on,
    }
    try:
        _send(ledger, key, "roll.list_poor", params)
    except BaseException:
        if new:  # nothing refers to it: keep no personal data for nothing
            vault.forget(ref)
        raise
    print(f"person {ref}")
    return 0


def _send(
    ledger: FundLedger,
    key: OfficerKey,
    command: str,
    params: dict[str, Any],
    request_id: str | None = None,
) -> Receipt:
    document = key.sign(command, params, request_id=request_id)
    receipt = execute(ledger, parse_request(document))
    print(receipt.summary())
    return receipt
