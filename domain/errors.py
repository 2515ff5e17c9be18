"""Errors for broken fund rules.

Each error is named after the rule it enforces and carries the values that broke
it, so that the CLI and the HTTP API can report them without parsing messages.
The domain imports no project code, so it has its own root, ``DomainError``.
"""

from __future__ import annotations

SHOWN_LENGTH = 200


class DomainError(Exception):
    """A request that the fund rules refuse; nothing was recorded."""


def brief(value: object) -> tuple[object, str]:
    """``value`` as an error keeps it, and as its message shows it.

    A refused value can be a caller's whole list or a megabyte of text: past
    ``SHOWN_LENGTH`` characters of its repr, both are the start of that repr
    and its length, not all of it again.
    """
    text = repr(value)
    if len(text) <= SHOWN_LENGTH:
        return value, text
    text = f"{text[:SHOWN_LENGTH]}… ({len(text)} characters)"
    return text, text


class InvalidAmount(DomainError):
    """An amount that is not a positive whole number of fen within bounds."""

    def __init__(self, amount: object, reason: str) -> None:
        amount, text = brief(amount)
        super().__init__(f"amount must be {reason}, got {text}")
        self.amount = amount
        self.reason = reason


class PoolOverdrawn(DomainError):
    """A payment larger than what the pool holds."""

    def __init__(self, pool: str, balance: int, amount: int) -> None:
        super().__init__(
            f"pool {pool} holds {balance} fen, cannot pay out {amount} fen"
        )
        self.pool = pool
        self.balance = balance
        self.amount = amount


class BudgetOverdrawn(DomainError):
    """A payment larger than what is left of the programme's allocation."""

    def __init__(self, budget: str, available: int, amount: int) -> None:
        super().__init__(
            f"budget {budget} has {available} fen left of its allocation, "
            f"cannot pay {amount} fen"
        )
        self.budget = budget
        self.available = available
        self.amount = amount


class SelfApproval(DomainError):
    """The officer who proposed a payment tried to approve it too."""

    def __init__(self, payment_id: str, officer: str) -> None:
        super().__init__(
            f"payment {payment_id} was proposed by {officer}; "
            "a different officer must approve it"
        )
        self.payment_id = payment_id
        self.officer = officer


class UnknownPayment(DomainError):
    """A decision or correction names a payment that was never proposed."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"no payment {payment_id} was proposed in this fund")
        self.payment_id = payment_id


class PaymentNotPending(DomainError):
    """A payment was decided on twice, or reversed before it was paid."""

    def __init__(self, payment_id: str, status: str, expected: str) -> None:
        super().__init__(f"payment {payment_id} is {status}, expected {expected}")
        self.payment_id = payment_id
        self.status = status
        self.expected = expected


class DuplicatePayment(DomainError):
    """A payment id that is already in use in this fund."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"payment {payment_id} already exists in this fund")
        self.payment_id = payment_id


class UnknownProject(DomainError):
    """Progress or spending reported for a project that was never funded."""

    def __init__(self, project_id: str) -> None:
        super().__init__(f"no project {project_id} was funded from this pool")
        self.project_id = project_id


class InvalidReference(DomainError):
    """An identifier or text field that is empty, too long or malformed."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        value, text = brief(value)
        super().__init__(f"{field} must be {reason}, got {text}")
        self.field = field
        self.value = value
        self.reason = reason


class UnknownUnit(DomainError):
    """An administrative unit or school code that the registry does not hold."""

    def __init__(self, code: str) -> None:
        super().__init__(f"no unit {code!r} is registered")
        self.code = code


class DuplicateUnit(DomainError):
    """A unit code registered twice."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unit {code} is already registered")
        self.code = code


class WrongLevel(DomainError):
    """A unit at a level where another was expected: a county under a township."""

    def __init__(self, code: str, expected: tuple[str, ...], found: str) -> None:
        wanted = " or ".join(expected) or "none"
        super().__init__(f"unit {code} must be at level {wanted}, found {found}")
        self.code = code
        self.expected = expected
        self.found = found


class InvalidUnit(DomainError):
    """A unit whose code, name or parent does not fit its level."""

    def __init__(self, code: object, reason: str) -> None:
        super().__init__(f"unit {code!r}: {reason}")
        self.code = code
        self.reason = reason


class UnitFileInvalid(DomainError):
    """A packaged units file that is not what the registry expects."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"units file {path}: {reason}")
        self.path = path
        self.reason = reason


class PolicyFileInvalid(DomainError):
    """A policy table file that breaks the policy schema; nothing of it is used."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"policy file {path}: {reason}")
        self.path = path
        self.reason = reason


class ConfiguredRateInvalid(DomainError):
    """A deployment-configured rate for a programme that takes none, or a bad one."""

    def __init__(self, code: str, value: object, reason: str) -> None:
        super().__init__(f"configured rate for {code}: {reason}, got {value!r}")
        self.code = code
        self.value = value
        self.reason = reason


class UnknownProgramme(DomainError):
    """A subsidy programme code that the policy table does not define."""

    def __init__(self, code: str) -> None:
        super().__init__(f"the policy defines no programme {code!r}")
        self.code = code


class UnknownPolicyProject(DomainError):
    """A project kind that the policy table does not define."""

    def __init__(self, code: str) -> None:
        super().__init__(f"the policy defines no project {code!r}")
        self.code = code


class InvalidTermCount(DomainError):
    """An award said to cover a number of terms that is not a positive integer."""

    def __init__(self, terms: object) -> None:
        super().__init__(
            f"an award covers a positive whole number of terms, got {terms!r}"
        )
        self.terms = terms


class IneligibleStage(DomainError):
    """A subsidy awarded to a student at a stage the programme does not cover."""

    def __init__(self, code: str, stage: str) -> None:
        super().__init__(f"programme {code} does not cover the {stage} stage")
        self.code = code
        self.stage = stage


class NotBoarding(DomainError):
    """A boarding subsidy awarded to a day pupil."""

    def __init__(self, code: str) -> None:
        super().__init__(f"programme {code} is for boarders only")
        self.code = code


class NotRegisteredPoor(DomainError):
    """A subsidy for registered-poor households (建档立卡) awarded to someone else."""

    def __init__(self, code: str) -> None:
        super().__init__(f"programme {code} is for registered-poor households only")
        self.code = code


class NotRural(DomainError):
    """A subsidy for rural students awarded to a student who is not rural."""

    def __init__(self, code: str) -> None:
        super().__init__(f"programme {code} is for rural students only")
        self.code = code


class RateNotConfigured(DomainError):
    """An award under a programme whose rate the deployment has not configured."""

    def __init__(self, code: str) -> None:
        super().__init__(f"programme {code} has no configured rate")
        self.code = code


class AboveRate(DomainError):
    """An award above the programme's rate for the terms it covers."""

    def __init__(self, code: str, amount: int, rate: int) -> None:
        super().__init__(
            f"programme {code} pays at most {rate} fen for these terms, got {amount}"
        )
        self.code = code
        self.amount = amount
        self.rate = rate


class BelowFloor(DomainError):
    """An award below the programme's floor for the terms it covers (克扣)."""

    def __init__(self, code: str, amount: int, floor: int) -> None:
        super().__init__(
            f"programme {code} pays at least {floor} fen for these terms, got {amount}"
        )
        self.code = code
        self.amount = amount
        self.floor = floor


class DomainMisuse(DomainError):
    """The caller asked for something that can never be done: a bug, not bad data.

    Bad data (an invalid ID number, an unreadable vault record) comes from outside
    and is expected. Misuse means the calling code or its configuration is wrong;
    retrying with the same arguments cannot succeed.
    """


class InvalidResidentId(DomainError):
    """A text that is not a citizen identity number as GB 11643-1999 defines it.

    ``reason`` is one of ``REASONS``, stable codes that callers may branch on. The
    number is personal data: the message shows it only masked (``masked``, at most
    its first and last four characters) and never says what the mask hides. The
    raw text rides on ``value`` for callers that must handle it with care.
    """

    REASONS = frozenset(
        {
            "length",
            "characters",
            "region",
            "unknown-region",
            "birth-date",
            "future-birth-date",
            "check-character",
        }
    )

    def __init__(
        self, value: str, reason: str, *, masked: str, expected: str, found: str
    ) -> None:
        super().__init__(
            f"resident ID {masked} is invalid: expected {expected}, found {found}"
        )
        self.value = value
        self.reason = reason
        self.masked = masked
        self.expected = expected
        self.found = found


class InvalidBankAccount(DomainError):
    """A bank account number that is not 8 to 30 digits.

    Like ``InvalidResidentId``: ``reason`` is one of ``REASONS``, the message shows
    the account masked to its last digits, and the raw text rides on ``value``.
    """

    REASONS = frozenset({"length", "characters"})

    def __init__(
        self, value: str, reason: str, *, masked: str, expected: str, found: str
    ) -> None:
        super().__init__(
            f"bank account {masked} is invalid: expected {expected}, found {found}"
        )
        self.value = value
        self.reason = reason
        self.masked = masked
        self.expected = expected
        self.found = found


class WeakSecret(DomainMisuse):
    """A secret too short to make pseudonyms that cannot be guessed back."""

    def __init__(self, what: str, length: int, minimum: int) -> None:
        super().__init__(f"{what} must be at least {minimum} bytes, got {length}")
        self.what = what
        self.length = length
        self.minimum = minimum


class WrongKeySize(DomainMisuse):
    """An AES-256 key (a person's key or the master key) of the wrong length."""

    def __init__(self, what: str, size: int, expected: int) -> None:
        super().__init__(f"{what} must be {expected} bytes, got {size}")
        self.what = what
        self.size = size
        self.expected = expected


class InvalidPersonRef(DomainMisuse):
    """Something other than a pseudonym given where a ``person_ref`` belongs.

    A ``person_ref`` is stored in the clear next to sealed data, so passing, say, a
    raw ID number in its place would leak it. The message never repeats the value.
    """

    def __init__(self, value: str) -> None:
        found = (
            f"{len(value)} characters"
            if len(value) != 64
            else "characters that are not lowercase hexadecimal"
        )
        super().__init__(
            "person_ref must be 64 lowercase hexadecimal characters "
            f"(an HMAC-SHA256 pseudonym), got {found}"
        )
        self.value = value


class DayBeforeBirth(DomainMisuse):
    """An age asked for a day before the person was born.

    The birth date is personal data, so only the day asked about is reported.
    """

    def __init__(self, day: object) -> None:
        super().__init__(f"age asked on {day}, which is before the person's birth")
        self.day = day


class VaultRecordUnreadable(DomainError):
    """A sealed record that does not open: wrong key, altered bytes, or moved.

    AES-GCM cannot tell these apart, and the message never reveals any plaintext.
    """

    def __init__(self, person_ref: str, reason: str) -> None:
        super().__init__(f"vault record of {person_ref} cannot be opened: {reason}")
        self.person_ref = person_ref
        self.reason = reason


class WrappedKeyUnreadable(DomainError):
    """A wrapped person key that does not unwrap: wrong master key or altered."""

    def __init__(self, person_ref: str, reason: str) -> None:
        super().__init__(f"key of {person_ref} cannot be unwrapped: {reason}")
        self.person_ref = person_ref
        self.reason = reason


class FundNotOpen(DomainError):
    """A change to the fund of a county whose fund was never opened."""

    def __init__(self, county: str) -> None:
        super().__init__(f"the fund of county {county} is not open")
        self.county = county


class FundAlreadyOpen(DomainError):
    """A second opening of a county's one fund."""

    def __init__(self, county: str) -> None:
        super().__init__(f"the fund of county {county} is already open")
        self.county = county


class NotOnRoll(DomainError):
    """A payment to a person whom the county's rolls do not show as eligible."""

    def __init__(self, person_ref: str, roll: str) -> None:
        super().__init__(f"person {person_ref[:12]}… is not on the {roll} roll")
        self.person_ref = person_ref
        self.roll = roll
