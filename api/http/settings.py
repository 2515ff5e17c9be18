"""Where the HTTP API finds its ledger, and how it opens it.

The API opens a ledger exactly as the CLI does (``api.cli``): a database URL
(a SQLite path, ``sqlite:///``, or ``postgresql://``), the log's signer key and
the deployment's secrets file. The same three settings, read from the same
``FUNDLEDGER_*`` variables, let ``fundledger serve`` hand them to uvicorn's
worker processes, which start the application from a factory and cannot be
given Python objects.

Invariants: opening never creates the ledger's tables (``init`` does that),
and the view tables are created only when ``create_view_tables`` is set, which
``fundledger serve`` does once, in the parent process, before any worker runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from api.app import FundLedger
from ledger.application import open_ledger
from ledger.keys import read_signer_key
from ledger.log import Log
from ledger.storage import parse_url

DEFAULT_THREADS = 8
DEFAULT_MAX_UPLOAD = 64 * 1024 * 1024  # a list of some 500,000 rows as CSV


@dataclass(frozen=True)
class Settings:
    """What one API process needs to serve one ledger."""

    db: str
    log_key: Path
    secrets: Path
    # Worker threads for the synchronous library; the PostgreSQL pool is sized
    # to match, so no thread ever waits for a connection another one holds.
    threads: int = DEFAULT_THREADS
    create_view_tables: bool = True
    # Concurrent writes gathered into one transaction (``api.group_commit``).
    group_commit: bool = True
    # The largest spreadsheet or set of signed requests one import may send.
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD

    @classmethod
    def from_environment(cls) -> Settings:
        """The settings ``fundledger serve`` passed to its workers."""
        return cls(
            db=os.environ.get("FUNDLEDGER_DB", "fundledger.db"),
            log_key=Path(os.environ.get("FUNDLEDGER_LOG_KEY", "fundledger-log.key")),
            secrets=Path(
                os.environ.get("FUNDLEDGER_SECRETS", "fundledger-secrets.key")
            ),
            threads=int(os.environ.get("FUNDLEDGER_HTTP_THREADS", DEFAULT_THREADS)),
            create_view_tables=os.environ.get("FUNDLEDGER_HTTP_CREATE_VIEWS", "1")
            == "1",
            group_commit=os.environ.get("FUNDLEDGER_HTTP_GROUP_COMMIT", "1") == "1",
            max_upload_bytes=int(
                os.environ.get("FUNDLEDGER_HTTP_MAX_UPLOAD", DEFAULT_MAX_UPLOAD)
            ),
        )

    def environment(self) -> dict[str, str]:
        """The variables ``from_environment`` reads back to these settings."""
        return {
            "FUNDLEDGER_DB": self.db,
            "FUNDLEDGER_LOG_KEY": str(self.log_key),
            "FUNDLEDGER_SECRETS": str(self.secrets),
            "FUNDLEDGER_HTTP_THREADS": str(self.threads),
            "FUNDLEDGER_HTTP_CREATE_VIEWS": "1" if self.create_view_tables else "0",
            "FUNDLEDGER_HTTP_GROUP_COMMIT": "1" if self.group_commit else "0",
            "FUNDLEDGER_HTTP_MAX_UPLOAD": str(self.max_upload_bytes),
        }


def open_for_api(settings: Settings) -> tuple[FundLedger, Log]:
    """The ledger and its log, keyed to sign checkpoints when the key is there.

    Without the log key the API still serves everything but checkpoints and
    receipts (which need a signed checkpoint); those answer 503.
    """
    signer = read_signer_key(settings.log_key) if settings.log_key.exists() else None
    ledger, log = open_ledger(
        parse_url(settings.db),
        signer,
        app_class=FundLedger,
        pool_size=settings.threads,
    )
    ledger.log_origin = log.origin
    return ledger, log
