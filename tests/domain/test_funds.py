"""The county fund's rules as pure logic, with a hypothesis state machine.

Over any sequence of commands, valid or not: money is conserved (all balances
sum to zero), no pool, budget or project goes below zero, a refused command
changes nothing and records nothing, and the fund rebuilt from its events equals
the live one.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from domain.errors import (
    BudgetOverdrawn,
    DomainError,
    DuplicatePayment,
    InvalidAmount,
    InvalidReference,
    PaymentNotPending,
    PoolOverdrawn,
    SelfApproval,
    UnknownPayment,
    UnknownProject,
)
from domain.funds import MAX_AMOUNT_FEN, CountyFund, budget_account

RECORDER = "officer:recorder"
APPROVER = "officer:approver"
YEAR = 2026


def _fund(receive: int = 0) -> CountyFund:
    fund = CountyFund.open("422822", "建始县", actor=RECORDER)
    if receive:
        fund.receive(
            transfer_id="in-1",
            source_kind="central",
            source="central-budget",
            amount_fen=receive,
            reference="2026 transfer",
            actor=RECORDER,
        )
    return fund


def _state(fund: CountyFund) -> Any:
    return copy.deepcopy(
        (fund.balances, fund.transfers, fund.payments, fund.pending_fen, fund.projects)
    )


def _refused(fund: CountyFund, error: type[DomainError], command: Any) -> DomainError:
    fund.collect_events()
    before = _state(fund)
    with pytest.raises(error) as raised:
        command()
    assert _state(fund) == before
    assert fund.collect_events() == []
    return raised.value


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
def test_bad_amounts_are_refused_with_the_value(amount: Any) -> None:
    fund = _fund()
    error = _refused(
        fund,
        InvalidAmount,
        lambda: fund.receive(
            transfer_id="x",
            source_kind="central",
            source="c",
            amount_fen=amount,
            reference="r",
            actor=RECORDER,
        ),
    )
    assert isinstance(error, InvalidAmount)
    assert error.amount == amount


def test_allocating_more_than_the_pool_holds_is_refused() -> None:
    fund = _fund(receive=500)
    error = _refused(
        fund,
        PoolOverdrawn,
        lambda: fund.allocate(
            transfer_id="a",
            programme="HS_GRANT",
            year=YEAR,
            amount_fen=501,
            actor=RECORDER,
        ),
    )
    assert isinstance(error, PoolOverdrawn)
    assert (error.balance, error.amount) == (500, 501)


def test_payments_cannot_promise_more_than_the_allocation() -> None:
    fund = _fund(receive=1_000)
    fund.allocate(
        transfer_id="a", programme="HS_GRANT", year=YEAR, amount_fen=600, actor=RECORDER
    )
    propose: dict[str, Any] = {
        "programme": "HS_GRANT",
        "year": YEAR,
        "term": "autumn",
        "payee_kind": "person",
        "payee": "ab" * 32,
        "actor": RECORDER,
    }
    fund.propose_payment(payment_id="p1", amount_fen=400, **propose)
    error = _refused(
        fund,
        BudgetOverdrawn,
        lambda: fund.propose_payment(payment_id="p2", amount_fen=201, **propose),
    )
    assert isinstance(error, BudgetOverdrawn)
    assert (error.available, error.amount) == (200, 201)
    assert error.budget == budget_account("422822", "HS_GRANT", YEAR)


def test_maker_and_checker_are_different_officers() -> None:
    fund = _fund(receive=1_000)
    fund.allocate(
        transfer_id="a",
        programme="HS_GRANT",
        year=YEAR,
        amount_fen=1_000,
        actor=RECORDER,
    )
    fund.propose_payment(
        payment_id="p1",
        programme="HS_GRANT",
        year=YEAR,
        term="autumn",
        payee_kind="school",
        payee="422822S0001",
        amount_fen=250,
        actor=RECORDER,
    )
    payee = "school:422822S0001"
    _refused(
        fund,
        SelfApproval,
        lambda: fund.approve_payment(payment_id="p1", actor=RECORDER),
    )
    assert fund.balance(payee) == 0  # proposed money does not move

    fund.approve_payment(payment_id="p1", actor=APPROVER)
    assert fund.balance(payee) == 250
    _refused(
        fund,
        PaymentNotPending,
        lambda: fund.approve_payment(payment_id="p1", actor=APPROVER),
    )
    _refused(
        fund,
        UnknownPayment,
        lambda: fund.approve_payment(payment_id="p9", actor=APPROVER),
    )


def test_below_the_threshold_a_payment_is_made_at_once() -> None:
    fund = _fund(receive=1_000)
    fund.allocate(
        transfer_id="a",
        programme="HARDSHIP",
        year=YEAR,
        amount_fen=1_000,
        actor=RECORDER,
    )
    fund.propose_payment(
        payment_id="p1",
        programme="HARDSHIP",
        year=YEAR,
        term="spring",
        payee_kind="person",
        payee="cd" * 32,
        amount_fen=100,
        actor=RECORDER,
        approval_needed=False,
    )
    assert fund.payments["p1"].status == "approved"
    assert fund.balance("person:" + "cd" * 32) == 100


def test_a_reversal_moves_the_money_back_and_keeps_the_original() -> None:
    fund = _fund(receive=1_000)
    fund.allocate(
        transfer_id="a", programme="HS_GRANT", year=YEAR, amount_fen=800, actor=RECORDER
    )
    _refused(
        fund,
        PoolOverdrawn,  # the receipt's money has moved on to the budget
        lambda: fund.reverse(transfer_id="in-1", reason="duplicate", actor=APPROVER),
    )
    fund.reverse(transfer_id="a", reason="wrong programme", actor=APPROVER)
    assert fund.balance(fund.pool) == 1_000
    assert fund.transfers["a"].reversed
    _refused(
        fund,
        PaymentNotPending,
        lambda: fund.reverse(transfer_id="a", reason="again", actor=APPROVER),
    )


def test_other_refusals() -> None:
    fund = _fund(receive=1_000)
    _refused(
        fund,
        DuplicatePayment,
        lambda: fund.receive(
            transfer_id="in-1",
            source_kind="central",
            source="c",
            amount_fen=1,
            reference="r",
            actor=RECORDER,
        ),
    )
    _refused(
        fund,
        InvalidReference,
        lambda: fund.receive(
            transfer_id="in-2",
            source_kind="lottery",
            source="c",
            amount_fen=1,
            reference="r",
            actor=RECORDER,
        ),
    )
    _refused(
        fund,
        UnknownProject,
        lambda: fund.report_progress(
            project_id="nope",
            percent=10,
            note="n",
            actor=RECORDER,
        ),
    )


def test_one_fund_per_county() -> None:
    assert CountyFund.create_id("422822") == _fund().id
    assert CountyFund.create_id("422823") != _fund().id


def _rebuild(events: list[Any]) -> CountyFund:
    aggregate: Any = None
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    assert isinstance(aggregate, CountyFund)
    return aggregate


PROGRAMMES = ("HS_GRANT", "BOARD_JUN")
OFFICERS = (RECORDER, APPROVER)
amounts = st.integers(min_value=-5, max_value=5_000) | st.sampled_from([0, 10**14])


class FundMachine(RuleBasedStateMachine):
    """Random commands against one fund, refused ones included."""

    @initialize()
    def open_fund(self) -> None:
        self.fund = _fund()
        self.events: list[Any] = list(self.fund.collect_events())
        self.counter = 0

    def _try(self, command: Any) -> None:
        before = _state(self.fund)
        try:
            command()
        except DomainError:
            assert _state(self.fund) == before
            assert self.fund.collect_events() == []
        else:
            self.events.extend(self.fund.collect_events())

    def _id(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    @rule(amount=amounts, kind=st.sampled_from(["central", "donation", "lottery"]))
    def receive(self, amount: int, kind: str) -> None:
        self._try(
            lambda: self.fund.receive(
                transfer_id=self._id(),
                source_kind=kind,
                source="s",
                amount_fen=amount,
                reference="r",
                actor=RECORDER,
            )
        )

    @rule(amount=amounts, programme=st.sampled_from(PROGRAMMES))
    def allocate(self, amount: int, programme: str) -> None:
        self._try(
            lambda: self.fund.allocate(
                transfer_id=self._id(),
                programme=programme,
                year=YEAR,
                amount_fen=amount,
                actor=RECORDER,
            )
        )

    @rule(
        amount=amounts,
        programme=st.sampled_from(PROGRAMMES),
        officer=st.sampled_from(OFFICERS),
    )
    def propose(self, amount: int, programme: str, officer: str) -> None:
        self._try(
            lambda: self.fund.propose_payment(
                payment_id=self._id(),
                programme=programme,
                year=YEAR,
                term="autumn",
                payee_kind="person",
                payee="ef" * 32,
                amount_fen=amount,
                actor=officer,
            )
        )

    @precondition(lambda self: self.fund.payments)
    @rule(data=st.data(), officer=st.sampled_from(OFFICERS), approve=st.booleans())
    def decide(self, data: Any, officer: str, approve: bool) -> None:
        payment_id = data.draw(st.sampled_from(sorted(self.fund.payments)))
        if approve:
            self._try(
                lambda: self.fund.approve_payment(payment_id=payment_id, actor=officer)
            )
        else:
            self._try(
                lambda: self.fund.reject_payment(
                    payment_id=payment_id, reason="no", actor=officer
                )
            )

    @precondition(lambda self: self.fund.transfers)
    @rule(data=st.data())
    def reverse(self, data: Any) -> None:
        transfer_id = data.draw(st.sampled_from(sorted(self.fund.transfers)))
        self._try(
            lambda: self.fund.reverse(
                transfer_id=transfer_id, reason="correction", actor=APPROVER
            )
        )

    @invariant()
    def money_is_conserved(self) -> None:
        assert sum(self.fund.balances.values()) == 0

    @invariant()
    def nothing_that_holds_money_goes_below_zero(self) -> None:
        for account, balance in self.fund.balances.items():
            if not account.startswith("source:"):
                assert balance >= 0, account
        for budget, pending in self.fund.pending_fen.items():
            assert 0 <= pending <= self.fund.balance(budget)

    @invariant()
    def rebuilt_equals_live(self) -> None:
        assert _state(_rebuild(self.events)) == _state(self.fund)


FundMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
test_fund_state_machine = FundMachine.TestCase


def test_a_refusal_repeats_the_start_of_a_long_value_and_its_length() -> None:
    short = InvalidReference("note", "短", "one line")
    assert short.value == "短"
    assert str(short) == "note must be one line, got '短'"
    error = InvalidReference("payments", list(range(10_000)), "at most 10 rows")
    assert isinstance(error.value, str)
    assert error.value.startswith("[0, 1, 2, ")
    assert error.value.endswith("… (58890 characters)")
    assert str(error) == f"payments must be at most 10 rows, got {error.value}"
    assert len(str(error)) < 300
