"""``/imports``: a payment list uploaded, checked, signed by its officer, recorded.

The server never holds an officer's key, so an upload is two steps, as
``fundledger import`` is one (``api.importing_record``):

1. ``POST /imports/check`` takes the spreadsheet (CSV or XLSX, as a form's
   file field or as the whole body) and a request signed by the officer,
   ``import.check``, whose parameters name the county, year, term, whether to
   skip bad rows, and the SHA-256 of the file. The answer is what the CLI
   prints, as data: every bad row with its line and reasons, the totals, the
   budgets too small, and, when the list can be recorded, the very
   ``fund.propose_payments`` requests the CLI would sign, unsigned. Nothing is
   written: this is the dry run.
2. ``POST /imports`` takes those requests signed (a JSON array of request
   documents) and records them all in one transaction through
   ``api.commands.execute_together``, each checked as every write is: all or
   nothing. The answer is a receipt per request (``api.http.receipts``); 201
   when recorded now, 200 when the same set was recorded before.

Invariants:

- The check reads the vault (names, rolls, bank accounts) and so says, row by
  row, who is a registered beneficiary: it answers only a request signed by a
  key that may propose payments in that county, and only about the file whose
  digest it signed. Its answer is never cached.
- Request ids derive from the list's content (``api.importing_record``), so
  the same list checked again gives the same requests, and recording them
  again records nothing.
- Bodies are refused past ``Settings.max_upload_bytes`` (413) before they are
  read whole; any bytes at all answer with a problem document, never a 500.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.commands import execute_together
from api.http.examples import SIGNED_REQUEST, answer, problems
from api.http.problems import problem, values_of
from api.http.receipts import receipt_document
from api.http.state import ApiState, state_of
from api.http.uploads import (
    MalformedUpload,
    UploadTooLarge,
    form_fields,
    media_type,
    read_body,
)
from api.importing import read_sheet_bytes
from api.importing_record import ImportReport, plan_import
from api.requests import InvalidRequest, SignedRequest, parse_request
from api.vault_store import DeploymentSecrets, NoSecrets, Vault
from domain.officers import UnknownKey
from ledger.errors import FundLedgerError
from ledger.log import NoSigningKey

router = APIRouter(prefix="/imports", tags=["officers"])

State = Annotated[ApiState, Depends(state_of)]

CHECK = "import.check"
CHECK_PARAMETERS = frozenset({"county", "year", "term", "skip_bad", "sha256"})
RECORDED_COMMAND = "fund.propose_payments"
REQUEST_HEADER = "Fundledger-Request"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TYPES = frozenset({"text/csv", "application/octet-stream", XLSX})
MAX_DOCUMENT = 64 * 1024  # the signed check request, in a header or a field
MAX_REQUESTS = 1000  # 10 million rows at MAX_BATCH rows a request
JSON = "application/json"


class UnsupportedUpload(FundLedgerError):
    """A body of a type the endpoint does not take."""

    def __init__(self, media: str) -> None:
        super().__init__(
            f"cannot take a body of type {media or 'none'!r}; send multipart/"
            f"form-data, text/csv, {XLSX} or application/octet-stream"
        )
        self.media = media


class FileNotSigned(InvalidRequest):
    """An upload whose bytes are not the file the check request signed."""

    def __init__(self, signed: str, found: str) -> None:
        super().__init__(
            f"the request signs a file of SHA-256 {signed}, the upload's is {found}"
        )
        self.signed = signed
        self.found = found


# OpenAPI examples -----------------------------------------------------------------

CHECK_REQUEST: dict[str, Any] = {
    "request": {
        "command": CHECK,
        "params": {
            "county": "422822",
            "year": 2027,
            "term": "autumn",
            "skip_bad": False,
            "sha256": "5d41402abc4b2a76b9719d911017c592...e5",
        },
        "key_id": "4f1b2c3d4e5f6a7b",
        "request_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "signed_at": "2027-09-01T08:00:00.000000Z",
    },
    "signature": "Qm9v...base64 Ed25519 signature...==",
}
PLANNED = {
    "command": RECORDED_COMMAND,
    "params": {
        "county": "422822",
        "payments": [
            {
                "payment_id": "imp-0a1b2c3d4e5f6a7b-2",
                "programme": "HS_GRANT",
                "year": 2027,
                "term": "autumn",
                "payee_kind": "person",
                "payee": "9a8b...",
                "amount_fen": 125000,
                "details": {"school": "422822S0003", "grade": "高一"},
            }
        ],
    },
    "key_id": "4f1b2c3d4e5f6a7b",
    "request_id": "import:0a1b...e9:0",
    "signed_at": "2027-09-01T08:00:01.000000Z",
}
CHECKED = {
    "source": "autumn.xlsx",
    "format": "xlsx",
    "rows": 2,
    "digest": "0a1b...e9",
    "status": "dry run",
    "summary": "dry run: would record 1 payments, 1,250.00 yuan from 2 rows, "
    "1 bad rows",
    "problems": [{"line": 3, "reason": "身份证号/id_number: check character"}],
    "totals": [{"programme": "HS_GRANT", "payments": 1, "amount_fen": 125000}],
    "shortfalls": [],
    "ignored_columns": ["序号"],
    "requests": [PLANNED],
}
CSV_EXAMPLE = (
    "姓名,身份证号,学校,资助项目,金额,学期,学年\n"
    "张三明,...,422822S0003,HS_GRANT,1250,秋季,2027\n"
)
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "request"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "request": {
                        "type": "string",
                        "description": "the signed import.check request, JSON",
                    },
                },
            },
            "example": {"file": CSV_EXAMPLE, "request": json.dumps(CHECK_REQUEST)},
        },
        "text/csv": {
            "schema": {"type": "string", "format": "binary"},
            "example": CSV_EXAMPLE,
        },
        XLSX: {
            "schema": {"type": "string", "format": "binary"},
            "example": "(the workbook's bytes)",
        },
    },
}
SIGNED_SET = {
    "required": True,
    "content": {
        JSON: {
            "schema": {"type": "array", "items": {"type": "object"}},
            "example": [{"request": PLANNED, "signature": SIGNED_REQUEST["signature"]}],
        }
    },
}
RECEIPTS = {
    "receipts": [
        {
            "digest": "5b0e...a9",
            "replayed": False,
            "size": 44,
            "checkpoint": "http.fundledger.example/log\n44\nT0nV...=\n\n— ...\n",
            "entries": [
                {
                    "index": 42,
                    "leaf_hash": "c0ffee...42",
                    "proof": {"index": 42, "size": 44, "hashes": ["a1...="]},
                }
            ],
        }
    ]
}
TOO_LARGE = (413, "UploadTooLarge", "the body is larger than 67108864 bytes")


# Routes ---------------------------------------------------------------------------


@router.post(
    "/check",
    summary="Check a payment list; the requests to sign",
    openapi_extra={
        "requestBody": UPLOAD_BODY,
        "parameters": [
            {
                "name": REQUEST_HEADER,
                "in": "header",
                "required": False,
                "description": "the signed import.check request (JSON), when the "
                "body is the file itself",
                "schema": {"type": "string"},
                "example": json.dumps(CHECK_REQUEST),
            }
        ],
    },
    response_class=JSONResponse,
    responses={
        **answer(200, "The checked list and the requests to sign", JSON, CHECKED),
        **problems(
            (400, "SheetUnreadable", "upload: the file is empty; nothing was recorded"),
            (401, "BadSignature", "the request's signature does not verify with 4f1b"),
            (403, "OutsideJurisdiction", "officer:x works in 422801, not 422822"),
            TOO_LARGE,
            (415, "UnsupportedUpload", "cannot take a body of type 'image/png'"),
            (503, "NoSecrets", "checking a list needs the deployment's secrets file"),
        ),
    },
)
async def check(state: State, request: Request) -> JSONResponse:
    """Every row checked as ``fundledger import --dry-run`` does; nothing written."""
    try:
        body = await read_body(request, state.settings.max_upload_bytes)
        source, data, document = _upload(request, body)
    except UploadTooLarge as error:
        return problem(413, "UploadTooLarge", str(error), values_of(error))
    except UnsupportedUpload as error:
        return problem(415, "UnsupportedUpload", str(error), values_of(error))
    signed = _check_request(document, data)
    found = await anyio.to_thread.run_sync(_check, state, signed, source, data)
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


@router.post(
    "",
    summary="Record a checked list's signed requests, all or none",
    status_code=201,
    openapi_extra={"requestBody": SIGNED_SET},
    response_class=JSONResponse,
    responses={
        **answer(201, "Recorded now: a receipt per request", JSON, RECEIPTS),
        **answer(200, "Recorded before: the original receipts", JSON, RECEIPTS),
        **problems(
            (400, "InvalidRequest", "invalid request: params must be an object"),
            (401, "BadSignature", "the request's signature does not verify with 4f1b"),
            (403, "OutsideJurisdiction", "officer:x works in 422801, not 422822"),
            (409, "BudgetOverdrawn", "budget 422822:HS_GRANT:2027 holds 100 fen"),
            TOO_LARGE,
            (422, "InvalidAmount", "amount must be a positive whole number, got -5"),
            (503, "NoSigningKey", "signing a checkpoint needs the log's key"),
        ),
    },
)
async def record(state: State, request: Request) -> JSONResponse:
    """Record every request of the set in one transaction, or none of them."""
    try:
        body = await read_body(request, state.settings.max_upload_bytes)
    except UploadTooLarge as error:
        return problem(413, "UploadTooLarge", str(error), values_of(error))
    signed = _signed_set(body)
    if state.log.signer is None:
        raise NoSigningKey
    receipts = await anyio.to_thread.run_sync(execute_together, state.ledger, signed)
    documents = await anyio.to_thread.run_sync(
        lambda: [receipt_document(state.log, receipt) for receipt in receipts]
    )
    status = 200 if all(receipt.replayed for receipt in receipts) else 201
    return JSONResponse({"receipts": documents}, status_code=status)


# Reading what was sent ------------------------------------------------------------


def _upload(request: Request, body: bytes) -> tuple[str, bytes, str]:
    """The file's name, its bytes, and the signed check request's text."""
    content_type = request.headers.get("content-type", "")
    media, _ = media_type(content_type)
    if media == "multipart/form-data":
        fields = form_fields(content_type, body)
        unknown = sorted(set(fields) - {"file", "request"})
        if unknown or "file" not in fields or "request" not in fields:
            raise MalformedUpload(
                "the form takes exactly a 'file' and a 'request' field"
                + (f"; unexpected {', '.join(unknown)}" if unknown else "")
            )
        file = fields["file"]
        document = fields["request"].content.decode("utf-8", "replace")
        return file.filename or "upload", file.content, document
    if media not in SHEET_TYPES:
        raise UnsupportedUpload(media)
    header = request.headers.get(REQUEST_HEADER)
    if header is None:
        raise MalformedUpload(
            f"a file sent as the body needs the signed request in {REQUEST_HEADER}"
        )
    disposition = media_type(request.headers.get("content-disposition", ""))[1]
    return disposition.get("filename") or "upload", body, header


def _check_request(text: str, data: bytes) -> SignedRequest:
    """The signed ``import.check`` request, its shape and the file it names."""
    if len(text) > MAX_DOCUMENT:
        raise MalformedUpload(f"the request is longer than {MAX_DOCUMENT} characters")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedUpload("the request is not JSON") from None
    signed = parse_request(document)
    params = signed.params
    if signed.command != CHECK:
        raise InvalidRequest(f"the upload must be signed as {CHECK}")
    if set(params) != CHECK_PARAMETERS:
        raise InvalidRequest(
            f"{CHECK} takes exactly {', '.join(sorted(CHECK_PARAMETERS))}"
        )
    if not isinstance(params["county"], str) or not params["county"]:
        raise InvalidRequest("county must be a county code")
    year = params["year"]
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        raise InvalidRequest("year must be a whole number or null")
    if params["term"] is not None and not isinstance(params["term"], str):
        raise InvalidRequest("term must be spring, autumn or null")
    if not isinstance(params["skip_bad"], bool):
        raise InvalidRequest("skip_bad must be true or false")
    found = hashlib.sha256(data).hexdigest()
    if params["sha256"] != found:
        raise FileNotSigned(str(params["sha256"]), found)
    return signed


def _signed_set(body: bytes) -> list[SignedRequest]:
    """The set of signed requests: a JSON array of request documents."""
    try:
        documents = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedUpload("the body is not JSON") from None
    if not isinstance(documents, list) or not documents:
        raise MalformedUpload("the body must be a non-empty array of signed requests")
    if len(documents) > MAX_REQUESTS:
        raise MalformedUpload(f"at most {MAX_REQUESTS} requests may be sent together")
    signed = [parse_request(document) for document in documents]
    for each in signed:
        if each.command != RECORDED_COMMAND:
            raise InvalidRequest(
                f"an import records {RECORDED_COMMAND} requests, not {each.command}"
            )
    return signed


# Checking -------------------------------------------------------------------------


def _check(state: ApiState, signed: SignedRequest, source: str, data: bytes) -> Any:
    """Who asks may import here; then the list, checked as the CLI checks it."""
    params = signed.params
    county = str(params["county"])

    # 1. A key that may propose payments in the county signed the request.
    ledger = state.ledger
    registry = ledger.registry_or_none()
    if registry is None:
        raise UnknownKey(signed.key_id)
    _, key = registry.officer_of_key(signed.key_id)
    signed.check_signature(key.public_key)
    registry.authorize(signed.key_id, RECORDED_COMMAND, county, ledger.units.contains)

    # 2. The list, against the ledger and the vault.
    if not state.settings.secrets.exists():
        raise NoSecrets
    vault = Vault(ledger.log_recorder, DeploymentSecrets.load(state.settings.secrets))
    sheet = read_sheet_bytes(data, source)
    report, requests = plan_import(
        ledger,
        vault,
        signed.key_id,
        county,
        sheet,
        year=params["year"],
        term=params["term"],
        skip_bad=params["skip_bad"],
    )
    return _report(sheet.format, report, requests)


def _report(
    format_: str, report: ImportReport, requests: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "source": report.source,
        "format": format_,
        "rows": report.rows,
        "digest": report.digest,
        "status": report.status,
        "summary": report.summary(),
        "problems": [
            {"line": problem.line, "reason": problem.reason}
            for problem in report.problems
        ],
        "totals": [
            {"programme": programme, "payments": count, "amount_fen": fen}
            for programme, (count, fen) in report.totals.items()
        ],
        "shortfalls": [
            {
                "budget": shortfall.budget,
                "needed_fen": shortfall.needed_fen,
                "available_fen": shortfall.available_fen,
                "reason": str(shortfall),
            }
            for shortfall in report.shortfalls
        ],
        "ignored_columns": report.ignored_columns,
        "requests": requests,
    }
