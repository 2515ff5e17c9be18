"""The benchmark command runs and reports in its documented form.

No timing is asserted here (the machine is shared and noisy): only that every
comparison line carries both measurements and their ratio, taken in one run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_prints_one_json_object_per_line() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    names = {line["name"] for line in lines}
    assert {"environment", "append", "bare-append", "verify", "proofs"} <= names
    assert {"province-record", "views-rebuild", "alert-quality"} <= names
    for line in lines:
        if (
            line["name"] in {"append", "bare-append", "verify"}
            and "skipped" not in line
        ):
            assert line["ours"] > 0
            assert line["baseline"] > 0
            # The ratio is of the unrounded medians; ours and baseline are
            # printed rounded to 0.1, so the two may differ in the last digit.
            assert abs(line["ratio"] - line["ours"] / line["baseline"]) < 0.002
        if line["name"] == "proofs":
            assert line["met"] in (True, False)
            assert line["p99"] >= line["ours"] > 0


def test_quick_province_benchmark_scores_every_rule() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("FUNDLEDGER_BENCH_POSTGRES", None)
    env.pop("FUNDLEDGER_TEST_POSTGRES", None)
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "province"],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    record, rebuild, quality = (
        next(line for line in lines if line["name"] == name and "skipped" not in line)
        for name in ("province-record", "views-rebuild", "alert-quality")
    )
    assert record["parameters"]["events"] > 1_000
    assert record["final_lag"] >= 0
    assert rebuild["parameters"]["entries"] >= record["parameters"]["events"]
    assert [rule["rule"] for rule in quality["rules"]] == [
        f"R{n:02d}" for n in range(1, 16)
    ]
