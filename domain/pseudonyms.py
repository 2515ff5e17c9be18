"""Pseudonyms and masks: how people appear in the log and on public pages.

The log never holds a name, an ID number or a bank account (design §3). It holds
pseudonyms, keyed hashes that the fraud rules can compare (the same person paid
twice, one account paid for several households) but that nobody can reverse or
recompute without the deployment's secret:

- ``person_ref`` = HMAC-SHA256(secret, ``person:`` + the normalised 18-character
  ID number), so a 15-digit number and its 18-character upgrade are one person;
- ``account_ref`` = HMAC-SHA256(secret, ``account:`` + the account's digits).

The prefixes keep the two kinds apart even where the digits coincide. Both are 64
lowercase hex characters. Changing the secret changes every pseudonym, so it is
chosen once per deployment and at least 32 bytes long: ID numbers have so little
entropy that a short secret could be found by trying every plausible number.

Public notice lists (公示) show names only masked (``mask_name``).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from domain.errors import InvalidBankAccount, WeakSecret
from domain.resident_id import ResidentId

MIN_SECRET_BYTES = 32
MIN_ACCOUNT_DIGITS = 8
MAX_ACCOUNT_DIGITS = 30

_DIGITS = frozenset("0123456789")
# Separators people type inside account numbers: any whitespace, and hyphens.
_ACCOUNT_SEPARATORS = re.compile(r"[\s-]+")
# Han characters: the CJK unified ideographs, their extensions and compatibility
# ideographs. A name with any of them is masked by the Chinese rule.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# A word of a Latin-script name: everything between spaces and hyphens.
_WORD = re.compile(r"[^\s-]+")


def person_ref(secret: bytes, resident_id: ResidentId) -> str:
    """The pseudonym of the person who holds ``resident_id``."""
    _check_secret(secret)
    message = b"person:" + resident_id.number.encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def account_ref(secret: bytes, bank_account: str) -> str:
    """The pseudonym of a bank account; spaces and hyphens do not count."""
    _check_secret(secret)
    message = b"account:" + normalise_bank_account(bank_account).encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def normalise_bank_account(bank_account: str) -> str:
    """Return the account's digits, without spaces or hyphens; 8 to 30 of them.

    Raises ``InvalidBankAccount``; its message shows at most the last 4 digits.
    """
    digits = _ACCOUNT_SEPARATORS.sub("", bank_account)

    def refuse(reason: str, found: str) -> InvalidBankAccount:
        return InvalidBankAccount(
            bank_account,
            reason,
            masked=mask_bank_account(digits),
            expected=(
                f"{MIN_ACCOUNT_DIGITS} to {MAX_ACCOUNT_DIGITS} digits, "
                "not counting spaces and hyphens"
            ),
            found=found,
        )

    if not _DIGITS.issuperset(digits):
        raise refuse("characters", "a character that is not a digit")
    if not MIN_ACCOUNT_DIGITS <= len(digits) <= MAX_ACCOUNT_DIGITS:
        raise refuse("length", f"{len(digits)} digits")
    return digits


def mask_bank_account(bank_account: str) -> str:
    """Hide all but the last 4 characters: ``************1234``.

    Text shorter than 8 characters keeps less, a half of its length at most.
    """
    keep = min(4, len(bank_account) // 2)
    return "*" * (len(bank_account) - keep) + bank_account[len(bank_account) - keep :]


def mask_name(name: str) -> str:
    """Mask a name for a public notice list, as the disclosure rules require.

    A Chinese name keeps its first character and, from three characters on, its
    last: 张三 → 张*, 张三丰 → 张*丰, 欧阳小明 → 欧**明. A single character is all
    masked. Any other name keeps the first letter of each word, and the spaces
    and hyphens between words: Li Ming → L* M***.
    """
    name = name.strip()
    if _HAN.search(name):
        characters = "".join(name.split())
        if len(characters) == 1:
            return "*"
        if len(characters) == 2:
            return characters[0] + "*"
        return characters[0] + "*" * (len(characters) - 2) + characters[-1]
    return _WORD.sub(lambda word: word[0][0] + "*" * (len(word[0]) - 1), name)


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise WeakSecret("the pseudonym secret", len(secret), MIN_SECRET_BYTES)
