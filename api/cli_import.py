"""``fundledger import FILE``: record a payment or award list kept in a spreadsheet.

The list (CSV in UTF-8 or GB18030, or XLSX) is read, every row is checked, and
the report goes to stdout: each bad row as ``line N: reason``, the totals per
programme, then one summary line. The good rows are recorded as payment
proposals signed with ``--key`` only if there is no bad row, or if
``--skip-bad`` says to record the good ones anyway; ``--dry-run`` checks and
records nothing. Importing the same list again records nothing and says so.

Exit status: 0 when the list was recorded (or was already), or a dry run found
it would be; 2 when nothing was or would be recorded: bad rows without
``--skip-bad``, a budget too small, no good row, or a user error (unreadable
file, unknown format, missing columns), which is one line on stderr.

A progress bar is drawn on stderr only when stderr is a terminal, and wiped
before anything else is written there, so errors stay one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from api.app import FundLedger
from api.importing import read_sheet
from api.importing_record import (
    DRY_RUN,
    RECORDED,
    REPLAYED,
    ImportReport,
    import_payments,
)
from api.province import CachedFundLedger
from api.requests import OfficerKey
from api.vault_store import DeploymentSecrets, Vault
from domain.funds import TERMS
from ledger.application import open_ledger as open_cached
from ledger.errors import LedgerMisuse
from ledger.log import Log

Opener = Callable[[argparse.Namespace], tuple[FundLedger, Log]]
BAR_WIDTH = 30
REDRAW_SECONDS = 0.1


class ListRefused(LedgerMisuse):
    """A list of which nothing was recorded (or would be, in a dry run)."""

    def __init__(self, report: ImportReport) -> None:
        reasons = []
        if report.problems:
            reasons.append(
                f"{len(report.problems)} bad rows of {report.rows} (listed above; "
                "--skip-bad records the good ones)"
            )
        if report.shortfalls:
            reasons.append("; ".join(str(shortfall) for shortfall in report.shortfalls))
        if not reasons:
            reasons.append(f"no good row among {report.rows}")
        super().__init__(f"{report.source}: {'; '.join(reasons)}; nothing recorded")
        self.report = report


def add_import_commands(commands: Any, open_ledger: Opener) -> None:
    """Add ``import FILE``."""
    parser = commands.add_parser(
        "import", help="record a payment or award list (CSV or XLSX)"
    )
    parser.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="CSV (UTF-8 or GB18030) or XLSX with the headings 姓名 身份证号 "
        "学校 年级 资助项目 金额 学期 银行账号 (or name id_number school grade "
        "programme amount term bank_account)",
    )
    parser.add_argument(
        "--key", type=Path, required=True, help="your officer key file (mode 0600)"
    )
    parser.add_argument("--county", required=True, help="county code, e.g. 422822")
    parser.add_argument(
        "--year", type=int, help="school year of rows without a 学年/year column"
    )
    parser.add_argument(
        "--term", choices=TERMS, help="term of rows without a 学期/term column"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check and report; record nothing"
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="record the good rows even if some are bad (default: record nothing)",
    )
    parser.set_defaults(run=lambda args: run_import(args, open_ledger))


def run_import(args: argparse.Namespace, open_ledger: Opener) -> int:
    """Read, check and record one list; returns the exit status."""
    key = OfficerKey.load(args.key)
    secrets = DeploymentSecrets.load(args.secrets)
    sheet = read_sheet(args.file)
    plain, _ = open_ledger(args)
    # A county's rolls replay from thousands of events; the import reads them
    # once per request it checks, so it keeps them in the aggregate cache.
    try:
        ledger, _ = open_cached(plain.storage, app_class=CachedFundLedger)
        ledger.log_origin = plain.log_origin
        ledger.approval_threshold_fen = plain.approval_threshold_fen
        ledger.configured_rates = plain.configured_rates
    finally:
        plain.close()
    bar = ProgressBar(sys.stderr)
    try:
        vault = Vault(ledger.log_recorder, secrets)
        report = import_payments(
            ledger,
            vault,
            key,
            args.county,
            sheet,
            year=args.year,
            term=args.term,
            dry_run=args.dry_run,
            skip_bad=args.skip_bad,
            progress=bar,
        )
    finally:
        bar.close()
        ledger.close()
    print(f"{sheet.source}: {sheet.format}, {report.rows} rows")
    if report.ignored_columns:
        print(f"ignored columns: {', '.join(report.ignored_columns)}")
    for problem in report.problems:
        print(problem)
    for programme, (count, fen) in report.totals.items():
        print(f"{programme}: {count} payments, {fen // 100:,}.{fen % 100:02d} yuan")
    for shortfall in report.shortfalls:
        print(shortfall)
    print(report.summary())
    if report.status not in (RECORDED, REPLAYED, DRY_RUN):
        raise ListRefused(report)
    return 0


class ProgressBar:
    """Rows checked so far, redrawn in place on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.drawn = False
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        """Draw ``done`` of ``total`` (at most every ``REDRAW_SECONDS``)."""
        now = time.monotonic()
        if not self.live or (now - self.last < REDRAW_SECONDS and done < total):
            return
        self.last = now
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r{phase:<9} [{bar}] {done:,}/{total:,} rows\x1b[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """Wipe the bar, so that what follows starts on a clean line."""
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False
