"""The HTTP API under load: signed writes, public reads, and one insert per
transaction beside them.

One ledger per back end is built in this run as a user builds it (``fundledger
init``, ``fundledger demo --scale tiny``, ``fundledger views update``) and served
by a real ``fundledger serve`` process on a free port (one worker, the default
threads). A bench recorder for the province is enrolled and opens sixteen county
pools over HTTP; then this process drives the server with asyncio, one client
per kept-alive connection (``bench.http_client``). Rows:

- ``http-write``: signed ``fund.receive`` requests spread evenly over eight
  county pools, sent by 1, 16 and 64 concurrent clients, each client sending its
  next request when the last is answered. Every request is signed and encoded
  before the clock starts: signing is the officer's cost, not the server's.
  Recorded events are counted exactly, as the growth of the log's size between
  two checkpoints, and also as the sum of the receipts' entries (each accepted
  request records its ``AcceptedRequest`` entry and the command's events).
  Measured with group commit (the server's default) and with
  ``--no-group-commit``, one server and eight pools of its own each; within a
  mode each run follows the last, so its pools' history is longer
  (``prior_requests_per_pool``). The baseline is the rate of single-row
  inserts, each its own transaction, into a plain table on the same kind of
  database: SQLite in WAL mode with the library's ``synchronous`` (left at
  FULL), PostgreSQL through psycopg in autocommit; measured before, between
  and after the two modes' runs, the median reported.
- ``http-read-paced``: a disclosure page (50 public notices, as JSON) at a
  fixed rate, open loop: request ``n`` is due at ``start + n / rate`` and its
  latency runs from then, not from when it was sent, so a slow server is not
  hidden by a client that waited for it (coordinated omission).
- ``http-read-max``: the same pages, closed loop, as fast as the server answers.

Invariants: the client and the server share this machine (noted in every row),
so client CPU is part of what is measured; every server is stopped with SIGINT
(uvicorn's clean shutdown), and the database, keys and secrets are made fresh
for the run and removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from api.http.settings import DEFAULT_THREADS
from api.requests import OfficerKey
from bench.http_client import (
    Connection,
    Run,
    closed_loop,
    connect,
    http_request,
    open_loop,
)
from bench.province import _cli, _url
from bench.workload import Backend, median, percentile, storage_url
from ledger.storage import Storage

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "bench.fundledger.example/http"
PROVINCE = "420000"  # the bench recorder's jurisdiction
# Each mode writes to eight pools of its own, none in the tiny province, so that
# neither inherits the other's history: without group commit the server replays
# a pool's events for every request, so a longer history costs more.
COUNTIES = {
    True: (  # 十堰市, Shiyan
        ("420302", "茅箭区"),
        ("420303", "张湾区"),
        ("420304", "郧阳区"),
        ("420322", "郧西县"),
        ("420323", "竹山县"),
        ("420324", "竹溪县"),
        ("420325", "房县"),
        ("420381", "丹江口市"),
    ),
    False: (  # 黄冈市 and 孝感市, Huanggang and Xiaogan
        ("421121", "团风县"),
        ("421122", "红安县"),
        ("421123", "罗田县"),
        ("421124", "英山县"),
        ("421126", "蕲春县"),
        ("421181", "麻城市"),
        ("420921", "孝昌县"),
        ("420922", "大悟县"),
    ),
}
POOLS = 8
CLIENTS = (1, 16, 64)
NOTICES = "/views/disclosure/notices?limit=50&offset={offset}"
PAGES = 5  # the tiny province has some 480 notices
READ_CONNECTIONS = 64
READ_CLIENTS = 16
WRITE_GOAL = 3_000  # events/s on PostgreSQL with group commit, issue #5
READ_GOAL_RATE = 500  # requests/s, at which ...
READ_GOAL_P99 = 0.050  # ... the p99 latency stays under 50 ms
SETUP_TIMEOUT = 120.0
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class HttpSizes:
    """Requests per concurrency, the paced reads and the baseline's rows."""

    writes: dict[int, int]  # clients -> requests timed
    read_rate: int
    read_seconds: float
    read_max_requests: int
    baseline_rows: int

    @classmethod
    def choose(cls, *, quick: bool) -> HttpSizes:
        if quick:
            return cls(
                writes={1: 50, 16: 160, 64: 320},
                read_rate=200,
                read_seconds=2.0,
                read_max_requests=600,
                baseline_rows=500,
            )
        return cls(
            writes={1: 500, 16: 2_000, 64: 4_000},
            read_rate=READ_GOAL_RATE,
            read_seconds=10.0,
            read_max_requests=5_000,
            baseline_rows=5_000,
        )


# Load runs ------------------------------------------------------------------


@dataclass(frozen=True)
class WriteRun:
    """One timed write run, and the entries the log grew by during it."""

    group_commit: bool
    clients: int
    run: Run
    events: int
    # Requests each pool had recorded before the run, warm-up included.
    prior_requests_per_pool: int


async def _log_size(connection: Connection) -> int:
    status, body = await connection.exchange(http_request("GET", "/log/checkpoint"))
    if status != 200:
        raise RuntimeError(f"GET /log/checkpoint answered {status}")
    return int(body.decode().splitlines()[1])


async def _writes(
    port: int, warmup: list[bytes], requests: list[bytes], clients: int
) -> tuple[Run, int]:
    """Warm up (connections open, pools loaded), then the timed run and the
    number of entries the log grew by during it."""
    connections = await connect(port, clients)
    try:
        await closed_loop(connections, warmup)
        before = await _log_size(connections[0])
        run = await closed_loop(connections, requests)
        return run, await _log_size(connections[0]) - before
    finally:
        for connection in connections:
            await connection.close()


def _pages(count: int) -> list[bytes]:
    """``count`` requests for the first pages of the public notices, in turn."""
    return [
        http_request("GET", NOTICES.format(offset=50 * (number % PAGES)))
        for number in range(count)
    ]


async def _reads(port: int, sizes: HttpSizes) -> tuple[Run, Run]:
    """The paced run, then the closed-loop one, on warm connections."""
    connections = await connect(port, READ_CONNECTIONS)
    try:
        await closed_loop(connections, _pages(2 * READ_CONNECTIONS))
        paced = await open_loop(
            connections,
            _pages(round(sizes.read_rate * sizes.read_seconds)),
            sizes.read_rate,
        )
        most = await closed_loop(
            connections[:READ_CLIENTS], _pages(sizes.read_max_requests)
        )
        return paced, most
    finally:
        for connection in connections:
            await connection.close()


# The server -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment() -> dict[str, str]:
    """Ours, without ``FUNDLEDGER_*`` settings: the command line names all."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FUNDLEDGER_")}


@contextmanager
def serving(url: str, directory: Path, *, group_commit: bool) -> Iterator[int]:
    """``fundledger serve`` on a free port until exit; yields the port."""
    port = _free_port()
    # The views follower would take CPU from the writes measured; the read
    # pages are of views brought up to date before the server starts.
    command = [*_cli(url, directory), "serve", "--port", str(port), "--no-follow"]
    if not group_commit:
        command.append("--no-group-commit")
    errors = directory / f"serve-{port}.log"
    with errors.open("wb") as stderr:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_environment(),
            stdout=subprocess.DEVNULL,  # uvicorn's access log
            stderr=stderr,
        )
    try:
        _wait_until_up(process, port, errors)
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _wait_until_up(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(base_url=_base_url(port), timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"fundledger serve stopped: {log.read_text()}")
            try:
                if client.get("/log/key").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"fundledger serve did not answer in {STARTUP_SECONDS} s")


# The ledger -----------------------------------------------------------------


def _build(url: str, directory: Path) -> None:
    """A ledger with data behind its disclosure views, as a user builds one."""
    base = _cli(url, directory)
    admin = str(directory / "admin.key")
    truth = str(directory / "truth.json")
    for step in (
        ["init", "--origin", ORIGIN, "--admin-key", admin],
        ["demo", "--key", admin, "--scale", "tiny", "--truth", truth],
        ["views", "update"],
    ):
        done = subprocess.run(
            [*base, *step],
            capture_output=True,
            cwd=ROOT,
            env=_environment(),
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"fundledger {step[0]} failed: {done.stderr.decode()}")


def _recorder(port: int, directory: Path) -> OfficerKey:
    """A recorder for the province, enrolled, with the benchmark's pools open."""
    admin = OfficerKey.load(directory / "admin.key")
    recorder = OfficerKey.generate("officer:bench-recorder")
    enrol = admin.sign(
        "officer.enrol",
        {
            "officer_id": recorder.officer_id,
            "name": "bench recorder",
            "role": "recorder",
            "jurisdiction": PROVINCE,
            "public_key": recorder.public_key_hex,
        },
    )
    opens = [
        recorder.sign("fund.open", {"county": code, "county_name": name})
        for counties in COUNTIES.values()
        for code, name in counties
    ]
    with httpx.Client(base_url=_base_url(port), timeout=SETUP_TIMEOUT) as client:
        for document in (enrol, *opens):
            response = client.post("/requests", json=document)
            if response.status_code != 201:
                raise RuntimeError(f"setup refused: {response.text}")
    return recorder


def _receipts(
    recorder: OfficerKey, counties: Sequence[tuple[str, str]], label: str, count: int
) -> list[bytes]:
    """``count`` signed ``fund.receive`` requests, round robin over the pools."""
    requests = []
    for number in range(count):
        county = counties[number % len(counties)][0]
        params = {
            "county": county,
            "transfer_id": f"http-{label}-{number}",
            "source_kind": "provincial",
            "source": "hubei-provincial-budget",
            "reference": f"bench {label} {number}",
            "amount_fen": 1_000_00 + number,
        }
        document = recorder.sign("fund.receive", params)
        body = json.dumps(document).encode()
        requests.append(http_request("POST", "/requests", body))
    return requests


# The baseline ---------------------------------------------------------------

BASELINE_TABLE = "bench_rows"
# About the size of a stored event's JSON: what one insert carries.
PAYLOAD = json.dumps({"county": "420302", "amount_fen": 100_000, "note": "x" * 200})


def _insert_rate(backend: Backend, rows: int) -> float:
    """Rows/s of one single-row insert per transaction, on a fresh database."""
    with backend.fresh() as storage:
        if storage.sqlite_path is not None:
            return _sqlite_inserts(storage.sqlite_path, rows)
        return _postgres_inserts(storage, rows)


def _sqlite_inserts(path: Path, rows: int) -> float:
    # As the library opens its connections: autocommit, WAL, synchronous as
    # built (FULL), each transaction begun explicitly.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            f"CREATE TABLE {BASELINE_TABLE} "
            "(id INTEGER PRIMARY KEY, payload TEXT NOT NULL)"
        )
        insert = f"INSERT INTO {BASELINE_TABLE} (payload) VALUES (?)"
        started = time.perf_counter()
        for _ in range(rows):
            connection.execute("BEGIN")
            connection.execute(insert, (PAYLOAD,))
            connection.execute("COMMIT")
        return rows / (time.perf_counter() - started)
    finally:
        connection.close()


def _postgres_inserts(storage: Storage, rows: int) -> float:
    with psycopg.connect(storage_url(storage), autocommit=True) as connection:
        connection.execute(
            f"CREATE TABLE {BASELINE_TABLE} "
            "(id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL)"
        )
        insert = f"INSERT INTO {BASELINE_TABLE} (payload) VALUES (%s)"
        started = time.perf_counter()
        for _ in range(rows):
            connection.execute(insert, (PAYLOAD,))  # autocommit: one transaction
        return rows / (time.perf_counter() - started)


# Rows -----------------------------------------------------------------------


def _sharing(run: Run) -> dict[str, Any]:
    return {
        "client_cpus": run.client_cpus(),
        "note": (
            "client (this asyncio process) and server (one uvicorn worker) share "
            f"this machine's {os.cpu_count()} CPUs; client_cpus is the client's "
            "share"
        ),
    }


def _write_row(
    backend: str, measured: WriteRun, baseline_runs: list[float]
) -> dict[str, Any]:
    run, events = measured.run, measured.events
    group_commit, clients = measured.group_commit, measured.clients
    accepted = run.ok(201)
    entries = sum(
        len(json.loads(body)["entries"]) for code, body in run.answers if code == 201
    )
    ours = events / run.seconds
    baseline = median(baseline_runs)
    goal = backend == "postgres" and group_commit and clients > 1
    return {
        "name": "http-write",
        "backend": backend,
        "parameters": {
            "clients": clients,
            "group_commit": group_commit,
            "requests": len(run.answers),
            "command": "fund.receive",
            "counties": POOLS,
            "prior_requests_per_pool": measured.prior_requests_per_pool,
            "workers": 1,
            "threads": DEFAULT_THREADS,
        },
        "ours": round(ours, 1),
        "baseline": round(baseline, 1),
        "ratio": round(ours / baseline, 3),
        "goal": f"ours >= {WRITE_GOAL} events/s and ratio > 1" if goal else None,
        "met": (ours >= WRITE_GOAL and ours > baseline) if goal else None,
        "units": "events/s",
        "baseline_is": "single-row INSERT, one transaction each, same kind of database",
        "baseline_runs": [round(rate, 1) for rate in baseline_runs],
        "requests_per_s": round(accepted / run.seconds, 1),
        **run.latency_ms(),
        "events": events,
        "receipt_entries": entries,
        "events_per_request": round(events / accepted, 3) if accepted else None,
        "accepted": accepted,
        "refused": run.failures(201),
        "seconds": round(run.seconds, 2),
        **_sharing(run),
    }


def _read_rows(backend: str, paced: Run, most: Run, rate: int) -> list[dict[str, Any]]:
    goal = rate >= READ_GOAL_RATE
    p99 = percentile(paced.latencies, 0.99)
    common = {"page": NOTICES.format(offset="N"), "connections": READ_CONNECTIONS}
    return [
        {
            "name": "http-read-paced",
            "backend": backend,
            "parameters": {**common, "rate": rate, "requests": len(paced.answers)},
            "requests_per_s": round(len(paced.answers) / paced.seconds, 1),
            **paced.latency_ms(),
            "goal": f"p99 < {READ_GOAL_P99 * 1000:.0f} ms at {READ_GOAL_RATE}/s"
            if goal
            else None,
            "met": p99 < READ_GOAL_P99 if goal else None,
            "errors": paced.failures(200),
            "worst_send_delay_ms": round(paced.worst_send_delay * 1000, 2),
            "seconds": round(paced.seconds, 2),
            **_sharing(paced),
        },
        {
            "name": "http-read-max",
            "backend": backend,
            "parameters": {
                **common,
                "clients": READ_CLIENTS,
                "requests": len(most.answers),
            },
            "requests_per_s": round(len(most.answers) / most.seconds, 1),
            **most.latency_ms(),
            "errors": most.failures(200),
            "seconds": round(most.seconds, 2),
            **_sharing(most),
        },
    ]


def _write_runs(
    port: int, recorder: OfficerKey, sizes: HttpSizes, *, group_commit: bool
) -> list[WriteRun]:
    """One timed run per concurrency, after a warm-up that loads every pool."""
    counties = COUNTIES[group_commit]
    runs: list[WriteRun] = []
    sent = 0
    for clients in CLIENTS:
        label = f"{'group' if group_commit else 'single'}-{clients}"
        warmup = _receipts(recorder, counties, f"{label}-warm", max(clients, 2 * POOLS))
        requests = _receipts(recorder, counties, label, sizes.writes[clients])
        run, events = asyncio.run(_writes(port, warmup, requests, clients))
        sent += len(warmup)
        runs.append(WriteRun(group_commit, clients, run, events, sent // POOLS))
        sent += len(requests)
    return runs


def run_http(backend: Backend, sizes: HttpSizes) -> Iterator[dict[str, Any]]:
    """The read rows, then one write row per mode and concurrency."""
    with (
        backend.fresh() as storage,
        tempfile.TemporaryDirectory(prefix="fl_bench_") as folder,
    ):
        directory = Path(folder)
        url = _url(storage)
        _build(url, directory)
        baseline_runs = [_insert_rate(backend, sizes.baseline_rows)]
        with serving(url, directory, group_commit=True) as port:
            recorder = _recorder(port, directory)
            paced, most = asyncio.run(_reads(port, sizes))
            yield from _read_rows(backend.name, paced, most, sizes.read_rate)
            runs = _write_runs(port, recorder, sizes, group_commit=True)
        baseline_runs.append(_insert_rate(backend, sizes.baseline_rows))
        with serving(url, directory, group_commit=False) as port:
            runs += _write_runs(port, recorder, sizes, group_commit=False)
        baseline_runs.append(_insert_rate(backend, sizes.baseline_rows))
        for measured in runs:
            yield _write_row(backend.name, measured, baseline_runs)


__all__ = ["HttpSizes", "run_http", "serving"]
