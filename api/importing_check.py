"""Checking every row of a payment list before anything of it is recorded.

Each row is checked on its own and against the rest of the file, and every bad
row is reported with its line and all its reasons, not only the first: an
officer fixes the whole list in one pass. The rules are the domain's own, not
copies: the resident ID is parsed by ``domain.resident_id`` (GB 11643), the
payment is held against the rolls and the policy table by
``domain.awards.check_person_payment``, amounts by ``domain.funds.check_amount``,
bank accounts by ``domain.pseudonyms``. What only an import can know is checked
here: the person is in the vault under that very name, the school is one the
county registered (and the one the student-status roll has them at), the bank
account is the one held for them, no row repeats another row of the file, and
no earlier proposal already pays the same person the same programme and term.

Invariants:

- Amounts are read as decimal text (yuan, at most two decimals) into integer
  fen; never through a float.
- A ``ImportedPayment`` holds pseudonyms only (``person_ref``, ``account_ref``):
  names, ID numbers and bank accounts stay in the sheet and the vault.
- Checking reads the ledger and the vault and writes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.app import FundLedger
from api.importing import SHOWN, SheetRow
from api.vault_store import Vault
from domain.awards import check_person_payment
from domain.errors import DomainError
from domain.funds import TERMS, CountyFund, check_amount
from domain.policy import Policy, Programme
from domain.pseudonyms import account_ref, normalise_bank_account, person_ref
from domain.resident_id import parse_resident_id
from domain.rolls import CountyRolls
from domain.units import School
from domain.vault import PersonalData

Progress = Callable[[int, int], None]

# 金额: yuan with at most two decimals; thousands may be grouped with commas.
_AMOUNT = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
_YUAN_MARKS = ("¥", "元", "CNY", "RMB")
TERM_WORDS = {
    "spring": "spring",
    "春": "spring",
    "春季": "spring",
    "春季学期": "spring",
    "autumn": "autumn",
    "fall": "autumn",
    "秋": "autumn",
    "秋季": "autumn",
    "秋季学期": "autumn",
}
_GRADE_LENGTH = 20
_ACTIVE = frozenset({"proposed", "approved"})


@dataclass(frozen=True)
class RowProblem:
    """A bad row: its line in the sheet and why it cannot be recorded."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportedPayment:
    """A good row, ready to be proposed: pseudonyms and codes only."""

    line: int
    programme: str
    year: int
    term: str
    person_ref: str
    amount_fen: int
    school: str
    grade: str | None
    account_ref: str | None

    def proposal(self, payment_id: str) -> dict[str, Any]:
        """The row of a ``fund.propose_payments`` request."""
        details: dict[str, Any] = {"school": self.school}
        if self.grade is not None:
            details["grade"] = self.grade
        if self.account_ref is not None:
            details["account_ref"] = self.account_ref
        return {
            "payment_id": payment_id,
            "programme": self.programme,
            "year": self.year,
            "term": self.term,
            "payee_kind": "person",
            "payee": self.person_ref,
            "amount_fen": self.amount_fen,
            "details": details,
        }


@dataclass
class CheckedList:
    """The outcome of checking a list: good rows and bad rows, in sheet order."""

    payments: list[ImportedPayment] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def parse_yuan(text: str) -> int:
    """Fen from yuan written with at most two decimals: ``1,250.5`` → 125050.

    Raises ``ValueError`` with the reason. Exact: the digits are read as digits.
    """
    value = unicodedata.normalize("NFKC", text).strip()
    for mark in _YUAN_MARKS:
        value = value.removeprefix(mark).removesuffix(mark).strip()
    match = _AMOUNT.fullmatch(value)
    if match is None:
        raise ValueError(
            f"金额/amount must be yuan with at most two decimals, got {text!r}"
        )
    whole, cents = match.group(1).replace(",", ""), match.group(2) or ""
    return int(whole) * 100 + int(cents.ljust(2, "0"))


def programme_of(policy: Policy, text: str) -> Programme:
    """The programme a cell names: by code (HS_GRANT) or by the table's name."""
    value = unicodedata.normalize("NFKC", text).strip()
    for programme in policy.programmes:
        if value.upper() == programme.code or value in (
            programme.name_zh,
            programme.name_en,
        ):
            return programme
    known = ", ".join(programme.code for programme in policy.programmes)
    raise ValueError(
        f"资助项目/programme {text!r} is neither a code ({known}) "
        "nor a programme's name in the policy table"
    )


def normal_form(policy: Policy, row: SheetRow) -> dict[str, str]:
    """The row's fields as they will be recorded, where they can be read.

    The same list typed or saved differently (1250 or 1,250.00 yuan, 秋季 or
    autumn, a programme's code or its name, an ID with a small x) has one
    normal form; a cell that cannot be read is kept as it stands.
    """
    fields = dict(row.fields)
    for name, text in row.fields.items():
        try:
            if name == "amount":
                fields[name] = str(parse_yuan(text))
            elif name == "programme":
                fields[name] = programme_of(policy, text).code
            elif name == "term":
                fields[name] = TERM_WORDS.get(_name(text).lower(), text)
            elif name == "id_number":
                fields[name] = _digits(text)
            elif name == "name":
                fields[name] = _name(text)
            elif name == "bank_account" and text:
                fields[name] = normalise_bank_account(_digits(text))
        except (ValueError, DomainError):
            continue
    return fields


def check_rows(
    ledger: FundLedger,
    vault: Vault,
    county: str,
    rows: Sequence[SheetRow],
    *,
    year: int | None,
    term: str | None,
    today: date,
    progress: Progress | None = None,
) -> CheckedList:
    """Check every row (see the module docstring); nothing is written."""
    # 1. What the ledger knows, read once for the whole list.
    rolls = ledger.rolls_or_none(county)
    schools = ledger.schools_or_none(county)
    checker = _Checker(
        policy=ledger.policy,
        rolls=rolls,
        schools={} if schools is None else dict(schools.schools),
        secret=vault.secrets.person_secret,
        year=year,
        term=term,
        today=today,
    )
    earlier = _active_payments(ledger.fund(county))

    # 2. The persons' pseudonyms where the ID is valid, and their vault records.
    refs: dict[int, str] = {}
    for row in rows:
        number = _digits(row.fields.get("id_number", ""))
        try:
            resident_id = parse_resident_id(number, today=today)
        except DomainError:
            continue
        refs[row.line] = person_ref(checker.secret, resident_id)
    people = vault.get_many(refs.values())

    # 3. Every row, against the ledger, the vault and the rows before it.
    checked = CheckedList()
    seen: dict[tuple[str, str, int, str], int] = {}
    total = len(rows)
    for done, row in enumerate(rows, start=1):
        if progress is not None and (done % 1000 == 0 or done == total):
            progress(done, total)
        reasons = list(row.notes.values())
        ref = refs.get(row.line)
        person = None if ref is None else people.get(ref)
        payment = checker.row(row, reasons, ref, person)
        if payment is not None:
            key = (payment.person_ref, payment.programme, payment.year, payment.term)
            if key in seen:
                reasons.append(
                    f"repeats line {seen[key]}: the same person, programme, year "
                    "and term"
                )
            elif key in earlier:
                reasons.append(
                    f"already proposed in the ledger as payment {earlier[key]}: the "
                    "same person, programme, year and term"
                )
            seen.setdefault(key, row.line)
        if reasons:
            checked.problems.append(RowProblem(row.line, "; ".join(reasons)))
        elif payment is not None:
            checked.payments.append(payment)
    return checked


@dataclass(frozen=True)
class _Checker:
    """What one row is checked against, read once per list."""

    policy: Policy
    rolls: CountyRolls | None
    schools: dict[str, School]
    secret: bytes
    year: int | None
    term: str | None
    today: date
    by_name: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for code, school in self.schools.items():
            self.by_name.setdefault(school.name, []).append(code)

    def row(
        self,
        row: SheetRow,
        reasons: list[str],
        ref: str | None,
        person: PersonalData | None,
    ) -> ImportedPayment | None:
        """One row's checks; appends its reasons and returns the payment if none."""
        fields = row.fields

        # 1. The cells on their own.
        if ref is None and "id_number" not in row.notes:
            number = _digits(fields.get("id_number", ""))
            try:
                parse_resident_id(number, today=self.today)
            except DomainError as error:
                reasons.append(f"身份证号/id_number: {error}")
        programme: Programme | None = None
        try:
            programme = programme_of(self.policy, fields.get("programme", ""))
        except ValueError as error:
            reasons.append(str(error))
        amount: int | None = None
        try:
            amount = check_amount(parse_yuan(fields.get("amount", "")))
        except ValueError as error:
            reasons.append(str(error))
        except DomainError as error:
            reasons.append(f"金额/amount: {error}")
        term = _term(fields.get("term", ""), self.term, reasons)
        year = _year(fields.get("year", ""), self.year, reasons)
        school = self._school(fields.get("school", ""), reasons)
        grade = fields.get("grade", "").strip() or None
        if grade is not None and len(grade) > _GRADE_LENGTH:
            reasons.append(f"年级/grade is longer than {_GRADE_LENGTH} characters")

        # 2. The person: in the vault, under this name, with this account.
        account: str | None = None
        if ref is not None:
            if person is None:
                reasons.append(
                    "身份证号/id_number: no beneficiary with this ID is held in the "
                    "vault (add them with `beneficiary add` or `beneficiary import`)"
                )
            elif _name(person.name) != _name(fields.get("name", "")):
                reasons.append(
                    "姓名/name does not match the name held in the vault for this ID"
                )
            bank = fields.get("bank_account", "")
            account = _account(bank, person, self.secret, reasons)

        # 3. The rolls and the policy, by the domain's own rule.
        known = ref is not None and person is not None
        if known and programme is not None and amount is not None:
            assert ref is not None  # noqa: S101 - known says so
            try:
                check_person_payment(
                    self.policy,
                    self.rolls,
                    programme=programme.code,
                    person_ref=ref,
                    amount_fen=amount,
                )
            except DomainError as error:
                reasons.append(str(error))
            else:
                assert self.rolls is not None  # noqa: S101 - the check needs them
                at = self.rolls.students[ref].school
                if school is not None and at != school:
                    reasons.append(
                        f"学校/school {school} is not the school the student-status "
                        f"roll has this person at ({at})"
                    )
        if (
            reasons
            or ref is None
            or programme is None
            or amount is None
            or term is None
            or year is None
            or school is None
        ):
            return None
        return ImportedPayment(
            row.line, programme.code, year, term, ref, amount, school, grade, account
        )

    def _school(self, text: str, reasons: list[str]) -> str | None:
        """The school's code, from its code or its registered name."""
        value = text.strip()
        if value in self.schools:
            return value
        codes = self.by_name.get(value, [])
        if len(codes) == 1:
            return codes[0]
        if codes:
            reasons.append(
                f"学校/school {value!r} names {len(codes)} registered schools; give "
                "the school's code"
            )
        elif not value:
            reasons.append("学校/school is empty")
        else:
            reasons.append(f"学校/school {value!r} is not registered in this county")
        return None


def _active_payments(fund: CountyFund) -> dict[tuple[str, str, int, str], str]:
    """(person_ref, programme, year, term) -> id of a proposed or paid payment."""
    found: dict[tuple[str, str, int, str], str] = {}
    for payment in fund.payments.values():
        if payment.status not in _ACTIVE or not payment.payee.startswith("person:"):
            continue
        details = payment.details
        key = (
            payment.payee.removeprefix("person:"),
            str(details.get("programme")),
            int(details.get("year", 0)),
            str(details.get("term")),
        )
        found.setdefault(key, payment.payment_id)
    return found


def _digits(text: str) -> str:
    """An ID number as typed, folded (full-width digits) and without spaces."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def _name(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _term(text: str, given: str | None, reasons: list[str]) -> str | None:
    if not text.strip():
        if given is None:
            reasons.append("学期/term is empty (give it in the row or with --term)")
        return given
    found = TERM_WORDS.get(_name(text).lower())
    if found is None:
        reasons.append(
            f"学期/term must be one of {', '.join(TERMS)} (春季, 秋季), got {text!r}"
        )
        return None
    if given is not None and found != given:
        reasons.append(f"学期/term {text!r} is not the term given ({given})")
        return None
    return found


def _year(text: str, given: int | None, reasons: list[str]) -> int | None:
    value = _digits(text).removesuffix("年")
    if not value:
        if given is None:
            reasons.append("学年/year is empty (give it in the row or with --year)")
        return given
    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        reasons.append(f"学年/year must be a year from 2000 to 2100, got {text!r}")
        return None
    if given is not None and int(value) != given:
        reasons.append(f"学年/year {text!r} is not the year given ({given})")
        return None
    return int(value)


def _account(
    text: str, person: PersonalData | None, secret: bytes, reasons: list[str]
) -> str | None:
    """The account_ref of the row's bank account (or else of the vault's)."""
    held = None if person is None else person.bank_account
    if not text.strip():
        return None if held is None else account_ref(secret, held)
    try:
        digits = normalise_bank_account(unicodedata.normalize("NFKC", text))
    except DomainError as error:
        reasons.append(f"{SHOWN['bank_account']}/bank_account: {error}")
        return None
    if held is not None and normalise_bank_account(held) != digits:
        reasons.append(
            "银行账号/bank_account is not the account held in the vault for this person"
        )
        return None
    return account_ref(secret, digits)
