"""Read-only views for officers: a fund's accounts and payments, the officers.

``fund show`` and ``officer list`` are declared with the other fund and officer
commands (``api.cli_writes``), with ``show`` set to the view to print.

These read the current state rebuilt from the log; they sign nothing and record
nothing. Amounts print in yuan with two decimals (the ledger keeps integer fen).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from api.app import FundLedger
from ledger.log import Log

Opener = Callable[[argparse.Namespace], tuple[FundLedger, Log]]


def yuan(fen: int) -> str:
    """Integer fen as yuan with two decimals and thousands separators."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def run_show(args: argparse.Namespace, open_ledger: Opener) -> int:
    """Print the requested view; returns the exit status."""
    ledger, _ = open_ledger(args)
    try:
        if args.show == "fund":
            _fund(ledger, str(args.county))
        else:
            _officers(ledger)
    finally:
        ledger.close()
    return 0


def _fund(ledger: FundLedger, county: str) -> None:
    fund = ledger.fund(county)
    print(f"{fund.county_name} ({fund.county_code}) fund")
    print(f"{'account':<72} {'balance (yuan)':>20} {'promised':>16}")
    for account in sorted(fund.balances):
        pending = fund.pending_fen.get(account, 0)
        print(
            f"{account:<72} {yuan(fund.balance(account)):>20} "
            f"{yuan(pending) if pending else '':>16}"
        )
    print(f"sum of all balances: {yuan(sum(fund.balances.values()))}")
    if fund.payments:
        print(f"\n{'payment':<44} {'status':<10} {'amount (yuan)':>16}  payee")
        for payment in fund.payments.values():
            print(
                f"{payment.payment_id:<44} {payment.status:<10} "
                f"{yuan(payment.amount_fen):>16}  {payment.payee}"
            )


def _officers(ledger: FundLedger) -> None:
    registry = ledger.registry_or_none()
    if registry is None:
        print("no officers are enrolled")
        return
    print(f"{'officer':<28} {'role':<14} {'unit':<10} keys")
    for officer in registry.officers.values():
        keys = ", ".join(
            f"{key_id} ({registry.keys[key_id].status})" for key_id in officer.keys
        )
        print(
            f"{officer.officer_id:<28} {officer.role.value:<14} "
            f"{officer.jurisdiction:<10} {keys}"
        )
