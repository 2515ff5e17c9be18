"""Citizen identity numbers (公民身份号码) as GB 11643-1999 defines them.

An 18-character number is a six-digit address code (the county where the holder
was first registered, per GB/T 2260), an eight-digit birth date (YYYYMMDD), a
three-digit sequence (odd for men, even for women) and one ISO 7064 MOD 11-2
check character, a digit or X. First-generation cards carried 15 digits: a
two-digit year and no check character. They are upgraded on parsing the way the
public security bureaus re-issued them, by writing the year as 19YY and
computing the check character, so that one person always has one number.

Invariants:

- A ``ResidentId`` comes out of ``parse_resident_id`` only: its number is 18
  characters with the right check character, and its fields agree with it.
- The number is personal data. No error message and no ``repr`` shows it whole;
  masked, at most its first four and last four characters show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from domain.errors import DayBeforeBirth, InvalidResidentId

# ISO 7064 MOD 11-2 weighs the digit at 1-based position i (of 18) by 2**(18-i)
# mod 11; the check character's own weight, 1, is left out of the sum.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# The check character for each remainder of the weighted sum mod 11.
CHECK_CHARACTERS = "10X98765432"

# First two digits of the address code: the province-level divisions of GB/T 2260.
# NOTE: 83 (the residence permits of Taiwan residents, 2018) is left out: those
# permits are not citizen identity numbers, and the plan's beneficiaries hold
# Hubei household registrations.
PROVINCE_CODES = frozenset(
    f"{code:02d}"
    for first, last in [
        (11, 15),
        (21, 23),
        (31, 37),
        (41, 46),
        (50, 54),
        (61, 65),
        (71, 71),
        (81, 82),
    ]
    for code in range(first, last + 1)
)

EARLIEST_BIRTH_DATE = date(1900, 1, 1)

_DIGITS = frozenset("0123456789")
_DIGITS_OR_X = _DIGITS | {"X"}

Sex = Literal["male", "female"]


@dataclass(frozen=True, repr=False)
class ResidentId:
    """A valid citizen identity number and what it says about its holder.

    Build one with ``parse_resident_id``; the constructor checks nothing.
    """

    number: str
    region_code: str
    birth_date: date
    sequence: str
    sex: Sex

    def __repr__(self) -> str:
        return f"ResidentId({mask_resident_id(self.number)!r})"


def check_character(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17:
        raise _body_refused(first17, "length", f"{len(first17)} characters")
    if not _DIGITS.issuperset(first17):
        raise _body_refused(first17, "characters", "a character that is not a digit")
    total = sum(
        int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True)
    )
    return CHECK_CHARACTERS[total % 11]


def _body_refused(first17: str, reason: str, found: str) -> InvalidResidentId:
    return InvalidResidentId(
        first17,
        reason,
        masked=mask_resident_id(first17),
        expected="17 digits before the check character",
        found=found,
    )


def mask_resident_id(number: str) -> str:
    """Hide all but the first and last four characters: ``4201**********123X``.

    Text shorter than 16 characters keeps less, a quarter of its length at each
    end, so that a mask never shows more than half of the text.
    """
    keep = min(4, len(number) // 4)
    hidden = len(number) - 2 * keep
    return number[:keep] + "*" * hidden + number[len(number) - keep :]


def parse_resident_id(
    text: str,
    *,
    today: date,
    known_region: Callable[[str], bool] | None = None,
) -> ResidentId:
    """Check a citizen identity number and return it normalised, with its fields.

    Surrounding whitespace is ignored, a lowercase x is read as X, and a 15-digit
    first-generation number is upgraded to 18 characters. ``known_region``, when
    given, is asked whether the six-digit address code exists; it should know
    retired codes too, since nobody's number changes when a county is renamed.

    Raises ``InvalidResidentId`` whose ``reason`` names the first rule broken, in
    this order: length and characters, address code, birth date, check character.
    """
    candidate = text.strip().replace("x", "X")
    masked = mask_resident_id(candidate)

    def refuse(reason: str, expected: str, found: str) -> InvalidResidentId:
        return InvalidResidentId(
            text, reason, masked=masked, expected=expected, found=found
        )

    # 1. Length and characters; a first-generation number is upgraded here, so
    # every later step sees 18 characters.
    if len(candidate) not in (15, 18):
        raise refuse(
            "length",
            "18 characters (15 for a first-generation number)",
            f"{len(candidate)} characters",
        )
    for position, character in enumerate(candidate, start=1):
        allowed = _DIGITS_OR_X if position == 18 else _DIGITS
        if character not in allowed:
            raise refuse(
                "characters",
                "digits, with X allowed only as the 18th character",
                f"{character!r} at position {position}",
            )
    if len(candidate) == 15:
        first17 = candidate[:6] + "19" + candidate[6:]
        number = first17 + check_character(first17)
    else:
        number = candidate

    # 2. Address code (GB/T 2260): a province-level prefix, then the whole code.
    region_code = number[:6]
    if region_code[:2] not in PROVINCE_CODES:
        raise refuse(
            "region",
            "a code that starts with a province-level division of GB/T 2260",
            f"province code {region_code[:2]}",
        )
    if known_region is not None and not known_region(region_code):
        # The last two digits of the code are hidden by the mask; keep them so.
        raise refuse(
            "unknown-region",
            "an address code listed in GB/T 2260",
            "a code that is not listed",
        )

    # 3. Birth date: a real day, from 1900 on, not after today. The date itself
    # is personal data and stays out of the message.
    try:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise refuse(
            "birth-date",
            "a birth date that is a calendar date",
            "one that is not",
        ) from None
    if birth_date < EARLIEST_BIRTH_DATE:
        raise refuse(
            "birth-date",
            f"a birth date on or after {EARLIEST_BIRTH_DATE.isoformat()}",
            "an earlier one",
        )
    if birth_date > today:
        raise refuse(
            "future-birth-date",
            f"a birth date on or before {today.isoformat()}",
            "a later one",
        )

    # 4. ISO 7064 MOD 11-2 check character over the first 17 digits.
    if number[17] != check_character(number[:17]):
        raise refuse(
            "check-character",
            "the ISO 7064 MOD 11-2 check character of the first 17 digits",
            f"{number[17]}, which does not match them",
        )

    sequence = number[14:17]
    return ResidentId(
        number=number,
        region_code=region_code,
        birth_date=birth_date,
        sequence=sequence,
        sex="male" if int(sequence[2]) % 2 == 1 else "female",
    )


def age_on(resident_id: ResidentId, day: date) -> int:
    """Whole years of age on ``day``: the count goes up on each birthday.

    Someone born on 29 February turns a year older on 1 March in common years.
    """
    born = resident_id.birth_date
    if day < born:
        raise DayBeforeBirth(day)
    had_birthday = (day.month, day.day) >= (born.month, born.day)
    return day.year - born.year - (0 if had_birthday else 1)
