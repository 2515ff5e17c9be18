"""Every error as an RFC 9457 problem document (``application/problem+json``).

A problem's ``type`` is a URI derived from the exception's class name
(``PoolOverdrawn`` → ``https://fundledger.example/problems/pool-overdrawn``),
so it stays the same for as long as the class keeps its name, and a client can
branch on it without reading the message. ``detail`` is the exception's own
message and ``values`` the attributes it carries (the balance and the amount
that overdrew a pool), never parsed out of text.

Invariants:

- No personal data in a problem: an error that carries a raw resident ID or
  bank account number (they carry a ``masked`` form beside it) gives only the
  masked form.
- Refusals are 4xx: what a caller sent decides the status, by the error's class
  (``STATUS``, most specific class first). Only a bug reaches the catch-all,
  which answers 500 without the exception's text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from eventsourcing.persistence import DataError, IntegrityError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.commands import RequestIdReused, UnknownCommand
from api.http.receipts import ConcurrentChange
from api.requests import BadSignature, InvalidRequest
from api.vault_store import NoSecrets
from domain import errors as domain_errors
from domain.alerts import AlertAlreadyRaised, AlertNotRaised
from domain.errors import DomainError
from domain.officers import (
    DuplicateOfficer,
    LastAdministrator,
    OutsideJurisdiction,
    RevokedKey,
    UnknownKey,
    WrongRole,
)
from ledger.application import DatabaseUnavailable
from ledger.errors import BadData, FundLedgerError, LedgerNotFound, OutOfRange
from ledger.log import NoSigningKey
from projections.runner import UnknownView, ViewOutdated

logger = logging.getLogger(__name__)

PROBLEM_BASE = "https://fundledger.example/problems/"
PROBLEM_JSON = "application/problem+json"
# The attribute every error inherits, which repeats the message.
_INHERITED = frozenset({"args"})


class NotFound(FundLedgerError):
    """A path that names nothing the API has (a view, a table, an alert)."""

    def __init__(self, what: str, name: str, known: list[str] | None = None) -> None:
        known_text = f"; known: {', '.join(known)}" if known else ""
        super().__init__(f"no {what} {name!r}{known_text}")
        self.what = what
        self.name = name
        self.known = known or []


class BadQuery(FundLedgerError):
    """A query parameter that the resource cannot use (a filter on no column)."""

    def __init__(self, parameter: str, value: object, reason: str) -> None:
        super().__init__(f"query parameter {parameter}={value!r}: {reason}")
        self.parameter = parameter
        self.value = value
        self.reason = reason


# Most specific first: the first class an error is an instance of decides.
STATUS: tuple[tuple[type[BaseException], int], ...] = (
    # Who signed: unknown, revoked or forged keys are not authenticated.
    (BadSignature, 401),
    (UnknownKey, 401),
    (RevokedKey, 401),
    # What they may do.
    (WrongRole, 403),
    (OutsideJurisdiction, 403),
    (domain_errors.SelfApproval, 403),
    # What exists.
    (NotFound, 404),
    (UnknownView, 404),
    (OutOfRange, 404),
    # The state of the ledger refuses the change.
    (RequestIdReused, 409),
    (ConcurrentChange, 409),
    (domain_errors.PoolOverdrawn, 409),
    (domain_errors.BudgetOverdrawn, 409),
    (domain_errors.PaymentNotPending, 409),
    (domain_errors.DuplicatePayment, 409),
    (domain_errors.DuplicateUnit, 409),
    (domain_errors.FundAlreadyOpen, 409),
    (domain_errors.FundNotOpen, 409),
    (DuplicateOfficer, 409),
    (LastAdministrator, 409),
    (AlertAlreadyRaised, 409),
    (AlertNotRaised, 409),
    (ViewOutdated, 409),
    (IntegrityError, 409),
    # The request is well formed but its content breaks a rule.
    (UnknownCommand, 422),
    (DomainError, 422),
    # The document itself is malformed.
    (InvalidRequest, 400),
    (BadQuery, 400),
    (BadData, 400),
    (DataError, 400),  # a value the database cannot hold (a NUL in text)
    # The server cannot serve it now: a missing key, an unreachable database.
    (NoSigningKey, 503),
    (NoSecrets, 503),
    (LedgerNotFound, 503),
    (DatabaseUnavailable, 503),
    (PersistenceError, 503),
    (FundLedgerError, 400),
)


def status_of(error: BaseException) -> int:
    """The HTTP status for an error, by its class."""
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 500


def type_uri(name: str) -> str:
    """The stable problem type for an exception class name."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name)
    return PROBLEM_BASE + words.lower()


def title_of(name: str) -> str:
    """A short, stable title from the class name: ``PoolOverdrawn`` → Pool overdrawn."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return words[:1].upper() + words[1:].lower()


def _plain(value: Any) -> Any:
    """A JSON value for an attribute (exceptions and objects as their text)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(item) for item in items]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)


def values_of(error: BaseException) -> dict[str, Any]:
    """The values an error carries, without raw personal data."""
    found = {
        name: _plain(value)
        for name, value in vars(error).items()
        if not name.startswith("_") and name not in _INHERITED
    }
    if "masked" in found:
        found.pop("value", None)  # the raw ID or account number
    if isinstance(error, domain_errors.InvalidPersonRef):
        found.pop("value", None)
    return found


def problem(
    status: int,
    kind: str,
    detail: str,
    values: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem response; ``kind`` is a class-style name (``NotFound``)."""
    body: dict[str, Any] = {
        "type": type_uri(kind),
        "title": title_of(kind),
        "status": status,
        "detail": detail,
    }
    if values:
        body["values"] = values
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def error_problem(error: BaseException) -> JSONResponse:
    """The problem response for a refusal raised by the ledger or the domain."""
    status = status_of(error)
    kind = type(error).__name__
    if status >= 500:
        logger.warning("cannot serve a request: %s: %s", kind, error)
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": 'Signature realm="fundledger"'}
    elif isinstance(error, ConcurrentChange | IntegrityError):
        headers = {"Retry-After": "1"}  # a conflict with other writers: retry
    detail = str(error).strip().splitlines()[0] if str(error).strip() else kind
    return problem(status, kind, detail, values_of(error), headers)


async def _ledger_error(request: Request, error: Exception) -> JSONResponse:
    del request
    return error_problem(error)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    del request
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered so
    errors = [
        {
            "location": [str(part) for part in item.get("loc", ())],
            "message": str(item.get("msg", "")),
        }
        for item in error.errors()
    ]
    if any(item.get("type") == "json_invalid" for item in error.errors()):
        return problem(400, "MalformedBody", "the body is not valid JSON")
    return problem(
        422,
        "InvalidParameters",
        "; ".join(f"{'.'.join(e['location'])}: {e['message']}" for e in errors),
        {"errors": errors},
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)  # noqa: S101 - registered so
    kinds = {
        400: "MalformedBody",
        404: "NotFound",
        405: "MethodNotAllowed",
        406: "NotAcceptable",
    }
    kind = kinds.get(error.status_code, f"Http{error.status_code}")
    detail = error.detail if isinstance(error.detail, str) else str(error.detail)
    if error.status_code == 404 and detail == "Not Found":
        detail = f"nothing at {request.url.path}"
    return problem(error.status_code, kind, detail, headers=error.headers)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, RecursionError | json.JSONDecodeError | UnicodeDecodeError):
        return problem(400, "MalformedBody", "the body cannot be read as JSON")
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(
        500, "InternalError", "the server failed unexpectedly; its log says why"
    )


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem document."""
    for kind in (FundLedgerError, DomainError, PersistenceError):
        app.add_exception_handler(kind, _ledger_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
