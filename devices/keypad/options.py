"""Counter call keypads on an RS-485 line (QSystem-style 4-byte frames). Options only: no driver yet, but a
hall file that names one is still checked strictly, so it is right on the day the driver lands."""

from __future__ import annotations

from pydantic import Field

from ..options import Baudrate, Kind, Options, SerialPort


class KeypadSerial(Options):
    """Counter call keypad on an RS-485 line (port, address, baudrate 9600)."""

    port: SerialPort
    address: int = Field(ge=0, le=255)
    baudrate: Baudrate = 9600


KIND = Kind("keypad", "call keypad", {"keypad-serial": KeypadSerial})
