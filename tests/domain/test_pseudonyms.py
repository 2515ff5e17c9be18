"""Pseudonyms for people and bank accounts, and masked names for notice lists."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidBankAccount, WeakSecret
from domain.pseudonyms import (
    MIN_SECRET_BYTES,
    account_ref,
    mask_bank_account,
    mask_name,
    normalise_bank_account,
    person_ref,
)
from domain.resident_id import ResidentId, parse_resident_id

SECRET = b"fundledger test pseudonym secret"  # exactly 32 bytes
OTHER_SECRET = b"another deployment's secret, 32b"
ACCOUNT = "6222021234567890123"
HEX_64 = re.compile(r"[0-9a-f]{64}")
# Digits as a Chinese input method types them in full-width form.
FULLWIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "0123456789"})


def _resident(text: str = "11010519491231002X") -> ResidentId:
    return parse_resident_id(text, today=date(2024, 6, 1))


# --- person_ref and account_ref ---------------------------------------------


def test_person_ref_is_the_documented_hmac() -> None:
    expected = hmac.new(
        SECRET, b"person:11010519491231002X", hashlib.sha256
    ).hexdigest()
    assert person_ref(SECRET, _resident()) == expected


def test_person_ref_is_deterministic_hex_and_depends_on_the_secret() -> None:
    first = person_ref(SECRET, _resident())
    assert first == person_ref(SECRET, _resident(" 11010519491231002x "))
    assert HEX_64.fullmatch(first)
    assert first != person_ref(OTHER_SECRET, _resident())
    assert first != person_ref(SECRET, _resident("34052419800101001X"))


def test_a_first_generation_number_and_its_upgrade_are_one_person() -> None:
    assert person_ref(SECRET, _resident("441900890101221")) == person_ref(
        SECRET, _resident("441900198901012219")
    )


def test_account_ref_is_the_documented_hmac() -> None:
    expected = hmac.new(
        SECRET, b"account:" + ACCOUNT.encode(), hashlib.sha256
    ).hexdigest()
    assert account_ref(SECRET, ACCOUNT) == expected


@pytest.mark.parametrize(
    "written",
    [
        pytest.param("6222 0212 3456 7890 123", id="spaces"),
        pytest.param("6222-0212-3456-7890-123", id="hyphens"),
        pytest.param(" 6222 02-12 3456\t7890 123 ", id="mixed"),
        pytest.param("6222\u30000212345678901\u300023", id="ideographic-spaces"),
    ],
)
def test_account_ref_ignores_spaces_and_hyphens(written: str) -> None:
    assert normalise_bank_account(written) == ACCOUNT
    assert account_ref(SECRET, written) == account_ref(SECRET, ACCOUNT)


def test_account_ref_depends_on_the_secret_and_the_number() -> None:
    reference = account_ref(SECRET, ACCOUNT)
    assert HEX_64.fullmatch(reference)
    assert reference != account_ref(OTHER_SECRET, ACCOUNT)
    assert reference != account_ref(SECRET, ACCOUNT[:-1] + "4")


def test_a_person_and_an_account_with_the_same_digits_differ() -> None:
    number = "370101190102039973"
    assert person_ref(SECRET, _resident(number)) != account_ref(SECRET, number)


@pytest.mark.parametrize(
    ("account", "reason"),
    [
        pytest.param("1234567", "length", id="seven-digits"),
        pytest.param("1" * 31, "length", id="thirty-one-digits"),
        pytest.param("", "length", id="empty"),
        pytest.param("6222O21234567890", "characters", id="letter"),
        pytest.param("6222.0212.3456.7890", "characters", id="dots"),
        pytest.param(ACCOUNT.translate(FULLWIDTH), "characters", id="fullwidth"),
    ],
)
def test_invalid_accounts_are_refused(account: str, reason: str) -> None:
    with pytest.raises(InvalidBankAccount) as raised:
        account_ref(SECRET, account)
    assert raised.value.reason == reason
    assert raised.value.reason in InvalidBankAccount.REASONS
    assert raised.value.value == account


def test_a_refused_account_shows_only_its_last_four_digits() -> None:
    account = "6222 0212 3456 7890 1234 5678 9012 345"  # 31 digits
    with pytest.raises(InvalidBankAccount, match=r" \*{27}2345 is invalid"):
        account_ref(SECRET, account)
    assert mask_bank_account("6222021234567890") == "************7890"
    assert mask_bank_account("123456") == "***456"
    assert mask_bank_account("1") == "*"


@given(st.text())
def test_a_bank_account_mask_never_shows_more_than_four(account: str) -> None:
    masked = mask_bank_account(account)
    assert len(masked) == len(account)
    assert sum(character != "*" for character in masked) <= 4
    assert masked.endswith(account[len(account) - len(masked.lstrip("*")) :])


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"x" * (MIN_SECRET_BYTES - 1), id="one-byte-short"),
    ],
)
def test_short_secrets_are_refused(secret: bytes) -> None:
    with pytest.raises(WeakSecret) as raised:
        person_ref(secret, _resident())
    assert (raised.value.length, raised.value.minimum) == (len(secret), 32)
    with pytest.raises(WeakSecret):
        account_ref(secret, ACCOUNT)


# --- mask_name --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        pytest.param("张三", "张*", id="two-characters"),
        pytest.param("张三丰", "张*丰", id="three-characters"),
        pytest.param("欧阳小明", "欧**明", id="four-characters"),
        pytest.param("爱新觉罗溥仪", "爱****仪", id="six-characters"),
        pytest.param("买买提·艾力", "买****力", id="with-middle-dot"),
        pytest.param(" 张 三 ", "张*", id="spaces-around-and-inside"),
        pytest.param("张", "*", id="one-character"),
        pytest.param("Li Ming", "L* M***", id="latin"),
        pytest.param("Jean-Luc  Picard", "J***-L**  P*****", id="latin-hyphen"),
        pytest.param("A", "A", id="latin-initial"),
        pytest.param("", "", id="empty"),
        pytest.param("   ", "", id="blank"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


han_names = st.text(
    alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    min_size=2,
    max_size=8,
)


@given(han_names)
def test_a_chinese_name_shows_only_its_first_and_last_characters(name: str) -> None:
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert masked[0] == name[0]
    assert set(masked[1:-1]) <= {"*"}
    assert masked[-1] == (name[-1] if len(name) > 2 else "*")


latin_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEZ", min_size=1)


@given(st.lists(latin_words, min_size=1, max_size=4))
def test_a_latin_name_shows_only_the_first_letter_of_each_word(
    words: list[str],
) -> None:
    masked = mask_name(" ".join(words))
    assert masked.split(" ") == [w[0] + "*" * (len(w) - 1) for w in words]
