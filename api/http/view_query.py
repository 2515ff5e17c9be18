"""Reading one public view table page by page: filters, order, evidence.

The runner (``projections.store``) keeps each view table as ``view_<p>_<t>``
with a ``row_key`` and the declared columns, and the log positions behind each
row in ``projection_evidence``. This module reads them for the public API.

Invariants:

- Only declared column names reach SQL text; every value is a bound parameter,
  converted to the column's type first (a filter that cannot be that type is a
  ``BadQuery``, never a database error).
- Filters and sorts are written so that the indexes ``projections.store``
  creates serve them (text compared and sorted ``COLLATE "C"`` on PostgreSQL).
- Pages are in a total order: the requested columns, then the key columns,
  then ``row_key``, which is unique, so consecutive pages never repeat or skip a
  row. Text sorts by code point on both back ends (``COLLATE "C"`` on
  PostgreSQL), so SQLite and PostgreSQL answer with the same pages.
- The count, the rows and their evidence are read in one transaction (a
  repeatable-read snapshot on PostgreSQL), so they describe one committed
  state of the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.http.problems import BadQuery, NotFound
from ledger.recorder import LogRecorder
from projections.base import Column, Projection, Table, Value
from projections.runner import ViewOutdated
from projections.store import EVIDENCE, POSITIONS, declaration, table_name

MAX_INTEGER = 2**63 - 1


@dataclass(frozen=True)
class Page:
    """One page of a view table, with where the view stands in the log."""

    position: int
    total: int
    columns: list[str]
    rows: list[tuple[dict[str, Value], list[int]]]


def public_table(projection: Projection, name: str) -> Table:
    """The projection's public table ``name`` (private ones are not found)."""
    public = [table for table in projection.tables if table.public]
    for table in public:
        if table.name == name:
            return table
    raise NotFound(
        f"public table of view {projection.name}", name, [t.name for t in public]
    )


def parse_value(column: Column, text: str) -> Value:
    """A filter's text as the column's type."""
    if column.type == "INTEGER":
        try:
            value = int(text, 10)
        except ValueError:
            raise BadQuery(column.name, text, "expected a whole number") from None
        if not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
            raise BadQuery(column.name, text, "outside the 64-bit integer range")
        return value
    if column.type == "BOOLEAN":
        lowered = text.lower()
        if lowered not in {"true", "false", "1", "0"}:
            raise BadQuery(column.name, text, "expected true or false")
        return lowered in {"true", "1"}
    if "\x00" in text:
        raise BadQuery(column.name, text, "text cannot contain NUL characters")
    return text


def parse_sort(table: Table, text: str | None) -> list[tuple[Column, bool]]:
    """``col,-col2`` as (column, descending) pairs; unknown columns refused."""
    if not text:
        return []
    columns = {column.name: column for column in table.columns}
    order = []
    for part in text.split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name.removeprefix("-")
        if name not in columns:
            raise BadQuery("sort", text, f"no column {name!r} in {table.name}")
        order.append((columns[name], descending))
    return order


class ViewReader:
    """Pages of public view tables, read through the ledger's own connections."""

    def __init__(self, recorder: LogRecorder, backend: str) -> None:
        self.recorder = recorder
        self.backend = backend
        self._declarations: dict[str, str] = {}  # the code's, by view

    def position(self, projection: str) -> int:
        """The next log position the view will apply (0: nothing applied)."""
        with self.recorder.side_table(commit=False) as cursor:
            cursor.execute(
                self.recorder.sql(
                    f"SELECT position FROM {POSITIONS} WHERE projection = ?"
                ),
                [projection],
            )
            found = cursor.fetchone()
        return 0 if found is None else int(found["position"])

    def _order_term(self, column: Column, descending: bool) -> str:
        collate = (
            ' COLLATE "C"'
            if self.backend == "postgres" and (column.type == "TEXT")
            else ""
        )
        return f"{column.name}{collate}{' DESC' if descending else ''}"

    def page(
        self,
        projection: Projection,
        table: Table,
        *,
        filters: dict[str, Value],
        order: list[tuple[Column, bool]],
        limit: int,
        offset: int,
    ) -> Page:
        """Rows matching every filter, in ``order``, ``limit`` from ``offset``."""
        sql_table = table_name(projection.name, table.name)
        columns = [column.name for column in table.columns]
        where, params = self._where(table, filters)
        terms = [self._order_term(column, descending) for column, descending in order]
        terms += [self._order_term(column, False) for column in table.key]
        terms.append("row_key")
        sql = self.recorder.sql
        with self.recorder.side_table(commit=False) as cursor:
            if self.backend == "postgres":
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute(
                sql(
                    f"SELECT position, declaration FROM {POSITIONS} "
                    "WHERE projection = ?"
                ),
                [projection.name],
            )
            found = cursor.fetchone()
            expected = self._declarations.get(projection.name)
            if expected is None:
                expected = self._declarations[projection.name] = declaration(projection)
            if found is not None and found["declaration"] != expected:
                # Its tables may lack columns this code reads: rebuild first.
                raise ViewOutdated(projection.name)
            position = 0 if found is None else int(found["position"])
            cursor.execute(
                sql(f"SELECT COUNT(*) AS n FROM {sql_table}{where}"), list(params)
            )
            total = int(cursor.fetchone()["n"])
            cursor.execute(
                sql(
                    f"SELECT row_key, {', '.join(columns)} FROM {sql_table}{where} "
                    f"ORDER BY {', '.join(terms)} LIMIT ? OFFSET ?"
                ),
                [*params, limit, offset],
            )
            rows = list(cursor.fetchall())
            evidence = self._evidence(cursor, projection.name, table.name, rows)
        booleans = {c.name for c in table.columns if c.type == "BOOLEAN"}
        page = []
        for row in rows:
            record: dict[str, Value] = {}
            for name in columns:
                value = row[name]
                if name in booleans and value is not None:
                    value = bool(value)  # SQLite keeps 0 and 1
                record[name] = value
            page.append((record, evidence.get(str(row["row_key"]), [])))
        return Page(position, total, columns, page)

    def _where(self, table: Table, filters: dict[str, Value]) -> tuple[str, list[Any]]:
        declared = {column.name: column for column in table.columns}
        clauses, params = [], []
        for name, value in filters.items():
            if name not in declared:  # callers check; SQL text must never see it
                raise BadQuery(name, value, f"no column {name!r}")
            # The same collation as the column's index (``projections.store``),
            # or PostgreSQL could not use it; equality is the same in both.
            text = declared[name].type == "TEXT" and self.backend == "postgres"
            collate = ' COLLATE "C"' if text else ""
            clauses.append(f"{name}{collate} = ?")
            params.append(value)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def _evidence(
        self, cursor: Any, projection: str, table: str, rows: list[Any]
    ) -> dict[str, list[int]]:
        keys = [str(row["row_key"]) for row in rows]
        if not keys:
            return {}
        marks = ", ".join("?" * len(keys))
        cursor.execute(
            self.recorder.sql(
                f"SELECT row_key, seq FROM {EVIDENCE} WHERE projection = ? "
                f"AND tbl = ? AND row_key IN ({marks})"
            ),
            [projection, table, *keys],
        )
        found: dict[str, list[int]] = {}
        for row in cursor.fetchall():
            found.setdefault(str(row["row_key"]), []).append(int(row["seq"]))
        return {key: sorted(seqs) for key, seqs in found.items()}
