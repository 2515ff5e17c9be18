"""``fundledger serve`` as a user starts it: a real process on a real port.

The server must answer over TCP with one worker and with several (which share
one ledger and must not collide creating tables), record a signed request and
serve the public log; a missing ledger must be a one-line error, not a server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.http.support import Served, build_demo, check_receipt

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def command(url: str, directory: Path, *args: str) -> list[str]:
    options = Served(url, directory, None).options  # type: ignore[arg-type]
    return [sys.executable, "-m", "api.cli", *options, *args]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDLEDGER_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


@contextmanager
def running(url: str, directory: Path, workers: int) -> Iterator[httpx.Client]:
    port = free_port()
    process = subprocess.Popen(
        command(
            url, directory, "serve", "--port", str(port), "--workers", str(workers)
        ),
        env=environment(),
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, process.stderr.read()  # type: ignore[union-attr]
                try:
                    if client.get("/log/key").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
            yield client
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_records_and_proves_over_tcp(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    build_demo(database_url, tmp_path)
    with running(database_url, tmp_path, workers) as client:
        served = Served(database_url, tmp_path, client)  # type: ignore[arg-type]
        before = served.size()
        document = served.key("demo-recorder").sign(
            "fund.report_progress",
            {
                "county": "422822",
                "project_id": "422822-GAIBO-2026",
                "percent": 70,
                "note": "over TCP",
            },
        )
        # Several requests, so that with two workers both are likely to answer.
        for _ in range(4):
            assert client.get("/views").status_code == 200
        response = client.post("/requests", json=document)
        assert response.status_code == 201, response.text
        check_receipt(served, response.json())
        assert client.post("/requests", json=document).status_code == 200
        assert served.size() == before + 2
        problem = client.get("/log/entries/999999")
        assert problem.status_code == 404
        assert problem.headers["content-type"] == "application/problem+json"

        # Concurrent writers (two processes when workers=2) never fork the log.
        recorder = served.key("demo-recorder")
        documents = [
            recorder.sign(
                "fund.receive",
                {
                    "county": "422822",
                    "transfer_id": f"tcp-in-{number}",
                    "source_kind": "county",
                    "source": "county-budget",
                    "reference": "concurrent",
                    "amount_fen": 100 + number,
                },
            )
            for number in range(12)
        ]
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(
                pool.map(lambda d: client.post("/requests", json=d), documents)
            )
        refused = [(a.status_code, a.text) for a in answers if a.status_code != 201]
        assert refused == []
        assert served.size() == before + 2 + 2 * len(documents)
    verify = subprocess.run(
        command(database_url, tmp_path, "verify"),
        env=environment(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr.decode()
    assert verify.stdout.decode().startswith("OK ")


def test_serve_without_a_ledger_is_a_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        command(f"sqlite:///{tmp_path / 'none.db'}", tmp_path, "serve"),
        env=environment(),
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "no ledger" in lines[0]
