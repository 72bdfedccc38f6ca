"""What the paper's QR codes hold: links to the phone page when the hall has one (`[booking] phone_url`), else
the bare id as before (a hall without a phone page still prints a code a greeter's scanner reads).

A ticket link carries the ticket's token (booking.ticket_token): the id alone is a day and a counter anyone can
guess; the token proves the person holds the paper. A case link carries only the number: progress names nobody,
and anything personal (a rating) asks for the phone's last four digits.
"""

from __future__ import annotations

from hall_bus.config import HallConfig


def _base(cfg: HallConfig) -> str:
    return cfg.booking.phone_url.rstrip("/")


def ticket_link(cfg: HallConfig, ticket_id: str, token: str) -> str:
    base = _base(cfg)
    return f"{base}/t/{ticket_id}.{token}" if base and token else ticket_id


def case_link(cfg: HallConfig, number: str) -> str:
    base = _base(cfg)
    return f"{base}/c/{number}" if base else number


def booking_link(cfg: HallConfig, code: str) -> str:
    base = _base(cfg)
    return f"{base}/b/{code}" if base else code
