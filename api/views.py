"""Which projections a ledger keeps: the one list the CLI and workers share.

Every process that follows the log (``fundledger views ...``, a worker, the
HTTP API reading views) builds its projections here, so they all agree on the
set of views and on their names.

Two projections read the personal-data vault through the deployment's secrets:
the disclosure views ask for a name once per approved payment (and keep only
its mask, 张*明), and the fraud rules ask for a person's birth date, ID checks
and keyed name hash when the person first appears (R07, R09, R10). Without the
secrets they still run, but notice lists show placeholders and those three
rules stay silent, so ``fundledger views update|rebuild|follow`` refuse to run
without the secrets file: otherwise the rows would differ from a rebuild by a
worker that holds it.
"""

from __future__ import annotations

from collections.abc import Sequence

from api.app import FundLedger
from api.person_facts import VaultReader, vault_lookup
from api.vault_store import Vault
from domain.vault import PersonalData
from projections.balances import Balances
from projections.base import Projection
from projections.disclosure import Disclosure
from projections.feed import LoggedEvent
from projections.masking import NameLookup
from projections.rules import FraudRules


class ViewsReader(VaultReader):
    """A vault reader that fetches for each batch the persons the views will ask.

    The plain reader's ``prefetch`` unseals every person a batch names, most of
    whom the views already know, and misses the payee of an approval whose
    proposal came in an earlier batch, who is then read in a transaction of
    their own. This one asks the projections (``persons_asked``) instead, once
    ``build_projections`` has made them. What any lookup answers is the same:
    a person it did not fetch is read alone, as before.
    """

    def __init__(self, vault: Vault) -> None:
        super().__init__(vault)
        self.projections: list[Disclosure | FraudRules] = []
        self._fetched: dict[str, PersonalData | None] = {}

    def prefetch(self, entries: Sequence[LoggedEvent]) -> None:
        """Unseal, in one query, each person the views ask about in ``entries``."""
        wanted: set[str] = set()
        for projection in self.projections:
            wanted |= projection.persons_asked(entries)
        super().prefetch(())  # forget the persons the last batch read alone
        self._fetched = self.vault.get_many(wanted)

    def data(self, person_ref: str) -> PersonalData | None:
        """The person's data, or None if erased or never held."""
        if person_ref in self._fetched:
            return self._fetched[person_ref]
        return super().data(person_ref)


def vault_names(reader: VaultReader) -> NameLookup:
    """The disclosure views' name lookup: the vault's name, None once erased."""

    def name_of(person_ref: str) -> str | None:
        data = reader.data(person_ref)
        return None if data is None else data.name

    return name_of


def build_projections(
    ledger: FundLedger, reader: VaultReader | None = None
) -> list[Projection]:
    """Fresh (empty) instances of every projection the ledger keeps.

    ``ledger`` gives the deployment's policy table and units; ``reader`` the
    personal data behind masked names and the person rules (None: reading
    stored rows only). A runner that writes the views passes
    ``reader.prefetch`` as its ``before_batch``; a ``ViewsReader`` is told
    which projections to ask what the next batch needs.
    """
    names = None if reader is None else vault_names(reader)
    rules = (
        FraudRules(ledger.policy)
        if reader is None
        else FraudRules(ledger.policy, lookup=vault_lookup(reader, ledger.units))
    )
    disclosure = Disclosure(names, policy=ledger.policy, units=ledger.units)
    if isinstance(reader, ViewsReader):
        reader.projections = [disclosure, rules]
    return [Balances(), disclosure, rules]
