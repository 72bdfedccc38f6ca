"""The hall's one rule for a visitor's age. Here, in the domain, because the age decides the assistance group
(and so who is called first); the card reader only reports the birth date, so drivers never carry a hall rule."""

from __future__ import annotations

from datetime import date


def age_on(birth: date, today: date) -> int:
    """Whole years on `today` (a 29 February birthday counts from 1 March in common years)."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
