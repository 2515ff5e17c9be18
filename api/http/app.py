"""The HTTP API: ``create_app(settings)`` builds it around one open ledger.

Routes, by audience:

- officers: ``POST /requests`` (``api.http.write_routes``) and the same, one
  command per path, at ``POST /commands/{command}`` (``api.http.command_routes``);
  payment lists at ``POST /imports/check`` and ``POST /imports``
  (``api.http.import_routes``);
- the public: ``/views`` (``api.http.view_routes``) and ``/log``
  (``api.http.log_routes``);
- auditors: ``/audit`` (``api.http.audit_routes``);
- a family: ``POST /self-check`` (``api.http.self_check_routes``).

The ledger is opened when the application starts (its lifespan) and closed
when it stops, so importing this module or building the app touches no
database. Every error is a problem document (``api.http.problems``).

Invariants: the app never creates the ledger's own tables (``fundledger init``
does); it creates the view tables only when its settings say so, which
``fundledger serve`` arranges to happen once, before its workers start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from api.group_commit import GroupCommitter
from api.http import (
    audit_routes,
    command_routes,
    import_routes,
    log_routes,
    problems,
    self_check_routes,
    view_routes,
    write_routes,
)
from api.http.settings import Settings, open_for_api
from api.http.state import ApiState
from api.views import build_projections
from projections.store import ViewStore

DESCRIPTION = """\
A tamper-evident ledger of education poverty-alleviation funds.

Every write is a request signed by an officer's Ed25519 key and answers with a
receipt: the log positions it recorded, a signed checkpoint and an RFC 9162
inclusion proof for each. Public views and the log need no login. Errors are
RFC 9457 problem documents whose `type` names the rule that refused.
"""


def create_view_tables(settings: Settings) -> None:
    """Create every view's tables once (``fundledger serve`` before workers)."""
    ledger, _ = open_for_api(settings)
    try:
        with ViewStore(ledger.storage) as store:
            for projection in build_projections(ledger):
                store.register(projection)
    finally:
        ledger.close()


def create_app(settings: Settings) -> FastAPI:
    """The API for the ledger ``settings`` name, opened when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The library blocks; as many threads as pooled connections.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.threads
        if settings.create_view_tables:
            await anyio.to_thread.run_sync(create_view_tables, settings)
        ledger, log = await anyio.to_thread.run_sync(open_for_api, settings)
        projections = {p.name: p for p in build_projections(ledger)}
        committer = GroupCommitter(ledger, log=log) if settings.group_commit else None
        app.state.api = ApiState(settings, ledger, log, projections, committer)
        try:
            yield
        finally:
            if committer is not None:
                await anyio.to_thread.run_sync(committer.close)
            ledger.close()

    app = FastAPI(
        title="fundledger",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (
        write_routes,
        command_routes,
        import_routes,
        view_routes,
        log_routes,
        audit_routes,
        self_check_routes,
    ):
        app.include_router(module.router)
    return app


def app_from_environment() -> FastAPI:
    """The factory uvicorn's workers call (``fundledger serve`` sets the variables)."""
    return create_app(Settings.from_environment())
