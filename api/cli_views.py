"""``fundledger views``: keep the projections' tables up to date and read them.

``status`` shows where each view stands against the log; ``update`` catches
them up once; ``rebuild`` replays the log into one view (or all) from scratch;
``follow`` keeps them up to date until interrupted; ``show`` prints a public
table's rows as JSON lines with the log positions behind each row, which anyone
can check with ``fundledger log prove``.

Views are written to the ledger's own database. These commands record nothing
in the log and sign nothing, except ``follow --raise-with KEY``: after each
catch-up it raises the alerts the fraud rules found in the log, signed with the
monitor's key (``api.alert_raiser``), from the rules' rows it holds in memory.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from eventsourcing.persistence import InterfaceError, OperationalError

from api.alert_raiser import raise_alerts, unraised_in
from api.app import FundLedger
from api.requests import OfficerKey
from api.self_check import self_check
from api.vault_store import DeploymentSecrets, Vault
from api.views import ViewsReader, build_projections
from ledger.errors import LedgerMisuse
from ledger.keys import read_signer_key
from ledger.log import Log
from ledger.note import NoteSigner
from ledger.recorder import append_waits
from projections.rules import FraudRules
from projections.runner import ProjectionRunner, ViewStatus
from projections.store import ViewStore

logger = logging.getLogger(__name__)


class Opener(Protocol):
    """How the CLI opens the ledger named by the global options."""

    def __call__(
        self, args: argparse.Namespace, *, signer: NoteSigner | None = None
    ) -> tuple[FundLedger, Log]: ...


class UnknownTable(LedgerMisuse):
    """A table name that the view does not have, or does not publish."""

    def __init__(self, view: str, table: str, public: list[str]) -> None:
        super().__init__(
            f"view {view} has no public table {table!r}; its public tables are: "
            f"{', '.join(public) or 'none'}"
        )
        self.view = view
        self.table = table
        self.public = public


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _interval(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be in (0, 3600] seconds, got {text}")
    return value


def add_views_commands(commands: Any) -> None:
    """Add ``views status|update|rebuild|follow|show|self-check``."""
    views = commands.add_parser("views", help="public views and rules fed by the log")
    actions = views.add_subparsers(dest="views", required=True, metavar="COMMAND")

    actions.add_parser("status", help="each view's position and lag behind the log")

    update = actions.add_parser("update", help="catch every view up with the log")
    _batch_size(update)

    rebuild = actions.add_parser("rebuild", help="replay the log into a view afresh")
    rebuild.add_argument("name", nargs="?", metavar="NAME", help="default: every view")
    _batch_size(rebuild)

    follow = actions.add_parser("follow", help="keep the views up to date (Ctrl-C)")
    follow.add_argument(
        "--interval",
        type=_interval,
        default=1.0,
        metavar="S",
        help="seconds between polls while nothing is new (default: 1)",
    )
    follow.add_argument(
        "--raise-with",
        type=Path,
        metavar="KEY",
        help="the monitor's key file: raise the alerts the rules find in the log",
    )
    _batch_size(follow)

    show = actions.add_parser("show", help="a public table's rows as JSON lines")
    show.add_argument("name", metavar="NAME", help="the view")
    show.add_argument("table", metavar="TABLE", help="one of the view's tables")
    show.add_argument("--limit", type=_positive, metavar="N", help="first N rows")

    check = actions.add_parser(
        "self-check",
        help="one's own payments, with proofs (needs the ID and the name)",
    )
    check.add_argument("--id-number", required=True, help="the resident ID")
    check.add_argument("--name", required=True, help="the name that goes with it")


def _batch_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--batch-size",
        type=_positive,
        default=5000,
        metavar="N",
        help="entries per transaction (default: 5000)",
    )


def run_views(args: argparse.Namespace, open_ledger: Opener) -> int:
    """Run one ``views`` command; returns the exit status."""
    if args.views == "self-check":
        return _self_check(args, open_ledger)
    # Writing views needs the vault behind masked names and person rules; only
    # reading stored rows (status, show) does without it.
    writes = args.views in ("update", "rebuild", "follow")
    secrets = DeploymentSecrets.load(args.secrets) if writes else None
    monitor_key = getattr(args, "raise_with", None)
    monitor = None if monitor_key is None else OfficerKey.load(monitor_key)
    ledger, _ = open_ledger(args)
    try:
        reader = (
            None
            if secrets is None
            else ViewsReader(Vault(ledger.log_recorder, secrets))
        )
        projections = build_projections(ledger, reader)
        with ViewStore(ledger.storage) as store:
            runner = ProjectionRunner(
                store,
                projections,
                batch_size=getattr(args, "batch_size", 5000),
                before_batch=None if reader is None else reader.prefetch,
            )
            if args.views == "status":
                _print_status(runner.status())
            elif args.views == "update":
                _update(runner)
            elif args.views == "rebuild":
                _rebuild(runner, args.name)
            elif args.views == "follow":
                raiser = None if monitor is None else _raiser(ledger, runner, monitor)
                with append_waits(ledger.log_recorder, ledger.storage) as wake:
                    _follow(runner, args.interval, raiser, wake)
            else:
                _show(runner, args.name, args.table, args.limit)
    finally:
        ledger.close()
    return 0


def _print_status(statuses: list[ViewStatus]) -> None:
    print(f"{'view':<24} {'position':>10} {'log size':>10} {'lag':>10}  updated")
    for status in statuses:
        note = "  (outdated: rebuild it)" if status.outdated else ""
        print(
            f"{status.name:<24} {status.position:>10} {status.log_size:>10} "
            f"{status.lag:>10}  {status.updated_at or 'never'}{note}"
        )


def _rate(applied: int, seconds: float) -> str:
    rate = applied / seconds if seconds > 0 else 0.0
    return f"{applied} entries in {seconds:.3f} s ({rate:,.0f} entries/s)"


def _update(runner: ProjectionRunner) -> None:
    began = time.perf_counter()
    applied = runner.update()
    print(f"applied {_rate(applied, time.perf_counter() - began)}")
    _print_status(runner.status())


def _rebuild(runner: ProjectionRunner, name: str | None) -> None:
    if name is not None:
        runner.projection(name)  # an unknown name fails before anything is reset
    began = time.perf_counter()
    applied = runner.rebuild(name)
    print(
        f"rebuilt {name or 'every view'}: {_rate(applied, time.perf_counter() - began)}"
    )
    _print_status(runner.status())


def _raiser(
    ledger: FundLedger, runner: ProjectionRunner, key: OfficerKey
) -> Callable[[], None]:
    """Raise what the rules hold in memory and the log does not, and say so."""
    rules = runner.projection(FraudRules.name)
    assert isinstance(rules, FraudRules)  # noqa: S101 - build_projections makes it

    def raise_found() -> None:
        try:
            result = raise_alerts(ledger, key, unraised_in(rules))
        except (InterfaceError, OperationalError) as error:
            # The next catch-up tries again; the raises are idempotent.
            logger.warning("cannot raise alerts now, trying again: %s", error)
            return
        if result.raised or result.refused:
            print(result.summary(), flush=True)

    return raise_found


def _follow(
    runner: ProjectionRunner,
    interval: float,
    raiser: Callable[[], None] | None = None,
    wake: Callable[[float], bool] | None = None,
) -> None:
    def report(applied: int) -> None:
        statuses = runner.status()
        lag = max((s.lag for s in statuses), default=0)
        print(f"applied {applied} entries; largest lag {lag}", flush=True)
        if raiser is not None:
            raiser()

    stop = threading.Event()
    woken = " and at each append" if wake is not None else ""
    print(f"following the log every {interval:g} s{woken}; Ctrl-C stops", flush=True)
    try:
        if raiser is not None:
            # Alerts found before this follower started are raised first.
            runner.update()
            raiser()
        runner.follow(interval, stop, on_update=report, wake=wake)
    except KeyboardInterrupt:
        stop.set()
    _print_status(runner.status())


def _show(
    runner: ProjectionRunner, name: str, table_name: str, limit: int | None
) -> None:
    projection = runner.projection(name)
    public = [t for t in projection.tables if t.public]
    table = next((t for t in public if t.name == table_name), None)
    if table is None:
        raise UnknownTable(name, table_name, [t.name for t in public])
    columns = [c.name for c in table.columns]
    write = sys.stdout.write
    for key, row, evidence in runner.store.rows(projection, table, limit):
        record: dict[str, Any] = dict(zip(columns, (*key, *row), strict=True))
        record["evidence"] = evidence
        write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _self_check(args: argparse.Namespace, open_ledger: Opener) -> int:
    secrets = DeploymentSecrets.load(args.secrets)
    signer = read_signer_key(args.log_key)
    ledger, log = open_ledger(args, signer=signer)
    try:
        found = self_check(
            log=log,
            vault=Vault(ledger.log_recorder, secrets),
            secrets=secrets,
            backend=ledger.storage.backend,
            id_number=args.id_number,
            name=args.name,
        )
    finally:
        ledger.close()
    sys.stdout.write(json.dumps(found.as_dict(), ensure_ascii=False, indent=1) + "\n")
    return 0
