"""Which projections a ledger keeps: the one list the CLI and workers share.

Every process that follows the log (``fundledger views ...``, a worker, the
HTTP API reading views) builds its projections here, so they all agree on the
set of views and on their names.

Two projections read the personal-data vault through the deployment's secrets:
the disclosure views ask for a name once per approved payment (and keep only
its mask, 张*明), and the fraud rules ask for a person's birth date, ID checks
and keyed name hash when the person first appears (R07, R09, R10). Without the
secrets they still run, but notice lists show placeholders and those three
rules stay silent, so a worker that writes views must hold the secrets file
(``needs_vault``): otherwise its rows would differ from a rebuild by one that
holds it.
"""

from __future__ import annotations

from api.app import FundLedger
from api.person_facts import vault_lookup
from api.vault_store import PersonalDataErased, UnknownPerson, Vault
from projections.balances import Balances
from projections.base import Projection
from projections.disclosure import Disclosure
from projections.masking import NameLookup
from projections.rules import FraudRules

# Projections whose rows depend on what the vault says.
NEEDS_VAULT = frozenset({Disclosure.name, FraudRules.name})


def vault_names(vault: Vault) -> NameLookup:
    """The disclosure views' name lookup: the vault's name, None once erased."""

    def name_of(person_ref: str) -> str | None:
        try:
            return vault.get(person_ref).name
        except (UnknownPerson, PersonalDataErased):
            return None

    return name_of


def build_projections(
    ledger: FundLedger, vault: Vault | None = None
) -> list[Projection]:
    """Fresh (empty) instances of every projection the ledger keeps.

    ``ledger`` gives the deployment's policy table and units; ``vault`` the
    personal data behind masked names and the person rules (None: reading
    stored rows only, or a ledger without a vault).
    """
    names = None if vault is None else vault_names(vault)
    rules = (
        FraudRules(ledger.policy)
        if vault is None
        else FraudRules(ledger.policy, lookup=vault_lookup(vault, ledger.units))
    )
    return [
        Balances(),
        Disclosure(names, policy=ledger.policy, units=ledger.units),
        rules,
    ]
