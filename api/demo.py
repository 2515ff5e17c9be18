"""A sample set of events for trying the ledger: three Enshi counties' funds.

Deterministic: the same commands in the same order every time, so that two demo
ledgers differ only in their timestamps and keys. Money arrives from every kind
of source, is allocated to the plan's programmes, and leaves as payments that a
recorder proposes and an approver (a different officer) approves; one payment is
rejected and one reversed, as corrections are.

NOTE: the synthetic province (37 counties, 766,000 beneficiaries) replaces this
once the projections exist.
"""

from __future__ import annotations

from functools import partial

from api.app import FundLedger
from domain.funds import CountyFund

RECORDER = "officer:demo-recorder"
APPROVER = "officer:demo-approver"
YEAR = 2026

# GB/T 2260 codes of three counties of Enshi Tujia and Miao Autonomous Prefecture.
COUNTIES = (
    ("422822", "建始县"),
    ("422823", "巴东县"),
    ("422828", "鹤峰县"),
)
SOURCES = (
    ("central", "central-budget", 48_000_000_00, None),
    ("provincial", "hubei-provincial-budget", 12_000_000_00, None),
    ("pairing", "pairing-aid-partner", 3_000_000_00, None),
    ("donation", "org:hubei-education-foundation", 500_000_00, "HARDSHIP"),
)
# Programme, per-term amount in fen (the plan's annual rate halved).
PROGRAMMES = (
    ("PRE_LIVING", 500_00),
    ("BOARD_PRI", 500_00),
    ("BOARD_JUN", 625_00),
    ("HS_GRANT", 1_250_00),
)


def run_demo(ledger: FundLedger) -> int:
    """Record the sample events; returns how many events were recorded."""
    before = ledger.log_recorder.log_size()
    for code, name in COUNTIES:
        ledger.open_fund(code, name, actor=RECORDER)
        for step in (_fill, _propose, _decide):
            ledger.change(code, partial(step, code=code))
    return ledger.log_recorder.log_size() - before


def _fill(fund: CountyFund, *, code: str) -> None:
    for kind, source, amount, earmark in SOURCES:
        fund.receive(
            transfer_id=f"{code}-in-{source}-{YEAR}",
            source_kind=kind,
            source=source,
            amount_fen=amount,
            reference=f"{source} {YEAR} education poverty alleviation",
            earmark=earmark,
            actor=RECORDER,
        )
    for programme, per_term in PROGRAMMES:
        fund.allocate(
            transfer_id=f"{code}-alloc-{programme}-{YEAR}",
            programme=programme,
            year=YEAR,
            amount_fen=per_term * 2 * 400,
            actor=RECORDER,
        )


def _payment_id(code: str, programme: str, school: int) -> str:
    return f"{code}-pay-{programme}-{school:03d}-{YEAR}-autumn"


def _propose(fund: CountyFund, *, code: str) -> None:
    for school in range(1, 4):
        for programme, per_term in PROGRAMMES:
            fund.propose_payment(
                payment_id=_payment_id(code, programme, school),
                programme=programme,
                year=YEAR,
                term="autumn",
                payee_kind="school",
                payee=f"{code}S{school:04d}",
                amount_fen=per_term * 40 * school,
                details={"headcount": 40 * school},
                actor=RECORDER,
            )


def _decide(fund: CountyFund, *, code: str) -> None:
    for school in range(1, 4):
        for programme, _ in PROGRAMMES:
            payment_id = _payment_id(code, programme, school)
            if (school, programme) == (3, "HS_GRANT"):
                fund.reject_payment(
                    payment_id=payment_id,
                    reason="headcount not confirmed by the school",
                    actor=APPROVER,
                )
            else:
                fund.approve_payment(payment_id=payment_id, actor=APPROVER)
    fund.reverse(
        transfer_id=_payment_id(code, "PRE_LIVING", 2),
        reason="paid to the wrong school account; to be paid again",
        actor=APPROVER,
    )
