"""Proof latency on a large SQLite ledger: serve a proof, then check it.

Each sample times ``Log.inclusion_proof`` followed by ``verify_inclusion``, or
``Log.consistency_proof`` followed by ``verify_consistency``, at random indices
and tree sizes. The leaf hashes and roots the verifier needs are read before the
clock starts: a client holds them already (its entry and a signed checkpoint).

The full run's 1,000,000-entry ledger takes a while to build, so it is kept in
``bench/results/`` (ignored by git) under a name holding ``CACHE_VERSION``: the
bench's own format number, the library's version and a digest of the two ledger
modules that decide how leaves and Merkle nodes are stored, which is all a proof
reads. Any change to those rebuilds it (about half a minute); so does a cached
file of the wrong size. Older cached files are deleted then.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.verify import build_ledger
from bench.workload import ORIGIN, median, percentile
from ledger import merkle, recorder
from ledger.application import LedgerApplication, create_ledger, open_ledger
from ledger.log import Log
from ledger.merkle import verify_consistency, verify_inclusion
from ledger.note import NoteSigner
from ledger.storage import parse_url

RESULTS = Path(__file__).parent / "results"

# Bump when the benchmark's workload (bench.workload.Register) changes.
_BENCH_FORMAT = "1"


def _cache_version() -> str:
    digest = hashlib.sha256()
    for module in (merkle, recorder):
        assert module.__file__ is not None
        digest.update(Path(module.__file__).read_bytes())
    library = importlib.metadata.version("eventsourcing")
    return f"b{_BENCH_FORMAT}-es{library}-{digest.hexdigest()[:12]}"


CACHE_VERSION = _cache_version()


@dataclass(frozen=True)
class ProofSizes:
    entries: int
    samples: int
    cached: bool

    @classmethod
    def choose(cls, *, quick: bool) -> ProofSizes:
        if quick:
            return cls(entries=20_000, samples=300, cached=False)
        return cls(entries=1_000_000, samples=1_000, cached=True)


def _build(path: Path, entries: int) -> float:
    """Build a ledger of ``entries`` at ``path``; return events per second."""
    app: LedgerApplication
    app, _ = create_ledger(parse_url(str(path)), ORIGIN, NoteSigner.generate(ORIGIN))
    try:
        started = time.perf_counter()
        build_ledger(app, entries)
        rate = entries / (time.perf_counter() - started)
    finally:
        app.close()
    # One self-contained file: fold the WAL back in before it is moved.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()
    return rate


def _log_size(path: Path) -> int:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (top,) = connection.execute("SELECT MAX(seq) FROM log_entries").fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return -1
    return -1 if top is None else int(top) + 1


@contextmanager
def proof_ledger(sizes: ProofSizes) -> Iterator[tuple[Path, float | None]]:
    """The ledger file to measure, and its build rate if it was built now."""
    if not sizes.cached:
        with tempfile.TemporaryDirectory(prefix="fl_bench_") as directory:
            path = Path(directory) / "proofs.db"
            yield path, _build(path, sizes.entries)
        return

    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"proofs-{CACHE_VERSION}-{sizes.entries}.db"
    rate = None
    if _log_size(path) != sizes.entries:
        for stale in RESULTS.glob(f"proofs-*-{sizes.entries}.db*"):
            stale.unlink()
        building = path.with_suffix(".building")
        for leftover in RESULTS.glob(f"{building.name}*"):
            leftover.unlink()
        rate = _build(building, sizes.entries)
        shutil.move(building, path)
    yield path, rate


def _timings(log: Log, entries: int, samples: int) -> dict[str, dict[str, list[float]]]:
    """Seconds per sample: proof, verification, both; for both kinds of proof."""
    rng = random.Random(9162)
    recorder = log.recorder

    # Inputs a client already holds, fetched before any clock runs.
    inclusions = []
    for _ in range(samples):
        size = rng.randint(1, entries)
        index = rng.randrange(size)
        ((_, leaf),) = recorder.read_leaves(index, index + 1)
        inclusions.append((index, size, leaf, log.root(size)))
    consistencies = []
    for _ in range(samples):
        new = rng.randint(2, entries)
        old = rng.randint(1, new - 1)
        consistencies.append((old, new, log.root(old), log.root(new)))

    # Warm up on other random samples: the upper tree levels, shared by every
    # proof, come into the page cache as a running server would have them. The
    # 1,000,000-entry file is about 1 GB and each proof reads ~20 scattered rows,
    # so a cold cache shows in the p99.
    warm = random.Random(6962)
    for _ in range(max(1, samples // 5)):
        size = warm.randint(2, entries)
        log.inclusion_proof(warm.randrange(size), size)
        log.consistency_proof(warm.randint(1, size - 1), size)

    times: dict[str, dict[str, list[float]]] = {
        kind: {"proof": [], "verify": [], "total": []}
        for kind in ("inclusion", "consistency")
    }
    clock = time.perf_counter
    # Alternate the two kinds so both see the same load.
    for (index, size, leaf, root), (old, new, old_root, new_root) in zip(
        inclusions, consistencies, strict=True
    ):
        started = clock()
        inclusion = log.inclusion_proof(index, size)
        proved = clock()
        verify_inclusion(leaf, index, size, inclusion.hashes, root)
        done = clock()
        times["inclusion"]["proof"].append(proved - started)
        times["inclusion"]["verify"].append(done - proved)
        times["inclusion"]["total"].append(done - started)

        started = clock()
        consistency = log.consistency_proof(old, new)
        proved = clock()
        verify_consistency(old, new, old_root, new_root, consistency.hashes)
        done = clock()
        times["consistency"]["proof"].append(proved - started)
        times["consistency"]["verify"].append(done - proved)
        times["consistency"]["total"].append(done - started)
    return times


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 4)


def run_proofs(sizes: ProofSizes) -> Iterator[dict[str, Any]]:
    """Two ``proofs`` rows: inclusion and consistency, median and p99 in ms."""
    with proof_ledger(sizes) as (path, build_rate):
        app: LedgerApplication
        app, log = open_ledger(parse_url(str(path)))
        try:
            assert log.size() == sizes.entries, log.size()
            times = _timings(log, sizes.entries, sizes.samples)
        finally:
            app.close()
    for kind, parts in times.items():
        total = parts["total"]
        median_ms = _ms(median(total))
        p99_ms = _ms(percentile(total, 0.99))
        yield {
            "name": "proofs",
            "backend": "sqlite",
            "parameters": {
                "kind": kind,
                "entries": sizes.entries,
                "samples": sizes.samples,
                "cache": CACHE_VERSION if sizes.cached else None,
                "built_now": build_rate is not None,
            },
            "ours": median_ms,
            "p99": p99_ms,
            "baseline": None,
            "ratio": None,
            "goal": "median and p99 < 1 ms",
            "met": median_ms < 1 and p99_ms < 1,
            "units": "ms per proof served and verified",
            "proof_median_ms": _ms(median(parts["proof"])),
            "proof_p99_ms": _ms(percentile(parts["proof"], 0.99)),
            "verify_median_ms": _ms(median(parts["verify"])),
            "verify_p99_ms": _ms(percentile(parts["verify"], 0.99)),
            "build_rate": None if build_rate is None else round(build_rate, 1),
            "build_units": "events/s at 1,000 events per save",
        }
