"""Many writers at once: 4 processes x 4 threads appending to one ledger.

Whatever the interleaving, the result must be one linear chain in which every
event has exactly one entry, every entry verifies, and every proof checks.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import pytest

from ledger.entry import parse_entry
from ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from tests.ledger.support import append_notes, new_ledger, reopen, verify

PROCESSES = 4
THREADS = 4
SAVES_PER_THREAD = 10


def _writer_process(url: str, worker: int) -> None:
    app, _ = reopen(url)
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            sizes = [1 + (worker + thread + n) % 4 for n in range(SAVES_PER_THREAD)]
            append_notes(app, sizes)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    app.close()
    if errors:
        raise errors[0]


def _expected_events() -> int:
    return sum(
        1 + (worker + thread + n) % 4
        for worker in range(PROCESSES)
        for thread in range(THREADS)
        for n in range(SAVES_PER_THREAD)
    )


@pytest.mark.slow
def test_concurrent_writers_make_one_linear_chain(database_url: str) -> None:
    app, log = new_ledger(database_url)
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_writer_process, args=(database_url, worker))
        for worker in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [process.exitcode for process in processes] == [0] * PROCESSES

    size = log.size()
    assert size == _expected_events()
    assert app.log_recorder.count_events() == size
    report = verify(app, log)
    assert report.ok, report.failure

    entries = [log.entry(i) for i in range(size)]
    streams = Counter(
        (parse_entry(raw).stream, parse_entry(raw).version) for raw in entries
    )
    assert max(streams.values()) == 1  # each event exactly one entry
    root = log.root()
    for index in range(0, size, 7):
        proof = log.inclusion_proof(index)
        verify_inclusion(leaf_hash(entries[index]), index, size, proof.hashes, root)
    for old in range(1, size, 37):
        consistency = log.consistency_proof(old, size)
        verify_consistency(old, size, log.root(old), root, consistency.hashes)
    app.close()
