"""Every county fund's account balances, rebuilt from the log alone.

The domain keeps balances inside each ``CountyFund`` aggregate; this projection
derives the same numbers from the log's entries, without the aggregates, so it
is an independent check of them: for every county, the public ``balances``
table must equal ``CountyFund.balances`` (accounts named as ``domain.funds``
names them, zero balances included).

How each event moves money (integer fen):

| event | from | to |
|---|---|---|
| FundsReceived | ``source:<kind>:<source>`` | ``pool:<county>`` |
| Allocated | pool | ``budget:<county>:<programme>:<year>`` |
| ProjectFunded | pool | ``project:<county>:<project>`` |
| PaymentApproved | the proposal's budget | ``<payee kind>:<payee>`` |
| TransferReversed | the transfer's credit | the transfer's debit |

A payment's amount, budget and payee come from its ``PaymentProposed``, which a
proposal alone does not move. Each balance row cites the entries that changed it;
an approved payment's rows also cite its proposal.

Invariants: the balances of one county sum to zero; the projection's state is
its rows (private tables remember streams, transfers and proposals).
"""

from __future__ import annotations

from collections.abc import Callable

from domain.funds import (
    budget_account,
    payee_account,
    pool_account,
    project_account,
    source_account,
)
from projections.base import Column, Projection, Table, Value
from projections.feed import LoggedEvent

BALANCES = "balances"
FUNDS = "funds"
TRANSFERS = "transfers"
PAYMENTS = "payments"


def _int(value: Value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected a whole number of fen, got {value!r}")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected text, got {value!r}")


class Balances(Projection):
    """Per county, every account's balance in fen, with the entries behind it."""

    name = "balances"
    tables = (
        Table(
            BALANCES,
            key=(Column("county"), Column("account")),
            values=(Column("balance_fen", "INTEGER"),),
        ),
        Table(
            FUNDS,
            key=(Column("stream"),),
            values=(Column("county"),),
            public=False,
        ),
        Table(
            TRANSFERS,
            key=(Column("county"), Column("transfer_id")),
            values=(
                Column("debit"),
                Column("credit"),
                Column("amount_fen", "INTEGER"),
                Column("reversed", "BOOLEAN"),
            ),
            public=False,
        ),
        Table(
            PAYMENTS,
            key=(Column("county"), Column("payment_id")),
            values=(
                Column("budget"),
                Column("payee"),
                Column("amount_fen", "INTEGER"),
                Column("proposed_seq", "INTEGER"),
            ),
            public=False,
        ),
    )

    def apply(self, event: LoggedEvent) -> None:
        """Move money as the event did; other events leave the rows alone."""
        if event.name == "CountyFund.Opened":
            county = _text(event.body["county_code"])
            self.put(FUNDS, (event.stream,), (county,))
            return
        handler = _HANDLERS.get(event.name)
        if handler is None:
            return
        fund = self.get(FUNDS, (event.stream,))
        if fund is None:  # an event of a fund that was never opened: not ours
            return
        handler(self, _text(fund[0]), event)

    # Moving money ------------------------------------------------------------

    def _move(
        self, county: str, debit: str, credit: str, amount: int, seqs: tuple[int, ...]
    ) -> None:
        for account, change in ((debit, -amount), (credit, amount)):
            key = (county, account)
            row = self.get(BALANCES, key)
            self.put(BALANCES, key, ((0 if row is None else _int(row[0])) + change,))
            for seq in seqs:
                self.cite(BALANCES, key, seq)

    def _transfer(
        self,
        county: str,
        transfer_id: str,
        *,
        debit: str,
        credit: str,
        amount: int,
        seqs: tuple[int, ...],
    ) -> None:
        self.put(TRANSFERS, (county, transfer_id), (debit, credit, amount, False))
        self._move(county, debit, credit, amount, seqs)

    def _received(self, county: str, event: LoggedEvent) -> None:
        body = event.body
        source = source_account(_text(body["source_kind"]), _text(body["source"]))
        self._transfer(
            county,
            _text(body["transfer_id"]),
            debit=source,
            credit=pool_account(county),
            amount=_int(body["amount_fen"]),
            seqs=(event.seq,),
        )

    def _allocated(self, county: str, event: LoggedEvent) -> None:
        body = event.body
        budget = budget_account(county, _text(body["programme"]), _int(body["year"]))
        self._transfer(
            county,
            _text(body["transfer_id"]),
            debit=pool_account(county),
            credit=budget,
            amount=_int(body["amount_fen"]),
            seqs=(event.seq,),
        )

    def _project_funded(self, county: str, event: LoggedEvent) -> None:
        body = event.body
        self._transfer(
            county,
            _text(body["transfer_id"]),
            debit=pool_account(county),
            credit=project_account(county, _text(body["project_id"])),
            amount=_int(body["amount_fen"]),
            seqs=(event.seq,),
        )

    def _proposed(self, county: str, event: LoggedEvent) -> None:
        body = event.body
        self.put(
            PAYMENTS,
            (county, _text(body["payment_id"])),
            (
                budget_account(county, _text(body["programme"]), _int(body["year"])),
                payee_account(_text(body["payee_kind"]), _text(body["payee"])),
                _int(body["amount_fen"]),
                event.seq,
            ),
        )

    def _approved(self, county: str, event: LoggedEvent) -> None:
        payment_id = _text(event.body["payment_id"])
        payment = self.get(PAYMENTS, (county, payment_id))
        if payment is None:  # the domain never approves an unknown payment
            return
        budget, payee, amount, proposed_seq = payment
        self._transfer(
            county,
            payment_id,
            debit=_text(budget),
            credit=_text(payee),
            amount=_int(amount),
            seqs=(_int(proposed_seq), event.seq),
        )

    def _reversed(self, county: str, event: LoggedEvent) -> None:
        key = (county, _text(event.body["transfer_id"]))
        transfer = self.get(TRANSFERS, key)
        if transfer is None or transfer[3]:  # unknown or already reversed
            return
        debit, credit, amount, _ = transfer
        self.put(TRANSFERS, key, (debit, credit, amount, True))
        self._move(county, _text(credit), _text(debit), _int(amount), (event.seq,))


_HANDLERS: dict[str, Callable[[Balances, str, LoggedEvent], None]] = {
    "CountyFund.FundsReceived": Balances._received,
    "CountyFund.Allocated": Balances._allocated,
    "CountyFund.ProjectFunded": Balances._project_funded,
    "CountyFund.PaymentProposed": Balances._proposed,
    "CountyFund.PaymentApproved": Balances._approved,
    "CountyFund.TransferReversed": Balances._reversed,
}


def county_balances(projection: Balances, county: str) -> dict[str, int]:
    """One county's balances as ``CountyFund.balances`` has them."""
    return {
        _text(key[1]): _int(row[0])
        for key, row in projection.rows(BALANCES)
        if key[0] == county
    }
