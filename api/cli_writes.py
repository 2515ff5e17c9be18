"""The officers' commands: every write is a request signed with ``--key``.

Each command builds the request's parameters from its options, signs them with
the officer's key file and hands the signed request to ``api.commands.execute``,
which checks and records it (or refuses it, recording nothing). ``request sign``
and ``request submit`` split the two steps, for requests signed on one machine
and submitted from another, or submitted again (which records nothing new).

Amounts are given in yuan with at most two decimals (``--amount 1250.50``) or in
fen (``--amount-fen 125050``); anything finer than a fen is refused.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from api.cli_alerts import add_raise_command
from api.requests import OfficerKey
from domain.alerts import OUTCOMES
from domain.errors import InvalidAmount
from domain.funds import MAX_AMOUNT_FEN, PAYEE_KINDS, SOURCE_KINDS, TERMS, check_amount
from domain.officers import Role
from domain.units import Stage
from ledger.errors import KeyFileError

Params = dict[str, Any]
Builder = Callable[[argparse.Namespace], tuple[str, Params]]


def amount_fen(args: argparse.Namespace) -> int:
    """The amount given as --amount (yuan) or --amount-fen, as integer fen."""
    if args.amount_fen is not None:
        return check_amount(int(args.amount_fen))
    text = str(args.amount).strip().removesuffix("元")
    try:
        yuan = Decimal(text)
    except InvalidOperation:
        raise InvalidAmount(text, "a number of yuan such as 1250.50") from None
    if not yuan.is_finite():
        raise InvalidAmount(text, "a finite number of yuan")
    # The exponent first: arithmetic on a number like 1e999999999 overflows.
    if yuan.adjusted() > 20 or abs(yuan) > Decimal(MAX_AMOUNT_FEN) / 100:
        raise InvalidAmount(text, f"at most {MAX_AMOUNT_FEN // 100} yuan")
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise InvalidAmount(text, "a whole number of fen (at most 2 decimals in yuan)")
    return check_amount(int(fen))


def _amount_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--amount", help="amount in yuan, at most 2 decimals")
    group.add_argument("--amount-fen", type=int, help="amount in fen (分)")


def _key_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key", type=Path, required=True, help="your officer key file (mode 0600)"
    )


def _county_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--county", required=True, help="county code, e.g. 422822")


def add_write_commands(
    commands: Any, run_write: Callable[[Builder], Callable[[argparse.Namespace], int]]
) -> None:
    """Add the officer, fund, record, approve, reject, reverse, alert commands."""
    officer = commands.add_parser("officer", help="enrol officers, manage their keys")
    officers = officer.add_subparsers(
        dest="officer_command", required=True, metavar="COMMAND"
    )

    listing = officers.add_parser("list", help="officers, roles and keys")
    listing.set_defaults(show="officers")

    enrol = officers.add_parser("enrol", help="enrol an officer and make their key")
    _key_option(enrol)
    enrol.add_argument("--id", required=True, help="officer:NAME, no spaces")
    enrol.add_argument("--name", required=True, help="the officer's name")
    enrol.add_argument("--role", required=True, choices=[r.value for r in Role])
    enrol.add_argument("--jurisdiction", required=True, help="unit code they act for")
    enrol.add_argument("--out", type=Path, required=True, help="new key file to write")
    enrol.set_defaults(run=run_write(_enrol))

    role = officers.add_parser("role", help="change an officer's role or jurisdiction")
    _key_option(role)
    role.add_argument("--id", required=True)
    role.add_argument("--role", required=True, choices=[r.value for r in Role])
    role.add_argument("--jurisdiction", required=True)
    role.set_defaults(
        run=run_write(
            lambda a: (
                "officer.change_role",
                {"officer_id": a.id, "role": a.role, "jurisdiction": a.jurisdiction},
            )
        )
    )

    rotate = officers.add_parser("rotate", help="replace an officer's key")
    _key_option(rotate)
    rotate.add_argument("--id", required=True)
    rotate.add_argument("--out", type=Path, required=True, help="new key file to write")
    rotate.set_defaults(run=run_write(_rotate))

    revoke = officers.add_parser("revoke", help="revoke a key for good")
    _key_option(revoke)
    revoke.add_argument("--key-id", required=True)
    revoke.add_argument("--reason", required=True)
    revoke.set_defaults(
        run=run_write(
            lambda a: ("officer.revoke_key", {"key_id": a.key_id, "reason": a.reason})
        )
    )

    fund = commands.add_parser("fund", help="open a county's fund")
    funds = fund.add_subparsers(dest="fund_command", required=True, metavar="COMMAND")
    show = funds.add_parser("show", help="a fund's accounts and payments")
    show.add_argument("--county", required=True)
    show.set_defaults(show="fund")
    open_ = funds.add_parser("open", help="open the county's one pool")
    _key_option(open_)
    _county_option(open_)
    open_.add_argument("--name", required=True, help="the county's name")
    open_.set_defaults(
        run=run_write(
            lambda a: ("fund.open", {"county": a.county, "county_name": a.name})
        )
    )

    school = commands.add_parser("school", help="register a county's schools")
    schools = school.add_subparsers(
        dest="school_command", required=True, metavar="COMMAND"
    )
    register = schools.add_parser("register", help="register a school of the county")
    _key_option(register)
    _county_option(register)
    register.add_argument("--code", required=True, help="county code + S + 4 digits")
    register.add_argument("--name", required=True)
    register.add_argument("--stage", required=True, choices=[s.value for s in Stage])
    register.add_argument(
        "--boarding", action="store_true", help="the school has boarders"
    )
    register.add_argument("--urban", action="store_true", help="not a rural school")
    register.set_defaults(
        run=run_write(
            lambda a: (
                "school.register",
                {
                    "county": a.county,
                    "code": a.code,
                    "name": a.name,
                    "stage": a.stage,
                    "boarding": bool(a.boarding),
                    "rural": not a.urban,
                },
            )
        )
    )

    record = commands.add_parser("record", help="record money moving")
    records = record.add_subparsers(
        dest="record_command", required=True, metavar="WHAT"
    )

    receipt = records.add_parser("receipt", help="money arriving in the pool")
    _key_option(receipt)
    _county_option(receipt)
    receipt.add_argument("--id", required=True, help="your reference for this transfer")
    receipt.add_argument("--source-kind", required=True, choices=SOURCE_KINDS)
    receipt.add_argument(
        "--source", required=True, help="which budget, partner or donor"
    )
    receipt.add_argument("--reference", required=True, help="document number, note")
    receipt.add_argument("--earmark", help="programme, school or project it is for")
    _amount_options(receipt)
    receipt.set_defaults(run=run_write(_receipt))

    allocation = records.add_parser("allocation", help="pool money to a programme")
    _key_option(allocation)
    _county_option(allocation)
    allocation.add_argument("--id", required=True)
    allocation.add_argument("--programme", required=True)
    allocation.add_argument("--year", type=int, required=True)
    _amount_options(allocation)
    allocation.set_defaults(
        run=run_write(
            lambda a: (
                "fund.allocate",
                {
                    "county": a.county,
                    "transfer_id": a.id,
                    "programme": a.programme,
                    "year": a.year,
                    "amount_fen": amount_fen(a),
                },
            )
        )
    )

    project = records.add_parser("project", help="pool money to a project")
    _key_option(project)
    _county_option(project)
    project.add_argument("--id", required=True)
    project.add_argument("--project", required=True, help="project id")
    project.add_argument("--name", required=True)
    project.add_argument("--school", help="school code, if for one school")
    _amount_options(project)
    project.set_defaults(
        run=run_write(
            lambda a: (
                "fund.fund_project",
                {
                    "county": a.county,
                    "transfer_id": a.id,
                    "project_id": a.project,
                    "name": a.name,
                    "school": a.school,
                    "amount_fen": amount_fen(a),
                },
            )
        )
    )

    progress = records.add_parser("progress", help="how far a project has come")
    _key_option(progress)
    _county_option(progress)
    progress.add_argument("--project", required=True)
    progress.add_argument("--percent", type=int, required=True)
    progress.add_argument("--note", required=True)
    progress.set_defaults(
        run=run_write(
            lambda a: (
                "fund.report_progress",
                {
                    "county": a.county,
                    "project_id": a.project,
                    "percent": a.percent,
                    "note": a.note,
                },
            )
        )
    )

    payment = records.add_parser("payment", help="propose a payment (needs approval)")
    _key_option(payment)
    _county_option(payment)
    payment.add_argument("--id", required=True, help="payment id")
    payment.add_argument("--programme", required=True)
    payment.add_argument("--year", type=int, required=True)
    payment.add_argument("--term", required=True, choices=TERMS)
    payment.add_argument("--payee-kind", required=True, choices=PAYEE_KINDS)
    payment.add_argument("--payee", required=True, help="school code or person_ref")
    _amount_options(payment)
    payment.set_defaults(run=run_write(_payment))

    for name, command, helptext in (
        ("approve", "fund.approve_payment", "approve a proposed payment: money moves"),
        ("reject", "fund.reject_payment", "reject a proposed payment"),
        ("reverse", "fund.reverse", "undo a transfer or payment by moving it back"),
    ):
        decide = commands.add_parser(name, help=helptext)
        decide.add_argument("target", metavar="ID", help="payment or transfer id")
        _key_option(decide)
        _county_option(decide)
        if name != "approve":
            decide.add_argument("--reason", required=True)
        decide.set_defaults(run=run_write(_decision(command)))

    alert = commands.add_parser(
        "alert", help="raise fraud alerts (the monitor), resolve them (auditors)"
    )
    alerts = alert.add_subparsers(
        dest="alert_command", required=True, metavar="COMMAND"
    )
    resolve = alerts.add_parser("resolve", help="confirm, dismiss or recover an alert")
    resolve.add_argument("alert_id", metavar="ALERT_ID", help="16 hex digits")
    _key_option(resolve)
    resolve.add_argument("--outcome", required=True, choices=OUTCOMES)
    resolve.add_argument("--reason", required=True)
    resolve.add_argument(
        "--county", help="the alert's county, for an auditor who acts for one"
    )
    resolve.set_defaults(run=run_write(_resolve))
    add_raise_command(alerts)

    request = commands.add_parser("request", help="sign a request, or submit one")
    requests = request.add_subparsers(
        dest="request_command", required=True, metavar="COMMAND"
    )
    sign = requests.add_parser("sign", help="sign COMMAND with PARAMS (JSON)")
    _key_option(sign)
    sign.add_argument("command", metavar="COMMAND", help="e.g. fund.approve_payment")
    sign.add_argument(
        "params", metavar="PARAMS", help='JSON object, e.g. {"county": "422822"}'
    )
    sign.set_defaults(run=None, sign=True)
    submit = requests.add_parser("submit", help="submit a signed request file")
    submit.add_argument("file", type=Path, metavar="FILE")
    submit.set_defaults(run=None, submit=True)


def _enrol(args: argparse.Namespace) -> tuple[str, Params]:
    if args.out.exists():
        raise KeyFileError(str(args.out), "it already exists; refusing to overwrite")
    new_key = OfficerKey.generate(args.id)
    args.new_key = new_key
    return "officer.enrol", {
        "officer_id": args.id,
        "name": args.name,
        "role": args.role,
        "jurisdiction": args.jurisdiction,
        "public_key": new_key.public_key_hex,
    }


def _rotate(args: argparse.Namespace) -> tuple[str, Params]:
    if args.out.exists():
        raise KeyFileError(str(args.out), "it already exists; refusing to overwrite")
    new_key = OfficerKey.generate(args.id)
    args.new_key = new_key
    return "officer.rotate_key", {
        "officer_id": args.id,
        "public_key": new_key.public_key_hex,
    }


def _receipt(args: argparse.Namespace) -> tuple[str, Params]:
    return "fund.receive", {
        "county": args.county,
        "transfer_id": args.id,
        "source_kind": args.source_kind,
        "source": args.source,
        "amount_fen": amount_fen(args),
        "reference": args.reference,
        "earmark": args.earmark,
    }


def _payment(args: argparse.Namespace) -> tuple[str, Params]:
    return "fund.propose_payment", {
        "county": args.county,
        "payment_id": args.id,
        "programme": args.programme,
        "year": args.year,
        "term": args.term,
        "payee_kind": args.payee_kind,
        "payee": args.payee,
        "amount_fen": amount_fen(args),
    }


def _resolve(args: argparse.Namespace) -> tuple[str, Params]:
    params: Params = {
        "alert_id": args.alert_id,
        "outcome": args.outcome,
        "reason": args.reason,
    }
    if args.county is not None:
        params["county"] = args.county
    return "alert.resolve", params


def _decision(command: str) -> Builder:
    def build(args: argparse.Namespace) -> tuple[str, Params]:
        key = "transfer_id" if command == "fund.reverse" else "payment_id"
        params: Params = {"county": args.county, key: args.target}
        if command != "fund.approve_payment":
            params["reason"] = args.reason
        return command, params

    return build


def parse_params(text: str) -> Params:
    """PARAMS of ``request sign``: a JSON object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"PARAMS is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError("PARAMS must be a JSON object")  # noqa: TRY004 - user input
    return value
