"""A roster for the demo and the day simulation: helpers, clerks and a supervisor with their PINs.

The PINs are printed by `make demo` so whoever tries the tablets can sign in; a real hall adds its people with
`hallctl staff add` and never ships a PIN in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hall_bus.domain.commands import AddStaff
from hall_bus.domain.staff import hash_pin


@dataclass(frozen=True)
class Person:
    staff: str
    name: str
    duties: tuple[str, ...]
    pin: str
    zone: str | None = None


DEMO_STAFF: tuple[Person, ...] = (
    Person("xm01", "小满", ("helper",), "2468"),
    Person("wf02", "王芳", ("helper", "supervisor"), "1357"),
    Person("ln03", "李娜", ("clerk",), "8642"),
    Person("zq04", "赵强", ("clerk", "tracker"), "9753"),
)


def seed_roster(core: Any, people: tuple[Person, ...] = DEMO_STAFF) -> None:
    """Add whoever is not on the roster yet, through the core like any admin command (so it is in the ledger)."""
    for person in people:
        if person.staff in core.state.staff:
            continue
        answer = core.submit(AddStaff(staff=person.staff, name=person.name, duties=list(person.duties),
                                      zone=person.zone, pin_hash=hash_pin(person.pin)))
        if not answer["ok"]:
            raise RuntimeError(f"demo roster: {person.staff}: {answer['message']}")
