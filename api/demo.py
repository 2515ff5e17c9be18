"""A sample set of events for trying the ledger: three Enshi counties' pools.

Deterministic: the same commands in the same order every time, so that two
demo ledgers differ only in their timestamps and keys.

NOTE: the synthetic province (37 counties, 766,000 beneficiaries) replaces this
once the fund domain and projections exist.
"""

from __future__ import annotations

from api.app import FundLedger

# GB/T 2260 codes of three counties of Enshi Tujia and Miao Autonomous Prefecture.
COUNTIES = (
    ("422822", "建始县"),
    ("422823", "巴东县"),
    ("422828", "鹤峰县"),
)
SOURCES = (
    ("central-budget", 48_000_000_00),
    ("provincial-budget", 12_000_000_00),
    ("pairing-aid", 3_000_000_00),
    ("donation:org:hubei-education-foundation", 500_000_00),
)
PROGRAMMES = (
    ("PRE_LIVING", 1_000_00),
    ("BOARD_PRI", 1_000_00),
    ("BOARD_JUN", 1_250_00),
    ("HS_GRANT", 2_500_00),
)


def run_demo(ledger: FundLedger, actor: str = "officer:demo-recorder") -> int:
    """Record the sample events; returns how many events were recorded."""
    before = ledger.log_recorder.log_size()
    for code, name in COUNTIES:
        ledger.open_pool(code, name, actor)
        for source, amount in SOURCES:
            ledger.receive(
                code,
                source=source,
                amount_fen=amount,
                reference=f"{code}-{source}-2026",
                actor=actor,
            )
        for school in range(1, 4):
            for programme, rate in PROGRAMMES:
                ledger.pay(
                    code,
                    payee=f"school:{code}{school:03d}",
                    programme=programme,
                    amount_fen=rate * 40 * school,
                    reference=f"{code}-{programme}-{school:03d}-2026-autumn",
                    actor=actor,
                )
    return ledger.log_recorder.log_size() - before
