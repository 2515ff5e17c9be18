"""The composition root: the fund domain saved through the verifiable log.

``FundLedger`` is the one place where ``domain`` aggregates meet the ``ledger``
application. Commands load an aggregate, ask it to change (the domain refuses
what its rules forbid), and save every resulting event in one transaction, so a
refused command records nothing and an accepted one records all its events with
their log entries.
"""

from __future__ import annotations

from uuid import UUID

from domain.funds import CountyPool
from ledger.application import LedgerApplication


class FundLedger(LedgerApplication):
    """Fund commands over the log."""

    def open_pool(self, county_code: str, county_name: str, actor: str) -> UUID:
        """Open the county's pool (once; a second open is refused by the store)."""
        pool = CountyPool(county_code, county_name, actor)
        self.save(pool)
        return pool.id

    def pool(self, county_code: str) -> CountyPool:
        """The county's pool as its events make it now."""
        aggregate: CountyPool = self.repository.get(CountyPool.create_id(county_code))
        return aggregate

    def receive(
        self,
        county_code: str,
        *,
        source: str,
        amount_fen: int,
        reference: str,
        actor: str,
    ) -> None:
        """Money arrives in the county's pool."""
        pool = self.pool(county_code)
        pool.receive(
            source=source, amount_fen=amount_fen, reference=reference, actor=actor
        )
        self.save(pool)

    def pay(
        self,
        county_code: str,
        *,
        payee: str,
        programme: str,
        amount_fen: int,
        reference: str,
        actor: str,
    ) -> None:
        """Money leaves the county's pool."""
        pool = self.pool(county_code)
        pool.pay(
            payee=payee,
            programme=programme,
            amount_fen=amount_fen,
            reference=reference,
            actor=actor,
        )
        self.save(pool)
