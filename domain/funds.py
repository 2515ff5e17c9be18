"""A county's fund: many channels in, one faucet out (多渠道进水，一个龙头放水).

Every county education bureau has one fund, and all its money moves as
double-entry transfers between accounts:

    source ──receive──▶ pool ──allocate──▶ budget ──pay──▶ school or person
                          └──fund project──▶ project

A transfer debits one account and credits another by the same amount, so the
sum of all balances of a fund is always zero: sources go negative by what they
gave, sinks (schools, people) positive by what they got. The pool, the programme
budgets and the projects never go below zero. Only the pool's budgets pay out,
and a payment moves money only once a second officer approved it (maker and
checker), unless the deployment set an amount below which no approval is needed.
A batch (``propose_payments``, ``approve_payments``) is the single-payment
method applied row by row: the same events and checks, all rows or none.

Nothing is edited: a mistake is undone by a reversal that names the transfer it
undoes and moves the money back.

Amounts are integer fen, positive and below ``MAX_AMOUNT_FEN``. Every event names
its ``actor`` (the officer who asked for it) and carries the ``signatures`` of the
signed request that authorised it, which the log keeps and re-checks. Events carry
explicit, versioned topics so that renaming a class never changes what the log
hashed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    BudgetOverdrawn,
    DuplicatePayment,
    InvalidAmount,
    InvalidReference,
    PaymentNotPending,
    PoolOverdrawn,
    SelfApproval,
    UnknownPayment,
    UnknownProject,
)

FUND_NAMESPACE = UUID("6f1c1b9e-5a0e-4f4e-9a51-3f3c2b1d7e10")
MAX_AMOUNT_FEN = 10**13  # 100 billion yuan: far above any one transfer
SOURCE_KINDS = ("central", "provincial", "prefecture", "county", "pairing", "donation")
PAYEE_KINDS = ("school", "person")
TERMS = ("spring", "autumn")
MAX_REFERENCE_LENGTH = 200
# Rows in one batch request: large enough for a county's term, small enough
# that one signed request stays a few megabytes.
MAX_BATCH = 10_000
PAYMENT_REQUIRED = frozenset(
    {"payment_id", "programme", "year", "term", "payee_kind", "payee", "amount_fen"}
)

Signatures = list[dict[str, str]]


def check_amount(amount: object) -> int:
    """Accept a positive integer number of fen below the absurdity bound."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidAmount(amount, "a whole number of fen")
    if amount <= 0:
        raise InvalidAmount(amount, "positive")
    if amount > MAX_AMOUNT_FEN:
        raise InvalidAmount(amount, f"at most {MAX_AMOUNT_FEN} fen")
    return amount


def check_reference(field: str, value: object) -> str:
    """Accept a non-empty single-line identifier or text of bounded length."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidReference(field, value, "a non-empty string")
    if len(value) > MAX_REFERENCE_LENGTH or "\n" in value:
        raise InvalidReference(
            field, value, f"one line of at most {MAX_REFERENCE_LENGTH} characters"
        )
    return value


def check_choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    """Accept one of a fixed set of words."""
    if value not in choices:
        raise InvalidReference(field, value, f"one of {', '.join(choices)}")
    return str(value)


def pool_account(county: str) -> str:
    """The county's one pool."""
    return f"pool:{county}"


def budget_account(county: str, programme: str, year: int) -> str:
    """What the pool allocated to one programme for one school year."""
    return f"budget:{county}:{programme}:{year}"


def source_account(kind: str, source: str) -> str:
    """Where money came from: a budget level, a pairing partner or a donor."""
    return f"source:{kind}:{source}"


def project_account(county: str, project_id: str) -> str:
    """Money set aside for one project (renovation, kindergarten, training...)."""
    return f"project:{county}:{project_id}"


def payee_account(kind: str, ref: str) -> str:
    """A school (by code) or a person (by pseudonymous ``person_ref``)."""
    return f"{kind}:{ref}"


def _may_go_negative(account: str) -> bool:
    return account.startswith("source:")


@dataclass
class Transfer:
    """One movement of money, as the fund remembers it for reversals."""

    transfer_id: str
    debit: str
    credit: str
    amount_fen: int
    reversed: bool = False


@dataclass
class Payment:
    """A proposed payment and where it stands."""

    payment_id: str
    budget: str
    payee: str
    amount_fen: int
    proposed_by: str
    status: str  # proposed | approved | rejected | reversed
    details: dict[str, Any]


class CountyFund(Aggregate):
    """The pool of one county with its budgets, projects and payments."""

    TOPIC = "fundledger.domain:CountyFund@1"

    class Created(Aggregate.Created):
        TOPIC = "fundledger.domain:CountyFund.Created@1"

    class Opened(Created):
        TOPIC = "fundledger.domain:CountyFund.Opened@1"
        county_code: str
        county_name: str
        actor: str
        signatures: Signatures

    class FundsReceived(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyFund.FundsReceived@1"
        transfer_id: str
        source_kind: str
        source: str
        amount_fen: int
        reference: str
        earmark: str | None
        actor: str
        signatures: Signatures

    class Allocated(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyFund.Allocated@1"
        transfer_id: str
        programme: str
        year: int
        amount_fen: int
        actor: str
        signatures: Signatures

    class ProjectFunded(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyFund.ProjectFunded@1"
        transfer_id: str
        project_id: str
        name: str
        school: str | None
        amount_fen: int
        actor: str
        signatures: Signatures

    class ProgressReported(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyFund.ProgressReported@1"
        project_id: str
        percent: int
        note: str
        actor: str
        signatures: Signatures

    class PaymentProposed(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyFund.PaymentProposed@1"
        payment_id: str
        programme: str
        year: int
        term: str
        payee_kind: str
        payee: str
        amount_fen: int
        details: dict[str, Any]
        actor: str
        signatures: Signatures

    class PaymentApproved(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyFund.PaymentApproved@1"
        payment_id: str
        rule: str  # "second-officer" or "below-threshold"
        actor: str
        signatures: Signatures

    class PaymentRejected(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyFund.PaymentRejected@1"
        payment_id: str
        reason: str
        actor: str
        signatures: Signatures

    class TransferReversed(Aggregate.Event):
        TOPIC = "fundledger.domain:CountyFund.TransferReversed@1"
        transfer_id: str
        reason: str
        actor: str
        signatures: Signatures

    @staticmethod
    def create_id(county_code: str) -> UUID:
        """One fund per county: the id is derived from the county's code."""
        return uuid5(FUND_NAMESPACE, f"fund:{county_code}")

    @event(Opened)
    def __init__(
        self,
        county_code: str,
        county_name: str,
        actor: str,
        signatures: Signatures,
    ) -> None:
        self.county_code = county_code
        self.county_name = county_name
        self.balances: dict[str, int] = {}
        self.transfers: dict[str, Transfer] = {}
        self.payments: dict[str, Payment] = {}
        self.pending_fen: dict[str, int] = {}
        self.projects: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(
        cls,
        county_code: str,
        county_name: str,
        *,
        actor: str,
        signatures: Signatures | None = None,
    ) -> CountyFund:
        """Open the county's fund; its pool starts empty."""
        check_reference("county_code", county_code)
        check_reference("county_name", county_name)
        return cls(county_code, county_name, actor, signatures or [])

    # Queries -----------------------------------------------------------------

    @property
    def pool(self) -> str:
        """This fund's pool account."""
        return pool_account(self.county_code)

    def balance(self, account: str) -> int:
        """An account's balance in fen (0 if it never moved)."""
        return self.balances.get(account, 0)

    def available(self, budget: str) -> int:
        """What a budget can still promise: its balance less pending payments."""
        return self.balance(budget) - self.pending_fen.get(budget, 0)

    # Transfers -----------------------------------------------------------------

    def _move(self, transfer_id: str, debit: str, credit: str, amount: int) -> None:
        self.balances[debit] = self.balance(debit) - amount
        self.balances[credit] = self.balance(credit) + amount
        self.transfers[transfer_id] = Transfer(transfer_id, debit, credit, amount)

    def _new_transfer_id(self, transfer_id: str) -> str:
        check_reference("transfer_id", transfer_id)
        if transfer_id in self.transfers or transfer_id in self.payments:
            raise DuplicatePayment(transfer_id)
        return transfer_id

    def _require(self, account: str, amount: int) -> None:
        held = self.balance(account) - self.pending_fen.get(account, 0)
        if amount > held:
            if account.startswith("pool:"):
                raise PoolOverdrawn(account, held, amount)
            raise BudgetOverdrawn(account, held, amount)

    def receive(
        self,
        *,
        transfer_id: str,
        source_kind: str,
        source: str,
        amount_fen: int,
        reference: str,
        earmark: str | None = None,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Money arrives from a budget, a pairing partner or a donor."""
        self._receive(
            transfer_id=self._new_transfer_id(transfer_id),
            source_kind=check_choice("source_kind", source_kind, SOURCE_KINDS),
            source=check_reference("source", source),
            amount_fen=check_amount(amount_fen),
            reference=check_reference("reference", reference),
            earmark=None if earmark is None else check_reference("earmark", earmark),
            actor=actor,
            signatures=signatures or [],
        )

    @event(FundsReceived)
    def _receive(
        self,
        *,
        transfer_id: str,
        source_kind: str,
        source: str,
        amount_fen: int,
        reference: str,
        earmark: str | None,
        actor: str,
        signatures: Signatures,
    ) -> None:
        debit = source_account(source_kind, source)
        self._move(transfer_id, debit, self.pool, amount_fen)

    def allocate(
        self,
        *,
        transfer_id: str,
        programme: str,
        year: int,
        amount_fen: int,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Set money of the pool aside for one programme and school year."""
        check_reference("programme", programme)
        _check_year(year)
        amount_fen = check_amount(amount_fen)
        transfer_id = self._new_transfer_id(transfer_id)
        self._require(self.pool, amount_fen)
        self._allocate(
            transfer_id=transfer_id,
            programme=programme,
            year=year,
            amount_fen=amount_fen,
            actor=actor,
            signatures=signatures or [],
        )

    @event(Allocated)
    def _allocate(
        self,
        *,
        transfer_id: str,
        programme: str,
        year: int,
        amount_fen: int,
        actor: str,
        signatures: Signatures,
    ) -> None:
        budget = budget_account(self.county_code, programme, year)
        self._move(transfer_id, self.pool, budget, amount_fen)

    def fund_project(
        self,
        *,
        transfer_id: str,
        project_id: str,
        name: str,
        school: str | None,
        amount_fen: int,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Give a project (renovation, kindergarten, training) money of the pool."""
        check_reference("project_id", project_id)
        check_reference("name", name)
        if school is not None:
            check_reference("school", school)
        amount_fen = check_amount(amount_fen)
        transfer_id = self._new_transfer_id(transfer_id)
        self._require(self.pool, amount_fen)
        self._fund_project(
            transfer_id=transfer_id,
            project_id=project_id,
            name=name,
            school=school,
            amount_fen=amount_fen,
            actor=actor,
            signatures=signatures or [],
        )

    @event(ProjectFunded)
    def _fund_project(
        self,
        *,
        transfer_id: str,
        project_id: str,
        name: str,
        school: str | None,
        amount_fen: int,
        actor: str,
        signatures: Signatures,
    ) -> None:
        account = project_account(self.county_code, project_id)
        self._move(transfer_id, self.pool, account, amount_fen)
        project = self.projects.setdefault(
            project_id, {"name": name, "school": school, "percent": 0}
        )
        project["name"] = name

    def report_progress(
        self,
        *,
        project_id: str,
        percent: int,
        note: str,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Report how far a funded project has come (0 to 100 percent)."""
        if check_reference("project_id", project_id) not in self.projects:
            raise UnknownProject(project_id)
        if not isinstance(percent, int) or isinstance(percent, bool):
            raise InvalidReference("percent", percent, "a whole number from 0 to 100")
        if not 0 <= percent <= 100:
            raise InvalidReference("percent", percent, "a whole number from 0 to 100")
        self._report_progress(
            project_id=project_id,
            percent=percent,
            note=check_reference("note", note),
            actor=actor,
            signatures=signatures or [],
        )

    @event(ProgressReported)
    def _report_progress(
        self,
        *,
        project_id: str,
        percent: int,
        note: str,
        actor: str,
        signatures: Signatures,
    ) -> None:
        self.projects[project_id]["percent"] = percent

    # Payments: maker and checker -------------------------------------------------

    def propose_payment(
        self,
        *,
        payment_id: str,
        programme: str,
        year: int,
        term: str,
        payee_kind: str,
        payee: str,
        amount_fen: int,
        details: dict[str, Any] | None = None,
        actor: str,
        signatures: Signatures | None = None,
        approval_needed: bool = True,
    ) -> None:
        """Propose paying a school or person from a programme's budget.

        The amount is promised against the budget at once, so proposals can
        never add up to more than was allocated. Without ``approval_needed``
        (an amount below the deployment's threshold) the payment is made at
        once, recorded as approved by rule.
        """
        check_reference("programme", programme)
        _check_year(year)
        check_choice("term", term, TERMS)
        check_choice("payee_kind", payee_kind, PAYEE_KINDS)
        check_reference("payee", payee)
        amount_fen = check_amount(amount_fen)
        if details is not None and not isinstance(details, dict):
            raise InvalidReference("details", details, "an object")
        payment_id = self._new_transfer_id(payment_id)
        budget = budget_account(self.county_code, programme, year)
        self._require(budget, amount_fen)
        self._propose(
            payment_id=payment_id,
            programme=programme,
            year=year,
            term=term,
            payee_kind=payee_kind,
            payee=payee,
            amount_fen=amount_fen,
            details=dict(details or {}),
            actor=actor,
            signatures=signatures or [],
        )
        if not approval_needed:
            self._approve(
                payment_id=payment_id,
                rule="below-threshold",
                actor=actor,
                signatures=signatures or [],
            )

    @event(PaymentProposed)
    def _propose(
        self,
        *,
        payment_id: str,
        programme: str,
        year: int,
        term: str,
        payee_kind: str,
        payee: str,
        amount_fen: int,
        details: dict[str, Any],
        actor: str,
        signatures: Signatures,
    ) -> None:
        budget = budget_account(self.county_code, programme, year)
        self.payments[payment_id] = Payment(
            payment_id,
            budget,
            payee_account(payee_kind, payee),
            amount_fen,
            actor,
            "proposed",
            {**details, "programme": programme, "year": year, "term": term},
        )
        self.pending_fen[budget] = self.pending_fen.get(budget, 0) + amount_fen

    def _pending(self, payment_id: str) -> Payment:
        payment = self.payments.get(check_reference("payment_id", payment_id))
        if payment is None:
            raise UnknownPayment(payment_id)
        if payment.status != "proposed":
            raise PaymentNotPending(payment_id, payment.status, "proposed")
        return payment

    def approve_payment(
        self,
        *,
        payment_id: str,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """A second officer approves: the money moves from budget to payee."""
        payment = self._pending(payment_id)
        if payment.proposed_by == actor:
            raise SelfApproval(payment_id, actor)
        self._approve(
            payment_id=payment_id,
            rule="second-officer",
            actor=actor,
            signatures=signatures or [],
        )

    @event(PaymentApproved)
    def _approve(
        self, *, payment_id: str, rule: str, actor: str, signatures: Signatures
    ) -> None:
        payment = self.payments[payment_id]
        self.pending_fen[payment.budget] -= payment.amount_fen
        payment.status = "approved"
        self._move(payment_id, payment.budget, payment.payee, payment.amount_fen)

    def propose_payments(
        self,
        *,
        payments: list[dict[str, Any]],
        actor: str,
        signatures: Signatures | None = None,
        approval_needed: list[bool] | None = None,
    ) -> None:
        """Propose many payments under one signed request, all or none.

        Each row holds ``propose_payment``'s parameters and is checked exactly
        as one proposal is; the first row refused refuses the batch.
        ``approval_needed`` says, row by row, whether the payment waits for an
        approver (None: every one does). One request per payment would make a
        province's school year millions of requests; the events are the same.
        """
        rows = payment_rows(payments)
        needed = approval_needed or [True] * len(rows)
        if len(needed) != len(rows):
            raise InvalidReference(
                "approval_needed", len(needed), f"one flag per payment ({len(rows)})"
            )
        for row, flag in zip(rows, needed, strict=True):
            self.propose_payment(
                **row, actor=actor, signatures=signatures, approval_needed=flag
            )

    def approve_payments(
        self,
        *,
        payment_ids: list[str],
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """A second officer approves many payments at once, all or none."""
        if not isinstance(payment_ids, list) or not payment_ids:
            raise InvalidReference("payment_ids", payment_ids, "a non-empty list")
        if len(payment_ids) > MAX_BATCH:
            raise InvalidReference(
                "payment_ids", len(payment_ids), f"at most {MAX_BATCH} ids"
            )
        for payment_id in payment_ids:
            self.approve_payment(
                payment_id=payment_id, actor=actor, signatures=signatures
            )

    def reject_payment(
        self,
        *,
        payment_id: str,
        reason: str,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """A second officer rejects: the promise on the budget is released."""
        payment = self._pending(payment_id)
        if payment.proposed_by == actor:
            raise SelfApproval(payment_id, actor)
        self._reject(
            payment_id=payment_id,
            reason=check_reference("reason", reason),
            actor=actor,
            signatures=signatures or [],
        )

    @event(PaymentRejected)
    def _reject(
        self, *, payment_id: str, reason: str, actor: str, signatures: Signatures
    ) -> None:
        payment = self.payments[payment_id]
        self.pending_fen[payment.budget] -= payment.amount_fen
        payment.status = "rejected"

    # Corrections -------------------------------------------------------------------

    def reverse(
        self,
        *,
        transfer_id: str,
        reason: str,
        actor: str,
        signatures: Signatures | None = None,
    ) -> None:
        """Undo a transfer by moving its amount back; the original stays recorded.

        Refused if the money has already moved on (a pool or budget would go
        below zero): reverse what was paid from it first.
        """
        transfer = self.transfers.get(check_reference("transfer_id", transfer_id))
        if transfer is None:
            payment = self.payments.get(transfer_id)
            if payment is not None:  # proposed, rejected: no money moved
                raise PaymentNotPending(transfer_id, payment.status, "approved")
            raise UnknownPayment(transfer_id)
        if transfer.reversed:
            raise PaymentNotPending(transfer_id, "reversed", "not yet reversed")
        if not _may_go_negative(transfer.credit):
            self._require(transfer.credit, transfer.amount_fen)
        self._reverse(
            transfer_id=transfer_id,
            reason=check_reference("reason", reason),
            actor=actor,
            signatures=signatures or [],
        )

    @event(TransferReversed)
    def _reverse(
        self, *, transfer_id: str, reason: str, actor: str, signatures: Signatures
    ) -> None:
        transfer = self.transfers[transfer_id]
        transfer.reversed = True
        self.balances[transfer.credit] = (
            self.balance(transfer.credit) - transfer.amount_fen
        )
        self.balances[transfer.debit] = (
            self.balance(transfer.debit) + transfer.amount_fen
        )
        payment = self.payments.get(transfer_id)
        if payment is not None:
            payment.status = "reversed"


def payment_rows(payments: object) -> list[dict[str, Any]]:
    """Accept a non-empty list of proposals, each with exactly the fields of one.

    Checked before anything else so that a malformed row is refused as bad
    data, never passed on as unexpected keyword arguments.
    """
    if not isinstance(payments, list) or not payments:
        raise InvalidReference("payments", payments, "a non-empty list")
    if len(payments) > MAX_BATCH:
        raise InvalidReference("payments", len(payments), f"at most {MAX_BATCH} rows")
    for row in payments:
        if not isinstance(row, dict) or not PAYMENT_REQUIRED <= set(row) <= (
            PAYMENT_REQUIRED | {"details"}
        ):
            raise InvalidReference(
                "payments",
                row,
                "rows with " + ", ".join(sorted(PAYMENT_REQUIRED)) + " [, details]",
            )
    return payments


def _check_year(year: object) -> int:
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise InvalidReference("year", year, "a school year from 2000 to 2100")
    return year
