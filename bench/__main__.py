"""``python -m bench [--quick] [--only NAME] [--profile NAME]``.

Prints one JSON object per line: first the machine, then one row per
comparison, each measured in this run with both sides interleaved and reported
as medians over several repetitions. ``--quick`` uses small sizes (well under a
minute) so a test can smoke-run it; the full run takes several minutes.

PostgreSQL rows need a server URL in ``FUNDLEDGER_BENCH_POSTGRES`` (or else
``FUNDLEDGER_TEST_POSTGRES``) naming a role that may create databases; without
one they are replaced by a line saying they were skipped.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg

from bench.append import AppendSizes, run_append, run_bare_append
from bench.http import HttpSizes, run_http
from bench.importing import ImportSizes, run_importing
from bench.profiling import PROFILES, run_profile
from bench.proofs import ProofSizes, run_proofs
from bench.province import ProvinceSizes, run_province
from bench.verify import VerifySizes, run_verify
from bench.workload import backends, emit, postgres_admin_url, postgres_skipped

BENCHMARKS = (
    "append",
    "bare-append",
    "verify",
    "proofs",
    "province",
    "importing",
    "http",
)


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    record: dict[str, Any] = {
        "name": "environment",
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgres": None,
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }
    url = postgres_admin_url()
    if url is not None:
        with psycopg.connect(url, autocommit=True) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            record["postgres"] = None if row is None else str(row[0])
    return record


def _per_backend(
    name: str, run: Callable[[Any], Iterator[dict[str, Any]]]
) -> Iterator[dict[str, Any]]:
    for backend in backends():
        yield from run(backend)
    if postgres_admin_url() is None:
        yield postgres_skipped(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, ~1 minute")
    parser.add_argument("--only", choices=BENCHMARKS, help="run one benchmark")
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        help="print cProfile tables for our side of one benchmark, not JSON",
    )
    parser.add_argument(
        "--scale",
        choices=("tiny", "county", "prefecture", "province"),
        help="the synthetic province's scale for 'province' (default: province; "
        "--quick: tiny)",
    )
    args = parser.parse_args(argv)
    quick: bool = args.quick

    if args.profile:
        sys.stdout.write(run_profile(args.profile, quick=quick))
        return 0

    emit(machine())
    wanted = [args.only] if args.only else list(BENCHMARKS)
    append_sizes = AppendSizes.choose(quick=quick)
    verify_sizes = VerifySizes.choose(quick=quick)
    runs: dict[str, Callable[[], Iterator[dict[str, Any]]]] = {
        "append": lambda: _per_backend(
            "append", lambda backend: run_append(backend, append_sizes)
        ),
        "bare-append": lambda: run_bare_append(append_sizes),
        "verify": lambda: _per_backend(
            "verify", lambda backend: run_verify(backend, verify_sizes)
        ),
        "proofs": lambda: run_proofs(ProofSizes.choose(quick=quick)),
        "province": lambda: _per_backend(
            "province",
            lambda backend: run_province(
                backend, ProvinceSizes.choose(quick=quick, scale=args.scale)
            ),
        ),
        "importing": lambda: _per_backend(
            "importing",
            lambda backend: run_importing(backend, ImportSizes.choose(quick=quick)),
        ),
        "http": lambda: _per_backend(
            "http", lambda backend: run_http(backend, HttpSizes.choose(quick=quick))
        ),
    }
    for name in wanted:
        for record in runs[name]():
            emit(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
