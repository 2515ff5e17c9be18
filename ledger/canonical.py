"""RFC 8785 canonical JSON: the one byte string each recorded value hashes to.

Every event is hashed and signed over its canonical form, so two parties who hold
the same value must produce the same bytes, whatever language or library they
use. RFC 8785 (the JSON Canonicalization Scheme, JCS) fixes those bytes: no
whitespace, object members sorted by the UTF-16 code units of their names,
strings escaped and numbers written exactly as ECMAScript's ``JSON.stringify``
writes them, and the result encoded as UTF-8.

Invariants of this module:

* ``canonical_bytes`` either returns the JCS form of its argument or raises
  ``NotCanonical``; it never returns bytes some other JCS implementation would
  not also produce for the same value.
* Every output re-parses to a value whose canonical form is the output itself,
  so ``is_canonical(canonical_bytes(v))`` holds for every accepted ``v``.
* Integers must lie within ``MAX_SAFE_INTEGER`` of zero, as I-JSON (RFC 7493)
  advises: amounts are integer fen, and a larger integer would be silently
  rounded by any reader that parses JSON numbers as doubles, as ECMAScript
  does. For the same reason a double between ``MAX_SAFE_INTEGER`` and 1e21 is
  refused, since JCS writes it as a plain integer that would be refused when
  read back. NaN and infinities have no JSON form and are refused too.

Values must be built from the exact types ``dict`` (with ``str`` keys),
``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``. Subclasses
(``IntEnum``, ``StrEnum``, ``OrderedDict``) and tuples are refused rather than
converted: their JSON form is decided by overridable methods, and a ledger
wants the bytes decided by the data alone. ``bool`` is a subclass of ``int``
in Python, so types are compared exactly to keep ``True`` from passing as 1.

Two encoders produce the same bytes. The fast one is orjson with sorted keys,
used only when the value contains no float and no object key outside the Basic
Multilingual Plane: for such values its output is the JCS output (its escaping
matches ECMAScript's, integers print the same way, and code-point order equals
UTF-16 order; the tests check this against an independent implementation).
Everything else goes through the slower pure-Python encoder below, which is the
reference the tests check the fast path against.

``parse_plain`` serves the hot path that turns stored JSON text into canonical
bytes once per recorded event: one regular-expression scan of the text proves
the absence of everything orjson would write differently, so the text can be
parsed and re-encoded without walking the value in Python.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeAlias

import orjson

from ledger.errors import NotCanonical

JSONValue: TypeAlias = (
    bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
)

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer below which every integer is exactly a double (RFC 7493 2.2)."""

# ECMAScript writes numbers of magnitude 1e21 and above in exponent form.
_EXPONENT_FROM = 1e21

# NOTE: check_circular is off because the encoder only ever sees values that
# _is_plain has walked (it would have hit the recursion limit on a cycle) or
# that the parser has just built. The encoder and the decoders below are built
# once and shared; like the json module's own defaults they keep no state
# between calls, so threads may share them.
_SORT_KEYS = orjson.OPT_SORT_KEYS


def _encode_fast(value: object) -> bytes:
    try:
        return orjson.dumps(value, option=_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        if "surrogates" in str(exc):
            raise NotCanonical(
                "strings must be valid Unicode, found a lone surrogate"
            ) from None
        raise NotCanonical(str(exc)) from None


# JSON text that orjson re-encodes canonically: strings without a character
# outside the BMP (which would sort differently as a key), integers of at most
# 15 digits (so within MAX_SAFE_INTEGER), literals and punctuation -- and so no
# float, NaN or Infinity. Strings are matched whole, so digits and dots inside
# them (timestamps, say) are not mistaken for numbers.
# Possessive quantifiers keep a failed match linear: without them the runs of
# punctuation inside the repetition could be split in exponentially many ways.
_PLAIN_TEXT = re.compile(
    rb'(?:"[^"\\\xf0-\xf4]*+(?:\\.[^"\\\xf0-\xf4]*+)*+"'
    rb"|[\s{}\[\]:,]++|-?[0-9]{1,15}+(?![0-9.eE])|true|false|null)*+"
)

# The escapes ECMAScript's JSON.stringify applies (RFC 8785 section 3.2.2.2):
# the two-character forms where one exists, lowercase \u00xx for the other
# C0 controls, and nothing else; every other character is written as is.
_STRING_ESCAPES = {chr(code): f"\\u{code:04x}" for code in range(0x20)}
_STRING_ESCAPES.update(
    {
        "\b": "\\b",
        "\t": "\\t",
        "\n": "\\n",
        "\f": "\\f",
        "\r": "\\r",
        '"': '\\"',
        "\\": "\\\\",
    }
)
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


def canonical_bytes(value: JSONValue) -> bytes:
    """Return the RFC 8785 form of ``value`` as UTF-8 bytes.

    Raises ``NotCanonical`` for anything JCS cannot represent exactly: NaN and
    infinities, integers beyond ``MAX_SAFE_INTEGER``, floats that would print as
    such integers, lone surrogates, non-``str`` object keys and any type that is
    not one of the exact JSON types listed in the module docstring.
    """
    try:
        if _is_plain(value):
            return _encode_fast(value)
        return _encode_slow(value)
    except UnicodeEncodeError:
        raise NotCanonical(
            "strings must be valid Unicode, found a lone surrogate"
        ) from None
    except RecursionError:
        raise NotCanonical("value is nested too deeply or contains a cycle") from None


def canonicalize_json(text: str | bytes) -> bytes:
    """Parse JSON ``text`` and return the RFC 8785 form of the value it holds.

    Bytes must be UTF-8. Besides malformed JSON, this refuses what I-JSON (RFC
    7493) forbids and a plain parser would let through: duplicate member names,
    ``NaN`` and ``Infinity``, escaped lone surrogates, and numbers that do not
    survive conversion to a double, which includes integers beyond
    ``MAX_SAFE_INTEGER``.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        try:
            value = _FAST_DECODER.decode(text)
        except _NeedsReference:
            return _encode_slow(_REFERENCE_DECODER.decode(text))
        return _encode_fast(value)
    except UnicodeDecodeError as exc:
        raise NotCanonical(f"JSON text must be UTF-8: {exc.reason}") from None
    except UnicodeEncodeError:
        raise NotCanonical(
            "strings must be valid Unicode, found a lone surrogate"
        ) from None
    except json.JSONDecodeError as exc:
        raise NotCanonical(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise NotCanonical("JSON text is nested too deeply") from None


def parse_plain(data: bytes) -> Any | None:
    """Parse JSON text whose canonical form ``dumps_plain`` can write, else None.

    For text that an encoder wrote from a ``dict`` (so without duplicate keys):
    returns the parsed value when the text holds no float, no integer of 16 or
    more digits and no character outside the BMP, and None when it might, in
    which case the caller takes the reference path (``canonical_bytes``).
    """
    if _PLAIN_TEXT.fullmatch(data) is None:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NotCanonical(f"not valid JSON: {exc}") from None


def dumps_plain(value: Any) -> bytes:
    """The RFC 8785 form of a value that ``parse_plain`` returned (or extended
    with strings of the BMP and integers below ``MAX_SAFE_INTEGER``)."""
    return _encode_fast(value)


def is_canonical(data: bytes) -> bool:
    """Tell whether ``data`` is already exactly the RFC 8785 form of its value.

    A verifier uses this to refuse stored bytes that parse to the right value
    but were not written canonically, since their hash would not be the one
    another implementation computes.
    """
    try:
        return canonicalize_json(data) == data
    except NotCanonical:
        return False


# --- fast path --------------------------------------------------------------


def _is_plain(value: object) -> bool:
    """Tell whether the C encoder's output for ``value`` is its JCS form.

    Answers False for anything unusual, including values that must be refused;
    the reference encoder then decides. The order of the type tests follows
    how often each type occurs in events.
    """
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or _is_bmp(key)):
                return False
            kind = type(item)
            if kind is str or item is None or kind is bool:
                continue
            if kind is int:
                if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    continue
                return False
            if not _is_plain(item):
                return False
        return True
    if type(value) is list:
        for item in value:
            kind = type(item)
            if kind is str or item is None or kind is bool:
                continue
            if kind is int:
                if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    continue
                return False
            if not _is_plain(item):
                return False
        return True
    if type(value) is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    return type(value) is str or value is None or type(value) is bool


def _is_bmp(key: str) -> bool:
    """Tell whether ``key`` has no character that UTF-16 writes as a pair."""
    return not key or max(key) <= "\uffff"


class _NeedsReference(Exception):
    """Raised by the fast decoder's hooks when only the reference path is exact."""


def _pairs_fast(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """Build an object, refusing duplicate names and deferring non-BMP ones."""
    members = _pairs_checked(pairs)
    for key in members:
        if not (key.isascii() or _is_bmp(key)):
            raise _NeedsReference
    return members


def _pairs_checked(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """Build an object, refusing duplicate names as RFC 7493 section 2.3 asks.

    A parser that keeps the last duplicate would let two signers read one
    document as two different values.
    """
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise NotCanonical(
                    f"object member names must be unique, {key!r} repeats"
                )
            seen.add(key)
    return members


def _float_fast(token: str) -> float:
    """Defer every fractional or exponent number to the reference path."""
    raise _NeedsReference


def _int_checked(token: str) -> int:
    """Parse an integer token, refusing any a double would round."""
    # Fifteen characters hold at most fifteen digits, always below 2**53.
    if len(token) <= 15:
        return int(token)
    if len(token) <= 17:
        number = int(token)
        if -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
            return number
    raise NotCanonical(
        f"integers must be within ±{MAX_SAFE_INTEGER}, found {token[:40]}"
    )


def _refuse_constant(token: str) -> object:
    """Refuse the non-standard ``NaN``, ``Infinity`` and ``-Infinity`` literals."""
    raise NotCanonical(f"{token} is not a JSON number")


# NOTE: the decoders are built once; json.loads would build a new one (and its
# scanner) on every call because hooks are given.
_FAST_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs_fast,
    parse_float=_float_fast,
    parse_int=_int_checked,
    parse_constant=_refuse_constant,
)
_REFERENCE_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs_checked,
    parse_int=_int_checked,
    parse_constant=_refuse_constant,
)


# --- reference path ---------------------------------------------------------


def _encode_slow(value: object) -> bytes:
    """Encode ``value`` following RFC 8785 step by step, refusing what it must."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts).encode("utf-8")


def _write(value: object, parts: list[str]) -> None:
    """Append the JCS text of ``value`` to ``parts``."""
    if type(value) is str:
        parts.append(_quote(value))
    elif value is None:
        parts.append("null")
    elif type(value) is bool:
        parts.append("true" if value else "false")
    elif type(value) is int:
        parts.append(_format_integer(value))
    elif type(value) is float:
        parts.append(_format_float(value))
    elif type(value) is list:
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    elif type(value) is dict:
        _write_object(value, parts)
    else:
        raise NotCanonical(f"expected a JSON type, found {type(value).__qualname__}")


def _write_object(members: dict[object, object], parts: list[str]) -> None:
    """Append a JSON object, members sorted as RFC 8785 section 3.2.3 requires."""
    named: list[tuple[str, object]] = []
    for key, item in members.items():
        if type(key) is not str:
            raise NotCanonical(
                f"object member names must be str, found {type(key).__qualname__}"
            )
        named.append((key, item))

    # Big-endian UTF-16 bytes compare exactly as the code units do. Strict
    # encoding also refuses lone surrogates in names.
    named.sort(key=_utf16_order)

    parts.append("{")
    for index, (key, item) in enumerate(named):
        if index:
            parts.append(",")
        parts.append(_quote(key))
        parts.append(":")
        _write(item, parts)
    parts.append("}")


def _utf16_order(member: tuple[str, object]) -> bytes:
    """Sort key putting member names in UTF-16 code-unit order."""
    return member[0].encode("utf-16-be")


def _quote(text: str) -> str:
    """Quote a string as ECMAScript's JSON.stringify does (RFC 8785 3.2.2.2)."""
    if _NEEDS_ESCAPE.search(text) is None:
        return '"' + text + '"'
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _escape(match: re.Match[str]) -> str:
    """Replacement for one character that JSON strings cannot hold as is."""
    return _STRING_ESCAPES[match.group()]


def _format_integer(number: int) -> str:
    """Write an integer, refusing those a double reader would round."""
    if -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
        return int.__repr__(number)
    raise NotCanonical(f"integers must be within ±{MAX_SAFE_INTEGER}, found {number}")


def _format_float(number: float) -> str:
    """Write a finite double as ECMAScript's Number::toString does.

    Refuses NaN and infinities (RFC 8785 section 3.2.2.3), and doubles in
    (MAX_SAFE_INTEGER, 1e21): ECMAScript prints those as plain integers, which
    this module would then refuse on re-parsing, breaking idempotence.
    """
    if not math.isfinite(number):
        raise NotCanonical(f"numbers must be finite, found {number!r}")
    if MAX_SAFE_INTEGER < abs(number) < _EXPONENT_FROM:
        raise NotCanonical(
            f"a double in (±{MAX_SAFE_INTEGER}, ±1e21) would be read back as an "
            f"unsafe integer, found {number!r}"
        )
    return _number_to_string(number)


def _number_to_string(number: float) -> str:
    """ECMAScript's Number::toString for a finite double (RFC 8785 3.2.2.3).

    Python's repr already yields the shortest digit string that reads back as
    the same double, choosing the one nearest the exact value when several are
    shortest; that is the digit string ECMAScript asks for, "Note 2" of its
    Number::toString included. Only the layout differs, so this takes the
    digits and exponent from repr and lays them out by the ECMAScript rules,
    where the value is 0.d1d2...dk * 10**n.
    """
    if number == 0:
        return "0"  # both zeros, as ECMAScript prints -0 as "0"
    sign = "-" if number < 0 else ""

    # 1. Split repr into its significant digits and decimal exponent n.
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    significant = digits.lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(digits) - len(significant))
    digits = significant.rstrip("0")
    count = len(digits)

    # 2. Lay them out: integer, fixed point, small fixed point, or exponent.
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    power = point - 1
    power_text = f"+{power}" if power >= 0 else str(power)
    if count == 1:
        return f"{sign}{digits}e{power_text}"
    return f"{sign}{digits[0]}.{digits[1:]}e{power_text}"
