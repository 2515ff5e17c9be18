"""Rules on approved payments: R01 to R08, R11 and R13 (R12's totals too).

A payment counts from its ``PaymentApproved`` (money moved) until a
``TransferReversed`` of its id; a proposal that was rejected never counts. At
approval the payment is fixed to its *place*, ``county/school``, where the
school is the one the county's student-status roll gives for the person at that
moment (else ``details.school``, else empty), and to the person's household on
the county's registered-poor roll, so later roll changes never move an old
payment.

Every approved payment to a payee joins the group of that payee's payments in
the same school year and term (``rule_terms``), which is all R01, R02, R03 and
R13 look at: a handful of payments, so each approval costs O(1).

Invariants: a group holds exactly the payee's approved, not reversed payments
of that year and term, in approval order. An alert, once raised, stays (a
reversal only stops the payment counting for later hits), except R04's per-year
alert, which stands only while its condition holds (see ``_floor_year``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.alerts import alert_id_of
from domain.policy import RateKind
from projections.feed import LoggedEvent
from projections.rules_core import (
    ACCOUNTS,
    ALERTS,
    BUDGETS,
    FLOORS,
    HOUSEHOLDS,
    P_ACCOUNT,
    P_AMOUNT,
    P_APPROVED,
    P_HEADCOUNT,
    P_HOUSEHOLD,
    P_KIND,
    P_PAYEE,
    P_PLACE,
    P_PROGRAMME,
    P_PROPOSED,
    P_SCHOOL,
    P_STATUS,
    P_STATUS_SEQ,
    P_TERM,
    P_YEAR,
    PAYMENTS,
    PERSONS,
    POOR,
    STATUS,
    TERMS,
    YEARS,
    RulesBase,
    beijing_day,
    dumps,
    loads,
    parse_day,
)

_LIMITED = frozenset({RateKind.FIXED, RateKind.CAP, RateKind.CONFIGURED})


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _whole(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


class PaymentRules(RulesBase):
    """Payments: proposed, approved, rejected, reversed, and the rules on them."""

    # Recording ----------------------------------------------------------------------

    def on_proposed(self, event: LoggedEvent, county: str) -> None:
        """Remember the proposal; nothing counts until it is approved.

        A payment id is used once (the fund refuses a second proposal under it),
        so a repeated proposal is not followed: the first one stands.
        """
        body = event.body
        key = (county, str(body["payment_id"]))
        if key in self._rows[PAYMENTS]:
            return
        details = body.get("details")
        details = details if isinstance(details, dict) else {}
        self.put(
            PAYMENTS,
            key,
            (
                str(body["programme"]),
                int(body["year"]),
                str(body["term"]),
                str(body["payee_kind"]),
                str(body["payee"]),
                int(body["amount_fen"]),
                _text(details.get("school")),
                _text(details.get("account_ref")),
                _whole(details.get("headcount")),
                event.seq,
                "proposed",
                None,
                None,
                None,
                None,
            ),
        )

    def on_rejected(self, event: LoggedEvent, county: str) -> None:
        """A rejected proposal never moves money: forget it."""
        key = (county, str(event.body["payment_id"]))
        row = self.row(PAYMENTS, key)
        if row is not None and row[P_STATUS] == "proposed":
            self.delete(PAYMENTS, key)

    def on_approved(self, event: LoggedEvent, county: str) -> None:
        """Money moved: fix the payment's place, count it, run the rules."""
        tables: dict[str, dict[Any, Any]] = self._rows  # the hot path: no calls
        payments = tables[PAYMENTS]
        key = (county, str(event.body["payment_id"]))
        row = payments.get(key)
        if row is None or row[P_STATUS] != "proposed":
            return
        person = row[P_KIND] == "person"
        payee = str(row[P_PAYEE])
        status = tables[STATUS].get((county, payee)) if person else None
        poor = tables[POOR].get((county, payee)) if person else None
        school = status[0] if status is not None else row[P_SCHOOL]
        place = f"{county}/{school or ''}" if person else f"{county}/{payee}"
        household = poor[0] if poor is not None else None
        row = (
            *row[:P_STATUS],
            "approved",
            event.seq,
            place,
            household,
            None if status is None else status[5],
        )
        self.put(PAYMENTS, key, row)

        # 1. Totals: the budget (R12) and the payee's term group.
        self.count_paid(county, row, event.seq, +1)
        group_key = (row[P_KIND], payee, row[P_YEAR], row[P_TERM])
        group = tables[TERMS].get(group_key)
        members = [] if group is None else loads(group[0])
        others = [payments[(c, p)] for c, p in members]
        members.append([county, key[1]])
        self.put(TERMS, group_key, (dumps(members),))

        # 2. The rules, each on what it needs.
        self._duplicates(county, row, others)
        programme = self._programmes.get(str(row[P_PROGRAMME]))
        if programme is not None and programme.kind is RateKind.FLOOR:
            self._below_floor(county, key[1], row, programme.term_fen)
        if not person:
            return
        self._double_claim(county, row, others)
        self._exclusive(county, row, others)
        self._above_rate(county, row, others)
        if programme is not None and programme.requires_registered_poor:
            self._not_poor(county, key[1], row, poor, beijing_day(event.recorded_at))
        ghost = self._ghost(county, key[1], row, status)
        if status is not None:
            self._age(county, row, status)
            if programme is not None and programme.requires_boarding and not ghost:
                self._day_pupil(county, key[1], row, status)
        if row[P_ACCOUNT] is not None:
            self._shared_account(county, row, +1)
        self._floor_year(county, row, event.seq, +1)

    def reverse_payment(self, event: LoggedEvent, county: str, row: Any) -> None:
        """A reversed payment stops counting; the alerts it raised stay."""
        payment_id = str(event.body["transfer_id"])
        self.put(
            PAYMENTS, (county, payment_id), (*row[:P_STATUS], "reversed", *row[11:])
        )
        self.count_paid(county, row, event.seq, -1)
        group_key = (row[P_KIND], row[P_PAYEE], row[P_YEAR], row[P_TERM])
        members = [
            m
            for m in loads((self.row(TERMS, group_key) or (None,))[0])
            if m != [county, payment_id]
        ]
        if members:
            self.put(TERMS, group_key, (dumps(members),))
        else:
            self.delete(TERMS, group_key)
        if row[P_KIND] == "person":
            if row[P_ACCOUNT] is not None:
                self._shared_account(county, row, -1)
            self._floor_year(county, row, event.seq, -1)

    def count_paid(self, county: str, row: Any, seq: int, sign: int) -> None:
        """Add or take back a payment in its budget; R12 when paid > allocated."""
        key = (county, row[P_PROGRAMME], row[P_YEAR])
        allocated, paid, allocations = self.row(BUDGETS, key) or (0, 0, "[]")
        paid = int(paid) + sign * int(row[P_AMOUNT])
        self.put(BUDGETS, key, (allocated, paid, allocations))
        if sign > 0:
            self.check_budget(key, [row[P_PROPOSED], seq])

    def check_budget(self, key: tuple[Any, ...], evidence: list[int | None]) -> None:
        """R12: a budget paid beyond what was allocated to it (net of reversals)."""
        allocated, paid, allocations = self.row(BUDGETS, key)
        if paid <= allocated:
            return
        county, programme, year = key
        self.raise_alert(
            "R12",
            county,
            "budget",
            f"{county}/{programme}/{year}",
            f"{programme} {year}: approved payments {paid} fen exceed "
            f"allocations {allocated} fen",
            max(s for s in evidence if s is not None),
            [*loads(allocations), *evidence],
        )

    # The rules ------------------------------------------------------------------------

    @staticmethod
    def _seqs(rows: list[Any], with_status: bool = False) -> list[int | None]:
        seqs: list[int | None] = []
        for row in rows:
            seqs += [row[P_PROPOSED], row[P_APPROVED]]
            if with_status:
                seqs.append(row[P_STATUS_SEQ])
        return seqs

    def _duplicates(self, county: str, row: Any, others: list[Any]) -> None:
        """R13: the same payment (county, payee, programme, term, amount) twice.

        The county, not the school: one payment made again at another school of
        the county is a double claim (R01) and a duplicate.
        """
        same = [
            other
            for other in others
            if str(other[P_PLACE]).partition("/")[0] == county
            and other[P_PROGRAMME] == row[P_PROGRAMME]
            and other[P_AMOUNT] == row[P_AMOUNT]
        ]
        if not same:
            return
        subject = "/".join(
            str(row[i]) for i in (P_PAYEE, P_PROGRAMME, P_YEAR, P_TERM, P_AMOUNT)
        )
        self.raise_alert(
            "R13",
            county,
            "duplicate",
            f"{county}/{subject}",
            f"{row[P_PROGRAMME]} {row[P_YEAR]} {row[P_TERM]}: {len(same) + 1} "
            f"approved payments of {row[P_AMOUNT]} fen to one payee in {county}",
            int(row[P_APPROVED]),
            self._seqs([*same, row]),
        )

    def _double_claim(self, county: str, row: Any, others: list[Any]) -> None:
        """R01: one programme and term approved at two or more places."""
        same = [o for o in others if o[P_PROGRAMME] == row[P_PROGRAMME]]
        places = {str(o[P_PLACE]) for o in same} | {str(row[P_PLACE])}
        if len(places) < 2:
            return
        subject = "/".join(str(row[i]) for i in (P_PAYEE, P_PROGRAMME, P_YEAR, P_TERM))
        self.raise_alert(
            "R01",
            county,
            "claim",
            subject,
            f"{row[P_PROGRAMME]} {row[P_YEAR]} {row[P_TERM]} approved at "
            f"{len(places)} places: {', '.join(sorted(places))}",
            int(row[P_APPROVED]),
            self._seqs([*same, row], with_status=True),
        )

    def _exclusive(self, county: str, row: Any, others: list[Any]) -> None:
        """R02: two programmes in one term that the policy does not let stack."""
        code = str(row[P_PROGRAMME])
        for other in others:
            second = str(other[P_PROGRAMME])
            if (
                second == code
                or code not in self._programmes
                or second not in self._programmes
                or self.policy.may_stack(code, second)
            ):
                continue
            pair = sorted((code, second))
            involved = [o for o in others if o[P_PROGRAMME] in pair]
            self.raise_alert(
                "R02",
                county,
                "term",
                f"{row[P_PAYEE]}/{row[P_YEAR]}/{row[P_TERM]}/{pair[0]}+{pair[1]}",
                f"{pair[0]} and {pair[1]} do not stack, both approved for "
                f"{row[P_YEAR]} {row[P_TERM]} (at "
                f"{', '.join(sorted({str(o[P_PLACE]) for o in [*involved, row]}))})",
                int(row[P_APPROVED]),
                self._seqs([*involved, row]),
            )

    def _above_rate(self, county: str, row: Any, others: list[Any]) -> None:
        """R03: one place paid more than the term rate, exact duplicates aside."""
        programme = self._programmes.get(str(row[P_PROGRAMME]))
        if programme is None or programme.kind not in _LIMITED:
            return
        rate = programme.term_fen
        same = [
            o
            for o in others
            if o[P_PLACE] == row[P_PLACE] and o[P_PROGRAMME] == row[P_PROGRAMME]
        ]
        amounts = {int(o[P_AMOUNT]) for o in same} | {int(row[P_AMOUNT])}
        total = sum(amounts)
        if rate is None or total <= rate:
            return
        subject = "/".join(str(row[i]) for i in (P_PAYEE, P_PROGRAMME, P_YEAR, P_TERM))
        self.raise_alert(
            "R03",
            county,
            "claim-place",
            f"{subject}/{row[P_PLACE]}",
            f"{row[P_PROGRAMME]} {row[P_YEAR]} {row[P_TERM]} at {row[P_PLACE]}: "
            f"{total} fen approved, term rate {rate} fen",
            int(row[P_APPROVED]),
            self._seqs([*same, row]),
        )

    def _below_floor(
        self, county: str, payment_id: str, row: Any, floor: int | None
    ) -> None:
        """R04: a floor programme paid below its floor, per person or per head."""
        if floor is None:
            return
        heads = row[P_HEADCOUNT] if row[P_KIND] == "school" else 1
        if not isinstance(heads, int) or heads <= 0:
            return
        if int(row[P_AMOUNT]) >= floor * heads:
            return
        who = f"{heads} students" if row[P_KIND] == "school" else "one student"
        self.raise_alert(
            "R04",
            county,
            "payment",
            f"{county}/{payment_id}",
            f"{row[P_PROGRAMME]} {row[P_YEAR]} {row[P_TERM]}: {row[P_AMOUNT]} fen "
            f"for {who}, floor {floor * heads} fen",
            int(row[P_APPROVED]),
            self._seqs([row]),
        )

    def _not_poor(
        self, county: str, payment_id: str, row: Any, poor: Any, award_day: str
    ) -> None:
        """R05: the payee was not on the registered-poor roll at the award date."""
        listed_on = None if poor is None else parse_day(poor[1])
        award = parse_day(award_day)
        if poor is None:
            why = f"not on the registered-poor roll of {county}"
        elif poor[3] is not None:
            why = f"delisted at entry {poor[3]}, before the approval"
        elif listed_on is not None and award is not None and listed_on > award:
            why = f"listed on {poor[1]}, after the award date {award_day}"
        else:
            return
        self.raise_alert(
            "R05",
            county,
            "payment",
            f"{county}/{payment_id}",
            f"{row[P_PROGRAMME]} {row[P_YEAR]} {row[P_TERM]} awarded {award_day}: "
            f"payee {why}",
            int(row[P_APPROVED]),
            [*self._seqs([row]), *(() if poor is None else (poor[2], poor[3]))],
        )

    def _ghost(self, county: str, payment_id: str, row: Any, status: Any) -> bool:
        """R06: no student status for that school year (or at that school)."""
        if status is None:
            why = f"no student status in {county}"
        elif status[4] != row[P_YEAR]:
            why = f"the student status is for {status[4]}, not {row[P_YEAR]}"
        elif row[P_SCHOOL] is not None and row[P_SCHOOL] != status[0]:
            why = f"the status is at {status[0]}, the payment names {row[P_SCHOOL]}"
        else:
            return False
        self.raise_alert(
            "R06",
            county,
            "payment",
            f"{county}/{payment_id}",
            f"{row[P_PROGRAMME]} {row[P_YEAR]} {row[P_TERM]}: {why}",
            int(row[P_APPROVED]),
            [*self._seqs([row]), None if status is None else status[5]],
        )
        return True

    def _age(self, county: str, row: Any, status: Any) -> None:
        """R07: the age on 1 September of the school year is not the stage's."""
        facts = self.row(PERSONS, (row[P_PAYEE],))
        born = None if facts is None else parse_day(facts[0])
        bounds = self.data.ages.get(str(status[1]))
        if born is None or bounds is None:
            return
        day = date(int(row[P_YEAR]), 9, 1)
        age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        if bounds[0] <= age <= bounds[1]:
            return
        self.raise_alert(
            "R07",
            county,
            "person-stage",
            f"{row[P_PAYEE]}/{status[1]}",
            f"age {age} on {day.isoformat()} at stage {status[1]} "
            f"(plausible {bounds[0]} to {bounds[1]})",
            int(row[P_APPROVED]),
            [*self._seqs([row]), status[5], facts[4] if facts else None],
        )

    def _day_pupil(self, county: str, payment_id: str, row: Any, status: Any) -> None:
        """R08: a boarding subsidy approved while the status says day pupil."""
        if status[3]:
            return
        self.raise_alert(
            "R08",
            county,
            "payment",
            f"{county}/{payment_id}",
            f"{row[P_PROGRAMME]} pays boarders; the student status at {status[0]} "
            f"for {status[4]} says day pupil",
            int(row[P_APPROVED]),
            [*self._seqs([row]), status[5]],
        )

    def _shared_account(self, county: str, row: Any, sign: int) -> None:
        """R11: one bank account paid for persons of two or more households.

        A person not on the county's registered-poor roll counts as a household
        of their own (the roll is the only household register the log has).
        """
        account = str(row[P_ACCOUNT])
        household = row[P_HOUSEHOLD] or f"person:{row[P_PAYEE]}"
        key = (account, household)
        active, payments = self.row(HOUSEHOLDS, key) or (0, "[]")
        pair = [row[P_PROPOSED], row[P_APPROVED]]
        listed = loads(payments)
        if sign > 0:
            listed.append(pair)
        else:
            listed = [p for p in listed if p != pair]
        active = int(active) + sign
        self.put(HOUSEHOLDS, key, (active, dumps(listed)))
        households = loads((self.row(ACCOUNTS, (account,)) or (None,))[0])
        joined = active > 0 and household not in households
        if joined:
            households.append(household)
            self.put(ACCOUNTS, (account,), (dumps(households),))
        elif active <= 0 and household in households:
            households.remove(household)
            self.put(ACCOUNTS, (account,), (dumps(households),))
        if sign < 0 or len(households) < 2:
            return

        # The alert cites every payment to the account when a household joins;
        # after that each payment adds its own (the others are cited already).
        evidence: list[int | None] = pair
        if joined:
            evidence = []
            for name in households:
                cited = self.row(HOUSEHOLDS, (account, name))[1]
                for proposed, approved in loads(cited):
                    evidence += [proposed, approved]
        self.raise_alert(
            "R11",
            county,
            "account",
            account,
            f"one bank account paid for {len(households)} households: "
            f"{', '.join(sorted(households))}",
            int(row[P_APPROVED]),
            evidence,
        )

    def _floor_year(self, county: str, row: Any, seq: int, sign: int) -> None:
        """R04 per school year: a floor programme paid below its annual floor
        while the person was paid (anything) in both terms of that year.

        The year is not over when a payment arrives, so this alert stands only
        while the condition holds: the missing term's payment, approved later,
        withdraws it again, unless the log raised it or an auditor resolved it
        by then.
        """
        person, year = row[P_PAYEE], row[P_YEAR]
        key = (person, year)
        spring, autumn = self.row(YEARS, key) or (0, 0)
        if row[P_TERM] == "spring":
            spring += sign
        else:
            autumn += sign
        self.put(YEARS, key, (spring, autumn))
        for programme in self._floors:
            floor_key = (person, programme.code, year)
            stored = self.row(FLOORS, floor_key)
            if programme.code == row[P_PROGRAMME]:
                total, payments = stored or (0, "[]")
                pair = [row[P_PROPOSED], row[P_APPROVED]]
                listed = loads(payments)
                listed = (
                    [*listed, pair] if sign > 0 else [p for p in listed if p != pair]
                )
                stored = (int(total) + sign * int(row[P_AMOUNT]), dumps(listed))
                self.put(FLOORS, floor_key, stored)
            if stored is None:
                continue
            subject = f"{person}/{programme.code}/{year}"
            annual = programme.annual_fen or 0
            if spring > 0 and autumn > 0 and 0 < stored[0] < annual:
                evidence: list[int | None] = [seq]
                for pair in loads(stored[1]):
                    evidence += pair
                self.raise_alert(
                    "R04",
                    county,
                    "person-year",
                    subject,
                    f"{programme.code} {year}: {stored[0]} fen in the year, annual "
                    f"floor {annual} fen, while both terms were paid",
                    seq,
                    evidence,
                )
                continue
            alert = (alert_id_of("R04", "person-year", subject),)
            existing = self.row(ALERTS, alert)
            if existing is not None and self.withdrawable(existing):
                self.delete(ALERTS, alert)
