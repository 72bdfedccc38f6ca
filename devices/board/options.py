"""LED call boards and counter displays: one strict options model per vendor protocol, each knowing its link.

`led-pingan` and `led-imm9003` keep the keys they always had (port, address, baudrate 9600). Every serial type
may take `path` instead of `port` (exactly one of the two) to append its frames to a file: a board's bytes can
then be checked on a machine without the board, as the printer's escpos-file does. `led-text` is a networked
controller speaking textnet (host, port). `lines` and `width` are the board's rows and columns (a Chinese
character takes two columns); they decide how calls and text are laid out, so they must match the board.

Pure pydantic; the driver is imported only when a board is opened.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from ..link import ByteLink, FileLink, SerialLink, TcpLink
from ..options import Baudrate, Check, Kind, Options, Seconds, SerialPort, TcpPort, Text

if TYPE_CHECKING:
    from .driver import BoardDriver, BoardEncoder


class BoardOptions(Options):
    lines: int = Field(1, ge=1, le=16, description="rows of the board")
    width: int = Field(16, ge=4, le=240, description="columns of one row; a Chinese character takes two")
    charset: Literal["gbk", "gb2312"] = "gbk"
    frame_gap: float = Field(0.3, ge=0, le=5, description="seconds between two frames")

    protocol: ClassVar[str] = ""
    address: int

    def link(self) -> ByteLink:
        raise NotImplementedError

    def summary(self) -> bool:
        return False

    def where(self) -> str:
        raise NotImplementedError


class SerialBoard(BoardOptions):
    port: SerialPort | None = None
    path: Text | None = None
    baudrate: Baudrate = 9600

    @model_validator(mode="after")
    def _port_or_path(self) -> SerialBoard:
        if (self.port is None) == (self.path is None):
            raise ValueError("give exactly one of `port` (the serial port) or `path` (a file the frames are "
                             "appended to)")
        return self

    def link(self) -> ByteLink:
        if self.path is not None:
            return FileLink(self.path)
        assert self.port is not None
        return SerialLink(self.port, self.baudrate)

    def where(self) -> str:
        return self.path or self.port or ""


class LedPingan(SerialBoard):
    """平安力合-compatible board on a serial line (port or path, address 0–255, baudrate 9600, screen)."""

    protocol: ClassVar[str] = "pingan"
    address: int = Field(ge=0, le=255)
    screen: Literal["window", "summary"] = "window"

    def summary(self) -> bool:
        return self.screen == "summary"


class LedImm9003(SerialBoard):
    """IMM9003-style board on a serial line (port or path, address 0–4095, baudrate 9600)."""

    protocol: ClassVar[str] = "imm9003"
    address: int = Field(ge=0, le=4095)


class LedImm9013(SerialBoard):
    """IMM9013 strip screen on a serial line (port or path, address 0–255, baudrate 9600)."""

    protocol: ClassVar[str] = "imm9013"
    address: int = Field(ge=0, le=255)


class LedText(BoardOptions):
    """Networked board controller speaking textnet (host, port, address 1)."""

    protocol: ClassVar[str] = "textnet"
    host: Text
    port: TcpPort
    address: int = Field(1, ge=0, le=65535)
    frame_gap: float = Field(0.0, ge=0, le=5)
    connect_timeout: Seconds = 3.0
    reply_timeout: Seconds = 2.0

    def link(self) -> ByteLink:
        return TcpLink(self.host, self.port, connect_timeout=self.connect_timeout)

    def where(self) -> str:
        return f"{self.host}:{self.port}"


def encoder_for(options: Options) -> BoardEncoder:
    from .driver import BoardEncoder

    assert isinstance(options, BoardOptions)
    return BoardEncoder(options.protocol, options.address, rows=options.lines, width=options.width,
                        charset=options.charset, summary=options.summary())


def open_board(options: Options) -> BoardDriver:
    """The driver; nothing is opened until the first frame (or `open()`), so a board plugged in late works."""
    from .driver import BoardDriver

    assert isinstance(options, BoardOptions)
    return BoardDriver(options.link(), encoder_for(options), frame_gap=options.frame_gap,
                       reply_timeout=getattr(options, "reply_timeout", 2.0))


def probe_board(options: Options) -> list[Check]:
    """Rows for `hallctl device probe`: the settings, the port (or file's folder), opening it, a test frame.
    The test frame lights every dot, so the technician looking at the board sees dead LEDs too."""
    from ..errors import DeviceError

    assert isinstance(options, BoardOptions)
    checks = [Check("protocol", True, f"{options.protocol}, address {options.address}, "
                    f"{options.lines} row(s) × {options.width} columns, {options.charset}")]
    if isinstance(options, SerialBoard):
        if options.port is not None and "://" not in options.port:
            if not os.path.exists(options.port):
                checks.append(Check("port", False, f"{options.port} does not exist",
                                    "check the cable; `hallctl device list` shows the serial ports attached"))
                return checks
            checks.append(Check("port", True, f"{options.port} exists"))
        elif options.path is not None:
            folder = os.path.dirname(os.path.abspath(options.path))
            ok = os.path.isdir(folder)
            checks.append(Check("path", ok, f"frames go to {options.path}" if ok else f"{folder} does not exist",
                                "" if ok else f"create it (mkdir -p {folder}) or set another path"))
            if not ok:
                return checks
    board = open_board(options)
    stage = "open"
    try:
        board.open()
        checks.append(Check("open", True, board.where))
        if board.answers:
            stage = "answer"
            board.ping()
            checks.append(Check("answer", True, "PING answered OK"))
        stage = "test frame"
        frame = board.encoder.test_pattern()
        board.send(frame)
        checks.append(Check("test frame", True, f"{len(frame)} bytes written: every dot of the board should be lit"
                            + ("" if board.answers else " (the board cannot confirm it; look at it)")))
    except DeviceError as exc:
        checks.append(Check(stage, False, exc.message, exc.fix or ""))
    finally:
        board.close()
    return checks


KIND = Kind("board", "LED call board",
            {"led-pingan": LedPingan, "led-imm9003": LedImm9003, "led-imm9013": LedImm9013, "led-text": LedText},
            open=open_board, probe=probe_board)
