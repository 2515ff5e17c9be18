"""Where projections keep their rows: tables beside the log, in its database.

A projection's tables live in the ledger's own database (the same SQLite file,
the same PostgreSQL database), so a worker needs one setting to follow the log
and write its views, and public reads can come from a replica of that database.

Tables, for a projection named ``p`` with a table ``t``:

- ``view_p_t``: one row per key. ``row_key`` (the primary key) is the canonical
  JSON of the key tuple, then the key columns, then the value columns. The key
  is not the key columns themselves because a key part may be None, which a
  PostgreSQL primary key refuses and a SQLite one would not keep unique.
- ``projection_evidence (projection, tbl, row_key, seq)``: the log positions
  behind each row, one row each.
- ``projection_positions``: per projection, the next log ``seq`` to read, the
  notification id of the last entry applied, a generation that every rebuild
  raises, when it was last written, and the declaration it was built from.
- ``view_p__tracking``: the ``eventsourcing`` library's tracking table for the
  projection, whose single row names the ledger's application and the last
  notification id applied (so the library's ``wait`` works on views too).
- indexes of each public table, for the public API's filters and sorts
  (``api.http.view_query``): ``view_p_t__order`` on the key columns and
  ``row_key`` (a page in key order), and ``view_p_t__by_c`` on every other
  column ``c`` that is not a boolean (an equality filter, a sort by ``c``). On
  PostgreSQL text is indexed ``COLLATE "C"``, the order the API sorts and
  compares text in, or the planner could not use the index.

Invariants:

- A batch's changed rows, its new evidence, the position and the tracking
  record are written in one transaction: after a crash the stored rows are
  exactly the rows at the stored position.
- A batch commits only if the stored position and generation are still those
  its projection was restored from (compare and set, the first statement of the
  transaction, so it also takes the write lock), and only if the library's
  tracking record moves forward. Two followers can therefore never both commit
  a batch, and a follower that lost the race, or missed a rebuild, gets
  ``ViewConflict`` and must restore before going on.
- Only names matching ``NAME_PATTERN`` reach SQL text; values are always bound.
- Tables and their indexes are created together, idempotently (``IF NOT
  EXISTS``), whenever a projection is registered, so a ledger whose views were
  made before an index was declared gets it the next time a runner or server
  starts. Indexes change how fast rows are found, never which rows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    ProgrammingError,
    Tracking,
)
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import Environment
from psycopg.rows import tuple_row

from ledger.entry import timestamp
from ledger.errors import FundLedgerError, LedgerMisuse
from ledger.recorder import ENTRIES
from ledger.storage import APP_NAME, Storage, application_env
from projections.base import Changes, Column, Key, Projection, Row, Table, Value
from projections.feed import LoggedEvent, decode

POSITIONS = "projection_positions"
EVIDENCE = "projection_evidence"
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
RESERVED_COLUMNS = frozenset({"row_key", "evidence"})
MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names
ROWS_PER_STATEMENT = 500  # rows in one INSERT on PostgreSQL
MAX_PARAMETERS = 65_535  # in one PostgreSQL statement
_TYPES = {
    "sqlite": {"TEXT": "TEXT", "INTEGER": "INTEGER", "BOOLEAN": "INTEGER"},
    "postgres": {"TEXT": "text", "INTEGER": "bigint", "BOOLEAN": "boolean"},
}


class BadDeclaration(LedgerMisuse):
    """A projection whose name, tables or columns cannot become SQL tables."""

    def __init__(self, projection: str, reason: str) -> None:
        super().__init__(f"projection {projection!r} cannot be stored: {reason}")
        self.projection = projection
        self.reason = reason


class ViewConflict(FundLedgerError):
    """Another follower (or a rebuild) moved the view first; restore and go on."""

    def __init__(self, projection: str, expected: int, reason: str) -> None:
        super().__init__(
            f"view {projection} was not at position {expected} any more: {reason}"
        )
        self.projection = projection
        self.expected = expected
        self.reason = reason


class ViewCorrupt(FundLedgerError):
    """Stored view state that contradicts itself (changed outside the runner)."""

    def __init__(self, projection: str, reason: str) -> None:
        super().__init__(f"view {projection} is inconsistent: {reason}")
        self.projection = projection
        self.reason = reason


@dataclass(frozen=True)
class StoredPosition:
    """Where a projection's stored rows stand in the log."""

    position: int  # the next seq to apply
    generation: int  # raised by every rebuild
    notification_id: int | None  # of the last entry applied
    updated_at: str | None
    outdated: bool = False  # built from another declaration or version


def table_name(projection: str, table: str) -> str:
    """The SQL name of one projection table."""
    return f"view_{projection}_{table}"


def index_name(projection: str, table: str, part: str) -> str:
    """The SQL name of one index of a projection table.

    ``view_p_t__part`` when that fits PostgreSQL's identifiers; a longer name
    keeps its start and ends with a hash of the whole, so two long names never
    become one when PostgreSQL would truncate them.
    """
    name = f"{table_name(projection, table)}__{part}"
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{name[: MAX_IDENTIFIER - len(digest) - 1]}_{digest}"


def tracking_table_name(projection: str) -> str:
    """The library's tracking table for one projection.

    The double underscore cannot occur in a projection's own table names.
    """
    return f"view_{projection}__tracking"


def encode_key(key: Key) -> str:
    """The canonical text of a key: compact JSON of the tuple."""
    return orjson.dumps(key).decode()


class _KeyText(dict[Key, str]):
    """``encode_key`` with a memory, for one batch."""

    def __missing__(self, key: Key) -> str:
        text = self[key] = encode_key(key)
        return text


def decode_key(text: str) -> Key:
    """Inverse of ``encode_key``."""
    return tuple(orjson.loads(text))


def declaration(projection: type[Projection] | Projection) -> str:
    """What the stored rows were built from: version, tables, columns."""
    return orjson.dumps(
        {
            "version": projection.version,
            "tables": [
                {
                    "name": t.name,
                    "key": [[c.name, c.type] for c in t.key],
                    "values": [[c.name, c.type] for c in t.values],
                    "public": t.public,
                }
                for t in projection.tables
            ],
        }
    ).decode()


def check_declaration(projection: type[Projection] | Projection) -> None:
    """Refuse names that are not plain identifiers or too long for PostgreSQL."""
    name = getattr(projection, "name", "")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise BadDeclaration(str(name), f"the name must match {NAME_PATTERN.pattern}")
    if len(tracking_table_name(name)) > MAX_IDENTIFIER:
        raise BadDeclaration(name, f"names are limited to {MAX_IDENTIFIER} bytes")
    seen: set[str] = set()
    for table in projection.tables:
        if not NAME_PATTERN.fullmatch(table.name) or table.name in seen:
            raise BadDeclaration(name, f"bad or repeated table name {table.name!r}")
        seen.add(table.name)
        if len(table_name(name, table.name)) > MAX_IDENTIFIER:
            raise BadDeclaration(name, f"table name {table.name!r} is too long")
        if not table.key:
            raise BadDeclaration(name, f"table {table.name!r} has no key column")
        columns = [c.name for c in table.columns]
        if len(set(columns)) != len(columns):
            raise BadDeclaration(name, f"table {table.name!r} repeats a column")
        for column in table.columns:
            if not NAME_PATTERN.fullmatch(column.name):
                raise BadDeclaration(name, f"bad column name {column.name!r}")
            if column.name in RESERVED_COLUMNS:
                raise BadDeclaration(name, f"column name {column.name!r} is reserved")
            if column.type not in _TYPES["sqlite"]:
                raise BadDeclaration(
                    name,
                    f"column {column.name!r} has type {column.type!r}, expected "
                    "TEXT, INTEGER or BOOLEAN",
                )


class SQLiteViewTracking(SQLiteTrackingRecorder):
    """The library's SQLite tracking recorder, with a table of its own.

    The library names its SQLite table ``tracking`` whatever the reader; each
    projection needs its own row for the ledger's application name, so each gets
    its own table, with the library's statements otherwise unchanged.
    """

    def __init__(self, datastore: SQLiteDatastore, *, tracking_table_name: str):
        # Set before the library builds its CREATE statement from it.
        self.tracking_table_name = tracking_table_name
        super().__init__(datastore)
        name = tracking_table_name
        self.insert_tracking_statement = (
            f"INSERT INTO {name} "
            "VALUES (:application_name, :notification_id) "
            "ON CONFLICT (application_name) DO UPDATE "
            "SET notification_id = :notification_id "
            f"WHERE {name}.notification_id < :notification_id "
            "RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {name} WHERE application_name=?"
        )

    def construct_create_table_statements(self) -> list[str]:
        statement = (
            f"CREATE TABLE IF NOT EXISTS {self.tracking_table_name} ("
            "application_name TEXT, notification_id INTEGER, "
            "PRIMARY KEY (application_name)) WITHOUT ROWID"
        )
        return [statement]


class ViewStore:
    """Projection tables, evidence, positions and tracking in the ledger's database.

    Opens its own connections (a psycopg 3 pool on PostgreSQL, through the
    library's datastore) from the ledger's ``Storage``, so a follower does not
    compete with the ledger's writers for theirs.
    """

    def __init__(self, storage: Storage, *, pool_size: int = 2) -> None:
        env = application_env(storage, create_tables=False, pool_size=pool_size)
        self.storage = storage
        self.backend = storage.backend
        self._factory = InfrastructureFactory.construct(Environment(APP_NAME, env))
        self._datastore: Any = getattr(self._factory, "datastore")  # noqa: B009
        self._trackers: dict[str, SQLiteViewTracking | PostgresTrackingRecorder] = {}
        self._sql_cache: dict[str, str] = {}

    def close(self) -> None:
        """Close the store's connections."""
        self._factory.close()

    def __enter__(self) -> ViewStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # SQL helpers --------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        """``statement`` with ``?`` placeholders in this back end's style."""
        if self.backend == "sqlite":
            return statement
        cached = self._sql_cache.get(statement)
        if cached is None:
            cached = self._sql_cache[statement] = statement.replace("?", "%s")
        return cached

    def _transaction(self, *, commit: bool) -> Any:
        return self._datastore.transaction(commit=commit)

    def _snapshot(self, cursor: Any) -> None:
        """Make every read of this transaction see the same committed state."""
        if self.backend == "postgres":
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    def _type(self, column_type: str) -> str:
        return _TYPES[self.backend][column_type]

    def _tracker(
        self, projection: str
    ) -> SQLiteViewTracking | PostgresTrackingRecorder:
        tracker = self._trackers.get(projection)
        if tracker is None:
            name = tracking_table_name(projection)
            if self.backend == "sqlite":
                tracker = SQLiteViewTracking(self._datastore, tracking_table_name=name)
            else:
                tracker = PostgresTrackingRecorder(
                    self._datastore, tracking_table_name=name
                )
            self._trackers[projection] = tracker
        return tracker

    def _insert_tracking(
        self, cursor: Any, projection: str, notification_id: int
    ) -> None:
        tracker: Any = self._tracker(projection)
        tracker._insert_tracking(cursor, Tracking(APP_NAME, notification_id))

    def _max_tracking_id(self, cursor: Any, projection: str) -> int | None:
        tracker: Any = self._tracker(projection)
        value = tracker._max_tracking_id(APP_NAME, cursor)
        return None if value is None else int(value)

    def _create_statements(
        self, projection: type[Projection] | Projection
    ) -> list[str]:
        rowid = " WITHOUT ROWID" if self.backend == "sqlite" else ""
        statements = []
        for table in projection.tables:
            columns = ", ".join(f"{c.name} {self._type(c.type)}" for c in table.columns)
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {table_name(projection.name, table.name)} "
                f"(row_key TEXT PRIMARY KEY, {columns}){rowid}"
            )
            if table.public:
                statements += self._index_statements(projection.name, table)
        return statements

    def _index_statements(self, projection: str, table: Table) -> list[str]:
        """The indexes behind the public API's filters and sorts of ``table``.

        The first key column leads the key-order index, which serves filters on
        it too; booleans get none (half the table matches either value).
        """
        sql_name = table_name(projection, table.name)
        order = ", ".join([*(self._indexed(c) for c in table.key), "row_key"])
        name = index_name(projection, table.name, "order")
        statements = [f"CREATE INDEX IF NOT EXISTS {name} ON {sql_name} ({order})"]
        for column in table.columns[1:]:
            if column.type == "BOOLEAN":
                continue
            name = index_name(projection, table.name, f"by_{column.name}")
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {name} ON {sql_name} "
                f"({self._indexed(column)})"
            )
        return statements

    def _indexed(self, column: Column) -> str:
        """A column as an index holds it: text in code point order everywhere."""
        if self.backend == "postgres" and column.type == "TEXT":
            return f'{column.name} COLLATE "C"'
        return column.name

    # Registering --------------------------------------------------------------

    def register(self, projection: type[Projection] | Projection) -> StoredPosition:
        """Create the projection's tables if they are missing; say where it stands.

        Safe to call from several processes at once: every statement is
        idempotent, and a lost race to create a table is simply tried again.
        A view stored from another declaration is left as it is, to be rebuilt
        (its position says ``outdated``).
        """
        check_declaration(projection)
        name = projection.name
        # PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a
        # concurrent twin (both may pass the check and one then fails on the
        # catalogue's unique index); every racer that loses one step can lose
        # the next one too, so allow each step of each racer a try.
        attempts = 10
        for attempt in range(attempts):
            try:
                self._create_shared_tables()
                self._tracker(name).create_table()
                with self._transaction(commit=True) as cursor:
                    # A write first: on SQLite a transaction that read before it
                    # writes cannot wait for the lock, and fails when it races.
                    cursor.execute(
                        self._sql(
                            f"INSERT INTO {POSITIONS} (projection, position, "
                            "notification_id, generation, updated_at, declaration) "
                            "VALUES (?, 0, NULL, 0, NULL, ?) ON CONFLICT DO NOTHING"
                        ),
                        [name, declaration(projection)],
                    )
                    # Tables of another declaration wait for ``rebuild`` as they
                    # are: an index on a column they lack would fail here.
                    cursor.execute(
                        self._sql(
                            f"SELECT declaration FROM {POSITIONS} WHERE projection = ?"
                        ),
                        [name],
                    )
                    if cursor.fetchone()["declaration"] == declaration(projection):
                        for statement in self._create_statements(projection):
                            cursor.execute(statement)
                break
            except (IntegrityError, ProgrammingError) as error:
                # A lost race shows as a unique violation on the catalogue or,
                # for a table's row type, as "already exists".
                lost = isinstance(error, IntegrityError) or "already exists" in str(
                    error
                )
                if not lost or attempt == attempts - 1:
                    raise
        return self.position(projection)

    def _create_shared_tables(self) -> None:
        integer = "INTEGER" if self.backend == "sqlite" else "bigint"
        rowid = " WITHOUT ROWID" if self.backend == "sqlite" else ""
        with self._transaction(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {POSITIONS} (projection TEXT PRIMARY KEY, "
                f"position {integer} NOT NULL, notification_id {integer}, "
                f"generation {integer} NOT NULL, updated_at TEXT, "
                f"declaration TEXT NOT NULL){rowid}"
            )
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {EVIDENCE} (projection TEXT NOT NULL, "
                f"tbl TEXT NOT NULL, row_key TEXT NOT NULL, seq {integer} NOT NULL, "
                f"PRIMARY KEY (projection, tbl, row_key, seq)){rowid}"
            )

    # Reading ------------------------------------------------------------------

    def _read_position(
        self, cursor: Any, projection: type[Projection] | Projection
    ) -> StoredPosition:
        cursor.execute(
            self._sql(
                "SELECT position, generation, notification_id, updated_at, "
                f"declaration FROM {POSITIONS} WHERE projection = ?"
            ),
            [projection.name],
        )
        row = cursor.fetchone()
        if row is None:
            raise LedgerMisuse(f"view {projection.name} is not registered")
        return StoredPosition(
            position=int(row["position"]),
            generation=int(row["generation"]),
            notification_id=(
                None if row["notification_id"] is None else int(row["notification_id"])
            ),
            updated_at=row["updated_at"],
            outdated=row["declaration"] != declaration(projection),
        )

    def position(self, projection: type[Projection] | Projection) -> StoredPosition:
        """Where the projection's stored rows stand."""
        with self._transaction(commit=False) as cursor:
            return self._read_position(cursor, projection)

    def load(self, projection: Projection) -> StoredPosition:
        """Restore the projection from its stored rows and evidence.

        Rows, evidence, position and tracking are read in one snapshot, so they
        are the state of one committed batch.
        """
        name = projection.name
        with self._transaction(commit=False) as cursor:
            self._snapshot(cursor)
            stored = self._read_position(cursor, projection)
            if stored.outdated:
                return stored
            tracked = self._max_tracking_id(cursor, name)
            if tracked != stored.notification_id:
                raise ViewCorrupt(
                    name,
                    f"its position names notification {stored.notification_id} "
                    f"but its tracking record {tracked}",
                )
            rows: dict[str, Iterable[tuple[Key, Row]]] = {
                table.name: list(self._read_rows(cursor, name, table))
                for table in projection.tables
            }
            cursor.execute(
                self._sql(
                    f"SELECT tbl, row_key, seq FROM {EVIDENCE} WHERE projection = ?"
                ),
                [name],
            )
            evidence = [
                (str(row["tbl"]), decode_key(row["row_key"]), int(row["seq"]))
                for row in cursor.fetchall()
            ]
        projection.restore(rows, evidence)
        return stored

    def _read_rows(
        self, cursor: Any, projection: str, table: Table, limit: int | None = None
    ) -> Iterator[tuple[Key, Row]]:
        values = [c.name for c in table.values]
        select = ", ".join(["row_key", *values])
        order = ", ".join([*(c.name for c in table.key), "row_key"])
        # Always in key order: what ``views show`` prints, with or without a
        # limit, must not depend on how the back end happens to store the rows.
        query = f"SELECT {select} FROM {table_name(projection, table.name)}"
        query += f" ORDER BY {order}"
        params: list[Any] = []
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        cursor.execute(self._sql(query), params)
        booleans = []
        if self.backend == "sqlite":  # SQLite keeps booleans as 0 and 1
            booleans = [i for i, c in enumerate(table.values) if c.type == "BOOLEAN"]
        for row in cursor.fetchall():
            found = [row[c] for c in values]
            for i in booleans:
                if found[i] is not None:
                    found[i] = bool(found[i])
            yield decode_key(row["row_key"]), tuple(found)

    def rows(
        self, projection: type[Projection] | Projection, table: Table, limit: int | None
    ) -> list[tuple[Key, Row, list[int]]]:
        """Stored rows of one table (the first ``limit`` by key), with evidence."""
        name = projection.name
        with self._transaction(commit=False) as cursor:
            self._snapshot(cursor)
            rows = list(self._read_rows(cursor, name, table, limit))
            cursor.execute(
                self._sql(
                    f"SELECT row_key, seq FROM {EVIDENCE} "
                    "WHERE projection = ? AND tbl = ?"
                ),
                [name, table.name],
            )
            wanted: dict[str, list[int]] = {encode_key(key): [] for key, _ in rows}
            for row in cursor.fetchall():
                cited = wanted.get(row["row_key"])
                if cited is not None:
                    cited.append(int(row["seq"]))
        return [(key, row, sorted(wanted[encode_key(key)])) for key, row in rows]

    def read_entries(self, start: int, limit: int) -> list[LoggedEvent]:
        """Up to ``limit`` log entries from ``start`` on, decoded, in log order."""
        with self._transaction(commit=False) as cursor:
            rows = self._fetch_tuples(
                cursor,
                self._sql(
                    f"SELECT seq, notification_id, entry FROM {ENTRIES} "
                    "WHERE seq >= ? ORDER BY seq LIMIT ?"
                ),
                [start, limit],
            )
        # Both drivers give int, int, bytes: no conversions in this hot loop.
        return [
            decode(seq, notification_id, entry) for seq, notification_id, entry in rows
        ]

    def _fetch_tuples(self, cursor: Any, query: str, params: list[Any]) -> list[Any]:
        """All rows as plain tuples: named rows cost more than decoding them."""
        if self.backend == "sqlite":
            raw = cursor.sqlite_cursor
            raw.row_factory = None
            raw.execute(query, params)
            return list(raw.fetchall())
        cursor.row_factory = tuple_row
        cursor.execute(query, params)
        return list(cursor.fetchall())

    def log_size(self) -> int:
        """Number of entries in the log."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(f"SELECT MAX(seq) AS top FROM {ENTRIES}")
            row = cursor.fetchone()
        top = None if row is None else row["top"]
        return 0 if top is None else int(top) + 1

    # Writing ------------------------------------------------------------------

    def commit(
        self,
        projection: Projection,
        changes: Changes,
        *,
        expected: StoredPosition,
        position: int,
        notification_id: int,
    ) -> StoredPosition:
        """Write one batch: rows, evidence, position and tracking, all or nothing.

        Raises ``ViewConflict`` when the stored position is no longer
        ``expected`` or the tracking record would not move forward; nothing is
        written then.
        """
        name = projection.name
        updated_at = timestamp()
        try:
            with self._transaction(commit=True) as cursor:
                # 1. Compare and set the position. Being a write, it takes the
                #    database's write lock (SQLite) or the row's (PostgreSQL),
                #    so a competing follower waits here and then finds it moved.
                cursor.execute(
                    self._sql(
                        f"UPDATE {POSITIONS} SET position = ?, notification_id = ?, "
                        "updated_at = ? WHERE projection = ? AND position = ? "
                        "AND generation = ? RETURNING generation"
                    ),
                    [
                        position,
                        notification_id,
                        updated_at,
                        name,
                        expected.position,
                        expected.generation,
                    ],
                )
                if cursor.fetchone() is None:
                    raise ViewConflict(name, expected.position, "the position moved")

                # 2. The library's tracking record: refuses to go backwards.
                self._insert_tracking(cursor, name, notification_id)

                # 3. The rows the batch changed, then the evidence it added
                #    (mostly for the same keys: encode each key once). Each in
                #    primary key order, so the B-trees take them page by page
                #    rather than at random.
                keys = _KeyText()
                self._write_rows(cursor, projection, changes, keys)
                if changes.evidence:
                    self._insert_many(
                        cursor,
                        f"INSERT INTO {EVIDENCE} (projection, tbl, row_key, seq)",
                        "ON CONFLICT DO NOTHING",
                        sorted(
                            (name, table, keys[key], seq)
                            for table, key, seq in changes.evidence
                        ),
                    )
        except IntegrityError as error:
            raise ViewConflict(name, expected.position, str(error)) from None
        return StoredPosition(
            position=position,
            generation=expected.generation,
            notification_id=notification_id,
            updated_at=updated_at,
        )

    def _write_rows(
        self, cursor: Any, projection: Projection, changes: Changes, keys: _KeyText
    ) -> None:
        for table in projection.tables:
            changed = changes.rows.get(table.name)
            if not changed:
                continue
            sql_name = table_name(projection.name, table.name)
            upserts: list[Sequence[Value]] = []
            deletes: list[tuple[str]] = []
            for key, row in changed.items():
                text = keys.get(key)
                if text is None:
                    text = keys[key] = encode_key(key)
                if row is None:
                    deletes.append((text,))
                else:
                    upserts.append((text, *key, *row))
            if deletes:
                cursor.executemany(
                    self._sql(f"DELETE FROM {sql_name} WHERE row_key = ?"), deletes
                )
            if upserts:
                upserts.sort(key=itemgetter(0))
                columns = ["row_key", *(c.name for c in table.columns)]
                update = ", ".join(
                    f"{c.name} = excluded.{c.name}" for c in table.values
                )
                action = f"DO UPDATE SET {update}" if update else "DO NOTHING"
                self._insert_many(
                    cursor,
                    f"INSERT INTO {sql_name} ({', '.join(columns)})",
                    f"ON CONFLICT (row_key) {action}",
                    upserts,
                )

    def _insert_many(
        self, cursor: Any, insert: str, conflict: str, rows: Sequence[Sequence[Value]]
    ) -> None:
        """``insert VALUES (...) conflict`` for every row (all of one width).

        SQLite takes them as one ``executemany``. PostgreSQL takes them
        ``ROWS_PER_STATEMENT`` to a statement: psycopg's ``executemany`` spends
        some 25 us of Python on each statement, which is most of a rebuild's
        time when a statement is one row. Each value is still its own parameter,
        typed and converted as before. Rows must not repeat a key that
        ``conflict`` updates, as PostgreSQL refuses to update a row twice in one
        statement (a batch's changes hold each key once).
        """
        width = len(rows[0])
        if self.backend == "sqlite":
            marks = ", ".join("?" * width)
            cursor.executemany(f"{insert} VALUES ({marks}) {conflict}", rows)
            return
        one = "(" + ", ".join(["%s"] * width) + ")"
        size = min(ROWS_PER_STATEMENT, MAX_PARAMETERS // width)
        whole = len(rows) - len(rows) % size
        if whole:
            cursor.executemany(
                f"{insert} VALUES {', '.join([one] * size)} {conflict}",
                [
                    [value for row in rows[start : start + size] for value in row]
                    for start in range(0, whole, size)
                ],
            )
        if whole < len(rows):
            rest = rows[whole:]
            cursor.execute(
                f"{insert} VALUES {', '.join([one] * len(rest))} {conflict}",
                [value for row in rest for value in row],
            )

    def reset(self, projection: Projection) -> StoredPosition:
        """Forget the projection's rows, evidence, position and tracking.

        The generation goes up, so any follower still holding the old state
        cannot commit it (``ViewConflict``) and restores the empty view instead.
        Tables are dropped and created again, so a changed declaration takes
        effect; tables an older declaration had are dropped too.
        """
        check_declaration(projection)
        name = projection.name
        self.register(projection)
        with self._transaction(commit=True) as cursor:
            # The first statement writes, to take the write lock at once.
            cursor.execute(
                self._sql(
                    f"UPDATE {POSITIONS} SET position = 0, notification_id = NULL, "
                    "generation = generation + 1, updated_at = ? WHERE projection = ?"
                ),
                [timestamp(), name],
            )
            cursor.execute(
                self._sql(f"SELECT declaration FROM {POSITIONS} WHERE projection = ?"),
                [name],
            )
            old = orjson.loads(cursor.fetchone()["declaration"])
            dropped = {t["name"] for t in old.get("tables", ())}
            dropped |= {t.name for t in projection.tables}
            for table in sorted(dropped):
                if NAME_PATTERN.fullmatch(table):
                    cursor.execute(f"DROP TABLE IF EXISTS {table_name(name, table)}")
            for statement in self._create_statements(projection):
                cursor.execute(statement)
            cursor.execute(
                self._sql(
                    f"UPDATE {POSITIONS} SET declaration = ? WHERE projection = ?"
                ),
                [declaration(projection), name],
            )
            cursor.execute(
                self._sql(f"DELETE FROM {EVIDENCE} WHERE projection = ?"), [name]
            )
            cursor.execute(
                self._sql(
                    f"DELETE FROM {tracking_table_name(name)} "
                    "WHERE application_name = ?"
                ),
                [APP_NAME],
            )
        projection.restore({}, [])
        return self.position(projection)

    def positions(self) -> dict[str, tuple[int, str | None]]:
        """Every registered projection's (position, last update time)."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(f"SELECT projection, position, updated_at FROM {POSITIONS}")
            return {
                str(row["projection"]): (int(row["position"]), row["updated_at"])
                for row in cursor.fetchall()
            }


def stored_rows(
    store: ViewStore, projection: Projection
) -> dict[str, list[tuple[Key, Row, list[int]]]]:
    """Every stored table of a projection with its evidence, by key."""
    return {
        table.name: store.rows(projection, table, None) for table in projection.tables
    }
