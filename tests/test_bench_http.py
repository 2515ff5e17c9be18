"""The HTTP benchmark runs a real server on SQLite and reports what it measured.

No timing is asserted (the machine is shared and noisy): only that every row
is there with positive numbers, and that the events it counts are exactly what
the log grew by and what the receipts named.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_http_benchmark_counts_every_recorded_event() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("FUNDLEDGER_BENCH_POSTGRES", None)
    env.pop("FUNDLEDGER_TEST_POSTGRES", None)
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "http"],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]

    # 1. Writes: both modes, every concurrency, every request accepted, and the
    #    log grew by exactly the entries the receipts named, two per request.
    writes = {
        (line["parameters"]["group_commit"], line["parameters"]["clients"]): line
        for line in lines
        if line["name"] == "http-write" and line["backend"] == "sqlite"
    }
    assert sorted(writes) == [
        (group, clients) for group in (False, True) for clients in (1, 16, 64)
    ]
    for line in writes.values():
        assert line["refused"] == {}
        assert line["accepted"] == line["parameters"]["requests"] > 0
        assert line["events"] == line["receipt_entries"] == 2 * line["accepted"]
        assert line["ours"] > 0
        assert line["baseline"] > 0
        assert line["requests_per_s"] > 0
        assert line["p99_ms"] >= line["p50_ms"] > 0
        assert abs(line["ratio"] - line["ours"] / line["baseline"]) < 0.002

    # 2. Reads: every page answered, paced and flat out.
    for name in ("http-read-paced", "http-read-max"):
        line = next(line for line in lines if line["name"] == name)
        assert line["errors"] == {}
        assert line["parameters"]["requests"] > 0
        assert line["requests_per_s"] > 0
        assert line["p99_ms"] >= line["p50_ms"] > 0

    # 3. PostgreSQL was not asked for, and says so.
    skipped = [line for line in lines if line.get("skipped")]
    assert [(line["name"], line["backend"]) for line in skipped] == [
        ("http", "postgres")
    ]
