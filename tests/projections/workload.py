"""A ledger of many fund events, made quickly, for runner tests and measurements.

The events are the domain's own (``CountyFund``), saved through ``FundLedger``
without signed requests, many per save: the runner only reads the log, so how
an event got there does not matter to it, and this is about a hundred times
faster than the CLI.

    .venv/bin/python -m tests.projections.workload /tmp/big.db 50000
    .venv/bin/python -m api.cli --db /tmp/big.db views rebuild

makes a SQLite ledger of about 100,000 entries, then times a rebuild of every
view (the log key and secrets the command would look for are not needed).
"""

from __future__ import annotations

import argparse
import sys
import time

from api.app import FundLedger
from ledger.application import create_ledger, open_ledger
from ledger.note import NoteSigner
from ledger.storage import parse_url

ORIGIN = "workload.fundledger.example/log"
ACTOR = "officer:workload"
COUNTIES = ("422801", "422802", "422822", "422823", "422825")
PROGRAMMES = ("PRE_LIVING", "BOARD_PRI", "HS_GRANT")
PER_SAVE = 50


def build(url: str, payments: int, *, create: bool = True) -> int:
    """Record ``payments`` approved payments (two entries each) and the funding.

    Every hundredth payment is reversed again, so reversals are in the mix.
    Returns the number of entries the log has afterwards.
    """
    storage = parse_url(url)
    if create:
        ledger, log = create_ledger(
            storage, ORIGIN, NoteSigner.generate(ORIGIN), app_class=FundLedger
        )
    else:
        ledger, log = open_ledger(storage, app_class=FundLedger)
    try:
        per_county = -(-payments // len(COUNTIES))
        for county in COUNTIES:
            if not ledger.has_fund(county):
                ledger.open_fund(county, f"county {county}", actor=ACTOR)
            _pay(ledger, county, per_county)
        return log.size()
    finally:
        ledger.close()


def _pay(ledger: FundLedger, county: str, count: int) -> None:
    fund = ledger.fund(county)
    tag = f"{fund.version}"
    fund.receive(
        transfer_id=f"in-{tag}",
        source_kind="central",
        source="central-budget",
        amount_fen=10**12,
        reference="workload",
        actor=ACTOR,
    )
    for programme in PROGRAMMES:
        fund.allocate(
            transfer_id=f"alloc-{programme}-{tag}",
            programme=programme,
            year=2026,
            amount_fen=10**11,
            actor=ACTOR,
        )
    ledger.save(fund)
    done = 0
    while done < count:
        # The same aggregate goes on: reloading it would replay every event.
        for _ in range(min(PER_SAVE, count - done)):
            payment_id = f"pay-{tag}-{done}"
            fund.propose_payment(
                payment_id=payment_id,
                programme=PROGRAMMES[done % len(PROGRAMMES)],
                year=2026,
                term="autumn",
                payee_kind="school",
                payee=f"{county}S{done % 400:04d}",
                amount_fen=100_000 + done % 977,
                actor=ACTOR,
                approval_needed=False,
            )
            if done % 100 == 99:
                fund.reverse(transfer_id=payment_id, reason="workload", actor=ACTOR)
            done += 1
        ledger.save(fund)


def main(argv: list[str] | None = None) -> int:
    """Make a workload ledger at a database location."""
    parser = argparse.ArgumentParser(prog="python -m tests.projections.workload")
    parser.add_argument("db", help="a SQLite path or postgresql:// URL, not yet used")
    parser.add_argument("payments", type=int, help="approved payments to record")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    size = build(args.db, args.payments)
    seconds = time.perf_counter() - began
    sys.stdout.write(f"{args.db}: {size} entries in {seconds:.1f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
