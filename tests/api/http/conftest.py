"""Fixtures of the HTTP API tests: a served demo ledger on each back end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.http.support import Served, build_demo, serve


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """The demo ledger behind the real app, on SQLite and on PostgreSQL."""
    build_demo(database_url, tmp_path)
    with serve(database_url, tmp_path) as ledger:
        yield ledger
