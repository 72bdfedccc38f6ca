"""The ID card reader kind: SAM readers on a serial port (most, also USB-serial) or on USB bulk endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..link import ByteLink, SerialLink, UsbBulkLink
from ..options import Baudrate, Check, Kind, Options, Seconds, SerialPort, UsbId

if TYPE_CHECKING:
    from .reader import IdCardReader


class ReaderOptions(Options):
    timeout: Seconds = 5.0  # what vendor tools wait for one exchange

    def link(self) -> ByteLink:
        raise NotImplementedError


class SamSerial(ReaderOptions):
    """Resident ID card reader, SAM serial protocol (port, baudrate 115200, timeout 5 s)."""

    port: SerialPort
    baudrate: Baudrate = 115200

    def link(self) -> ByteLink:
        return SerialLink(self.port, self.baudrate)


class SamUsb(ReaderOptions):
    """Resident ID card reader, SAM over USB bulk (vendor_id, product_id; 0400:C35A by default)."""

    vendor_id: UsbId = 0x0400
    product_id: UsbId = 0xC35A

    def link(self) -> ByteLink:
        # The request goes to OUT 0x02; the answer's header comes on 0x81 and the rest on 0x85 (openiDR200).
        return UsbBulkLink(self.vendor_id, self.product_id, ep_out=0x02, ep_in=(0x81, 0x85), what="ID card reader")


def open_reader(options: Options) -> IdCardReader:
    from .reader import IdCardReader

    assert isinstance(options, ReaderOptions)
    return IdCardReader(options.link(), timeout=options.timeout)


def probe_reader(options: Options) -> list[Check]:
    from ..errors import DeviceError

    reader = open_reader(options.model_copy(update={"timeout": min(2.0, options.timeout)}))  # type: ignore[attr-defined]
    try:
        reader.link.open()
    except DeviceError as exc:
        return [Check("open", False, exc.message, exc.fix or "")]
    checks = [Check("open", True, reader.link.where)]
    try:
        for name, fn in (("SAM status", lambda: reader.sam_status().status_text),
                         ("SAM id", reader.sam_id),
                         ("card", lambda: "card on the reader" if reader.find_card()
                          else "no card (place one to test)")):
            try:
                checks.append(Check(name, True, str(fn())))
            except DeviceError as exc:
                checks.append(Check(name, False, exc.message, exc.fix or ""))
                if name == "SAM status":
                    break
    finally:
        reader.close()
    return checks


KIND = Kind("idcard", "ID card reader", {"sam-serial": SamSerial, "sam-usb": SamUsb},
            open=open_reader, probe=probe_reader)
