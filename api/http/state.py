"""What every request handler of one API process shares: the open ledger.

One ``FundLedger`` per process serves every request. The ``eventsourcing``
library is synchronous and thread-safe behind its connection pool, so the
handlers that call it are plain ``def`` functions run in the thread pool,
which the application limits to as many threads as the pool has connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from api.app import FundLedger
from api.group_commit import GroupCommitter
from api.http.caching import PageCache
from api.http.settings import Settings
from ledger.log import Log
from projections.base import Projection


@dataclass
class ApiState:
    """The ledger, its log, and the views it publishes."""

    settings: Settings
    ledger: FundLedger
    log: Log
    projections: dict[str, Projection]
    # Gathers concurrent writes into one transaction; None: one each.
    committer: GroupCommitter | None = None
    # View pages already rendered, by the view position they were read at.
    pages: PageCache = field(default_factory=PageCache)


async def state_of(request: Request) -> ApiState:
    """The state of the application serving ``request``.

    ``async`` only so that FastAPI calls it in the event loop, not in a
    worker thread: it reads one attribute.
    """
    state: ApiState = request.app.state.api
    return state
