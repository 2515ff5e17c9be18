"""Payment and award lists as officers keep them: CSV or XLSX into rows.

Officers keep lists in Excel and export them; the same list may arrive as XLSX,
as UTF-8 CSV (with or without a byte-order mark) or as the GB18030 CSV that
Chinese versions of Excel write. This module reads any of them into the same
rows, so a list checks, and hashes, the same whatever way it was saved.

Invariants:

- Every row carries the line number the officer sees in the spreadsheet: the
  heading is line 1 (or lower, under a title row), the first row below it the
  next. Blank rows are skipped but still counted, so numbers never drift.
- Headings are matched after Unicode NFKC folding (full-width brackets and
  spaces become plain ones), trimming, dropping inner spaces, underscores and
  hyphens, and lower-casing. Each field may be given by one column only; columns
  of no known field (序号, 备注 ...) are ignored and named in the sheet.
- Values are text, trimmed, otherwise as written. A number Excel stored in
  binary floating point is turned back into the digits the officer typed only
  where that is exact; an ID or account number too long for a double is never
  guessed: its row is marked instead (``SheetRow.notes``).
- A file that cannot be read as a list (unreadable, unknown format, missing
  required columns) raises ``SheetUnreadable``: nothing of it is used.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ledger.errors import LedgerMisuse

# Field -> the headings officers use for it, in the folded form ``fold`` gives.
HEADINGS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "学生姓名", "受助学生姓名", "name", "studentname"),
    "id_number": (
        "身份证号",
        "身份证号码",
        "身份证",
        "公民身份号码",
        "学生身份证号",
        "学生身份证号码",
        "idnumber",
        "residentid",
        "idcard",
    ),
    "school": ("学校", "学校名称", "就读学校", "学校代码", "school", "schoolcode"),
    "grade": ("年级", "就读年级", "grade"),
    "programme": (
        "资助项目",
        "项目",
        "资助项目名称",
        "项目名称",
        "资助类别",
        "programme",
        "program",
        "programmecode",
    ),
    "amount": (
        "金额",
        "金额(元)",
        "资助金额",
        "资助金额(元)",
        "发放金额",
        "发放金额(元)",
        "amount",
        "amount(yuan)",
        "amountyuan",
    ),
    "term": ("学期", "term", "semester"),
    "bank_account": (
        "银行账号",
        "银行帐号",
        "银行卡号",
        "账号",
        "bankaccount",
        "accountnumber",
    ),
    "year": ("学年", "年度", "资助年度", "year", "schoolyear"),
}
REQUIRED = ("name", "id_number", "school", "programme", "amount")
# The heading shown for a field in messages: the one on most officers' sheets.
SHOWN = {fields: names[0] for fields, names in HEADINGS.items()}

_FIELD_OF = {
    heading: name for name, headings in HEADINGS.items() for heading in headings
}
# Fields whose numbers are identifiers: digits that a double cannot keep.
_IDENTIFIERS = frozenset({"id_number", "bank_account"})
_EXACT_DIGITS = 15  # a double holds every integer of up to 15 decimal digits
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls
_UTF8_BOM = b"\xef\xbb\xbf"
_HEADING_SEARCH = 10  # rows searched for the heading


class SheetUnreadable(LedgerMisuse):
    """A file that cannot be read as a payment list; nothing of it was used."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}; nothing was recorded")
        self.source = source
        self.reason = reason


@dataclass(frozen=True)
class SheetRow:
    """One row of the list: its line in the sheet and its fields' text.

    ``notes`` holds, per field, why a cell's value could not be taken as it
    stands (an ID number that Excel kept as a rounded number, say).
    """

    line: int
    fields: dict[str, str]
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sheet:
    """A list read from a file: its rows, its columns and what was ignored."""

    source: str
    format: str  # "csv (utf-8)", "csv (gb18030)" or "xlsx"
    columns: dict[str, str]  # field -> the heading as the sheet wrote it
    ignored: list[str]  # headings of no known field
    rows: list[SheetRow]


def fold(heading: str) -> str:
    """A heading in the form ``HEADINGS`` lists it."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    return "".join(c for c in text if not c.isspace() and c not in "_-")


def read_sheet(path: Path) -> Sheet:
    """Read a CSV or XLSX file (by content, not by name) into a ``Sheet``."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SheetUnreadable(str(path), f"cannot read it ({error.strerror})") from None
    return read_sheet_bytes(data, str(path))


def read_sheet_bytes(data: bytes, source: str) -> Sheet:
    """Read an uploaded file's bytes; ``source`` names it in messages."""
    if data.startswith(_ZIP):
        return _sheet(source, "xlsx", _xlsx_rows(data, source))
    if data.startswith(_OLE2):
        raise SheetUnreadable(
            source, "an Excel 97-2003 (.xls) file; save it as .xlsx or .csv"
        )
    if not data.strip():
        raise SheetUnreadable(source, "the file is empty")
    text, encoding = _decode(data, source)
    if "\x00" in text:
        raise SheetUnreadable(source, "not a CSV or XLSX file (binary content)")
    return _sheet(source, f"csv ({encoding})", _csv_rows(text, source))


def _decode(data: bytes, source: str) -> tuple[str, str]:
    """UTF-8 (a byte-order mark allowed) first, then GB18030.

    UTF-8 is tried first because text that decodes as UTF-8 is, in practice,
    never GB18030 that happens to: Chinese GB text is not valid UTF-8.
    """
    if data.startswith(_UTF8_BOM):
        try:
            return data[len(_UTF8_BOM) :].decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            raise SheetUnreadable(
                source, "it starts as UTF-8 but is not valid UTF-8"
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise SheetUnreadable(
            source, "not a CSV in UTF-8 or GB18030, nor an XLSX file"
        ) from None


def _csv_rows(text: str, source: str) -> Iterator[list[str]]:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as error:
        raise SheetUnreadable(source, f"not a readable CSV file ({error})") from None


def _xlsx_rows(data: bytes, source: str) -> Iterator[list[object]]:
    # openpyxl is imported here: only XLSX files need it, and it is slow to load.
    from openpyxl import load_workbook  # noqa: PLC0415
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    # What a damaged workbook raises: a bad archive, a missing part, bad XML
    # (ElementTree's ParseError is a SyntaxError) or values out of range.
    damaged = (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        ValueError,
        OSError,
        SyntaxError,
    )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except damaged as error:
        raise SheetUnreadable(source, f"not a readable XLSX file ({error})") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise SheetUnreadable(source, "the workbook has no worksheet")
        # Some writers record wrong dimensions; read-only mode would trust them.
        sheet.reset_dimensions()
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    except damaged as error:
        raise SheetUnreadable(source, f"not a readable XLSX file ({error})") from None
    finally:
        book.close()


def _sheet(source: str, format_: str, rows: Iterable[Sequence[object]]) -> Sheet:
    """Find the heading row, map it to fields, then read every row below it."""
    lines = enumerate(rows, start=1)

    # 1. The heading: the first row naming two known fields, within the first
    # few (a title such as 2026年秋季学期助学金发放名册 often stands above it).
    heading_row: Sequence[object] | None = None
    first: Sequence[object] | None = None
    for number, values in lines:
        if first is None and any(not _blank(value) for value in values):
            first = values
        if sum(fold(str(value)) in _FIELD_OF for value in values if value) >= 2:
            heading_row = values
            break
        if number >= _HEADING_SEARCH:
            break
    if heading_row is None:
        if first is None:
            raise SheetUnreadable(source, "no heading row")
        heading_row = first

    # 2. Which column holds which field; a field given twice is ambiguous.
    columns: dict[str, int] = {}
    written: dict[str, str] = {}
    ignored: list[str] = []
    for index, value in enumerate(heading_row):
        heading = "" if value is None else str(value).strip()
        name = _FIELD_OF.get(fold(heading))
        if name is None:
            if heading:
                ignored.append(heading)
            continue
        if name in columns:
            raise SheetUnreadable(
                source,
                f"columns {written[name]!r} and {heading!r} both give "
                f"{SHOWN[name]}/{name}; keep one",
            )
        columns[name] = index
        written[name] = heading
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        wanted = ", ".join(f"{SHOWN[name]}/{name}" for name in missing)
        raise SheetUnreadable(source, f"missing required columns: {wanted}")

    # 3. The rows, numbered as the sheet numbers them.
    found: list[SheetRow] = []
    for line, values in lines:
        if all(_blank(value) for value in values):
            continue
        fields: dict[str, str] = {}
        notes: dict[str, str] = {}
        for name, index in columns.items():
            text, note = _text(name, values[index] if index < len(values) else None)
            fields[name] = text
            if note is not None:
                notes[name] = note
        found.append(SheetRow(line, fields, notes))
    return Sheet(source, format_, written, ignored, found)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(name: str, value: object) -> tuple[str, str | None]:
    """A cell's text, and a note when its value cannot be taken as written."""
    if value is None:
        return "", None
    if isinstance(value, bool):
        return str(value).lower(), None
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, float):
        # NOTE: a numeric cell arrives as a double. Its shortest repr gives back
        # the decimal the officer typed whenever that had at most 15 significant
        # digits, which covers every amount; longer identifiers are already
        # rounded in the file and cannot be recovered.
        if name in _IDENTIFIERS and abs(value) >= 10**_EXACT_DIGITS:
            return "", (
                f"{SHOWN[name]} was stored as a number and Excel rounded it "
                f"({value:.15g}); format the column as text and type it again"
            )
        if value.is_integer() and abs(value) < 10**_EXACT_DIGITS:
            return str(int(value)), None
        return repr(value), None
    if isinstance(value, datetime | date):
        return value.isoformat(), None
    return str(value).strip(), None
