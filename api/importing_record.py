"""Recording a checked payment list: all its good rows, or nothing.

``import_payments`` is the one entry for the CLI's ``fundledger import``: it
takes a ``Sheet`` (``api.importing``), checks every row
(``api.importing_check``) and records the payments as ``fund.propose_payments``
requests signed by the officer's key, through ``api.commands``, the path every
signed write takes. The HTTP API's upload, which never holds an officer's
key, does the same in two steps: ``plan_import`` checks the list and answers
with the very requests ``import_payments`` would sign, unsigned; the officer
signs them and sends them back to be recorded together.

Invariants:

- All or nothing. With any bad row nothing is recorded, unless the caller asked
  to skip bad rows (``skip_bad``); then every good row is recorded, or none.
  A list longer than one request may be (``MAX_BATCH`` rows) is signed as
  several requests that ``execute_together`` records in one transaction, so a
  refusal of any row of any request leaves the ledger as it was.
- Once only. Request ids and payment ids derive from the list's content: a
  SHA-256 of its rows in normal form (amounts in fen, programme codes, ...)
  and line numbers, whatever the file's format or encoding, with the county,
  year and term. Importing the same list again is a replay: nothing new is
  recorded and the report says so. A changed list is a new import, but its
  rows that pay a person a programme and term already proposed are bad rows,
  so a corrected list never pays twice.
- A dry run reads and checks exactly as a real import and writes nothing.
- Only pseudonyms and codes reach the log; names, ID numbers and bank accounts
  stay in the sheet and the vault.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from api.app import FundLedger
from api.commands import Receipt, execute_together
from api.importing import Sheet
from api.importing_check import (
    ImportedPayment,
    RowProblem,
    check_rows,
    normal_form,
)
from api.requests import OfficerKey, parse_request
from api.vault_store import BEIJING, Vault
from domain.funds import MAX_BATCH, TERMS, budget_account
from domain.policy import Policy
from ledger.canonical import canonical_bytes
from ledger.entry import timestamp
from ledger.errors import LedgerMisuse

FORMAT = "fundledger-import@1"
RECORDED = "recorded"
REPLAYED = "already recorded"
DRY_RUN = "dry run"
REFUSED = "refused"
EMPTY = "nothing to record"

# Phase name, rows done, rows in all: for a progress bar.
Progress = Callable[[str, int, int], None]


class ImportMisuse(LedgerMisuse):
    """An import asked for in a way that cannot work (no term given, say)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}; nothing was recorded")
        self.source = source
        self.reason = reason


@dataclass(frozen=True)
class Shortfall:
    """A programme budget that cannot cover the list's payments from it."""

    budget: str
    needed_fen: int
    available_fen: int

    def __str__(self) -> str:
        return (
            f"budget {self.budget} has {_yuan(self.available_fen)} yuan available, "
            f"the list needs {_yuan(self.needed_fen)}"
        )


@dataclass
class ImportReport:
    """What an import found and did, for people (CLI) and programs (HTTP)."""

    source: str
    county: str
    digest: str
    rows: int
    status: str = EMPTY
    problems: list[RowProblem] = field(default_factory=list)
    payments: int = 0
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)  # count, fen
    shortfalls: list[Shortfall] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def recorded(self) -> bool:
        """Whether this import recorded anything now."""
        return self.status == RECORDED

    def summary(self) -> str:
        """One line for people."""
        total = sum(fen for _, fen in self.totals.values())
        what = f"{self.payments} payments, {_yuan(total)} yuan"
        bad = f", {len(self.problems)} bad rows" if self.problems else ""
        if self.status == RECORDED:
            entries = sum(len(receipt.entries) for receipt in self.receipts)
            return (
                f"recorded {what} from {self.rows} rows{bad} in "
                f"{len(self.receipts)} signed requests ({entries} log entries)"
            )
        if self.status == REPLAYED:
            return "already recorded: this list was imported before (nothing new)"
        if self.status == DRY_RUN:
            return f"dry run: would record {what} from {self.rows} rows{bad}"
        if self.status == REFUSED:
            return f"refused: {self.rows} rows{bad}; nothing recorded"
        return f"nothing to record: no good rows among {self.rows}{bad}"


def import_payments(
    ledger: FundLedger,
    vault: Vault,
    key: OfficerKey,
    county: str,
    sheet: Sheet,
    *,
    year: int | None = None,
    term: str | None = None,
    dry_run: bool = False,
    skip_bad: bool = False,
    progress: Progress | None = None,
    today: date | None = None,
) -> ImportReport:
    """Check every row of ``sheet``, then record its payments (see the module)."""
    report, unsigned = plan_import(
        ledger,
        vault,
        key.key_id,
        county,
        sheet,
        year=year,
        term=term,
        skip_bad=skip_bad,
        progress=progress,
        today=today,
    )
    if report.status != DRY_RUN or dry_run:
        return report

    # The planned requests, signed, recorded in one transaction.
    requests = [
        parse_request(
            key.sign(
                request["command"],
                request["params"],
                request_id=request["request_id"],
                signed_at=request["signed_at"],
            )
        )
        for request in unsigned
    ]
    if progress is not None:
        progress("recording", 0, report.payments)
    report.receipts = execute_together(ledger, requests)
    report.status = (
        REPLAYED if all(receipt.replayed for receipt in report.receipts) else RECORDED
    )
    if progress is not None:
        progress("recording", report.payments, report.payments)
    return report


def plan_import(
    ledger: FundLedger,
    vault: Vault,
    key_id: str,
    county: str,
    sheet: Sheet,
    *,
    year: int | None = None,
    term: str | None = None,
    skip_bad: bool = False,
    progress: Progress | None = None,
    today: date | None = None,
    signed_at: str | None = None,
) -> tuple[ImportReport, list[dict[str, Any]]]:
    """Check every row; the report and the requests the key ``key_id`` would sign.

    The requests are ``{"command", "params", "key_id", "request_id",
    "signed_at"}`` objects (``api.requests``), one per ``MAX_BATCH`` good rows,
    when the list can be recorded: the report's status is then ``DRY_RUN``.
    Otherwise (bad rows without ``skip_bad``, a budget too small, no good row,
    recorded before by this key) there are none and the status says why.
    Nothing is written.
    """
    today = today or datetime.now(BEIJING).date()

    # 1. Where a row gives no term or year, the caller must.
    if term is not None and term not in TERMS:
        raise ImportMisuse(sheet.source, f"term must be one of {TERMS}, got {term!r}")
    if "term" not in sheet.columns and term is None:
        raise ImportMisuse(sheet.source, "no 学期/term column: give the term")
    if "year" not in sheet.columns and year is None:
        raise ImportMisuse(sheet.source, "no 学年/year column: give the year")
    digest = list_digest(ledger.policy, sheet, county, year, term)
    report = ImportReport(
        sheet.source, county, digest, len(sheet.rows), ignored_columns=sheet.ignored
    )

    # 2. The same list again is a replay, whatever the ledger holds now.
    first = request_id(digest, 0)
    if ledger.accepted_request(key_id, first) is not None:
        report.status = REPLAYED
        report.receipts = [Receipt(digest, ledger.request_entry(key_id, first), True)]
        return report, []

    # 3. Every row, then the budgets the good rows draw on.
    checked = check_rows(
        ledger,
        vault,
        county,
        sheet.rows,
        year=year,
        term=term,
        today=today,
        progress=None if progress is None else _phase(progress, "checking"),
    )
    report.problems = checked.problems
    report.payments = len(checked.payments)
    report.totals = _totals(checked.payments)
    report.shortfalls = _shortfalls(ledger, county, checked.payments)

    # 4. All or nothing.
    if report.shortfalls or (report.problems and not skip_bad):
        report.status = REFUSED
        return report, []
    if not checked.payments:
        report.status = EMPTY
        return report, []

    # 5. One request per MAX_BATCH rows, to be recorded in one transaction.
    report.status = DRY_RUN
    proposals = [
        payment.proposal(f"imp-{digest[:16]}-{payment.line}")
        for payment in checked.payments
    ]
    signed_at = signed_at or timestamp()
    requests = [
        {
            "command": "fund.propose_payments",
            "params": {
                "county": county,
                "payments": proposals[start : start + MAX_BATCH],
            },
            "key_id": key_id,
            "request_id": request_id(digest, number),
            "signed_at": signed_at,
        }
        for number, start in enumerate(range(0, len(proposals), MAX_BATCH))
    ]
    return report, requests


def list_digest(
    policy: Policy, sheet: Sheet, county: str, year: int | None, term: str | None
) -> str:
    """SHA-256 (hex) of the list's rows in normal form, with the import's options.

    Rows are taken in their normal form (``normal_form``), so the same list
    saved as XLSX, UTF-8 or GB18030 CSV, with numbers or text, has one digest;
    the line numbers count, since payment ids carry them.
    """
    document: dict[str, Any] = {
        "format": FORMAT,
        "county": county,
        "year": year,
        "term": term,
        "rows": [[row.line, normal_form(policy, row), row.notes] for row in sheet.rows],
    }
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def request_id(digest: str, number: int) -> str:
    """The request id of the list's ``number``-th signed request."""
    return f"import:{digest}:{number}"


def _totals(payments: list[ImportedPayment]) -> dict[str, tuple[int, int]]:
    totals: dict[str, tuple[int, int]] = {}
    for payment in payments:
        count, fen = totals.get(payment.programme, (0, 0))
        totals[payment.programme] = (count + 1, fen + payment.amount_fen)
    return dict(sorted(totals.items()))


def _shortfalls(
    ledger: FundLedger, county: str, payments: list[ImportedPayment]
) -> list[Shortfall]:
    """Budgets the payments would overdraw (the fund would refuse them anyway)."""
    needed: dict[str, int] = {}
    for payment in payments:
        budget = budget_account(county, payment.programme, payment.year)
        needed[budget] = needed.get(budget, 0) + payment.amount_fen
    if not needed:
        return []
    fund = ledger.fund(county)
    return [
        Shortfall(budget, fen, fund.available(budget))
        for budget, fen in sorted(needed.items())
        if fen > fund.available(budget)
    ]


def _phase(progress: Progress, name: str) -> Callable[[int, int], None]:
    return lambda done, total: progress(name, done, total)


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"
