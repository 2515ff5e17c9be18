"""Reading lists, without a ledger: headings, encodings, Excel's numbers, amounts.

The same list must read the same whether it is UTF-8 (with or without a BOM),
GB18030 or XLSX, under Chinese or English headings in their usual variants,
below a title row or not; its line numbers must be the spreadsheet's own; an
ID number that Excel kept as a rounded number must be refused, never guessed;
amounts must be read to the fen exactly. The list's digest, which makes an
import happen once, must follow the content and not the file's format.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from api.cli_import import ProgressBar
from api.importing import SheetUnreadable, read_sheet, read_sheet_bytes
from api.importing_check import parse_yuan, programme_of
from api.importing_record import list_digest
from domain.policy import load_policy

ID_NUMBER = "11010519491231002X"
CSV = (
    "2026年秋季学期普通高中国家助学金发放名册\n"
    "序号,姓名,身份证号码,学校,年级,资助项目,金额（元）,学期,银行账号,备注\n"
    f"1,张小明,{ID_NUMBER},422822S0001,高一,HS_GRANT,1250.00,秋季,"
    "6217 0000 1111 2222,\n"
    ",,,,,,,,,\n"
    f'2,李四,{ID_NUMBER[:-1]}x,422822S0001,高二,普通高中国家助学金,"1,250",autumn,,\n'
)


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_csv_reads_alike_in_every_encoding(encoding: str) -> None:
    sheet = read_sheet_bytes(CSV.encode(encoding), "list.csv")

    assert sheet.format == f"csv ({'gb18030' if encoding == 'gb18030' else 'utf-8'})"
    assert sheet.ignored == ["序号", "备注"]
    assert sheet.columns["amount"] == "金额（元）"
    # The title is line 1, the heading line 2, a blank row line 4.
    assert [row.line for row in sheet.rows] == [3, 5]
    first, second = sheet.rows
    assert first.fields["name"] == "张小明"
    assert first.fields["bank_account"] == "6217 0000 1111 2222"
    assert second.fields["amount"] == "1,250"


def test_english_headings_and_tabs() -> None:
    text = "Name\t ID_Number \tSCHOOL\tProgramme\tAmount (Yuan)\n张三\t1\t2\t3\t4\n"
    sheet = read_sheet_bytes(text.encode(), "list.txt")
    assert set(sheet.columns) == {"name", "id_number", "school", "programme", "amount"}
    assert sheet.rows[0].fields["amount"] == "4"


def test_excel_numbers_are_taken_back_only_where_exact() -> None:
    data = _xlsx(
        [
            ["姓名", "身份证号", "学校", "资助项目", "金额", "银行账号"],
            [
                "张三",
                110105491231002,  # a 15-digit first-generation card
                "S1",
                "HS_GRANT",
                1250.5,
                6.217000011112222e18,
            ],
            ["李四", 1.1010519491231002e17, "S1", "HS_GRANT", 1250, None],
        ]
    )
    sheet = read_sheet_bytes(data, "list.xlsx")

    first, second = sheet.rows
    assert first.fields["id_number"] == "110105491231002"
    assert first.fields["amount"] == "1250.5"
    assert "银行账号 was stored as a number" in first.notes["bank_account"]
    assert second.fields["id_number"] == ""
    assert "身份证号 was stored as a number" in second.notes["id_number"]
    assert second.fields["amount"] == "1250"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".xls", id="xls"),
        pytest.param(b"PK\x03\x04junk", "not a readable XLSX", id="bad-zip"),
        pytest.param("姓名,金额\n".encode(), "missing required columns", id="columns"),
        pytest.param(b"\xef\xbb\xbf\xff\xfe", "not valid UTF-8", id="bad-bom"),
    ],
)
def test_unreadable_lists_are_refused_whole(data: bytes, reason: str) -> None:
    with pytest.raises(SheetUnreadable, match=reason):
        read_sheet_bytes(data, "list")


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(SheetUnreadable, match="cannot read it"):
        read_sheet(tmp_path / "nowhere.csv")


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1250", 125000),
        ("1250.5", 125050),
        ("1250.05", 125005),
        ("1,250.00", 125000),
        ("¥1250", 125000),
        ("1250元", 125000),
        ("\uff11\uff12\uff15\uff10", 125000),  # full-width digits, as IMEs type
        ("0.10", 10),
    ],
)
def test_amounts_are_read_to_the_fen(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text", ["", "1250.005", "-5", "1e3", "12,50", "一千", "1250.", "nan"]
)
def test_amounts_that_are_not_yuan_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="at most two decimals"):
        parse_yuan(text)


@given(st.integers(min_value=0, max_value=10**15))
def test_any_fen_written_as_yuan_reads_back_exactly(fen: int) -> None:
    assert parse_yuan(f"{fen // 100}.{fen % 100:02d}") == fen


def test_programmes_by_code_or_name() -> None:
    policy = load_policy()
    assert programme_of(policy, "hs_grant").code == "HS_GRANT"
    assert programme_of(policy, " 普通高中国家助学金 ").code == "HS_GRANT"
    with pytest.raises(ValueError, match="neither a code"):
        programme_of(policy, "助学金")


def test_the_digest_follows_the_content_not_the_format() -> None:
    policy = load_policy()
    rows: list[list[object]] = [
        ["姓名", "身份证号", "学校", "资助项目", "金额", "学期"],
        ["张三", ID_NUMBER, "422822S0001", "普通高中国家助学金", 1250, "秋季学期"],
    ]
    xlsx = read_sheet_bytes(_xlsx(rows), "list.xlsx")
    text = "姓名,身份证号,学校,资助项目,金额,学期\n"
    text += f'张三,{ID_NUMBER.lower()},422822S0001,HS_GRANT,"1,250.00",autumn\n'
    csv = read_sheet_bytes(text.encode("gb18030"), "list.csv")

    digest = list_digest(policy, xlsx, "422822", 2026, None)
    assert list_digest(policy, csv, "422822", 2026, None) == digest
    assert list_digest(policy, csv, "422822", 2027, None) != digest
    assert list_digest(policy, csv, "422823", 2026, None) != digest


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_on_a_terminal_only() -> None:
    plain = io.StringIO()
    bar = ProgressBar(plain)
    bar("checking", 500, 1000)
    bar.close()
    assert plain.getvalue() == ""

    terminal = _Terminal()
    bar = ProgressBar(terminal)
    bar("checking", 1000, 1000)
    assert "[##############################] 1,000/1,000 rows" in terminal.getvalue()
    bar.close()
    assert terminal.getvalue().endswith("\r\x1b[K")
