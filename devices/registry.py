"""Device types named in the hall config: type → kind, each kind's strict options model, open and probe.

Like Klipper's config sections, the `type` of a device table picks the one module that understands the rest of
its keys, and a key that module does not know is an error, never ignored. Each kind lives in its own package
(devices/printer, devices/idcard, …) and declares a `Kind`; this module only maps names to kinds, so adding a
kind is one line here and no branch anywhere else.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .board.options import KIND as BOARD
from .camera.options import KIND as CAMERA
from .errors import DeviceError
from .evaluator.options import KIND as EVALUATOR
from .idcard.options import KIND as IDCARD
from .keypad.options import KIND as KEYPAD
from .link import usb_id
from .options import Check, Kind, Options
from .printer.options import KIND as PRINTER
from .voice.options import KIND as VOICE

__all__ = ["KINDS", "TYPES", "Check", "DeviceOptionsError", "Kind", "kind_of", "open_device", "option_problems",
           "probe"]

KINDS: tuple[Kind, ...] = (PRINTER, IDCARD, CAMERA, KEYPAD, BOARD, VOICE, EVALUATOR)
TYPES: dict[str, Kind] = {name: kind for kind in KINDS for name in kind.types}
Problem = tuple[tuple[str | int, ...], str]


class DeviceOptionsError(DeviceError):
    """A device table the hall file got wrong: unknown type, unknown key, a value out of range."""

    def __init__(self, device: str, problems: list[Problem]) -> None:
        self.problems = problems
        text = "; ".join(f"{'.'.join(map(str, path))}: {msg}" if path else msg for path, msg in problems)
        super().__init__(f"{device}: {text}", "see docs/devices.md for the keys of each type")


def _hint(value: str, known: list[str]) -> str:
    close = difflib.get_close_matches(value, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown_type(device_type: str) -> str:
    return f"unknown device type {device_type!r}{_hint(device_type, list(TYPES))}; known: {', '.join(TYPES)}"


def kind_of(device_type: str) -> Kind:
    try:
        return TYPES[device_type]
    except KeyError:
        raise DeviceOptionsError("type", [((), _unknown_type(device_type))]) from None


def option_problems(device_type: str, options: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with a device table's keys (besides name and type), as (key path, message)."""
    kind = TYPES.get(device_type)
    if kind is None:
        return [(("type",), _unknown_type(device_type))]
    model = kind.types[device_type]
    try:
        model.model_validate(dict(options))
    except ValidationError as exc:
        out: list[Problem] = []
        for err in exc.errors():
            path = tuple(err["loc"])
            out.append((path, _describe(err, device_type, list(model.model_fields))))
        return out
    return []


def _describe(err: Any, device_type: str, known: list[str]) -> str:
    if err["type"] == "missing":
        return f"missing required key for {device_type}"
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        return f"unknown key for {device_type}{_hint(key, known)}; known: {', '.join(known)}"
    return f"{err['msg'].replace('Value error, ', '')}, got {err['input']!r}"


def parse_options(table: Mapping[str, Any]) -> tuple[Kind, Options]:
    """The kind and the validated options of one device table (name, type and the kind's keys)."""
    device_type = str(table.get("type", ""))
    name = str(table.get("name", device_type or "device"))
    options = {k: v for k, v in table.items() if k not in ("name", "type")}
    problems = option_problems(device_type, options)
    if problems:
        raise DeviceOptionsError(name, problems)
    kind = TYPES[device_type]
    return kind, kind.types[device_type].model_validate(options)


def open_device(table: Mapping[str, Any]) -> Any:
    """The driver for one device table of the hall config: what a node agent holds while it runs. Nothing is
    opened yet: drivers connect on first use and again after a failure, so a device plugged in late works."""
    kind, options = parse_options(table)
    if kind.open is None:
        raise DeviceError(f"type {table['type']!r} ({kind.label}) has no driver in this release",
                          "leave it in the hall file (it is checked) or remove it")
    return kind.open(options)


def probe(table: Mapping[str, Any]) -> list[Check]:
    """Every check `hallctl device probe` runs for one device table; failures are rows, not exceptions."""
    try:
        kind, options = parse_options(table)
    except DeviceOptionsError as exc:
        return [Check("options", False, exc.message, exc.fix or "")]
    if kind.probe is None:
        return [Check("driver", False, f"type {table['type']!r} ({kind.label}) has no driver in this release",
                      "nothing to probe yet")]
    try:
        return kind.probe(options)
    except DeviceError as exc:
        return [Check("open", False, exc.message, exc.fix or "")]


def attached_serial_ports() -> list[tuple[str, str, str]]:
    from serial.tools import list_ports

    return [(p.device, p.description or "", usb_id(p.vid, p.pid) if p.vid is not None and p.pid is not None else "")
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
        out.append((usb_id(d.idVendor, d.idProduct), f"class {d.bDeviceClass}"))
    return out, None
