"""Counter call keypads (呼叫器) on an RS-485 line, QSystem 4-byte frames or FF 68 frames.

Every device on one port shares one line owner (devices/keypad/line.py), so the line's keys (protocol,
baudrate, gap_ms, poll_seconds, missed_polls) must agree across the hall file's tables for that port; the owner
refuses a disagreement when the second device opens. Drivers are imported only when a device is opened or
probed, so `config check` stays fast.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ..options import Baudrate, Check, Kind, Options, SerialPort

if TYPE_CHECKING:
    from .line import EvalPad, Keypad, RS485Line


class LineOptions(Options):
    """What every device on an RS-485 keypad line has: where the line is, and how it is driven."""

    port: SerialPort
    address: int = Field(ge=0, le=255)
    baudrate: Baudrate = 9600
    gap_ms: float = Field(50, ge=0, le=1000, description="silence between frames on the wire")
    poll_seconds: float = Field(2.0, ge=0, le=600, description="how often each address is polled; 0: never")
    missed_polls: int = Field(3, ge=1, le=20, description="polls without an answer before 'not answering'")

    def line(self) -> RS485Line:
        from .line import shared_line

        return shared_line(self.port, protocol=self.protocol_name, baudrate=self.baudrate, gap_ms=self.gap_ms,
                           poll_seconds=self.poll_seconds, missed_polls=self.missed_polls)

    @property
    def protocol_name(self) -> Literal["qsystem", "ff68"]:
        raise NotImplementedError


class KeypadSerial(LineOptions):
    """Counter call keypad on an RS-485 line (port, address, baudrate 9600, protocol qsystem|ff68)."""

    protocol: Literal["qsystem", "ff68"] = "qsystem"

    @property
    def protocol_name(self) -> Literal["qsystem", "ff68"]:
        return self.protocol


def open_keypad(options: Options) -> Keypad:
    assert isinstance(options, KeypadSerial)
    return options.line().add_keypad(options.address)


def probe_line_device(options: LineOptions, kind: str) -> list[Check]:
    """Open the port, then wait for the device to answer a poll. A line already running in this process is
    asked for its status instead of being opened twice."""
    from ..errors import DeviceError
    from .line import _LINES, RS485Line

    shared = _LINES.get(options.port)
    if shared is not None and shared.running:
        st = shared.status()
        dev = st["devices"].get(options.address)
        rows = [Check("line", st["error"] is None, st["error"] or f"{options.port} open ({st['protocol']})",
                      st["fix"] or "")]
        if dev is not None:
            rows.append(Check("answers", dev["answering"] is not False,
                              {True: "answers polls", False: "not answering", None: "not polled yet"}[
                                  dev["answering"]], "" if dev["answering"] is not False else _fix()))
        return rows
    line = RS485Line(options.port, protocol=options.protocol_name, baudrate=options.baudrate, gap_ms=options.gap_ms,
                     poll_seconds=min(options.poll_seconds, 0.3) or 0, missed_polls=2)
    try:
        line.open()
    except DeviceError as exc:
        return [Check("open", False, exc.message, exc.fix or "")]
    checks = [Check("open", True, f"{options.port} at {options.baudrate} baud, protocol {options.protocol_name}")]
    if options.poll_seconds <= 0:
        line.link.close()
        checks.append(Check("answers", True, "not polled (poll_seconds = 0): press a key and watch "
                            "`hallctl device keypad monitor`"))
        return checks
    answered = threading.Event()
    result: list[bool] = []

    def on_status(address: int, answering: bool) -> None:
        result.append(answering)
        answered.set()

    try:
        if kind == "evaluator":
            line.add_evaluator(options.address, on_status=on_status)
        else:
            line.add_keypad(options.address, on_status=on_status)
        line.start()
        answered.wait(3.0)
        st = line.status()
    finally:
        line.stop()
    if st["error"]:
        checks.append(Check("line", False, st["error"], st["fix"] or ""))
    elif result and result[0]:
        checks.append(Check("answers", True, f"{kind} {options.address} answers polls"))
    else:
        checks.append(Check("answers", False, f"no answer from address {options.address}", _fix()))
    if st["bad_frames"]:
        checks.append(Check("line noise", False, f"{st['bad_frames']} bad frame(s): {st['last_bad']}",
                            _noise_fix()))
    return checks


def _fix() -> str:
    from .line import WIRING_FIX

    return WIRING_FIX


def _noise_fix() -> str:
    from .line import NOISE_FIX

    return NOISE_FIX


def probe_keypad(options: Options) -> list[Check]:
    assert isinstance(options, KeypadSerial)
    return probe_line_device(options, "keypad")


def open_pad(options: Options) -> EvalPad:
    """Used by devices.evaluator; here so both kinds share one line owner per port."""
    from ..evaluator.options import EvalPadOptions

    assert isinstance(options, EvalPadOptions)
    return options.line().add_evaluator(options.address, best_key=options.best_key)


KIND = Kind("keypad", "call keypad", {"keypad-serial": KeypadSerial}, open=open_keypad, probe=probe_keypad,
            notes={"protocol": "qsystem (01 ADDR KEY 07) or ff68 (FF 68 L L 68 …); one protocol per port"})
