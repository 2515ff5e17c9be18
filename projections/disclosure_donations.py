"""Donations: who gave, how much, when, for what, and what the pool spent it on.

``donations`` has one row per receipt of source kind ``donation``, keyed by
(county, the receipt's seq) rather than its transfer id, since an officer may
have written a donor's name into the id. Columns: the donor as shown, the net
amount (0 once reversed, the reversal cited), the gross amount received, the
day (China) it was recorded, the earmark and what it was spent on.

Who is named (design §7: organisations named, individuals anonymous unless they
agreed), by the receipt's ``source``:

- ``org:NAME``: an organisation, shown as NAME;
- ``person-named:NAME``: an individual who agreed to be named, shown as NAME;
- anything else: an individual, shown as 个人捐赠. Anonymity is the default, so a
  source recorded without a prefix never names anyone.

What it was spent on: the money passes the pool (一个龙头放水), so a donation is
spent on its earmark only when the earmark names a target the ledger can follow:

- ``programme:CODE`` or a bare programme code (``HARDSHIP``): approved
  payments of that programme in the county;
- ``school:CODE`` or a bare school code (``422822S0001``): payments shown
  under that school and projects funded for it;
- ``project:ID``: the project's funding.

Other earmarks are free text, which may name a person, so they are not shown
(``earmark`` NULL) and the donation is ``pooled``, as is one without an earmark.
``donation_earmarks`` adds up, per county and earmark, the donations (net) and
the spending on the target since the first such donation arrived; the
``attributed_fen`` is the smaller of the two, the earmarked money known spent.

Invariants: ``attributed_fen + unspent_fen == donated_fen``; spending counted
for an earmark is uncounted by exactly the reversal of that spending, and only
if it had been counted (``disclosure_payments.earmarks`` remembers).

NOTE: spending is attributed to an earmark as a whole, not to each of its
donations in turn; a donation's own row says where it went, the earmark's row
how much of all of them was spent.
"""

from __future__ import annotations

import re
from typing import cast

from projections.base import Column, Projection, Table
from projections.disclosure_records import BOOLEAN, INTEGER

DONATIONS = Table(
    "donations",
    key=(Column("county"), Column("entry", INTEGER)),
    values=(
        Column("prefecture"),
        Column("donor"),
        Column("donor_kind"),  # organisation | named_individual | anonymous
        Column("amount_fen", INTEGER),
        Column("received_fen", INTEGER),
        Column("date"),
        Column("earmark"),
        Column("spent_on"),
        Column("reversed", BOOLEAN),
    ),
)

EARMARKS = Table(
    "donation_earmarks",
    key=(Column("county"), Column("earmark")),
    values=(
        Column("earmark_kind"),
        Column("target"),
        Column("donated_fen", INTEGER),
        Column("target_spent_fen", INTEGER),
        Column("attributed_fen", INTEGER),
        Column("unspent_fen", INTEGER),
        Column("donations", INTEGER),
    ),
)

ANONYMOUS = "个人捐赠"
POOLED = "pooled"
PROGRAMME = "programme"
SCHOOL = "school"
PROJECT = "project"

# Bits of ``earmarks`` in the private payment and transfer rows.
FIRST = 1  # the programme (payments) or the project (project funding)
SECOND = 2  # the school

_SCHOOL_CODE = re.compile(r"[0-9]{6}S[0-9]{4}")


def donor(source: str) -> tuple[str, str]:
    """How a donor is shown, and which kind of donor it is."""
    if source.startswith("org:") and source[4:].strip():
        return source[4:], "organisation"
    if source.startswith("person-named:") and source[13:].strip():
        return source[13:], "named_individual"
    return ANONYMOUS, "anonymous"


def earmark_key(earmark: str | None, programmes: frozenset[str]) -> str | None:
    """The canonical ``kind:target`` an earmark names, or None for free text."""
    if earmark is None:
        return None
    text = earmark.strip()
    kind, _, target = text.partition(":")
    if kind in (PROGRAMME, SCHOOL, PROJECT) and target.strip():
        return f"{kind}:{target.strip()}"
    if text in programmes:
        return f"{PROGRAMME}:{text}"
    if _SCHOOL_CODE.fullmatch(text):
        return f"{SCHOOL}:{text}"
    return None


def received(
    view: Projection,
    county: str,
    seq: int,
    *,
    prefecture: str,
    source: str,
    amount_fen: int,
    day: str,
    earmark: str | None,
) -> None:
    """A donation arrived: its row, and its earmark's total."""
    shown, kind = donor(source)
    view.put(
        DONATIONS.name,
        (county, seq),
        (
            prefecture,
            shown,
            kind,
            amount_fen,
            amount_fen,
            day,
            earmark,
            earmark or POOLED,
            False,
        ),
    )
    view.cite(DONATIONS.name, (county, seq), seq)
    if earmark is not None:
        _change(view, (county, earmark), seq, donated=amount_fen, donations=1)


def reversed_(
    view: Projection, county: str, entry: int, earmark: str | None, seq: int
) -> None:
    """A donation was reversed: its net is 0, its earmark's total falls."""
    key = (county, entry)
    row = view.get(DONATIONS.name, key)
    if row is None:
        return
    amount = cast(int, row[3])
    view.put(DONATIONS.name, key, (*row[:3], 0, *row[4:8], True))
    view.cite(DONATIONS.name, key, seq)
    if earmark is not None:
        _change(view, (county, earmark), seq, donated=-amount, donations=-1)


def spent(
    view: Projection, county: str, earmark: str, amount_fen: int, seq: int
) -> bool:
    """Count (signed) spending on an earmark's target, if it was ever donated to.

    Returns whether it counted, so that its reversal is uncounted alike.
    """
    key = (county, earmark)
    if view.get(EARMARKS.name, key) is None:
        return False
    _change(view, key, seq, spent=amount_fen)
    return True


def _change(
    view: Projection,
    key: tuple[str, str],
    seq: int,
    *,
    donated: int = 0,
    spent: int = 0,
    donations: int = 0,
) -> None:
    row = view.get(EARMARKS.name, key)
    if row is None:
        kind, _, target = key[1].partition(":")
        row = (kind, target, 0, 0, 0, 0, 0)
    total = cast(int, row[2]) + donated
    used = cast(int, row[3]) + spent
    attributed = max(0, min(total, used))
    view.put(
        EARMARKS.name,
        key,
        (
            row[0],
            row[1],
            total,
            used,
            attributed,
            total - attributed,
            cast(int, row[6]) + donations,
        ),
    )
    view.cite(EARMARKS.name, key, seq)
