"""Tests for RFC 8785 canonical JSON.

The RFC's own examples pin the exact bytes. Property tests then compare every
accepted value against ``rfc8785``, an independent implementation, and check the
module's fast path (the C encoder) against its reference path on the same
values, so that neither can drift from JCS unnoticed. The private encoder,
decoder and number layout are imported on purpose, to test each path directly.
"""

from __future__ import annotations

import enum
import json
import math
import struct
from collections import OrderedDict

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import (
    _REFERENCE_DECODER,
    MAX_SAFE_INTEGER,
    JSONValue,
    _encode_slow,
    _is_plain,
    _number_to_string,
    canonical_bytes,
    canonicalize_json,
    dumps_plain,
    is_canonical,
    parse_plain,
)
from ledger.errors import NotCanonical

# --- RFC 8785 examples ------------------------------------------------------

# Section 3.2.2: the input, with the escapes the RFC uses on purpose.
PRIMITIVES_TEXT = r"""
  {
    "numbers": [333333333.33333329, 1E30, 4.50,
                2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }
"""

# Section 3.2.4: the canonical form of the section 3.2.2 input, as UTF-8 bytes.
PRIMITIVES_BYTES = bytes.fromhex(
    "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72"
    "75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a"
    "5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31"
    "65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37"
    "5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30"
    "30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d"
)

# Section 3.2.3: property names whose UTF-16 order differs from their UTF-8 and
# code-point order (the emoji's leading surrogate 0xD83D sorts before U+FB33).
SORTING_TEXT = r"""
  {
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  }
"""

SORTED_VALUES = [
    "Carriage Return",
    "One",
    "Control",
    "Latin Small Letter O With Diaeresis",
    "Euro Sign",
    "Emoji: Grinning Face",
    "Hebrew Letter Dalet With Dagesh",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(PRIMITIVES_TEXT, PRIMITIVES_BYTES, id="primitives-3.2.2-3.2.4"),
        pytest.param(
            SORTING_TEXT,
            (
                '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
                '"\u00f6":"Latin Small Letter O With Diaeresis",'
                '"\u20ac":"Euro Sign","\U0001f600":"Emoji: Grinning Face",'
                '"\ufb33":"Hebrew Letter Dalet With Dagesh"}'
            ).encode(),
            id="sorting-3.2.3",
        ),
    ],
)
def test_rfc_examples(text: str, expected: bytes) -> None:
    canonical = canonicalize_json(text)

    assert canonical == expected
    assert canonical_bytes(json.loads(text)) == expected
    assert is_canonical(expected)
    assert not is_canonical(text.encode())


def test_rfc_sorting_example_puts_values_in_the_stated_order() -> None:
    members = json.loads(canonicalize_json(SORTING_TEXT))

    assert list(members.values()) == SORTED_VALUES


# Appendix B, "ECMAScript-Compatible JSON Number Serialization Samples":
# (IEEE 754 bits in hex, JSON representation). The NaN and Infinity rows have
# no representation and appear among the refusals below.
APPENDIX_B = [
    pytest.param("0000000000000000", "0", id="zero"),
    pytest.param("8000000000000000", "0", id="minus-zero"),
    pytest.param("0000000000000001", "5e-324", id="min-pos-number"),
    pytest.param("8000000000000001", "-5e-324", id="min-neg-number"),
    pytest.param("7fefffffffffffff", "1.7976931348623157e+308", id="max-pos-number"),
    pytest.param("ffefffffffffffff", "-1.7976931348623157e+308", id="max-neg-number"),
    pytest.param("4340000000000000", "9007199254740992", id="max-pos-int"),
    pytest.param("c340000000000000", "-9007199254740992", id="max-neg-int"),
    pytest.param("4430000000000000", "295147905179352830000", id="about-2-pow-68"),
    pytest.param("44b52d02c7e14af5", "9.999999999999997e+22", id="below-1e23"),
    pytest.param("44b52d02c7e14af6", "1e+23", id="1e23"),
    pytest.param("44b52d02c7e14af7", "1.0000000000000001e+23", id="above-1e23"),
    pytest.param("444b1ae4d6e2ef4e", "999999999999999700000", id="below-1e21-by-2"),
    pytest.param("444b1ae4d6e2ef4f", "999999999999999900000", id="below-1e21"),
    pytest.param("444b1ae4d6e2ef50", "1e+21", id="1e21"),
    pytest.param("3eb0c6f7a0b5ed8c", "9.999999999999997e-7", id="below-1e-6"),
    pytest.param("3eb0c6f7a0b5ed8d", "0.000001", id="1e-6"),
    pytest.param("41b3de4355555553", "333333333.3333332", id="third-minus-2"),
    pytest.param("41b3de4355555554", "333333333.33333325", id="third-minus-1"),
    pytest.param("41b3de4355555555", "333333333.3333333", id="third"),
    pytest.param("41b3de4355555556", "333333333.3333334", id="third-plus-1"),
    pytest.param("41b3de4355555557", "333333333.33333343", id="third-plus-2"),
    pytest.param("becbf647612f3696", "-0.0000033333333333333333", id="small-negative"),
    pytest.param("43143ff3c1cb0959", "1424953923781206.2", id="round-to-even"),
]


def double(bits: str) -> float:
    """The double with the given big-endian IEEE 754 bits."""
    number: float = struct.unpack(">d", bytes.fromhex(bits))[0]
    return number


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_appendix_b_number_layout(bits: str, expected: str) -> None:
    assert _number_to_string(double(bits)) == expected


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_appendix_b_through_the_public_api(bits: str, expected: str) -> None:
    number = double(bits)

    # Doubles ECMAScript prints as integers beyond 2**53 are refused, since the
    # text would be read back as an integer a double has rounded.
    if MAX_SAFE_INTEGER < abs(number) < 1e21:
        with pytest.raises(NotCanonical, match="unsafe integer"):
            canonical_bytes(number)
        return
    assert canonical_bytes(number) == expected.encode()
    assert canonical_bytes([number]) == f"[{expected}]".encode()
    assert canonicalize_json(repr(number)) == expected.encode()


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        pytest.param(1e21, "1e+21", id="exponent-from-1e21"),
        pytest.param(1e20, "100000000000000000000", id="no-exponent-below-1e21"),
        pytest.param(1e-7, "1e-7", id="exponent-below-1e-6"),
        pytest.param(0.000001, "0.000001", id="fixed-from-1e-6"),
        pytest.param(-0.0, "0", id="negative-zero"),
        pytest.param(100.0, "100", id="integral-double"),
        pytest.param(1e16, "10000000000000000", id="python-repr-uses-exponent"),
        pytest.param(0.1, "0.1", id="one-tenth"),
        pytest.param(-1.5e-7, "-1.5e-7", id="negative-exponent-with-fraction"),
        pytest.param(123e-20, "1.23e-18", id="multi-digit-exponent"),
    ],
)
def test_number_layout_edges(number: float, expected: str) -> None:
    assert _number_to_string(number) == expected


# --- refusals ---------------------------------------------------------------


class Colour(enum.IntEnum):
    """An int subclass, whose JSON form a subclass could redefine."""

    RED = 1


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(math.nan, "finite", id="nan"),
        pytest.param(math.inf, "finite", id="inf"),
        pytest.param([-math.inf], "finite", id="minus-inf-in-list"),
        pytest.param(2**53, "within", id="2-pow-53"),
        pytest.param({"fen": -(2**53)}, "within", id="minus-2-pow-53-in-object"),
        pytest.param(10**30, "within", id="huge-int"),
        pytest.param(2.0**60, "unsafe integer", id="double-printed-as-big-int"),
        pytest.param("a\ud800b", "surrogate", id="lone-surrogate"),
        pytest.param({"\udc00": 1}, "surrogate", id="lone-surrogate-key"),
        pytest.param({1: "one"}, "must be str", id="int-key"),
        pytest.param({None: "none"}, "must be str", id="none-key"),
        pytest.param({"a": {True: 1}}, "must be str", id="nested-bool-key"),
        pytest.param({"a": {1, 2}}, "found set", id="set-value"),
        pytest.param(b"bytes", "found bytes", id="bytes-value"),
        pytest.param((1, 2), "found tuple", id="tuple-value"),
        pytest.param(Colour.RED, "found Colour", id="int-subclass"),
        pytest.param(OrderedDict(a=1), "found OrderedDict", id="dict-subclass"),
    ],
)
def test_canonical_bytes_refuses(value: object, reason: str) -> None:
    with pytest.raises(NotCanonical, match=reason) as caught:
        canonical_bytes(value)  # type: ignore[arg-type]

    assert reason in caught.value.reason


def test_canonical_bytes_refuses_a_cycle() -> None:
    cycle: list[object] = []
    cycle.append(cycle)

    with pytest.raises(NotCanonical, match="cycle"):
        canonical_bytes(cycle)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("[NaN]", "NaN", id="nan"),
        pytest.param('{"a":Infinity}', "Infinity", id="infinity"),
        pytest.param("-Infinity", "Infinity", id="minus-infinity"),
        pytest.param("1e400", "finite", id="overflows-to-infinity"),
        pytest.param("9007199254740992", "within", id="2-pow-53"),
        pytest.param("-9007199254740992", "within", id="minus-2-pow-53"),
        pytest.param("[" + "9" * 5000 + "]", "within", id="five-thousand-digits"),
        pytest.param("1152921504606846976.0", "unsafe integer", id="big-double"),
        pytest.param('"\\ud800"', "surrogate", id="escaped-lone-surrogate"),
        pytest.param('{"\\udead":1}', "surrogate", id="lone-surrogate-key"),
        pytest.param(b'"\xed\xa0\x80"', "UTF-8", id="encoded-surrogate"),
        pytest.param(b'"\xff"', "UTF-8", id="invalid-utf8"),
        pytest.param('{"a":1,"a":2}', "'a' repeats", id="duplicate-keys"),
        pytest.param('{"x":{"b":1,"b":1}}', "'b' repeats", id="nested-duplicate"),
        pytest.param('{"1.5":1.5,"1.5":2}', "repeats", id="duplicate-on-slow-path"),
        pytest.param("[1,]", "not valid JSON", id="trailing-comma"),
        pytest.param("{} {}", "not valid JSON", id="two-values"),
        pytest.param("\ufeff{}", "not valid JSON", id="byte-order-mark"),
        pytest.param("", "not valid JSON", id="empty"),
        pytest.param("[" * 100_000, "deeply", id="too-deep"),
    ],
)
def test_canonicalize_json_refuses(text: str | bytes, reason: str) -> None:
    with pytest.raises(NotCanonical, match=reason):
        canonicalize_json(text)

    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    assert not is_canonical(raw)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b'{"a":1,"b":[true,null]}', True, id="canonical"),
        pytest.param(b'"\xe4\xb8\xad"', True, id="literal-utf8"),
        pytest.param(b'"\\u0001"', True, id="lowercase-control-escape"),
        pytest.param(b"1e+21", True, id="exponent-number"),
        pytest.param(b'{"b":1,"a":2}', False, id="unsorted"),
        pytest.param(b'{"a": 1}', False, id="whitespace"),
        pytest.param(b"1.0", False, id="trailing-zero"),
        pytest.param(b"-0", False, id="negative-zero"),
        pytest.param(b"1E3", False, id="exponent-on-integer"),
        pytest.param(b'"\\u0041"', False, id="needless-escape"),
        pytest.param(b'"\\/"', False, id="escaped-solidus"),
        pytest.param(b'"\\u001F"', False, id="uppercase-hex"),
        pytest.param(b'"\\u4e2d"', False, id="escaped-non-ascii"),
        pytest.param(b"1\n", False, id="trailing-newline"),
    ],
)
def test_is_canonical(data: bytes, expected: bool) -> None:
    assert is_canonical(data) is expected


# --- properties ---------------------------------------------------------------

# Characters chosen to make UTF-16 and code-point order disagree: supplementary
# characters (surrogate pairs in UTF-16) against U+E000..U+FFFF, plus controls
# and the characters JSON escapes.
AWKWARD_CHARACTERS = st.sampled_from(
    [
        *("a", "\x00", "\x1f", "\x7f", '"', "\\", "\u2028", "\u4e2d"),
        *("\ue000", "\ufb33", "\uffff", "\U00010000", "\U0001f600", "\U0010ffff"),
    ]
)
TEXT = st.text(
    st.characters(exclude_categories=["Cs"]) | AWKWARD_CHARACTERS, max_size=8
)
BMP_TEXT = st.text(
    st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"])
    | AWKWARD_CHARACTERS.filter(lambda character: character <= "\uffff"),
    max_size=8,
)

SAFE_INTEGERS = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.sampled_from(
    [0, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]
)
ANY_INTEGERS = SAFE_INTEGERS | st.integers(-(2**64), 2**64)
FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 1e21, 1e-7, 1e-6, 5e-324, 9007199254740991.0, 9007199254740992.0]
)


def json_values(
    integers: st.SearchStrategy[int],
    floats: st.SearchStrategy[float] | None,
    keys: st.SearchStrategy[str],
) -> st.SearchStrategy[JSONValue]:
    """JSON values built from the given leaves, nested a few levels deep."""
    leaves: st.SearchStrategy[JSONValue] = st.none() | st.booleans() | integers | TEXT
    if floats is not None:
        leaves = leaves | floats

    def extend(
        children: st.SearchStrategy[JSONValue],
    ) -> st.SearchStrategy[JSONValue]:
        return st.lists(children, max_size=5) | st.dictionaries(
            keys, children, max_size=5
        )

    return st.recursive(leaves, extend, max_leaves=20)


def has_unsafe_number(value: JSONValue) -> bool:
    """Whether ``value`` holds a number that canonical_bytes must refuse."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return False
    if isinstance(value, int):
        return abs(value) > MAX_SAFE_INTEGER
    if isinstance(value, float):
        return MAX_SAFE_INTEGER < abs(value) < 1e21
    if isinstance(value, list):
        return any(has_unsafe_number(item) for item in value)
    return any(has_unsafe_number(item) for item in value.values())


ANY_VALUES = json_values(ANY_INTEGERS, FLOATS, TEXT)
ACCEPTED_VALUES = json_values(
    SAFE_INTEGERS, FLOATS.filter(lambda number: not has_unsafe_number(number)), TEXT
)
PLAIN_VALUES = json_values(SAFE_INTEGERS, None, BMP_TEXT)


@settings(max_examples=500)
@given(ANY_VALUES)
def test_matches_an_independent_implementation(value: JSONValue) -> None:
    if has_unsafe_number(value):
        with pytest.raises(NotCanonical):
            canonical_bytes(value)
        return

    assert canonical_bytes(value) == rfc8785.dumps(value)


@settings(max_examples=300)
@given(ACCEPTED_VALUES)
def test_canonical_form_is_a_fixed_point(value: JSONValue) -> None:
    canonical = canonical_bytes(value)

    assert canonicalize_json(canonical) == canonical
    assert canonicalize_json(canonical.decode()) == canonical
    assert is_canonical(canonical)


@settings(max_examples=300)
@given(ACCEPTED_VALUES, st.booleans(), st.sampled_from([None, 0, 2]))
def test_any_rendering_canonicalizes_to_the_same_bytes(
    value: JSONValue, ascii_only: bool, indent: int | None
) -> None:
    canonical = canonical_bytes(value)
    rendering = json.dumps(value, ensure_ascii=ascii_only, indent=indent).encode()

    assert canonicalize_json(rendering) == canonical
    assert is_canonical(rendering) == (rendering == canonical)


@settings(max_examples=300)
@given(ACCEPTED_VALUES)
def test_reference_path_agrees_with_the_public_api(value: JSONValue) -> None:
    canonical = canonical_bytes(value)
    text = json.dumps(value, ensure_ascii=False)

    assert _encode_slow(value) == canonical
    assert _encode_slow(_REFERENCE_DECODER.decode(text)) == canonical


@settings(max_examples=300)
@given(PLAIN_VALUES)
def test_fast_path_is_taken_and_exact_for_plain_values(value: JSONValue) -> None:
    assert _is_plain(value)
    assert canonical_bytes(value) == _encode_slow(value) == rfc8785.dumps(value)


def utf16_code_units(text: str) -> list[int]:
    """The UTF-16 code units of ``text``, computed from the surrogate formula."""
    units: list[int] = []
    for character in text:
        point = ord(character)
        if point < 0x10000:
            units.append(point)
        else:
            point -= 0x10000
            units += [0xD800 + (point >> 10), 0xDC00 + (point & 0x3FF)]
    return units


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.text(AWKWARD_CHARACTERS, min_size=1, max_size=3),
        SAFE_INTEGERS | FLOATS.filter(lambda number: not has_unsafe_number(number)),
        min_size=2,
        max_size=8,
    )
)
def test_members_are_sorted_by_utf16_code_units(members: dict[str, JSONValue]) -> None:
    canonical = canonical_bytes(members)
    names = list(json.loads(canonical))

    assert names == sorted(members, key=utf16_code_units)
    assert canonical == _encode_slow(members) == rfc8785.dumps(members)


def test_fast_path_is_left_for_floats_and_supplementary_keys() -> None:
    assert _is_plain({"amount_fen": 125_000_000, "school": "\u6850\u6893", "a": []})
    assert not _is_plain({"rate": 0.5})
    assert not _is_plain([1, [2.0]])
    assert not _is_plain({"\U0001f600": 1})
    assert not _is_plain({"fen": 2**53})
    assert not _is_plain((1, 2))


@settings(max_examples=400)
@given(
    value=json_values(SAFE_INTEGERS, FLOATS, TEXT),
    indent=st.sampled_from([None, 1]),
    ascii_only=st.booleans(),
)
def test_parse_plain_takes_only_text_it_can_write_canonically(
    value: JSONValue, indent: int | None, ascii_only: bool
) -> None:
    # Whatever an encoder wrote: parse_plain either declines, or its value
    # re-encoded by dumps_plain (wrapped in an envelope, as the log does) is
    # exactly the canonical form.
    text = json.dumps(
        value, indent=indent, ensure_ascii=ascii_only, allow_nan=False
    ).encode()
    parsed = parse_plain(text)
    if parsed is None:
        return
    envelope = {"body": parsed, "seq": 7, "prev": "00" * 32}
    assert dumps_plain(envelope) == rfc8785.dumps(
        {"body": value, "seq": 7, "prev": "00" * 32}
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(b'{"a":1.5}', id="float"),
        pytest.param(b'{"a":[1e5]}', id="exponent"),
        pytest.param(b'{"a":12345678901234567}', id="long-integer"),
        pytest.param(b'{"a":NaN}', id="nan"),
        pytest.param(b'{"a":-Infinity}', id="infinity"),
        pytest.param('{"\U0001f600":1}'.encode(), id="non-bmp"),
    ],
)
def test_parse_plain_declines_what_orjson_writes_differently(text: bytes) -> None:
    assert parse_plain(text) is None


def test_parse_plain_is_not_fooled_by_numbers_inside_strings() -> None:
    text = b'{"at":"2026-12-03T19:15:47.123456+00:00","n":"1e21","q":"x\\\\"}'
    assert parse_plain(text) == json.loads(text)
