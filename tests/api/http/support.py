"""What the HTTP API tests share: a demo ledger served through the real app.

Ledgers are built as a user builds them, with the CLI's ``init`` and ``demo``
(with the secrets file, so synthetic students are vaulted and paid, and
``--raise-alerts``, so the demo's monitor raises their alerts in the log), and
the views are brought up to date with ``views update``, as a follower would.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.cli import main
from api.http.app import create_app
from api.http.settings import Settings
from api.requests import OfficerKey
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.merkle import leaf_hash, verify_inclusion
from ledger.note import NoteVerifier

ORIGIN = "http.fundledger.example/log"
PROBLEM_JSON = "application/problem+json"
COUNTY = "422822"


@dataclass
class Served:
    """A demo ledger, the options that name it, and a client of its API."""

    url: str
    directory: Path
    client: TestClient

    @property
    def options(self) -> list[str]:
        return [
            "--db",
            self.url,
            "--log-key",
            str(self.directory / "log.key"),
            "--secrets",
            str(self.directory / "secrets.key"),
        ]

    @property
    def settings(self) -> Settings:
        return Settings(
            db=self.url,
            log_key=self.directory / "log.key",
            secrets=self.directory / "secrets.key",
            threads=4,
        )

    def key(self, name: str) -> OfficerKey:
        """A key file the demo or ``init`` wrote (admin, demo-recorder, ...)."""
        path = self.directory / ("admin.key" if name == "admin" else f"demo-{name}.key")
        return OfficerKey.load(path)

    def update_views(self) -> None:
        assert main([*self.options, "views", "update"]) == 0

    def size(self) -> int:
        note = self.client.get("/log/checkpoint").text
        return int(note.splitlines()[1])

    def checkpoint(self, note: str) -> Checkpoint:
        vkey = self.client.get("/log/key").text.strip()
        return open_checkpoint(note, [NoteVerifier(vkey)], origin=ORIGIN)

    def post(self, document: dict[str, Any], path: str = "/requests") -> Any:
        return self.client.post(path, json=document)


def build_demo(url: str, directory: Path) -> None:
    """init + demo (with students) + views update + the alerts raised by the
    demo's monitor, through the CLI."""
    options = Served(url, directory, None).options  # type: ignore[arg-type]
    admin = str(directory / "admin.key")
    assert main([*options, "init", "--origin", ORIGIN, "--admin-key", admin]) == 0
    assert main([*options, "demo", "--key", admin, "--raise-alerts"]) == 0
    assert main([*options, "views", "update"]) == 0


@contextmanager
def serve(url: str, directory: Path) -> Iterator[Served]:
    """The real app on a demo ledger, started (lifespan) and stopped."""
    served = Served(url, directory, None)  # type: ignore[arg-type]
    with TestClient(create_app(served.settings)) as client:
        served.client = client
        yield served


def check_receipt(served: Served, receipt: dict[str, Any]) -> None:
    """Every entry of a receipt is the log's, proven against its checkpoint."""
    checkpoint = served.checkpoint(receipt["checkpoint"])
    assert checkpoint.size == receipt["size"]
    assert receipt["entries"], receipt
    for item in receipt["entries"]:
        data = served.client.get(f"/log/entries/{item['index']}").content
        assert leaf_hash(data).hex() == item["leaf_hash"]
        proof = item["proof"]
        assert (proof["index"], proof["size"]) == (item["index"], checkpoint.size)
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(
            leaf_hash(data), item["index"], checkpoint.size, hashes, checkpoint.root
        )
        body = json.loads(data)
        assert receipt["digest"] in json.dumps(body), "entry of another request"


def assert_problem(response: Any, status: int, kind: str | None = None) -> None:
    """A problem document with the expected status and, if given, type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://fundledger.example/problems/")
    assert body["title"]
    assert body["detail"]
    if kind is not None:
        assert body["type"].endswith("/" + kind), body
