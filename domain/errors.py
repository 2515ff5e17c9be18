"""Errors for broken fund rules.

Each error is named after the rule it enforces and carries the values that broke
it, so that the CLI and the HTTP API can report them without parsing messages.
The domain imports no project code, so it has its own root, ``DomainError``.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request that the fund rules refuse; nothing was recorded."""


class InvalidAmount(DomainError):
    """An amount that is not a positive whole number of fen within bounds."""

    def __init__(self, amount: object, reason: str) -> None:
        super().__init__(f"amount must be {reason}, got {amount!r}")
        self.amount = amount
        self.reason = reason


class PoolOverdrawn(DomainError):
    """A payment larger than what the pool holds."""

    def __init__(self, pool: str, balance: int, amount: int) -> None:
        super().__init__(
            f"pool {pool} holds {balance} fen, cannot pay out {amount} fen"
        )
        self.pool = pool
        self.balance = balance
        self.amount = amount
