"""The projection runner and its store, on SQLite and PostgreSQL.

The reference for every stored view is the same projection fed the whole log
in memory, in one go: whatever the batches, restarts, crashes, rebuilds or
competing followers, the stored rows and evidence must come out equal to it.
The balances view is also checked against the domain's own fund balances.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import FundLedger
from api.cli import main
from ledger.application import open_ledger
from ledger.storage import APP_NAME, parse_url
from projections import runner as runner_module
from projections.balances import Balances, county_balances
from projections.base import Changes, Column, Key, Projection, Row, Table
from projections.feed import LoggedEvent
from projections.runner import ProjectionFailed, ProjectionRunner, ViewOutdated
from projections.store import ViewStore
from tests.projections.runner_support import (
    DEMO_COUNTIES,
    all_entries,
    as_tables,
    cli_args,
    make_demo,
    pure,
    receive_donation,
    stored,
)


class EntryCounts(Projection):
    """How many entries of each event name: a second, independent view."""

    name = "entry_counts"
    tables = (
        Table("counts", key=(Column("event"),), values=(Column("n", "INTEGER"),)),
    )

    def apply(self, event: LoggedEvent) -> None:
        row = self.get("counts", (event.name,))
        count = 0 if row is None else row[0]
        assert isinstance(count, int)
        self.put("counts", (event.name,), (count + 1,))
        self.cite("counts", (event.name,), event.seq)


class FailingBalances(Balances):
    """Balances whose code breaks at one entry, as a bug or a crash would."""

    fail_at: ClassVar[int] = 137

    def apply(self, event: LoggedEvent) -> None:
        if event.seq == self.fail_at:
            raise RuntimeError("the disk is on fire")
        super().apply(event)


class BalancesV2(Balances):
    """Balances after a change of its code."""

    version = 2


class BalancesV3(Balances):
    """Balances whose public table gained a column (and so an index)."""

    version = 3
    tables = tuple(  # type: ignore[assignment] # the same four, one wider
        replace(table, values=(*table.values, Column("note", "TEXT")))
        if table.public
        else table
        for table in Balances.tables
    )


class FailingStore(ViewStore):
    """A store whose row writes fail inside the transaction of the k-th batch."""

    fail_on_commit = 3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commits = 0

    def _write_rows(self, cursor: Any, *args: Any) -> None:
        self.commits += 1
        super()._write_rows(cursor, *args)
        if self.commits == self.fail_on_commit:
            raise OSError("the database went away mid-write")


@contextmanager
def open_runner(
    url: str, projections: list[Projection] | None = None, batch_size: int = 5000
) -> Iterator[ProjectionRunner]:
    with ViewStore(parse_url(url)) as store:
        yield ProjectionRunner(
            store,
            [Balances()] if projections is None else projections,
            batch_size=batch_size,
        )


@pytest.fixture
def demo_url(database_url: str, tmp_path: Path) -> str:
    make_demo(database_url, tmp_path)
    return database_url


def test_update_equals_a_pure_replay_and_the_domain(demo_url: str) -> None:
    with open_runner(demo_url) as runner:
        applied = runner.update()
        assert runner.update() == 0
    entries = all_entries(demo_url)
    assert applied == len(entries) > 300
    assert stored(demo_url, Balances()) == pure(Balances(), entries)

    view = Balances()
    with ViewStore(parse_url(demo_url)) as store:
        assert store.load(view).position == len(entries)
    ledger, _ = open_ledger(parse_url(demo_url), app_class=FundLedger)
    try:
        for county in DEMO_COUNTIES:
            balances = county_balances(view, county)
            assert balances == ledger.fund(county).balances
            assert sum(balances.values()) == 0
    finally:
        ledger.close()


def test_evidence_names_the_entries_behind_a_row(demo_url: str) -> None:
    with open_runner(demo_url) as runner:
        runner.update()
    entries = {e.seq: e for e in all_entries(demo_url)}
    tables = stored(demo_url, Balances())
    pool = tables["balances"][("422822", "pool:422822")]
    assert cast(int, pool[0][0]) > 0
    names = {entries[seq].name for seq in pool[1]}
    assert names <= {
        "CountyFund.FundsReceived",
        "CountyFund.Allocated",
        "CountyFund.ProjectFunded",
        "CountyFund.TransferReversed",
    }
    # An approved payment's payee row cites its proposal and its approval.
    payees = [
        row
        for key, row in tables["balances"].items()
        if str(key[1]).startswith("person:")
    ]
    assert payees
    for _, cited in payees:
        assert {entries[seq].name for seq in cited} >= {
            "CountyFund.PaymentProposed",
            "CountyFund.PaymentApproved",
        }


def test_a_restarted_runner_ends_where_a_straight_run_does(demo_url: str) -> None:
    entries = all_entries(demo_url)
    with open_runner(demo_url, batch_size=40) as runner:
        assert runner.update(max_batches=3) == 120
    assert stored(demo_url, Balances()) == pure(Balances(), entries[:120])
    with open_runner(demo_url, batch_size=40) as runner:
        assert runner.update() == len(entries) - 120
    assert stored(demo_url, Balances()) == pure(Balances(), entries)


def test_rebuild_gives_identical_rows_and_keeps_other_views(demo_url: str) -> None:
    with open_runner(demo_url, [Balances(), EntryCounts()]) as runner:
        runner.update()
        before = stored(demo_url, Balances())
        counts = {s.name: s for s in runner.status()}["entry_counts"]
        assert runner.rebuild("balances") == counts.log_size
        after = {s.name: s for s in runner.status()}
    assert stored(demo_url, Balances()) == before
    assert after["entry_counts"] == counts  # untouched, down to its update time
    assert after["balances"].lag == 0

    with open_runner(demo_url, [Balances(), EntryCounts()], batch_size=7) as runner:
        runner.rebuild()
    assert stored(demo_url, Balances()) == before
    assert stored(demo_url, EntryCounts()) == pure(EntryCounts(), all_entries(demo_url))


def test_a_rebuild_committing_every_few_batches_equals_one_pass(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "REBUILD_COMMIT", 30)
    entries = all_entries(demo_url)
    commits: list[int] = []
    with open_runner(demo_url, [Balances(), EntryCounts()], batch_size=7) as runner:
        store_commit = runner.store.commit

        def counting(*args: Any, **kwargs: Any) -> Any:
            commits.append(kwargs["position"])
            return store_commit(*args, **kwargs)

        monkeypatch.setattr(runner.store, "commit", counting)
        assert runner.rebuild() == len(entries)
    # Each view committed after 35 entries (5 batches of 7), then at the end.
    assert sorted(set(commits))[:2] == [35, 70]
    assert commits.count(len(entries)) == 2
    assert stored(demo_url, Balances()) == pure(Balances(), entries)
    assert stored(demo_url, EntryCounts()) == pure(EntryCounts(), entries)


def test_a_rebuild_that_fails_keeps_every_view_at_a_commit(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "REBUILD_COMMIT", 60)
    entries = all_entries(demo_url)
    with open_runner(demo_url, [EntryCounts(), FailingBalances()], 20) as runner:
        with pytest.raises(ProjectionFailed, match="entry 137: RuntimeError"):
            runner.rebuild()
        # Both views are back at their last commit (entry 120), in memory too:
        # the one that did not fail was fed past it and must not keep that.
        assert [s.position for s in runner.status()] == [120, 120]
        counts = runner.projection("entry_counts")
        monkeypatch.setattr(FailingBalances, "fail_at", -1)  # the bug is fixed
        assert runner.update() == len(entries) - 120
        assert as_tables(counts.snapshot()) == pure(EntryCounts(), entries)
    assert stored(demo_url, Balances()) == pure(Balances(), entries)
    assert stored(demo_url, EntryCounts()) == pure(EntryCounts(), entries)


def test_a_projection_that_fails_keeps_rows_and_position_together(
    demo_url: str,
) -> None:
    entries = all_entries(demo_url)
    with open_runner(demo_url, [FailingBalances()], batch_size=50) as runner:
        with pytest.raises(ProjectionFailed, match="entry 137: RuntimeError"):
            runner.update()
        # What it held of the failed batch was forgotten, not kept half done.
        assert as_tables(runner.projection("balances").snapshot()) == pure(
            Balances(), entries[:100]
        )
        assert runner.status()[0].position == 100
    assert stored(demo_url, Balances()) == pure(Balances(), entries[:100])

    with open_runner(demo_url, batch_size=50) as runner:
        assert runner.update() == len(entries) - 100
    assert stored(demo_url, Balances()) == pure(Balances(), entries)


def test_a_write_that_fails_commits_nothing_of_its_batch(demo_url: str) -> None:
    entries = all_entries(demo_url)
    with FailingStore(parse_url(demo_url)) as store:
        runner = ProjectionRunner(store, [Balances()], batch_size=50)
        with pytest.raises(OSError, match="went away"):
            runner.update()
        assert runner.status()[0].position == 100
    assert stored(demo_url, Balances()) == pure(Balances(), entries[:100])
    with open_runner(demo_url, batch_size=50) as runner:
        runner.update()
    assert stored(demo_url, Balances()) == pure(Balances(), entries)


def test_competing_runners_end_as_one_would(demo_url: str) -> None:
    entries = all_entries(demo_url)
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def follow(batch_size: int) -> None:
        try:
            with open_runner(demo_url, [Balances(), EntryCounts()], batch_size) as r:
                start.wait()
                r.update()
                r.update()  # whoever lost a race restores and finishes here
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=follow, args=(n,)) for n in (13, 13, 29)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert stored(demo_url, Balances()) == pure(Balances(), entries)
    assert stored(demo_url, EntryCounts()) == pure(EntryCounts(), entries)

    # The library's tracking record names the last entry's notification.
    with ViewStore(parse_url(demo_url)) as store:
        tracker = store._tracker("balances")
        assert tracker.max_tracking_id(APP_NAME) == entries[-1].notification_id


def test_a_changed_projection_must_be_rebuilt(demo_url: str) -> None:
    with open_runner(demo_url) as runner:
        runner.update()
    with open_runner(demo_url, [BalancesV2()]) as runner:
        assert runner.status()[0].outdated
        with pytest.raises(ViewOutdated, match="views rebuild balances"):
            runner.update()
        runner.rebuild("balances")
        assert not runner.status()[0].outdated
    assert stored(demo_url, Balances()) == pure(Balances(), all_entries(demo_url))


def test_a_view_with_new_columns_is_registered_as_outdated(demo_url: str) -> None:
    with open_runner(demo_url) as runner:
        runner.update()
    # Registering creates indexes, one on the new column, which the stored
    # table lacks: it must wait for the rebuild, not fail.
    with ViewStore(parse_url(demo_url)) as store:
        assert store.register(BalancesV3()).outdated
        assert not store.register(Balances()).outdated


# The CLI ------------------------------------------------------------------------


def run(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path, *args: str
) -> tuple[int, str, str]:
    try:
        status = main([*cli_args(url, tmp_path), *args])
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def lag_of(status_output: str, view: str) -> int:
    for line in status_output.splitlines():
        fields = line.split()
        if fields and fields[0] == view:
            return int(fields[3])
    raise AssertionError(f"no line for {view} in {status_output!r}")


def test_views_status_shows_the_lag(
    demo_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    size = len(all_entries(demo_url))
    status, out, _ = run(capsys, demo_url, tmp_path, "views", "status")
    assert status == 0
    assert lag_of(out, "balances") == size

    status, out, _ = run(capsys, demo_url, tmp_path, "views", "update")
    assert status == 0
    assert f"applied {size} entries" in out
    assert "entries/s" in out
    assert lag_of(out, "balances") == 0

    ledger, _ = open_ledger(parse_url(demo_url), app_class=FundLedger)
    try:
        for n in range(3):
            receive_donation(ledger, f"late-{n}")
        balances = ledger.fund("422822").balances
    finally:
        ledger.close()
    _, out, _ = run(capsys, demo_url, tmp_path, "views", "status")
    assert lag_of(out, "balances") == 3

    run(capsys, demo_url, tmp_path, "views", "update")
    status, out, _ = run(
        capsys, demo_url, tmp_path, "views", "show", "balances", "balances"
    )
    assert status == 0
    import json  # noqa: PLC0415

    rows = [json.loads(line) for line in out.splitlines()]
    shown = {r["account"]: r["balance_fen"] for r in rows if r["county"] == "422822"}
    assert shown == balances
    assert all(r["evidence"] and r["evidence"] == sorted(r["evidence"]) for r in rows)
    _, out, _ = run(
        capsys,
        demo_url,
        tmp_path,
        "views",
        "show",
        "balances",
        "balances",
        "--limit",
        "2",
    )
    assert [json.loads(line) for line in out.splitlines()] == rows[:2]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(
            ("views", "show", "nope", "x"),
            ("no view named 'nope'",),
            id="show-unknown-view",
        ),
        pytest.param(
            ("views", "rebuild", "nope"),
            ("no view named 'nope'",),
            id="rebuild-unknown-view",
        ),
        pytest.param(
            ("views", "show", "balances", "funds"),
            ("no public table 'funds'",),
            id="private-table",
        ),
        pytest.param(
            ("views", "show", "balances", "nope"),
            ("no public table 'nope'",),
            id="unknown-table",
        ),
    ],
)
def test_views_user_errors(
    demo_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    words: tuple[str, ...],
) -> None:
    capsys.readouterr()
    status, _, err = run(capsys, demo_url, tmp_path, *args)
    assert status == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err


def test_views_without_a_ledger(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(  # a real process: exit code and stderr as users see
        [
            sys.executable,
            "-m",
            "api.cli",
            "--db",
            str(tmp_path / "none.db"),
            "views",
            "status",
        ],
        capture_output=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "no ledger at" in stderr
    assert not (tmp_path / "none.db").exists()


# Properties ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_entries(tmp_path_factory: pytest.TempPathFactory) -> list[LoggedEvent]:
    tmp_path = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    make_demo(url, tmp_path)
    return all_entries(url)


class MemoryStore:
    """What the runner's store keeps, in memory: rows by key, evidence."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[Key, Row]] = {}
        self.evidence: set[tuple[str, Key, int]] = set()

    def write(self, changes: Changes) -> None:
        for table, changed in changes.rows.items():
            rows = self.rows.setdefault(table, {})
            for key, row in changed.items():
                if row is None:
                    rows.pop(key, None)
                else:
                    rows[key] = row
        self.evidence.update(changes.evidence)

    def restore(self, projection: Projection) -> None:
        projection.restore(
            {table: list(rows.items()) for table, rows in self.rows.items()},
            sorted(self.evidence, key=lambda cited: cited[2]),
        )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_split_into_batches_equals_one_pass(
    demo_entries: list[LoggedEvent], data: st.DataObject
) -> None:
    cuts = sorted(
        data.draw(
            st.sets(st.integers(1, len(demo_entries) - 1), max_size=12), label="cuts"
        )
    )
    bounds = [0, *cuts, len(demo_entries)]
    memory = MemoryStore()
    projection: Projection = Balances()
    for begin, end in itertools.pairwise(bounds):
        projection.apply_all(demo_entries[begin:end])
        memory.write(projection.take_changes())
        if data.draw(st.booleans(), label="restart"):
            projection = Balances()
            memory.restore(projection)
    one_pass = pure(Balances(), demo_entries)
    assert as_tables(projection.snapshot()) == one_pass
    restored = Balances()
    memory.restore(restored)
    assert as_tables(restored.snapshot()) == one_pass


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 120), st.integers(1, 3)), min_size=1, max_size=4
    )
)
def test_stored_views_equal_one_pass_whatever_the_batches(
    demo_url: str, steps: list[tuple[int, int]]
) -> None:
    entries = all_entries(demo_url)
    with open_runner(demo_url) as runner:
        runner.rebuild("balances")
    for batch_size, batches in steps:
        with open_runner(demo_url, batch_size=batch_size) as runner:
            runner.update(max_batches=batches)
    with open_runner(demo_url, batch_size=steps[0][0]) as runner:
        runner.update()
    assert stored(demo_url, Balances()) == pure(Balances(), entries)
