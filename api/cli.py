"""The ``fundledger`` command.

Every user error (no ledger there, an index out of range, an unreadable key, a
refused request) is one line on stderr and a non-zero exit, never a traceback:
2 for errors, 1 when ``verify`` finds the log tampered with. Output meant for
other tools (entries, proofs, checkpoints, keys) goes to stdout alone.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from eventsourcing.persistence import PersistenceError

from api.app import FundLedger
from api.cli_alerts import run_raise
from api.cli_import import add_import_commands
from api.cli_people import add_people_commands, run_people
from api.cli_serve import add_serve_commands
from api.cli_show import run_show
from api.cli_views import add_views_commands, run_views
from api.cli_writes import Builder, add_write_commands, parse_params
from api.commands import execute
from api.demo import enrol_monitor, raise_found_alerts, run_demo, run_synthetic
from api.province_scale import SCALES
from api.requests import OfficerKey, parse_request
from api.vault_store import DeploymentSecrets
from api.verification import RequestCheck
from domain.errors import DomainError
from ledger.application import create_ledger, open_ledger
from ledger.errors import FundLedgerError, KeyFileError
from ledger.keys import read_signer_key, write_signer_key
from ledger.log import Log
from ledger.note import NoteSigner, NoteVerifier, is_valid_key_name
from ledger.storage import parse_url
from ledger.verify import verify_log

logger = logging.getLogger("fundledger")

EXIT_TAMPERED = 1
EXIT_ERROR = 2
DEFAULT_DB = "fundledger.db"
DEFAULT_LOG_KEY = "fundledger-log.key"
DEFAULT_ADMIN_KEY = "fundledger-admin.key"
DEFAULT_SECRETS = "fundledger-secrets.key"


class CommandError(Exception):
    """A user error found by the CLI itself."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fundledger",
        description="Tamper-evident ledger of education poverty-alleviation funds.",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("FUNDLEDGER_DB", DEFAULT_DB),
        help="ledger database: a SQLite path, sqlite:///PATH or postgresql://URL "
        "(default: $FUNDLEDGER_DB, else ./fundledger.db)",
    )
    parser.add_argument(
        "--log-key",
        type=Path,
        default=Path(os.environ.get("FUNDLEDGER_LOG_KEY", DEFAULT_LOG_KEY)),
        help="the log's signer key file, kept outside the database "
        "(default: $FUNDLEDGER_LOG_KEY, else ./fundledger-log.key)",
    )
    parser.add_argument(
        "--secrets",
        type=Path,
        default=Path(os.environ.get("FUNDLEDGER_SECRETS", DEFAULT_SECRETS)),
        help="the deployment's pseudonym secret and vault key, outside the database "
        "(default: $FUNDLEDGER_SECRETS, else ./fundledger-secrets.key)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="create a ledger and its log key")
    init.add_argument(
        "--origin", required=True, help="the log's name, e.g. example.org/hubei"
    )
    init.add_argument(
        "--admin-key",
        type=Path,
        default=Path(DEFAULT_ADMIN_KEY),
        help="key file for the first administrator (default: ./fundledger-admin.key)",
    )
    init.add_argument("--admin-id", default="officer:admin", help="officer:NAME")
    init.add_argument("--admin-name", default="Administrator")
    init.add_argument(
        "--jurisdiction", default="420000", help="the administrator's unit (Hubei)"
    )
    init.set_defaults(run=_init)

    demo = commands.add_parser("demo", help="record a sample set of signed requests")
    demo.add_argument(
        "--key",
        type=Path,
        default=Path(DEFAULT_ADMIN_KEY),
        help="an administrator's key file (default: ./fundledger-admin.key); the "
        "demo officers' keys are written beside it",
    )
    demo.add_argument(
        "--scale",
        choices=sorted(SCALES),
        help="build the synthetic province at this scale instead of the sample "
        "(tiny, county, prefecture, province); needs the secrets file",
    )
    demo.add_argument(
        "--seed", type=int, default=1, help="the synthetic province's seed (1)"
    )
    demo.add_argument(
        "--truth",
        type=Path,
        help="where the planted cases are written (default: beside the database, "
        "<db>.truth.json, or ./fundledger-truth.json on PostgreSQL)",
    )
    demo.add_argument(
        "--raise-alerts",
        action="store_true",
        help="then bring the views up to date and let the demo's monitor raise "
        "the alerts the rules found in the log; needs the secrets file (without "
        "it, views and alerts are left to 'views update' and 'alert raise')",
    )
    demo.set_defaults(run=_demo)

    add_write_commands(commands, _run_write)
    add_people_commands(commands, _run_write)
    add_views_commands(commands)
    add_import_commands(commands, _open)
    add_serve_commands(commands)

    verify = commands.add_parser("verify", help="verify the whole log")
    verify.add_argument(
        "--checkpoint",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="also check the log against a checkpoint kept elsewhere (repeatable)",
    )
    verify.add_argument(
        "--vkey",
        help="verify with this verifier key instead of the one stored in the ledger",
    )
    verify.set_defaults(run=_verify)

    log = commands.add_parser("log", help="read the log: checkpoints, entries, proofs")
    log_commands = log.add_subparsers(
        dest="log_command", required=True, metavar="COMMAND"
    )
    checkpoint = log_commands.add_parser("checkpoint", help="print a signed checkpoint")
    checkpoint.add_argument("--size", type=int, help="an earlier tree size")
    checkpoint.set_defaults(run=_checkpoint)
    key = log_commands.add_parser("key", help="print the log's verifier key")
    key.set_defaults(run=_key)
    entry = log_commands.add_parser("entry", help="write entry N's exact bytes")
    entry.add_argument("index", type=int, metavar="N")
    entry.set_defaults(run=_entry)
    prove = log_commands.add_parser("prove", help="inclusion proof of entry N")
    prove.add_argument("index", type=int, metavar="N")
    prove.add_argument("--size", type=int, help="tree size (default: current)")
    prove.set_defaults(run=_prove)
    consistency = log_commands.add_parser(
        "consistency", help="consistency proof between two tree sizes"
    )
    consistency.add_argument("old", type=int, metavar="OLD")
    consistency.add_argument("new", type=int, metavar="NEW")
    consistency.set_defaults(run=_consistency)
    return parser


def _signer_if_present(path: Path) -> NoteSigner | None:
    return read_signer_key(path) if path.exists() else None


def _open(
    args: argparse.Namespace, *, signer: NoteSigner | None = None
) -> tuple[FundLedger, Log]:
    ledger, log = open_ledger(parse_url(args.db), signer, app_class=FundLedger)
    ledger.log_origin = log.origin
    return ledger, log


def _run_write(build: Builder) -> Callable[[argparse.Namespace], int]:
    """Sign the request ``build`` makes with --key, then record it."""

    def run(args: argparse.Namespace) -> int:
        key = OfficerKey.load(args.key)
        command, params = build(args)
        ledger, _ = _open(args)
        new_key: OfficerKey | None = getattr(args, "new_key", None)
        try:
            # A new officer key is written first (never overwriting) and removed
            # again if the request is refused, so no enrolment lacks its file.
            if new_key is not None:
                new_key.save(args.out)
            try:
                receipt = execute(ledger, parse_request(key.sign(command, params)))
            except BaseException:
                if new_key is not None:
                    args.out.unlink(missing_ok=True)
                raise
        finally:
            ledger.close()
        print(receipt.summary())
        if new_key is not None:
            print(f"key {new_key.key_id} of {new_key.officer_id} written to {args.out}")
        return 0

    return run


def _sign(args: argparse.Namespace) -> int:
    key = OfficerKey.load(args.key)
    try:
        params = parse_params(args.params)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(json.dumps(key.sign(args.command, params), ensure_ascii=False))
    return 0


def _submit(args: argparse.Namespace) -> int:
    try:
        document = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise CommandError(f"cannot read request {args.file}: {reason}") from None
    signed = parse_request(document)
    ledger, _ = _open(args)
    try:
        receipt = execute(ledger, signed)
    finally:
        ledger.close()
    print(receipt.summary())
    return 0


def _init(args: argparse.Namespace) -> int:
    if not is_valid_key_name(args.origin):
        raise CommandError(
            f"--origin {args.origin!r} cannot name a log: it must be non-empty, "
            "without spaces or '+'"
        )
    signer = NoteSigner.generate(args.origin)
    admin = OfficerKey.generate(args.admin_id)
    for path in (args.log_key, args.admin_key, args.secrets):
        if path.exists():
            raise KeyFileError(str(path), "it already exists; refusing to overwrite")
    bootstrap = parse_request(
        admin.sign(
            "officer.enrol",
            {
                "officer_id": args.admin_id,
                "name": args.admin_name,
                "role": "administrator",
                "jurisdiction": args.jurisdiction,
                "public_key": admin.public_key_hex,
            },
        )
    )
    ledger, _ = create_ledger(
        parse_url(args.db), args.origin, signer, app_class=FundLedger
    )
    try:
        ledger.log_origin = args.origin
        execute(ledger, bootstrap)
    finally:
        ledger.close()
    write_signer_key(args.log_key, signer)
    admin.save(args.admin_key)
    DeploymentSecrets.generate().save(args.secrets)
    print(f"created ledger {args.origin} at {args.db}")
    print(f"log key: {args.log_key} (keep it secret; mode 0600)")
    print(f"administrator {args.admin_id}: key {admin.key_id} in {args.admin_key}")
    print(f"pseudonym and vault secrets: {args.secrets} (mode 0600)")
    print(f"verifier key: {signer.verifier_key}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    signer = _signer_if_present(args.log_key)
    admin = OfficerKey.load(args.key)
    ledger, log = _open(args, signer=signer)
    try:
        secrets = (
            DeploymentSecrets.load(args.secrets) if args.secrets.exists() else None
        )
        if args.scale is not None:
            if secrets is None:
                raise CommandError(f"--scale needs the secrets file {args.secrets}")
            storage = parse_url(args.db)
            truth = args.truth or (
                storage.sqlite_path.with_suffix(".truth.json")
                if storage.sqlite_path is not None
                else Path("fundledger-truth.json")
            )
            print(
                run_synthetic(
                    ledger,
                    admin,
                    args.key.parent,
                    secrets,
                    scale=args.scale,
                    seed=args.seed,
                    truth=truth,
                )
            )
        else:
            count = run_demo(ledger, admin, args.key.parent, secrets)
            print(f"recorded {count} events; the log has {log.size()} entries")
        monitor = enrol_monitor(ledger, admin, args.key.parent)
        if args.raise_alerts:
            if secrets is None:
                raise CommandError(
                    f"--raise-alerts needs the secrets file {args.secrets}"
                )
            print(raise_found_alerts(ledger, secrets, monitor).summary())
        if signer is not None:
            sys.stdout.write(log.checkpoint())
    finally:
        ledger.close()
    return 0


def _verify(args: argparse.Namespace) -> int:
    extra = []
    for path in args.checkpoint:
        try:
            extra.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read checkpoint {path}: {error}") from None
    ledger, log = _open(args)
    try:
        verifier = log.verifier
        if args.vkey is not None:
            verifier = NoteVerifier(args.vkey, path="--vkey")
        report = verify_log(
            ledger.log_recorder,
            log.origin,
            verifier,
            extra_checkpoints=extra,
            entry_check=RequestCheck(),
        )
    finally:
        ledger.close()
    root = base64.b64encode(report.root).decode("ascii")
    if report.failure is not None:
        logger.warning("verification failed: %s", report.failure)
        print(f"FAILED {report.failure}", file=sys.stderr)
        return EXIT_TAMPERED
    print(
        f"OK {report.size} entries, root {root}, {report.checkpoints} checkpoints, "
        f"{report.seconds:.3f} s"
    )
    return 0


def _checkpoint(args: argparse.Namespace) -> int:
    signer = read_signer_key(args.log_key)
    ledger, log = _open(args, signer=signer)
    try:
        sys.stdout.write(log.checkpoint(args.size))
    finally:
        ledger.close()
    return 0


def _with_log(action: Callable[[Log], None]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        ledger, log = _open(args)
        try:
            action(log)
        finally:
            ledger.close()
        return 0

    return run


def _key(args: argparse.Namespace) -> int:
    return _with_log(lambda log: print(log.verifier.verifier_key))(args)


def _entry(args: argparse.Namespace) -> int:
    def write(log: Log) -> None:
        data = log.entry(args.index)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    return _with_log(write)(args)


def _prove(args: argparse.Namespace) -> int:
    return _with_log(
        lambda log: print(log.inclusion_proof(args.index, args.size).to_json())
    )(args)


def _consistency(args: argparse.Namespace) -> int:
    return _with_log(
        lambda log: print(log.consistency_proof(args.old, args.new).to_json())
    )(args)


def _fail(message: str) -> NoReturn:
    print(f"fundledger: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    args = _parser().parse_args(argv)
    try:
        if getattr(args, "sign", False):
            return _sign(args)
        if getattr(args, "submit", False):
            return _submit(args)
        if getattr(args, "people", None):
            return run_people(args, _open)
        if getattr(args, "show", None):
            return run_show(args, _open)
        if getattr(args, "views", None):
            return run_views(args, _open)
        if getattr(args, "alert_raise", False):
            return run_raise(args, _open)
        status: int = args.run(args)
    except (FundLedgerError, DomainError, CommandError) as error:
        _fail(str(error))
    except PersistenceError as error:
        lines = str(error).strip().splitlines() or [type(error).__name__]
        _fail(f"database error: {lines[0]}")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_ERROR
    return status


if __name__ == "__main__":
    sys.exit(main())
