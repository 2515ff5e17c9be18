"""Errors for broken fund rules.

Each error is named after the rule it enforces and carries the values that broke
it, so that the CLI and the HTTP API can report them without parsing messages.
The domain imports no project code, so it has its own root, ``DomainError``.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request that the fund rules refuse; nothing was recorded."""


class InvalidAmount(DomainError):
    """An amount that is not a positive whole number of fen within bounds."""

    def __init__(self, amount: object, reason: str) -> None:
        super().__init__(f"amount must be {reason}, got {amount!r}")
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
        super().__init__(f"{field} must be {reason}, got {value!r}")
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
