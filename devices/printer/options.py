"""The ticket printer kind: one strict options model per transport, each knowing its byte link.

The model, not the driver, picks the transport: `EscposSerial.link()` is a serial link, `EscposNetwork.link()`
a TCP link, and the driver only ever sees a link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import field_validator

from ..link import ByteLink, FileLink, SerialLink, TcpLink, UsbBulkLink
from ..options import Baudrate, Check, Kind, Options, Seconds, SerialPort, TcpPort, Text, UsbId
from .profile import PROFILES

if TYPE_CHECKING:
    from .driver import TicketPrinter


class PrinterOptions(Options):
    profile: str = "generic-80"

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"unknown printer profile {value!r}; known: {', '.join(PROFILES)}")
        return value

    def link(self) -> ByteLink:
        raise NotImplementedError


class EscposUsb(PrinterOptions):
    """ESC/POS ticket printer on USB (vendor_id, product_id, profile)."""

    vendor_id: UsbId
    product_id: UsbId
    out_ep: UsbId = 0x01
    in_ep: UsbId = 0x82

    def link(self) -> ByteLink:
        return UsbBulkLink(self.vendor_id, self.product_id, ep_out=self.out_ep, ep_in=(self.in_ep,), what="printer")


class EscposSerial(PrinterOptions):
    """ESC/POS ticket printer on a serial port (port, baudrate 9600, profile)."""

    port: SerialPort
    baudrate: Baudrate = 9600

    def link(self) -> ByteLink:
        return SerialLink(self.port, self.baudrate)


class EscposNetwork(PrinterOptions):
    """ESC/POS ticket printer on the network (host, port 9100, profile)."""

    host: Text
    port: TcpPort = 9100
    connect_timeout: Seconds = 3.0

    def link(self) -> ByteLink:
        return TcpLink(self.host, self.port, connect_timeout=self.connect_timeout)


class EscposFile(PrinterOptions):
    """ESC/POS bytes appended to a file or a printer device node such as /dev/usb/lp0 (path, profile)."""

    path: Text

    def link(self) -> ByteLink:
        return FileLink(self.path)


def open_printer(options: Options) -> TicketPrinter:
    from .driver import TicketPrinter

    assert isinstance(options, PrinterOptions)
    return TicketPrinter(options.link(), options.profile)


_STATUS_FIX = {"paper out": "load a new paper roll", "cover open": "close the printer cover",
               "paper near end": "have a paper roll ready"}


def probe_printer(options: Options) -> list[Check]:
    from ..errors import DeviceError
    from .profile import get_profile

    profile = get_profile(options.profile)  # type: ignore[attr-defined]
    checks = [Check("profile", True, f"{profile.name}: {profile.width_dots} dots, "
                    f"QR {'native' if profile.native_qr else 'raster'}")]
    printer = open_printer(options)
    try:
        printer.open()
        checks.append(Check("open", True, printer.where))
        s = printer.status()
        first = s.describe().split(", ")[0]
        checks.append(Check("status", s.can_print or not s.known, s.describe(),
                            "" if s.can_print or not s.known else _STATUS_FIX.get(first, "check the printer's power "
                                                                                         "and cable")))
    except DeviceError as exc:
        checks.append(Check("open" if len(checks) == 1 else "status", False, exc.message, exc.fix or ""))
    finally:
        printer.close()
    return checks


KIND = Kind("printer", "ticket printer",
            {"escpos-usb": EscposUsb, "escpos-serial": EscposSerial, "escpos-network": EscposNetwork,
             "escpos-file": EscposFile},
            open=open_printer, probe=probe_printer)

