"""LED call boards and counter displays (vendor frames: 平安力合, IMM9003). Options only: no driver yet."""

from __future__ import annotations

from pydantic import Field

from ..options import Baudrate, Kind, Options, SerialPort


class LedBoard(Options):
    """LED call board on a serial line (port, address, baudrate 9600)."""

    port: SerialPort
    address: int = Field(ge=0, le=4095)
    baudrate: Baudrate = 9600


KIND = Kind("board", "LED call board", {"led-pingan": LedBoard, "led-imm9003": LedBoard})
