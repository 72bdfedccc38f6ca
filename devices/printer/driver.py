"""The ticket printer driver: python-escpos transports, DLE EOT status before and after every ticket.

The kiosk asks `can_print` first; if the paper is out or the cover open it shows the ticket on screen instead
of taking a number the visitor would never hold. After printing it asks again, so a jam mid-ticket is noticed.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from escpos import printer as escpos_printer
from escpos.exceptions import DeviceNotFoundError

from ..errors import DeviceError, explain_os_error
from . import status as st
from .encoder import encode
from .profile import PrinterProfile, get_profile
from .ticket import Ticket, layout

TRANSPORTS = ("escpos-usb", "escpos-serial", "escpos-network", "escpos-file")


def open_transport(cfg: dict[str, Any]) -> Any:
    """An escpos printer object from a hall-config device table (`type = "escpos-serial"`, `port = …`)."""
    kind = cfg.get("type")
    try:
        if kind == "escpos-usb":
            return escpos_printer.Usb(_usb_id(cfg["vendor_id"]), _usb_id(cfg["product_id"]), timeout=2000)
        if kind == "escpos-serial":
            return escpos_printer.Serial(cfg["port"], baudrate=int(cfg.get("baudrate", 9600)), timeout=0.5,
                                         parity="N", stopbits=1, dsrdtr=False)
        if kind == "escpos-network":
            return escpos_printer.Network(cfg["host"], port=int(cfg.get("port", 9100)), timeout=3)
        if kind == "escpos-file":
            return escpos_printer.File(cfg["path"])
    except KeyError as exc:
        raise DeviceError(f"{kind}: missing key {exc.args[0]!r} in the device table",
                          "see config/hall.example.toml for a printer entry") from None
    raise DeviceError(f"unknown printer type {kind!r}; known: {', '.join(TRANSPORTS)}")


def _usb_id(value: int | str) -> int:
    """0x0416 in TOML arrives as an int; "0416" or "0x0416" as text is read as hex."""
    return value if isinstance(value, int) else int(str(value), 16)


@dataclass
class PrintResult:
    before: st.PrinterStatus
    after: st.PrinterStatus
    bytes_sent: int

    @property
    def ok(self) -> bool:
        return self.after.can_print or not self.after.known


class PrinterNotReady(DeviceError):
    def __init__(self, status: st.PrinterStatus) -> None:
        fix = {"paper out": "load a new paper roll", "cover open": "close the printer cover"}
        first = status.describe().split(", ")[0]
        super().__init__(f"printer not ready: {status.describe()}", fix.get(first, "check the printer"))
        self.status = status


class TicketPrinter:
    def __init__(self, device: Any, profile: PrinterProfile | str = "generic-80") -> None:
        self.device = device
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.file_only = isinstance(device, escpos_printer.File)

    def _send(self, data: bytes) -> None:
        try:
            self.device._raw(data)
        except DeviceNotFoundError as exc:
            raise DeviceError(f"printer not found: {exc}", "check the cable and `hallctl device list`") from None
        except OSError as exc:
            raise explain_os_error(getattr(self.device, "devfile", "printer"), exc) from None

    def _read_byte(self, timeout: float) -> int | None:
        dev = self.device.device
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if isinstance(self.device, escpos_printer.Network):
                    dev.settimeout(max(0.01, deadline - time.monotonic()))
                    got = dev.recv(1)
                else:
                    got = self.device._read()
            except TimeoutError:
                return None
            if got:
                return got[0]
        return None

    def status(self, timeout: float = 0.5) -> st.PrinterStatus:
        if self.file_only or not self.profile.status:
            return st.UNKNOWN
        answers: dict[int, int] = {}
        if isinstance(self.device, escpos_printer.Serial):
            self.device.device.reset_input_buffer()  # type: ignore[union-attr]
        for n in st.QUERIES:
            self._send(st.request(n))
            b = self._read_byte(timeout)
            if b is None:
                return st.PrinterStatus(online=False)  # no answer: powered off or disconnected
            answers[n] = b
        try:
            return st.parse(answers)
        except ValueError:
            return st.PrinterStatus(online=False, error=True)

    def print_ticket(self, ticket: Ticket) -> PrintResult:
        before = self.status()
        if before.known and not before.can_print:
            raise PrinterNotReady(before)
        data = encode(layout(ticket), self.profile)
        self._send(data)
        after = self.status(timeout=2.0)
        return PrintResult(before, after, len(data))

    def test_page(self, hall: str) -> PrintResult:
        from datetime import datetime

        t = Ticket(hall=hall, number="A000", service="打印测试 test", group_label="普通", ticket_id="TEST-0000",
                   issued_at=datetime.now(), ahead=0, wait_min=0)
        return self.print_ticket(t)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a printer that never opened is not worth a traceback
            self.device.close()
