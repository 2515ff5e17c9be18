"""The county pool's rules, as pure logic: money in, money out, never below zero."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidAmount, PoolOverdrawn
from domain.funds import MAX_AMOUNT_FEN, CountyPool

ACTOR = "officer:test"


def _pool() -> CountyPool:
    return CountyPool("422822", "建始县", ACTOR)


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param(0, id="zero"),
        pytest.param(-100, id="negative"),
        pytest.param(12.5, id="fractional"),
        pytest.param("100", id="text"),
        pytest.param(True, id="boolean"),
        pytest.param(MAX_AMOUNT_FEN + 1, id="absurdly-large"),
    ],
)
def test_bad_amounts_are_refused_with_the_value(amount: object) -> None:
    pool = _pool()
    with pytest.raises(InvalidAmount) as raised:
        pool.receive(
            source="central-budget",
            amount_fen=amount,  # type: ignore[arg-type]
            reference="r",
            actor=ACTOR,
        )
    assert raised.value.amount == amount
    assert pool.balance_fen == 0
    assert len(pool.collect_events()) == 1  # only the opening


def test_overdraft_is_refused_and_records_nothing() -> None:
    pool = _pool()
    pool.receive(source="central-budget", amount_fen=500, reference="r1", actor=ACTOR)
    pool.collect_events()
    with pytest.raises(PoolOverdrawn) as raised:
        pool.pay(
            payee="school:1",
            programme="HS_GRANT",
            amount_fen=501,
            reference="p",
            actor=ACTOR,
        )
    assert (raised.value.balance, raised.value.amount) == (500, 501)
    assert pool.collect_events() == []
    assert pool.balance_fen == 500


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 10**6)), max_size=40))
def test_balance_is_receipts_minus_payments_and_never_negative(
    steps: list[tuple[bool, int]],
) -> None:
    pool = _pool()
    received = paid = 0
    for is_receipt, amount in steps:
        if is_receipt:
            pool.receive(
                source="donation", amount_fen=amount, reference="r", actor=ACTOR
            )
            received += amount
        elif amount <= pool.balance_fen:
            pool.pay(
                payee="school:1",
                programme="X",
                amount_fen=amount,
                reference="p",
                actor=ACTOR,
            )
            paid += amount
        else:
            with pytest.raises(PoolOverdrawn):
                pool.pay(
                    payee="school:1",
                    programme="X",
                    amount_fen=amount,
                    reference="p",
                    actor=ACTOR,
                )
        assert pool.balance_fen == received - paid >= 0


def test_one_pool_per_county() -> None:
    assert CountyPool.create_id("422822") == _pool().id
    assert CountyPool.create_id("422823") != _pool().id
