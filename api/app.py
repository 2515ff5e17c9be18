"""The composition root: the fund domain saved through the verifiable log.

``FundLedger`` is the one place where ``domain`` aggregates meet the ``ledger``
application. A command loads the county's fund, asks it to change (the domain
refuses what its rules forbid, and then nothing is saved), and saves every
resulting event in one transaction with its log entries. When another writer
changed the same fund first, the command is applied again to the fresh state.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.funds import CountyFund, Signatures
from ledger.application import LedgerApplication

RETRIES = 5


class FundLedger(LedgerApplication):
    """Fund commands over the log."""

    def open_fund(
        self,
        county_code: str,
        county_name: str,
        *,
        actor: str,
        signatures: Signatures | None = None,
    ) -> UUID:
        """Open the county's fund (once; a second opening is refused by the store)."""
        fund = CountyFund.open(
            county_code, county_name, actor=actor, signatures=signatures
        )
        self.save(fund)
        return fund.id

    def fund(self, county_code: str) -> CountyFund:
        """The county's fund as its events make it now."""
        aggregate: CountyFund = self.repository.get(CountyFund.create_id(county_code))
        return aggregate

    def change(self, county_code: str, command: Callable[[CountyFund], None]) -> None:
        """Apply ``command`` to the county's fund and save what it recorded."""
        for attempt in range(RETRIES):
            fund = self.fund(county_code)
            command(fund)
            try:
                self.save(fund)
            except IntegrityError:
                if attempt == RETRIES - 1:
                    raise
                continue
            return
