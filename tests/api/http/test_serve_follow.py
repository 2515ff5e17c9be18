"""``fundledger serve`` keeps the views up to date itself, and stops doing so.

A write recorded over HTTP shows in the public views within seconds, with no
``views follow`` beside the server, with one worker and with several; the
follower process ends with the server.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.http.support import COUNTY, Served, build_demo
from tests.api.http.test_serve import command, environment, free_port

POOL = f"/views/balances/balances?county={COUNTY}&account=pool:{COUNTY}"


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextmanager
def running(
    url: str, directory: Path, *options: str, stop: int = signal.SIGINT
) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        command(url, directory, "serve", "--port", str(port), *options),
        env=environment(),
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, "the server ended"
                try:
                    if client.get("/log/key").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
            yield client, process
    finally:
        process.send_signal(stop)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pool_balance(client: httpx.Client) -> Any:
    rows = client.get(POOL).json()["rows"]
    assert len(rows) == 1, rows
    return rows[0]["balance_fen"]


def receive(served: Served, client: httpx.Client, amount_fen: int) -> None:
    document = served.key("demo-recorder").sign(
        "fund.receive",
        {
            "county": COUNTY,
            "transfer_id": f"follow-in-{amount_fen}",
            "source_kind": "county",
            "source": "county-budget",
            "reference": "followed by the server",
            "amount_fen": amount_fen,
        },
    )
    response = client.post("/requests", json=document)
    assert response.status_code == 201, response.text


def wait_for(check: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("workers", "stop"),
    [
        pytest.param(1, signal.SIGTERM, id="one-worker-terminated"),
        pytest.param(2, signal.SIGINT, id="two-workers-interrupted"),
    ],
)
def test_a_write_shows_in_the_views_without_a_follower_beside_the_server(
    database_url: str, tmp_path: Path, workers: int, stop: int
) -> None:
    build_demo(database_url, tmp_path)
    options = ("--workers", str(workers))
    with running(database_url, tmp_path, *options, stop=stop) as (client, pid):
        served = Served(database_url, tmp_path, client)  # type: ignore[arg-type]
        before = pool_balance(client)
        receive(served, client, 4321)
        wait_for(lambda: pool_balance(client) == before + 4321)
        size = int(client.get("/log/checkpoint").text.splitlines()[1])
        views = client.get("/views").json()["views"]
        assert {view["position"] for view in views} == {size}
        followers = children(pid.pid)
        assert followers, "no child process"
    # Stopping the server stops its follower (and its workers).
    wait_for(lambda: not any(alive(child) for child in followers), seconds=30)


def test_no_follow_leaves_the_views_where_they_were(
    database_url: str, tmp_path: Path
) -> None:
    build_demo(database_url, tmp_path)
    with running(database_url, tmp_path, "--no-follow") as (client, process):
        served = Served(database_url, tmp_path, client)  # type: ignore[arg-type]
        before = pool_balance(client)
        receive(served, client, 1234)
        time.sleep(3)  # three polls of a follower, were there one
        assert pool_balance(client) == before
        assert children(process.pid) == set()
