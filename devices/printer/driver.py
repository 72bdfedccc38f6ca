"""The ticket printer driver: layout → ESC/POS bytes over a byte link, DLE EOT status before and after.

The kiosk asks `can_print` first; if the paper is out or the cover open it shows the ticket on screen instead
of taking a number the visitor would never hold. After printing it asks again, so paper that ran out or a jam
mid-ticket is noticed. The driver never asks which transport it holds: the link (devices/link.py) carries every
transport difference, as python-escpos's `_raw`/`_read` do, and turns every transport failure into a
`DeviceError` with a fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from ..errors import DeviceError
from ..link import ByteLink
from . import status as st
from .encoder import encode
from .profile import PrinterProfile, get_profile
from .ticket import CaseSlip, NoticeSlip, Op, Ticket, case_slip_layout, layout, notice_layout


@dataclass
class PrintResult:
    before: st.PrinterStatus
    after: st.PrinterStatus
    bytes_sent: int

    @property
    def ok(self) -> bool:
        """The ticket came out whole, as far as the printer can tell (a file cannot tell, so it counts)."""
        return self.after.can_print or not self.after.known

    def problem(self) -> str:
        """Why the ticket may not have come out whole, in the words the kiosk shows; empty when it did."""
        if self.ok:
            return ""
        if not self.after.online and self.after.describe().startswith("offline"):
            return "the printer stopped answering while printing: the ticket may be incomplete"
        return f"{self.after.describe()} while printing: the ticket may be incomplete"


class PrinterNotReady(DeviceError):
    def __init__(self, status: st.PrinterStatus) -> None:
        fix = {"paper out": "load a new paper roll", "cover open": "close the printer cover"}
        first = status.describe().split(", ")[0]
        super().__init__(f"printer not ready: {status.describe()}", fix.get(first, "check the printer"))
        self.status = status


class TicketPrinter:
    def __init__(self, link: ByteLink, profile: PrinterProfile | str = "generic-80") -> None:
        self.link = link
        self.profile = get_profile(profile) if isinstance(profile, str) else profile

    @property
    def where(self) -> str:
        return self.link.where

    def open(self) -> None:
        """Connect now rather than at the first ticket, so a start-up check can report a missing printer."""
        self.link.open()

    def _read_byte(self, timeout: float) -> int | None:
        got = self.link.read(1, timeout)
        return got[0] if got else None

    def status(self, timeout: float = 0.5) -> st.PrinterStatus:
        if not self.link.duplex or not self.profile.status:
            return st.UNKNOWN
        answers: dict[int, int] = {}
        self.link.reset_input()
        for n in st.QUERIES:
            self.link.write(st.request(n))
            b = self._read_byte(timeout)
            if b is None:
                return st.PrinterStatus(online=False)  # no answer: powered off or disconnected
            answers[n] = b
        try:
            return st.parse(answers)
        except ValueError:
            return st.PrinterStatus(online=False, error=True)

    def print_ticket(self, ticket: Ticket) -> PrintResult:
        return self._print(layout(ticket))

    def print_notice(self, slip: NoticeSlip) -> PrintResult:
        """A one-time notice slip: the same status checks as a ticket, so a slip that did not come out is known."""
        return self._print(notice_layout(slip))

    def print_case_slip(self, slip: CaseSlip) -> PrintResult:
        """A case's receipt or result notice, checked like a ticket so a slip that did not come out is known."""
        return self._print(case_slip_layout(slip))

    def _print(self, ops: list[Op]) -> PrintResult:
        before = self.status()
        if before.known and not before.can_print:
            raise PrinterNotReady(before)
        data = encode(ops, self.profile)
        self.link.write(data)
        after = self.status(timeout=2.0)
        return PrintResult(before, after, len(data))

    def test_page(self, hall: str, tz: tzinfo | None = None) -> PrintResult:
        """A test ticket stamped in the hall's time zone (the machine's clock may be UTC)."""
        t = Ticket(hall=hall, number="A000", service="打印测试 test", group_label="普通", ticket_id="TEST-0000",
                   issued_at=datetime.now(tz or ZoneInfo("Asia/Shanghai")), ahead=0, wait_min=0)
        return self.print_ticket(t)

    def close(self) -> None:
        self.link.close()
