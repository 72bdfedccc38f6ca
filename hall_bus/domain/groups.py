"""Which assistance group to suggest for a visitor, from ID-card facts and what the visitor or greeter says.

Only a suggestion: the kiosk shows it pre-selected and the visitor or greeter can always choose another.
"""

from __future__ import annotations

from hall_bus.config import AgeRules
from hall_bus.domain.age import age_on  # re-exported: the group rules and their age rule, one import

__all__ = ["age_on", "suggest_group"]


def suggest_group(
    rules: AgeRules,
    *,
    age: int | None = None,
    first_visit: bool = False,
    cannot_read: bool = False,
    pregnant: bool = False,
    with_infant: bool = False,
    limited_mobility: bool = False,
) -> str:
    """Most supportive group first: mobility needs a push, then acting-for, then accompanying, then guiding."""
    if limited_mobility:
        return "wheelchair_push"
    if cannot_read or pregnant or with_infant or (age is not None and age >= rules.delegate_min_age):
        return "delegate"
    if age is not None and age >= rules.accompany_min_age:
        return "accompany"
    if first_visit:
        return "guide"
    return "normal"
