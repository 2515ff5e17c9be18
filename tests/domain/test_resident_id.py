"""Citizen identity numbers: published examples, named invalid cases, properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.errors import DayBeforeBirth, InvalidResidentId
from domain.resident_id import (
    CHECK_CHARACTERS,
    EARLIEST_BIRTH_DATE,
    PROVINCE_CODES,
    WEIGHTS,
    ResidentId,
    age_on,
    check_character,
    mask_resident_id,
    parse_resident_id,
)

# A fixed "today", so that no test changes meaning with the calendar.
TODAY = date(2024, 6, 1)

# The worked example of GB 11643-1999 (appendix): Beijing, Chaoyang District,
# born 1949-12-31, female. Quoted, with the standard's second example below, in
# https://ltesting.net/html/07/n-95307.html and worked through digit by digit in
# https://barkure.xlog.app/MOD-112 .
STANDARD_EXAMPLE = "11010519491231002X"

# Digits and X as a Chinese input method types them in full-width form.
FULLWIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "0123456789X"})


def _with_check(first17: str) -> str:
    return first17 + check_character(first17)


def _parse(text: str) -> ResidentId:
    return parse_resident_id(text, today=TODAY)


def _refusal(text: str) -> InvalidResidentId:
    with pytest.raises(InvalidResidentId) as raised:
        _parse(text)
    return raised.value


# --- published examples -----------------------------------------------------


@pytest.mark.parametrize(
    ("number", "region", "born", "sequence", "sex"),
    [
        # GB 11643-1999, appendix (see STANDARD_EXAMPLE).
        pytest.param(
            STANDARD_EXAMPLE, "110105", date(1949, 12, 31), "002", "female", id="gb"
        ),
        # Worked example "某男性的身份证号码是34052419800101001X", weighted sum 189,
        # remainder 2: https://kyle.ai/blog/?p=125
        pytest.param(
            "34052419800101001X", "340524", date(1980, 1, 1), "001", "male", id="kyle"
        ),
        # Worked example for a man of Jinan born 1901-02-03, body 37010119010203997,
        # check 3: https://www.zhshbaida.com/life/285204.html
        pytest.param(
            "370101190102039973", "370101", date(1901, 2, 3), "997", "male", id="jinan"
        ),
        # Valid examples in the stdnum test suite (cn/ric.spec.ts,
        # https://app.unpkg.com/stdnum@1.11.1/files/src/cn/ric.spec.ts) and the
        # dataprep documentation
        # (https://docs.dataprep.ai/user_guide/clean/clean_cn_ric.html).
        pytest.param(
            "360426199101010071", "360426", date(1991, 1, 1), "007", "male", id="stdnum"
        ),
        pytest.param(
            "120103198806018241",
            "120103",
            date(1988, 6, 1),
            "824",
            "female",
            id="stdnum2",
        ),
        pytest.param(
            "230306196304054513",
            "230306",
            date(1963, 4, 5),
            "451",
            "male",
            id="dataprep",
        ),
    ],
)
def test_published_valid_numbers_parse_into_their_fields(
    number: str, region: str, born: date, sequence: str, sex: str
) -> None:
    parsed = _parse(number)
    assert parsed.number == number
    assert parsed.region_code == region
    assert parsed.birth_date == born
    assert parsed.sequence == sequence
    assert parsed.sex == sex
    assert check_character(number[:17]) == number[17]


def test_a_first_generation_number_is_upgraded() -> None:
    # The example of the R package IDCard: id.15to18.single("441900890101221")
    # gives "441900198901012219" (https://rdrr.io/cran/IDCard/man/
    # id.15to18.single.html).
    parsed = _parse("441900890101221")
    assert parsed.number == "441900198901012219"
    assert (parsed.region_code, parsed.birth_date) == ("441900", date(1989, 1, 1))
    assert (parsed.sequence, parsed.sex) == ("221", "male")
    assert parsed == _parse("441900198901012219")


def test_the_iso_7064_examples_hold_for_check_character() -> None:
    # ISO/IEC 7064 MOD 11-2 examples as given by the iso-7064 crate
    # (https://docs.rs/iso-7064): 079 → X, 0794 → 0. Leading zeros add nothing
    # to the weighted sum, so padding to 17 digits keeps the check character.
    assert check_character("079".zfill(17)) == "X"
    assert check_character("0794".zfill(17)) == "0"


def test_the_weights_are_powers_of_two_mod_11() -> None:
    assert tuple(pow(2, 17 - i, 11) for i in range(17)) == WEIGHTS
    # The check value makes the whole sum 1 mod 11: (12 - remainder) mod 11.
    values = [(12 - remainder) % 11 for remainder in range(11)]
    assert "".join("X" if v == 10 else str(v) for v in values) == CHECK_CHARACTERS


def test_surrounding_whitespace_and_a_lowercase_x_are_accepted() -> None:
    parsed = _parse(" \t11010519491231002x\u3000\n")
    assert parsed.number == STANDARD_EXAMPLE


def test_known_region_is_asked_for_the_whole_address_code() -> None:
    asked: list[str] = []

    def known(code: str) -> bool:
        asked.append(code)
        return code == "110105"

    parse_resident_id(STANDARD_EXAMPLE, today=TODAY, known_region=known)
    with pytest.raises(InvalidResidentId) as raised:
        parse_resident_id(
            _with_check("11010619491231002"), today=TODAY, known_region=known
        )
    error = raised.value
    assert asked == ["110105", "110106"]
    assert error.reason == "unknown-region"
    assert "110106" not in str(error)


# --- named invalid cases ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("110105194912310021", "check-character", id="wrong-check-char"),
        # stdnum's invalid example (cn/ric.spec.ts, see above).
        pytest.param("360426199101010072", "check-character", id="stdnum-invalid"),
        # dataprep's invalid example (see above): the check character is X.
        pytest.param("230307196304054513", "check-character", id="dataprep-invalid"),
        pytest.param(_with_check("99010519491231002"), "region", id="bad-region"),
        pytest.param(_with_check("00010519491231002"), "region", id="zero-region"),
        pytest.param(_with_check("83010019900101002"), "region", id="region-83"),
        pytest.param(_with_check("11010519490230002"), "birth-date", id="feb-30"),
        pytest.param(_with_check("11010519491301002"), "birth-date", id="month-13"),
        pytest.param(_with_check("11010519490229002"), "birth-date", id="feb-29-1949"),
        # The second example of GB 11643-1999 (Shantou, born 1880-01-01): its
        # check character is right, but we accept no birth before 1900.
        pytest.param("440524188001010014", "birth-date", id="born-1880"),
        pytest.param(
            _with_check("11010520300101002"), "future-birth-date", id="future-birth"
        ),
        pytest.param(
            _with_check("11010520240602002"), "future-birth-date", id="born-tomorrow"
        ),
        pytest.param("1101051949123100", "length", id="too-short"),
        pytest.param("11010519491231002X0", "length", id="too-long"),
        pytest.param("", "length", id="empty"),
        pytest.param("11010519491231002A", "characters", id="letters"),
        pytest.param("1101O519491231002X", "characters", id="letter-o-for-zero"),
        pytest.param("1101051949123100X2", "characters", id="x-in-wrong-place"),
        pytest.param("44190089010122X", "characters", id="x-in-15-digits"),
        pytest.param(
            STANDARD_EXAMPLE.translate(FULLWIDTH), "characters", id="fullwidth"
        ),
        pytest.param("110105-19491231-02", "characters", id="hyphens"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(text: str, reason: str) -> None:
    error = _refusal(text)
    assert error.reason == reason
    assert error.reason in InvalidResidentId.REASONS
    assert error.value == text
    assert str(error).startswith(f"resident ID {error.masked} is invalid: expected ")
    if len(text.strip()) > 8:
        assert text.strip() not in str(error)


def test_the_message_masks_the_number_and_keeps_the_raw_value() -> None:
    error = _refusal("420106200501011238")
    assert "4201**********1238" in str(error)
    assert "420106200501011238" not in str(error)
    assert error.value == "420106200501011238"
    assert error.reason == "check-character"


def test_a_birth_on_the_day_of_checking_is_accepted() -> None:
    assert _parse(_with_check("11010520240601002")).birth_date == TODAY
    assert _parse(_with_check("11010519000101002")).birth_date == EARLIEST_BIRTH_DATE


def test_check_character_refuses_anything_but_17_digits() -> None:
    with pytest.raises(InvalidResidentId) as raised:
        check_character("1101051949123100")
    assert raised.value.reason == "length"
    with pytest.raises(InvalidResidentId) as raised:
        check_character("1101051949123100A")
    assert raised.value.reason == "characters"


def test_repr_does_not_show_the_number() -> None:
    parsed = _parse(STANDARD_EXAMPLE)
    assert STANDARD_EXAMPLE not in repr(parsed)
    assert "1949" not in repr(parsed)
    assert repr(parsed) == "ResidentId('1101**********002X')"
    assert str(parsed) == repr(parsed)


# --- masking ----------------------------------------------------------------


def test_mask_keeps_the_first_and_last_four_characters() -> None:
    assert mask_resident_id("42010620050101123X") == "4201**********123X"
    assert mask_resident_id("441900890101221") == "441*********221"
    assert mask_resident_id("1234567") == "1*****7"
    assert mask_resident_id("123") == "***"
    assert mask_resident_id("") == ""


@given(st.text())
def test_a_mask_never_shows_more_than_eight_characters(text: str) -> None:
    masked = mask_resident_id(text)
    assert len(masked) == len(text)
    shown = [i for i, character in enumerate(masked) if character != "*"]
    assert len(shown) <= 8
    assert len(shown) <= len(text) // 2
    assert all(masked[i] == text[i] for i in shown)


# --- age --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "age"),
    [
        pytest.param(date(1949, 12, 31), 0, id="day-of-birth"),
        pytest.param(date(2024, 12, 30), 74, id="day-before-birthday"),
        pytest.param(date(2024, 12, 31), 75, id="birthday"),
    ],
)
def test_age_is_counted_in_whole_years(day: date, age: int) -> None:
    assert age_on(_parse(STANDARD_EXAMPLE), day) == age


def test_a_leap_day_birth_ages_on_the_first_of_march() -> None:
    leap = _parse(_with_check("42010620080229002"))
    assert age_on(leap, date(2009, 2, 28)) == 0
    assert age_on(leap, date(2009, 3, 1)) == 1
    assert age_on(leap, date(2012, 2, 29)) == 4


def test_age_before_birth_is_refused() -> None:
    with pytest.raises(DayBeforeBirth) as raised:
        age_on(_parse(STANDARD_EXAMPLE), date(1949, 12, 30))
    assert raised.value.day == date(1949, 12, 30)
    assert "1949-12-31" not in str(raised.value)


# --- properties -------------------------------------------------------------

regions = st.builds(
    lambda province, rest: province + f"{rest:04d}",
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.integers(0, 9999),
)
birth_dates = st.dates(min_value=EARLIEST_BIRTH_DATE, max_value=TODAY)
sequences = st.integers(0, 999).map(lambda n: f"{n:03d}")


@st.composite
def valid_numbers(draw: st.DrawFn) -> str:
    first17 = draw(regions) + draw(birth_dates).strftime("%Y%m%d") + draw(sequences)
    return _with_check(first17)


@given(regions, birth_dates, sequences)
def test_a_built_number_parses_back_to_its_fields(
    region: str, born: date, sequence: str
) -> None:
    number = _with_check(region + born.strftime("%Y%m%d") + sequence)
    parsed = _parse(number)
    assert parsed.number == number
    assert parsed.region_code == region
    assert parsed.birth_date == born
    assert parsed.sequence == sequence
    assert parsed.sex == ("male" if int(sequence[2]) % 2 else "female")
    assert _parse(number.lower()) == parsed


@given(valid_numbers())
def test_the_iso_7064_sum_of_a_valid_number_is_one(number: str) -> None:
    # ISO 7064 MOD 11-2 (pure system): with the check character's value (X = 10)
    # weighted 1, the weighted sum of all 18 positions is 1 mod 11.
    values = [10 if character == "X" else int(character) for character in number]
    assert sum(v * pow(2, 17 - i, 11) for i, v in enumerate(values)) % 11 == 1


@given(valid_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_every_single_substitution_is_caught(
    number: str, position: int, replacement: str
) -> None:
    assume(replacement != number[position])
    assume(position == 17 or replacement != "X")
    changed = number[:position] + replacement + number[position + 1 :]
    assert check_character(changed[:17]) != changed[17]
    _refusal(changed)


def test_every_single_substitution_of_the_standard_example_is_caught() -> None:
    for position in range(18):
        allowed = "0123456789X" if position == 17 else "0123456789"
        for replacement in allowed.replace(STANDARD_EXAMPLE[position], ""):
            changed = (
                STANDARD_EXAMPLE[:position]
                + replacement
                + STANDARD_EXAMPLE[position + 1 :]
            )
            assert check_character(changed[:17]) != changed[17], changed


@given(st.text(alphabet="0123456789X", min_size=18, max_size=18))
def test_no_refusal_message_contains_the_number(text: str) -> None:
    try:
        _parse(text)
    except InvalidResidentId as error:
        refusal = error
    else:
        return
    assert text not in str(refusal)
    assert refusal.reason in InvalidResidentId.REASONS
