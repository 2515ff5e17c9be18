"""What the runner tests share: demo ledgers, pure replays, stored-row snapshots."""

from __future__ import annotations

from pathlib import Path

from api.app import FundLedger
from api.cli import main
from domain.funds import CountyFund
from ledger.storage import parse_url
from projections.base import Key, Projection, Row
from projections.feed import LoggedEvent
from projections.store import ViewStore, stored_rows

ORIGIN = "views.fundledger.example/log"
DEMO_COUNTIES = ("422822", "422823", "422828")

Tables = dict[str, dict[Key, tuple[Row, list[int]]]]


def cli_args(url: str, tmp_path: Path) -> list[str]:
    """The options that point ``fundledger`` at one test ledger."""
    return [
        "--db",
        url,
        "--log-key",
        str(tmp_path / "log.key"),
        "--secrets",
        str(tmp_path / "secrets.key"),
    ]


def make_demo(url: str, tmp_path: Path) -> None:
    """A ledger with the CLI's demo recorded in it, made in this process."""
    admin = str(tmp_path / "admin.key")
    base = cli_args(url, tmp_path)
    assert main([*base, "init", "--origin", ORIGIN, "--admin-key", admin]) == 0
    assert main([*base, "demo", "--key", admin]) == 0


def all_entries(url: str) -> list[LoggedEvent]:
    """Every entry of the log, decoded."""
    with ViewStore(parse_url(url)) as store:
        return store.read_entries(0, 10**9)


def as_tables(snapshot: dict[str, list[tuple[Key, Row, list[int]]]]) -> Tables:
    """A snapshot keyed by row key, for comparing regardless of row order."""
    return {
        table: {key: (row, evidence) for key, row, evidence in rows}
        for table, rows in snapshot.items()
    }


def pure(projection: Projection, entries: list[LoggedEvent]) -> Tables:
    """What ``projection`` makes of ``entries`` in memory, in one go."""
    projection.apply_all(entries)
    return as_tables(projection.snapshot())


def stored(url: str, projection: Projection) -> Tables:
    """The rows and evidence the runner stored for ``projection``."""
    with ViewStore(parse_url(url)) as store:
        return as_tables(stored_rows(store, projection))


def receive_donation(
    ledger: FundLedger, transfer_id: str, *, reference: str = "late"
) -> None:
    """One donation of 100 fen into the demo county's pool, recorded now."""

    def receive(fund: CountyFund) -> None:
        fund.receive(
            transfer_id=transfer_id,
            source_kind="donation",
            source="a donor",
            amount_fen=100,
            reference=reference,
            actor="officer:test",
        )

    ledger.change("422822", receive)
