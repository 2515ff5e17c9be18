"""Where the time goes: cProfile over our append and verify paths on SQLite.

Not a measurement (the profiler slows Python code several times over, and C
code not at all); it says which functions dominate, to decide what to make
faster. Prints pstats tables, not JSON.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Callable

from bench.append import new_ledger
from bench.verify import build_ledger
from bench.workload import ORIGIN, Backend, make_registers
from ledger.application import LedgerApplication, create_ledger
from ledger.note import NoteSigner
from ledger.verify import verify_log

PROFILES = ("append", "verify")


def _report(title: str, profiler: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    for order in ("cumulative", "tottime"):
        out.write(f"=== {title}: top {top} by {order} ===\n")
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(top)
    return out.getvalue()


def _profiled(action: Callable[[], object]) -> cProfile.Profile:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        action()
    finally:
        profiler.disable()
    return profiler


def profile_append(saves: int = 300, events_per_save: int = 100, top: int = 30) -> str:
    """Profile ``saves`` saves of ``events_per_save`` events into a SQLite ledger."""
    with Backend("sqlite").fresh() as storage:
        app = new_ledger(storage)
        try:
            for register in make_registers(5, events_per_save):
                app.save(register)
            registers = make_registers(saves, events_per_save)

            def run() -> None:
                for register in registers:
                    app.save(register)

            profiler = _profiled(run)
        finally:
            app.close()
    title = f"append, SQLite, {events_per_save} events per save x {saves} saves"
    return _report(title, profiler, top)


def profile_verify(entries: int = 50_000, top: int = 30) -> str:
    """Profile ``verify_log`` over a SQLite ledger of ``entries`` entries."""
    with Backend("sqlite").fresh() as storage:
        app: LedgerApplication
        app, log = create_ledger(storage, ORIGIN, NoteSigner.generate(ORIGIN))
        try:
            build_ledger(app, entries)
            log.checkpoint()
            profiler = _profiled(
                lambda: verify_log(app.log_recorder, ORIGIN, log.verifier)
            )
        finally:
            app.close()
    return _report(f"verify_log, SQLite, {entries} entries", profiler, top)


def run_profile(name: str, *, quick: bool) -> str:
    if name == "append":
        return profile_append(saves=30 if quick else 300)
    return profile_verify(entries=5_000 if quick else 50_000)
