"""A load client for benchmarks: kept-alive HTTP/1.1 connections to one local
server, driven closed loop (each client waits for its answer) or open loop
(requests sent on a fixed schedule).

Why not ``httpx.AsyncClient``: measured on this machine, it spent 1-5 ms of
client CPU per request (its pool looks at every connection for every request,
and every request retries a failing import of ``sniffio``): as much as the
server spends on a page, taken from the two CPUs the server needs too. Here a
request is encoded whole before any clock starts, written as it is, and its
answer read as the status line, the headers and exactly ``Content-Length``
bytes of body, which is all the server under test ever sends.

Invariants: a connection carries one exchange at a time; in the open loop a
request's latency counts from when it was due, not from when a connection
was free to send it, so a slow server cannot hide behind a client that waited
for it (coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.workload import percentile


def http_request(method: str, path: str, body: bytes | None = None) -> bytes:
    """One HTTP/1.1 request, complete, ready to write on a kept-alive socket."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body is None:
        return (head + "\r\n").encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


class Connection:
    """One kept-alive connection to the server: a request, then its answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """The answer's status and body."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"an answer without Content-Length: {lines[0]}")
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@dataclass
class Run:
    """What one load run saw: wall time, and per answer its latency and body."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    answers: list[tuple[int, bytes]] = field(default_factory=list)
    # How late the paced client sent its latest request (it shares the CPU).
    worst_send_delay: float = 0.0
    client_cpu: float = 0.0  # seconds of CPU this process spent driving it

    def ok(self, status: int) -> int:
        return sum(1 for code, _ in self.answers if code == status)

    def failures(self, status: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for code, _ in self.answers:
            if code != status:
                counts[str(code)] = counts.get(str(code), 0) + 1
        return counts

    def latency_ms(self) -> dict[str, float]:
        return {
            "p50_ms": round(percentile(self.latencies, 0.50) * 1000, 2),
            "p99_ms": round(percentile(self.latencies, 0.99) * 1000, 2),
            "max_ms": round(max(self.latencies) * 1000, 2),
        }

    def client_cpus(self) -> float:
        """CPUs the client kept busy on average: what it took from the server."""
        return round(self.client_cpu / self.seconds, 2)


async def closed_loop(
    connections: Sequence[Connection], requests: Sequence[bytes]
) -> Run:
    """A client per connection, each sending the next request when its last
    is answered, until every request is sent."""
    run = Run()
    pending = iter(requests)

    async def one_client(connection: Connection) -> None:
        for request in pending:  # shared: each request is taken by one client
            sent = time.perf_counter()
            answer = await connection.exchange(request)
            run.latencies.append(time.perf_counter() - sent)
            run.answers.append(answer)

    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(one_client(c) for c in connections))
    run.seconds = time.perf_counter() - started
    run.client_cpu = time.process_time() - cpu
    return run


async def open_loop(
    connections: Sequence[Connection], requests: Sequence[bytes], rate: int
) -> Run:
    """Request ``n`` is due at ``start + n / rate`` and is sent on the next free
    connection; its latency counts from when it was due."""
    run = Run()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)

    async def one(request: bytes, due: float) -> None:
        connection = await idle.get()
        try:
            answer = await connection.exchange(request)
            run.latencies.append(time.perf_counter() - due)
            run.answers.append(answer)
        finally:
            idle.put_nowait(connection)

    tasks = []
    cpu = time.process_time()
    started = time.perf_counter()
    for number, request in enumerate(requests):
        due = started + number / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        run.worst_send_delay = max(run.worst_send_delay, time.perf_counter() - due)
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    run.seconds = time.perf_counter() - started
    run.client_cpu = time.process_time() - cpu
    return run


async def connect(port: int, count: int) -> list[Connection]:
    """``count`` connections to the server on ``port``, opened one by one."""
    return [await Connection.open(port) for _ in range(count)]


__all__ = ["Connection", "Run", "closed_loop", "connect", "http_request", "open_loop"]
