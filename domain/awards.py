"""Whether a payment to a person is one the plan's policy allows.

A payment names a programme, a person and an amount for one term. It is allowed
only if the programme exists in the policy table, the person is on the county's
student-status roll at a stage the programme covers (boarding, where the
programme pays boarders), on the registered-poor roll where the programme
requires it, and the amount respects the programme's rate (a cap or fixed rate
is not exceeded; a floor is reached). Stacking with other programmes in the same
term is left to the fraud rules, which see every payment.
"""

from __future__ import annotations

from domain.errors import NotOnRoll
from domain.policy import Policy
from domain.rolls import CountyRolls


def check_person_payment(
    policy: Policy,
    rolls: CountyRolls | None,
    *,
    programme: str,
    person_ref: str,
    amount_fen: int,
) -> None:
    """Refuse (with the rule's own error) a payment the policy does not allow."""
    entry = policy.programme(programme)
    status = None if rolls is None else rolls.students.get(person_ref)
    if status is None:
        raise NotOnRoll(person_ref, "student-status")
    registered_poor = rolls is not None and person_ref in rolls.poor
    if entry.requires_registered_poor and not registered_poor:
        raise NotOnRoll(person_ref, "registered-poor")
    policy.check_award(
        programme,
        status.stage,
        boarding=status.boarding,
        registered_poor=registered_poor,
        amount_fen=amount_fen,
    )
