"""The SMS gateway of tests and the demo: every message a phone would have shown, kept in memory.

It refuses what a provider would refuse (a number that is no mobile, params that do not fit the template), so
code that passes against it fails against a provider only for the provider's own reasons; and it can be told
to fail the next sends, so the retry and fault paths are exercised without a network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from devices.privacy import mask_phone
from hall_bus.sms.gateway import SmsResult, phone_problem
from hall_bus.sms.templates import params_problem, render

log = logging.getLogger("hall.sms")


@dataclass(frozen=True, slots=True)
class SentSms:
    phone: str
    template: str
    params: dict[str, str]
    text: str
    at: datetime
    message_id: str


class SimulatedSms:
    """`sent` holds the delivered messages in order; `attempts` counts every call, failed ones included."""

    def __init__(self, sign_name: str = "平安县政务", now: Callable[[], datetime] | None = None) -> None:
        self.sign_name = sign_name
        self._now = now or (lambda: datetime.now(UTC))
        self.sent: list[SentSms] = []
        self.attempts = 0
        self._failures: list[SmsResult] = []

    def fail_next(self, count: int = 1, *, retryable: bool = True,
                  error: str = "模拟故障 / simulated provider fault") -> None:
        """The next `count` sends fail with this error (before any other check), as a provider outage would."""
        if count < 0:
            raise ValueError(f"fail_next: count must be 0 or more, not {count}")
        self._failures.extend(SmsResult.failed(error, retryable=retryable) for _ in range(count))

    def to(self, phone: str) -> list[SentSms]:
        """The messages one phone received."""
        return [m for m in self.sent if m.phone == phone]

    async def send(self, phone: str, template: str, params: dict[str, str]) -> SmsResult:
        self.attempts += 1
        if self._failures:
            result = self._failures.pop(0)
            log.info("simulated SMS %s to %s failed: %s", template, mask_phone(phone), result.error)
            return result
        problem = phone_problem(phone) or params_problem(template, params)
        if problem:
            return SmsResult.failed(problem, retryable=False)
        message_id = f"SIM{self.attempts:06d}"
        text = render(template, params, self.sign_name)
        self.sent.append(SentSms(phone, template, dict(params), text, self._now(), message_id))
        log.info("simulated SMS %s to %s: %s", template, mask_phone(phone), message_id)
        return SmsResult.sent(message_id)
