"""What every device kind's options model shares: strictness, USB ids, serial ports, TCP ports, baud rates.

Like Klipper's config sections, an option nobody reads is an error: `profil = "generic-58"` must not leave a
printer silently on the default profile. Pure pydantic, no drivers imported, so `config check` stays fast and
works on a machine without USB or OpenCV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Options(BaseModel):
    """The keys of one device table besides `name` and `type`; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _usb_id(value: Any) -> Any:
    """0x0416 in TOML arrives as an int; "0416" or "0x0416" as text is read as hex, as lsusb prints it."""
    if isinstance(value, str):
        try:
            return int(value, 16)
        except ValueError:
            raise ValueError(f"{value!r} is not a hexadecimal USB id (write 0x0416 or \"0416\")") from None
    return value


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


STANDARD_BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


def _baudrate(value: Any) -> Any:
    if isinstance(value, int) and value not in STANDARD_BAUDRATES:
        raise ValueError(f"{value} is not a standard baud rate ({', '.join(map(str, STANDARD_BAUDRATES))})")
    return value


UsbId = Annotated[int, BeforeValidator(_usb_id), Field(ge=0, le=0xFFFF)]
SerialPort = Annotated[str, Field(min_length=1, description="/dev/ttyUSB0, /dev/serial/by-id/…, socket://host:port")]
Baudrate = Annotated[int, BeforeValidator(_baudrate)]
TcpPort = Annotated[int, Field(ge=1, le=65535)]
Text = Annotated[str, BeforeValidator(_as_text), Field(min_length=1)]
Seconds = Annotated[float, Field(gt=0, le=60)]


@dataclass(frozen=True)
class Kind:
    """One kind of device (printer, ID card reader…): the `type` names it answers to, each with its options
    model, and how to open and probe one. `open`/`probe` are None for kinds planned but without a driver."""

    name: str
    label: str
    types: dict[str, type[Options]]
    open: Callable[[Options], Any] | None = None
    probe: Callable[[Options], list[Check]] | None = None
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One row of `hallctl device probe`: rows rather than exceptions, so the technician sees every check."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
