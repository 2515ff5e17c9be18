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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.app import FundLedger
from api.commands import execute
from api.requests import OfficerKey, parse_request
from api.vault_store import DeploymentSecrets, Vault
from domain.pseudonyms import mask_name
from domain.resident_id import mask_resident_id
from domain.units import Stage
from domain.vault import PersonalData
from ledger.log import Log

Opener = Callable[[argparse.Namespace], tuple[FundLedger, Log]]


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
    ledger: FundLedger, key: OfficerKey, command: str, params: dict[str, Any]
) -> None:
    receipt = execute(ledger, parse_request(key.sign(command, params)))
    print(receipt.summary())
