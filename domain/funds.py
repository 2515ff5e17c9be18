"""A county's fund pool: many channels in, one faucet out.

Every county education bureau has exactly one pool. Money reaches it from
budgets and donors and leaves only from it. Amounts are integer fen, always
positive; the pool's balance never goes below zero.

Events carry explicit, versioned topics so that moving or renaming a class
never changes the bytes the log hashed. Every event names its ``actor``, the
officer (or process) that asked for it.

NOTE: this is the first slice of the fund domain: one pool with receipts and
payments. Accounts, programmes, beneficiaries and approvals come with it later.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidAmount, PoolOverdrawn

POOL_NAMESPACE = UUID("6f1c1b9e-5a0e-4f4e-9a51-3f3c2b1d7e10")
MAX_AMOUNT_FEN = 10**13  # 100 billion yuan: far above any one transfer


def check_amount(amount: object) -> int:
    """Accept a positive integer number of fen below the absurdity bound."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidAmount(amount, "a whole number of fen")
    if amount <= 0:
        raise InvalidAmount(amount, "positive")
    if amount > MAX_AMOUNT_FEN:
        raise InvalidAmount(amount, f"at most {MAX_AMOUNT_FEN} fen")
    return amount


class CountyPool(Aggregate):
    """The single fund pool of one county."""

    TOPIC = "fundledger.domain:CountyPool@1"

    class Created(Aggregate.Created):
        TOPIC = "fundledger.domain:CountyPool.Created@1"

    class Opened(Created):
        TOPIC = "fundledger.domain:CountyPool.Opened@1"
        county_code: str
        county_name: str
        actor: str

    class FundsReceived(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyPool.FundsReceived@1"
        source: str
        amount_fen: int
        reference: str
        actor: str

    class FundsPaid(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyPool.FundsPaid@1"
        payee: str
        programme: str
        amount_fen: int
        reference: str
        actor: str

    @staticmethod
    def create_id(county_code: str) -> UUID:
        """One pool per county: the id is derived from the county's code."""
        return uuid5(POOL_NAMESPACE, f"pool:{county_code}")

    @event(Opened)
    def __init__(self, county_code: str, county_name: str, actor: str) -> None:
        self.county_code = county_code
        self.county_name = county_name
        self.balance_fen = 0

    def receive(
        self, *, source: str, amount_fen: int, reference: str, actor: str
    ) -> None:
        """Record money arriving from a budget or donor."""
        self._receive(source, check_amount(amount_fen), reference, actor)

    @event(FundsReceived)
    def _receive(
        self, source: str, amount_fen: int, reference: str, actor: str
    ) -> None:
        self.balance_fen += amount_fen

    def pay(
        self, *, payee: str, programme: str, amount_fen: int, reference: str, actor: str
    ) -> None:
        """Pay out of the pool; refused if the pool does not hold the amount."""
        amount_fen = check_amount(amount_fen)
        if amount_fen > self.balance_fen:
            raise PoolOverdrawn(self.county_code, self.balance_fen, amount_fen)
        self._pay(payee, programme, amount_fen, reference, actor)

    @event(FundsPaid)
    def _pay(
        self, payee: str, programme: str, amount_fen: int, reference: str, actor: str
    ) -> None:
        self.balance_fen -= amount_fen
