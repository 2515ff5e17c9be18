"""Where a ledger lives: one URL chooses SQLite (embedded) or PostgreSQL.

``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or a plain file
path select the embedded default; ``postgresql://user:password@host:port/db``
selects PostgreSQL through psycopg 3 and its connection pool. The result is the
environment for an ``eventsourcing`` application whose recorder also writes the
log (``ledger.recorder``).

Settings that would let an event reach the database without its entry are
refused here, whoever set them: the library's PostgreSQL insert functions
(``POSTGRES_ENABLE_DB_FUNCTIONS``) bypass the recorder's Python insert path, and
a cipher or compressor would make stored event state something other than the
JSON the entries were built from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ledger.errors import LedgerMisuse, UnsafeConfiguration

APP_NAME = "FundLedger"
_PREFIX = APP_NAME.upper() + "_"
_FORBIDDEN = {
    "POSTGRES_ENABLE_DB_FUNCTIONS": "it inserts events without writing the log",
    "CIPHER_TOPIC": "entries are built from the stored event's JSON state",
    "COMPRESSOR_TOPIC": "entries are built from the stored event's JSON state",
}
_FALSE = {"", "0", "n", "no", "f", "false", "off"}


class BadDatabaseUrl(LedgerMisuse):
    """A database setting that is neither a SQLite path nor a PostgreSQL URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot use database {url!r}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class Storage:
    """A parsed database location."""

    backend: str  # "sqlite" or "postgres"
    sqlite_path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""

    @property
    def display(self) -> str:
        """The location without its password, for messages."""
        if self.sqlite_path is not None:
            return str(self.sqlite_path)
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"


def parse_url(url: str) -> Storage:
    """Parse ``FUNDLEDGER_DB``-style settings."""
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        if not parts.hostname or not parts.path.strip("/"):
            raise BadDatabaseUrl(url, "expected postgresql://user@host:port/dbname")
        try:
            port = parts.port or 5432
        except ValueError:
            raise BadDatabaseUrl(url, "the port is not a number") from None
        return Storage(
            backend="postgres",
            host=parts.hostname,
            port=port,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            dbname=unquote(parts.path.strip("/")),
        )
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        if not path.startswith("/") or path == "/":
            raise BadDatabaseUrl(url, "expected sqlite:///relative or sqlite:////abs")
        return Storage(backend="sqlite", sqlite_path=Path(path[1:]))
    if "://" in url or not url:
        raise BadDatabaseUrl(url, "use a file path, sqlite:/// or postgresql://")
    return Storage(backend="sqlite", sqlite_path=Path(url))


def check_environment() -> None:
    """Refuse settings in the process environment that would bypass the log."""
    for name, reason in _FORBIDDEN.items():
        for key in (name, _PREFIX + name):
            if os.environ.get(key, "").strip().lower() not in _FALSE:
                raise UnsafeConfiguration(key, reason)


# How long PostgreSQL lets a ledger's session sit in a transaction between
# statements before ending it: a safety net against a stuck writer holding the
# events table's lock, not a limit on honest work.
IDLE_IN_TRANSACTION_SECONDS = 300


def application_env(
    storage: Storage, *, create_tables: bool, pool_size: int = 5
) -> dict[str, str]:
    """The ``eventsourcing`` settings for a ledger at ``storage``.

    Keys carry the application's prefix, which the library looks up first, so
    that stray unprefixed variables in the environment cannot override them.
    """
    check_environment()
    env = {
        "CREATE_TABLE": "y" if create_tables else "n",
        "CIPHER_TOPIC": "",
        "COMPRESSOR_TOPIC": "",
        "IS_SNAPSHOTTING_ENABLED": "n",
    }
    if storage.backend == "sqlite":
        assert storage.sqlite_path is not None  # noqa: S101 - parse_url sets it
        env |= {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(storage.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "60",
            "APPLICATION_RECORDER_TOPIC": "ledger.recorder:SQLiteLogRecorder",
        }
    else:
        env |= {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": storage.dbname,
            "POSTGRES_HOST": storage.host,
            "POSTGRES_PORT": str(storage.port),
            "POSTGRES_USER": storage.user,
            "POSTGRES_PASSWORD": storage.password,
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": "0",
            "POSTGRES_LOCK_TIMEOUT": "60",
            # A large save builds and hashes its entries between two statements
            # of its transaction (100,000 rows of an import: seconds, more on a
            # loaded machine); the library's default of 5 s ended such saves.
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(
                IDLE_IN_TRANSACTION_SECONDS
            ),
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "APPLICATION_RECORDER_TOPIC": "ledger.recorder:PostgresLogRecorder",
        }
    return {_PREFIX + key: value for key, value in env.items()}
