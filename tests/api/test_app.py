"""The composition root's configuration: the approval threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.app import FundLedger
from ledger.application import create_ledger
from ledger.errors import LedgerMisuse
from ledger.note import NoteSigner
from ledger.storage import parse_url

ORIGIN = "app.fundledger.example/log"


def _ledger(tmp_path: Path) -> FundLedger:
    ledger, _ = create_ledger(
        parse_url(f"sqlite:///{tmp_path}/l.db"),
        ORIGIN,
        NoteSigner.generate(ORIGIN),
        app_class=FundLedger,
    )
    return ledger


def test_every_payment_needs_approval_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FUNDLEDGER_APPROVAL_THRESHOLD_FEN", raising=False)
    ledger = _ledger(tmp_path)
    assert ledger.approval_needed(1)
    ledger.close()


def test_the_threshold_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUNDLEDGER_APPROVAL_THRESHOLD_FEN", "50000")
    ledger = _ledger(tmp_path)
    assert not ledger.approval_needed(50_000)
    assert ledger.approval_needed(50_001)
    ledger.close()


def test_a_bad_threshold_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUNDLEDGER_APPROVAL_THRESHOLD_FEN", "fifty yuan")
    with pytest.raises(LedgerMisuse, match="whole number of fen"):
        _ledger(tmp_path)
