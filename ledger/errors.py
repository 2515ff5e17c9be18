"""Errors raised by the log.

One root, ``FundLedgerError``. Bad or tampered data (``TamperDetected``,
``InvalidProof``, ``InvalidNote``, ``NotCanonical``) is kept apart from misuse
(``LedgerMisuse`` and its children): the first means somebody's bytes cannot be
trusted, the second means the caller asked for something that does not exist or
cannot be done. Every error carries the values that caused it as attributes, so
that the CLI and the HTTP API can report them without parsing the message.
"""

from __future__ import annotations


class FundLedgerError(Exception):
    """Root of every error fundledger raises on purpose."""


class LedgerMisuse(FundLedgerError):
    """The caller asked for something the log cannot do."""


class LedgerNotFound(LedgerMisuse):
    """No ledger has been initialised at the given location."""

    def __init__(self, location: str) -> None:
        super().__init__(f"no ledger at {location}: run 'fundledger init' first")
        self.location = location


class LedgerExists(LedgerMisuse):
    """``init`` was asked to create a ledger where one already is."""

    def __init__(self, location: str) -> None:
        super().__init__(f"a ledger already exists at {location}")
        self.location = location


class OutOfRange(LedgerMisuse):
    """An index or tree size outside the log."""

    def __init__(self, what: str, value: int, limit: int, low: int = 0) -> None:
        if limit < low:
            super().__init__(f"{what} {value} is out of range: nothing is in range")
        else:
            super().__init__(f"{what} must be in [{low}, {limit}], got {value}")
        self.what = what
        self.value = value
        self.limit = limit
        self.low = low


class KeyFileError(LedgerMisuse):
    """A key file is missing, unreadable or not in the expected format."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot use key file {path}: {reason}")
        self.path = path
        self.reason = reason


class UnsafeConfiguration(LedgerMisuse):
    """A storage setting that would let events bypass the log."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"refusing to start with {setting}: {reason}")
        self.setting = setting
        self.reason = reason


class BadData(FundLedgerError):
    """Bytes that do not have the form or content they must have."""


class NotCanonical(BadData):
    """A value that RFC 8785 canonical JSON cannot represent exactly."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not representable as canonical JSON: {reason}")
        self.reason = reason


class InvalidProof(BadData):
    """An inclusion or consistency proof that does not verify."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid proof: {reason}")
        self.reason = reason


class InvalidNote(BadData):
    """A signed note or checkpoint that is malformed or not signed as required."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid signed note: {reason}")
        self.reason = reason


class TamperDetected(BadData):
    """Verification found stored data that differs from what was recorded.

    ``position`` is the first log position that fails (or the checkpoint size
    for failures that concern a whole checkpoint) and ``kind`` names the
    failure, one of the ``FailureKind`` values in ``ledger.verify``.
    """

    def __init__(self, position: int, kind: str, detail: str) -> None:
        super().__init__(f"entry {position}: {kind}: {detail}")
        self.position = position
        self.kind = kind
        self.detail = detail
