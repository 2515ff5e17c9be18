"""Which projections a ledger keeps: the one list the CLI and workers share.

Every process that follows the log (``fundledger views ...``, a worker, the
HTTP API reading views) builds its projections here, so they all agree on the
set of views and on their names.
"""

from __future__ import annotations

from api.app import FundLedger
from projections.balances import Balances
from projections.base import Projection


def build_projections(ledger: FundLedger | None = None) -> list[Projection]:
    """Fresh (empty) instances of every projection the ledger keeps.

    ``ledger`` gives projections that need them the deployment's settings (the
    policy table, say); the balances need none.
    """
    # TODO(#4): add the disclosure views and the fraud rules here once they
    # land (projections.disclosure, projections.rules).
    del ledger
    return [Balances()]
