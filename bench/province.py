"""The synthetic province through the domain, with its views and rules following.

One ledger per back end is built in this run with ``fundledger demo --scale``
(every change a signed request through ``api.commands.execute``, payments in
batches) while a ``fundledger views follow`` process keeps the disclosure views
and fraud rules up to date. Rows:

- ``province-record``: events/s recorded through the domain, beside the plain
  ``eventsourcing`` library's append rate at 1,000 events per save measured in
  the same run on the same back end; plus the largest lag (entries) the
  follower showed, sampled every half second, and its lag when recording ended.
- ``views-rebuild``: entries/s rebuilding every view and rule from scratch with
  the vault behind them (``ProjectionRunner.rebuild``), beside a bare pass
  that reads the same entries in order and decodes them (the least any view
  must do). Goal: 50,000 entries/s.
- ``alert-quality``: per rule, the alerts against the planted cases
  (``api.alert_quality``). Goal: recall 1.0 and precision at least 0.99.

Invariant: the database, key and secrets files are made fresh for the run and
removed afterwards; nothing is read from or written to the working directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from api.alert_quality import score, stored_alerts
from api.app import FundLedger
from api.vault_store import DeploymentSecrets, Vault
from api.views import ViewsReader, build_projections
from bench.append import _save_all
from bench.workload import Backend, open_plain, timed
from ledger.application import open_ledger
from ledger.storage import Storage
from projections.runner import ProjectionRunner
from projections.store import ViewStore

ROOT = Path(__file__).resolve().parents[1]
REBUILD_GOAL = 50_000  # entries/s, issue #4
PRECISION_GOAL = 0.99


@dataclass(frozen=True)
class ProvinceSizes:
    """Which scale to build and how often to repeat the rebuild."""

    scale: str
    rebuilds: int
    plain_saves: int  # saves of 1,000 events for the plain library's rate

    @classmethod
    def choose(cls, *, quick: bool, scale: str | None = None) -> ProvinceSizes:
        if quick:
            return cls(scale or "tiny", rebuilds=1, plain_saves=5)
        return cls(scale or "province", rebuilds=3, plain_saves=100)


def _url(storage: Storage) -> str:
    if storage.sqlite_path is not None:
        return f"sqlite:///{storage.sqlite_path}"
    return (
        f"postgresql://{quote(storage.user)}:{quote(storage.password)}@"
        f"{storage.host}:{storage.port}/{storage.dbname}"
    )


def _cli(url: str, directory: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "api.cli",
        "--db",
        url,
        "--log-key",
        str(directory / "log.key"),
        "--secrets",
        str(directory / "secrets.key"),
    ]


class LagSampler(threading.Thread):
    """Samples how far the slowest view is behind the log, twice a second."""

    def __init__(self, storage: Storage) -> None:
        super().__init__(daemon=True)
        self.storage = storage
        self.stop = threading.Event()
        self.lags: list[int] = []

    def run(self) -> None:
        with ViewStore(self.storage) as store:
            while not self.stop.wait(0.5):
                size = store.log_size()
                positions = [position for position, _ in store.positions().values()]
                if positions:
                    self.lags.append(size - min(positions))


def _record(
    storage: Storage, directory: Path, scale: str
) -> tuple[float, int, dict[str, Any], list[int], int]:
    """Build the province with a follower running; seconds, events, truth, lags."""
    url = _url(storage)
    base = _cli(url, directory)
    admin = str(directory / "admin.key")
    subprocess.run(
        [*base, "init", "--origin", "bench.province/log", "--admin-key", admin],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    follower = subprocess.Popen(
        [*base, "views", "follow", "--interval", "0.2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)  # the follower has registered its views
        sampler = LagSampler(storage)
        sampler.start()
        truth = directory / "truth.json"
        with ViewStore(storage) as store:
            before = store.log_size()
        demo = [*base, "demo", "--key", admin, "--scale", scale]
        seconds, done = timed(
            lambda: subprocess.run(
                [*demo, "--truth", str(truth)],
                check=False,
                capture_output=True,
                cwd=ROOT,
            )
        )
        if done.returncode != 0:
            raise RuntimeError(f"demo --scale {scale} failed: {done.stderr.decode()}")
        sampler.stop.set()
        sampler.join()
        with ViewStore(storage) as store:
            events = store.log_size() - before
            final_lag = store.log_size() - min(
                position for position, _ in store.positions().values()
            )
        # Let the follower finish, so that the rebuild starts from a quiet log.
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            with ViewStore(storage) as store:
                positions = [p for p, _ in store.positions().values()]
                if min(positions) >= store.log_size():
                    break
            time.sleep(1)
    finally:
        follower.terminate()
        follower.wait(timeout=60)
    return (
        seconds,
        events,
        json.loads(truth.read_text(encoding="utf-8")),
        sampler.lags,
        final_lag,
    )


def _plain_rate(backend: Backend, saves: int) -> float:
    with backend.fresh() as storage:
        app = open_plain(storage)
        try:
            _save_all(app, 2, 1_000)  # warm up
            return saves * 1_000 / _save_all(app, saves, 1_000)
        finally:
            app.close()


def _rebuild_rate(storage: Storage, directory: Path) -> tuple[float, int]:
    secrets = DeploymentSecrets.load(directory / "secrets.key")
    ledger, _ = open_ledger(storage, None, app_class=FundLedger)
    try:
        reader = ViewsReader(Vault(ledger.log_recorder, secrets))
        with ViewStore(storage) as store:
            runner = ProjectionRunner(
                store,
                build_projections(ledger, reader),
                before_batch=reader.prefetch,
            )
            seconds, applied = timed(runner.rebuild)
    finally:
        ledger.close()
    return applied / seconds, applied


def _bare_read_rate(storage: Storage, size: int) -> float:
    """Entries/s of reading every entry in order and decoding its JSON."""
    with ViewStore(storage) as store:

        def read_all() -> None:
            start = 0
            while start < size:
                # read_entries decodes each entry (orjson) into a LoggedEvent.
                start += len(store.read_entries(start, 20_000))

        seconds, _ = timed(read_all)
    return size / seconds


def run_province(backend: Backend, sizes: ProvinceSizes) -> Iterator[dict[str, Any]]:
    """The three rows for one back end."""
    with (
        backend.fresh() as storage,
        tempfile.TemporaryDirectory(prefix="fl_bench_") as folder,
    ):
        directory = Path(folder)
        seconds, events, truth, lags, final_lag = _record(
            storage, directory, sizes.scale
        )
        plain = _plain_rate(backend, sizes.plain_saves)
        ours = events / seconds
        yield {
            "name": "province-record",
            "backend": backend.name,
            "parameters": {"scale": sizes.scale, "events": events},
            "ours": round(ours, 1),
            "baseline": round(plain, 1),
            "ratio": round(ours / plain, 3),
            "goal": None,
            "met": None,
            "units": "events/s",
            "baseline_is": "plain eventsourcing Application, 1,000 events per save",
            "seconds": round(seconds, 1),
            "largest_lag": max(lags, default=0),
            "median_lag": sorted(lags)[len(lags) // 2] if lags else 0,
            "final_lag": final_lag,
            "lag_samples": len(lags),
        }

        rebuilds = [_rebuild_rate(storage, directory) for _ in range(sizes.rebuilds)]
        size = rebuilds[0][1]
        bare = [_bare_read_rate(storage, size) for _ in range(sizes.rebuilds)]
        rates = sorted(rate for rate, _ in rebuilds)
        ours = rates[len(rates) // 2]
        baseline = sorted(bare)[len(bare) // 2]
        yield {
            "name": "views-rebuild",
            "backend": backend.name,
            "parameters": {"scale": sizes.scale, "entries": size},
            "ours": round(ours, 1),
            "baseline": round(baseline, 1),
            "ratio": round(ours / baseline, 3),
            "goal": f"ours >= {REBUILD_GOAL} entries/s",
            "met": ours >= REBUILD_GOAL,
            "units": "entries/s",
            "baseline_is": "read every entry in order and decode it, nothing else",
            "ours_runs": [round(rate, 1) for rate, _ in rebuilds],
            "baseline_runs": [round(rate, 1) for rate in bare],
        }

        with ViewStore(storage) as store:
            scores = score(stored_alerts(store), truth)
        planted = [s for s in scores.values() if s.planted]
        yield {
            "name": "alert-quality",
            "backend": backend.name,
            "parameters": {"scale": sizes.scale, "cases": len(truth["cases"])},
            "goal": f"recall 1.0 and precision >= {PRECISION_GOAL} for every rule",
            "met": all(s.recall == 1.0 for s in planted)
            and all(s.precision >= PRECISION_GOAL for s in scores.values()),
            "rules": [s.as_dict() for s in scores.values()],
        }


__all__ = ["ProvinceSizes", "run_province"]
