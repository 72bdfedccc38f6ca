"""The one interface every SMS provider is used through, and the result every send comes back as.

Chinese providers do not send free text: a message is a template registered (and reviewed) with the provider,
its variables, and the sender's registered 签名 (sign name), so `send` takes a template name and its params,
never a ready string. A send never raises: a number the provider refuses, a rate limit, a provider that is down
or slow all come back as an `SmsResult`, whose `retryable` tells the caller whether trying again later can help
without anyone changing anything (a rate limit can; a wrong template code or an empty account cannot).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from devices.privacy import mask_phone

# Mainland mobile numbers, as every provider takes them for domestic SMS: 11 digits, 13x-19x.
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")


@dataclass(frozen=True, slots=True)
class SmsResult:
    """`error` is in words a maintainer can act on (Chinese first, the provider's code after), never the whole
    phone number: results are logged and kept beside bookings."""

    ok: bool
    message_id: str | None = None
    error: str | None = None
    retryable: bool = False

    @classmethod
    def sent(cls, message_id: str) -> SmsResult:
        return cls(ok=True, message_id=message_id)

    @classmethod
    def failed(cls, error: str, *, retryable: bool) -> SmsResult:
        return cls(ok=False, error=error, retryable=retryable)


class SmsGateway(Protocol):
    """A provider's sender. The sign name and the provider's template codes belong to the gateway (they are
    registered with the provider together with its account), so callers name templates by our own names."""

    async def send(self, phone: str, template: str, params: dict[str, str]) -> SmsResult: ...


def phone_problem(phone: str) -> str | None:
    """Why a number cannot be texted, checked before any provider is asked: a landline typed into the booking
    form would otherwise cost a request and come back as the provider's less helpful code."""
    if _MOBILE_RE.fullmatch(phone):
        return None
    shown = mask_phone(phone) if phone.strip() else "(empty)"
    return f"手机号码不对 / not a mainland mobile number: {shown} (11 digits starting 13-19, no spaces or +86)"
