"""``fundledger alert raise``: the monitor raises what the fraud rules found.

The rules' ``alerts`` table is read as the views runner stored it (run ``views
update`` first, or ``views follow --raise-with KEY``, which raises as it
goes); every alert not raised yet becomes a signed ``alert.raise`` request of
the monitor's key, recorded in batches (``api.alert_raiser``). Running it again
records nothing new. The secrets file is not needed: alerts hold pseudonyms.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from api.alert_raiser import BATCH_SIZE, raise_alerts, unraised_stored
from api.cli_views import Opener
from api.requests import OfficerKey
from projections.rules import FraudRules
from projections.runner import ViewOutdated
from projections.store import ViewStore


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_raise_command(alerts: Any) -> None:
    """Add ``alert raise`` to the ``alert`` commands."""
    raising = alerts.add_parser(
        "raise", help="record the alerts the rules found in the log (the monitor)"
    )
    raising.add_argument(
        "--key", type=Path, required=True, help="the monitor's key file (mode 0600)"
    )
    raising.add_argument(
        "--batch-size",
        type=_positive,
        default=BATCH_SIZE,
        metavar="N",
        help=f"alerts per transaction (default: {BATCH_SIZE})",
    )
    raising.set_defaults(run=None, alert_raise=True)


def run_raise(args: argparse.Namespace, open_ledger: Opener) -> int:
    """Raise every alert the stored view holds and the log does not."""
    key = OfficerKey.load(args.key)
    ledger, _ = open_ledger(args)
    try:
        with ViewStore(ledger.storage) as store:
            store.register(FraudRules)
            stored = store.position(FraudRules)
            if stored.outdated:
                raise ViewOutdated(FraudRules.name)
            lag = store.log_size() - stored.position
            alerts = unraised_stored(store)
        result = raise_alerts(ledger, key, alerts, batch_size=args.batch_size)
    finally:
        ledger.close()
    print(result.summary())
    if lag > 0:
        print(
            f"the {FraudRules.name} view is {lag} entries behind the log; "
            "alerts in them are raised once 'fundledger views update' found them"
        )
    return 0
