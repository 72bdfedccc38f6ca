"""Device types named in the hall config, and the checks `hallctl device probe` runs for each.

Like Klipper's config sections: the `type` of a device table picks the module that understands the rest of its
keys. A probe returns rows (check, ok, detail, fix) rather than raising, so the technician sees every check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import DeviceError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


TYPES: dict[str, str] = {
    "escpos-usb": "ESC/POS ticket printer on USB (vendor_id, product_id, profile)",
    "escpos-serial": "ESC/POS ticket printer on a serial port (port, baudrate, profile)",
    "escpos-network": "ESC/POS ticket printer on the network (host, port 9100, profile)",
    "escpos-file": "ESC/POS bytes written to a file (path, profile)",
    "sam-serial": "resident ID card reader, SAM serial protocol (port, baudrate 115200)",
    "sam-usb": "resident ID card reader, SAM over USB bulk (vendor_id, product_id)",
    "doc-camera": "document camera 高拍仪 (source: camera index or a video/image file)",
}
PLANNED = {"keypad-serial", "led-pingan", "led-imm9003", "voice-segments", "eval-pad"}


_FIXES = {
    "NoBackendError": "install libusb-1.0-0 (apt-get install libusb-1.0-0)",
    "DeviceNotFoundError": "check the cable and the VID:PID against `hallctl device list`",
    "USBError": "check permissions: a udev rule must give the kiosk user this USB device",
    "ConnectionRefusedError": "check the printer's IP address and that port 9100 is open",
    "TimeoutError": "the device does not answer: check its power and network",
}


def open_device(cfg: dict[str, Any]) -> Any:
    """The driver for one device table of the hall config: what a kiosk agent holds while it runs."""
    kind = cfg.get("type", "")
    try:
        if kind.startswith("escpos-"):
            from .printer.driver import TicketPrinter, open_transport

            return TicketPrinter(open_transport(cfg), cfg.get("profile", "generic-80"))
        if kind in ("sam-serial", "sam-usb"):
            from .idcard.reader import IdCardReader
            from .idcard.transport import UsbBulkLink
            from .serial_link import SerialLink

            if kind == "sam-usb":
                link: Any = UsbBulkLink(int(cfg["vendor_id"]), int(cfg["product_id"]))
            else:
                link = SerialLink(cfg["port"], int(cfg.get("baudrate", 115200)))
            return IdCardReader(link, timeout=float(cfg.get("timeout", 5.0)))
        if kind == "doc-camera":
            from .camera.capture import Camera

            return Camera(str(cfg.get("source", 0)))
    except KeyError as exc:
        raise DeviceError(f"{cfg.get('name', kind)}: missing key {exc.args[0]!r}",
                          "see docs/devices.md for the keys of each type") from None
    if kind in PLANNED:
        raise DeviceError(f"type {kind!r} has no driver in this release")
    raise DeviceError(f"unknown device type {kind!r}", "known: " + ", ".join(TYPES))


def _fail(name: str, exc: Exception) -> Check:
    if isinstance(exc, DeviceError):
        return Check(name, False, exc.message, exc.fix or "")
    return Check(name, False, f"{type(exc).__name__}: {exc}", _FIXES.get(type(exc).__name__, ""))


def probe_printer(cfg: dict[str, Any]) -> list[Check]:
    from .printer.profile import get_profile

    checks: list[Check] = []
    try:
        profile = get_profile(cfg.get("profile", "generic-80"))
        checks.append(Check("profile", True, f"{profile.name}: {profile.width_dots} dots, "
                            f"QR {'native' if profile.native_qr else 'raster'}"))
    except ValueError as exc:
        return [Check("profile", False, str(exc), "set profile to one of the names listed")]
    try:
        printer = open_device(cfg)
    except Exception as exc:  # every transport error becomes a FAIL row, never a traceback
        return [*checks, _fail("open", exc)]
    try:
        s = printer.status()
        checks.append(Check("open", True, cfg.get("port") or cfg.get("host") or cfg.get("path") or "usb"))
        fix = {"paper out": "load paper", "cover open": "close the cover"}.get(s.describe(), "")
        checks.append(Check("status", s.can_print or not s.known, s.describe(), fix if not s.can_print else ""))
    except Exception as exc:
        checks.append(_fail("status", exc))
    finally:
        printer.close()
    return checks


def probe_idcard(cfg: dict[str, Any]) -> list[Check]:
    try:
        reader = open_device({**cfg, "timeout": cfg.get("timeout", 2.0)})
    except Exception as exc:
        return [_fail("open", exc)]
    checks = [Check("open", True, cfg.get("port", "usb"))]
    for name, fn in (("SAM status", lambda: reader.sam_status().status_text),
                     ("SAM id", reader.sam_id),
                     ("card", lambda: "card on the reader" if reader.find_card() else "no card (place one to test)")):
        try:
            checks.append(Check(name, True, str(fn())))
        except Exception as exc:
            checks.append(_fail(name, exc))
            if name == "SAM status":
                break
    reader.close()
    return checks


def probe_camera(cfg: dict[str, Any]) -> list[Check]:
    from .camera.document import find_document

    try:
        cam = open_device(cfg)
        frame = cam.read()
    except Exception as exc:
        return [_fail("open", exc)]
    cam.close()
    h, w = frame.shape[:2]
    found = find_document(frame)
    return [Check("open", True, str(cfg.get("source", 0))), Check("frame", True, f"{w}×{h}"),
            Check("document", True, "page found" if found is not None else "no page in view (that is fine)")]


PROBES: dict[str, Callable[[dict[str, Any]], list[Check]]] = {
    "escpos-usb": probe_printer, "escpos-serial": probe_printer, "escpos-network": probe_printer,
    "escpos-file": probe_printer, "sam-serial": probe_idcard, "sam-usb": probe_idcard, "doc-camera": probe_camera,
}


def probe(cfg: dict[str, Any]) -> list[Check]:
    kind = cfg.get("type", "")
    if kind in PLANNED:
        return [Check("driver", False, f"type {kind!r} has no driver in this release", "")]
    fn = PROBES.get(kind)
    if fn is None:
        return [Check("driver", False, f"unknown device type {kind!r}", "known: " + ", ".join(TYPES))]
    return fn(cfg)


def attached_serial_ports() -> list[tuple[str, str, str]]:
    from serial.tools import list_ports

    return [(p.device, p.description or "", f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None else "")
            for p in list_ports.comports()]


def attached_usb() -> tuple[list[tuple[str, str]], str | None]:
    """(VID:PID, maker/product) of USB devices, or an explanation why we cannot see them."""
    try:
        import usb.core

        devs = list(usb.core.find(find_all=True))
    except Exception as exc:  # no libusb backend, no permission to enumerate
        return [], f"cannot list USB devices ({type(exc).__name__}); install libusb-1.0-0"
    out = []
    for d in devs:
        out.append((f"{d.idVendor:04x}:{d.idProduct:04x}", f"class {d.bDeviceClass}"))
    return out, None
