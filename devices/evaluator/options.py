"""好差评 evaluation pads that share the counter keypads' RS-485 line. Options only: no driver yet."""

from __future__ import annotations

from pydantic import Field

from ..options import Baudrate, Kind, Options, SerialPort


class EvalPad(Options):
    """Satisfaction rating pad on an RS-485 line (port, address, baudrate 9600)."""

    port: SerialPort
    address: int = Field(ge=0, le=255)
    baudrate: Baudrate = 9600


KIND = Kind("evaluator", "rating pad", {"eval-pad": EvalPad})
