"""Counter call keypads (呼叫器) on an RS-485 line, QSystem 4-byte frames or FF 68 frames.

Every device on one port shares one line owner (devices/keypad/line.py), so the line's keys (protocol,
baudrate, gap_ms, poll_seconds, missed_polls) must agree across the hall file's tables for that port; the owner
refuses a disagreement when the second device opens. `line_problems` finds those disagreements (and shared
addresses) across the whole hall file, so `config check` refuses them before a counter agent does. Drivers are
imported only when a device is opened or probed, so `config check` stays fast.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

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


LINE_TYPES = ("keypad-serial", "eval-pad")
LINE_KEYS = ("protocol", "baudrate", "gap_ms", "poll_seconds", "missed_polls")
_LINE_FIX = "every device on one port shares one line: give them the same " + ", ".join(LINE_KEYS)
_ADDRESS_FIX = ("every device on one line needs its own address: set a free one on the device's address switches "
                "and in the hall file")
_PAD_FIX = ("rating pads speak ff68 only: set protocol = \"ff68\" on every keypad of this port (if they speak it), "
            "or give the pad its own port")


def line_problems(tables: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """(index into `tables`, problem) for the RS-485 lines the tables describe, in index order.

    Give it every device table of the hall (other types are skipped, so indices stay the caller's): the line
    owner would refuse a disagreement only when the second device opens, on the counter PC, after the hall has
    started, and it merges two devices at one address into one without a word (both keypads' keys arrive as
    one). The same port name is taken to be the same wires; callers whose nodes run on different PCs should
    call it once per PC. Each table's missing keys take the options' defaults (a keypad-serial without
    `protocol` is qsystem); malformed values are left to the options' own check. The first table on a port is
    the reference the later ones are compared with, and a problem is reported on the later table.
    """
    from ..evaluator.options import EvalPadOptions

    defaults = {kind: {key: model.model_fields[key].default for key in LINE_KEYS}
                for kind, model in (("keypad-serial", KeypadSerial), ("eval-pad", EvalPadOptions))}
    ports: dict[str, list[tuple[int, Mapping[str, Any], dict[str, Any]]]] = {}
    for index, table in enumerate(tables):
        kind = table.get("type")
        if kind not in LINE_TYPES or not isinstance(table.get("port"), str):
            continue
        line = {**defaults[kind], **{k: table[k] for k in LINE_KEYS if k in table}}
        ports.setdefault(table["port"], []).append((index, table, line))
    problems: list[tuple[int, str]] = []
    for port, members in ports.items():
        ref_index, ref, ref_line = members[0]
        qsystem_keypad = next((t for _, t, line in members
                               if t["type"] == "keypad-serial" and line["protocol"] == "qsystem"), None)
        seen: dict[int, Mapping[str, Any]] = {}
        for index, table, line in members:
            pad = table["type"] == "eval-pad"
            if pad and (line["protocol"] == "qsystem" or qsystem_keypad is not None):
                on = "this pad says qsystem" if qsystem_keypad is None else \
                    f"{_name(qsystem_keypad)} on it speaks qsystem"
                problems.append((index, f"{_name(table)} is on a qsystem line ({port}: {on}); {_PAD_FIX}"))
            if index != ref_index:
                pad_pair = {table["type"], ref["type"]} == set(LINE_TYPES)
                differ = [f"{key} {line[key]!r} here, {ref_line[key]!r} on {_name(ref)}" for key in LINE_KEYS
                          if line[key] != ref_line[key] and not (key == "protocol" and pad_pair)]
                if differ:
                    problems.append((index, f"{_name(table)} and {_name(ref)} share {port} but disagree: "
                                            f"{'; '.join(differ)}; {_LINE_FIX}"))
            address = table.get("address")
            if not isinstance(address, int) or isinstance(address, bool):
                continue  # missing or malformed: the options' check says so
            other = seen.get(address)
            if other is not None:
                problems.append((index, f"{_name(table)} and {_name(other)} are both at address {address} on {port}; "
                                        f"{_ADDRESS_FIX}"))
            else:
                seen[address] = table
    return sorted(problems, key=lambda p: p[0])


def _name(table: Mapping[str, Any]) -> str:
    what = "rating pad" if table.get("type") == "eval-pad" else "keypad"
    return f"{what} {table.get('name', '?')!r}"


KIND = Kind("keypad", "call keypad", {"keypad-serial": KeypadSerial}, open=open_keypad, probe=probe_keypad,
            notes={"protocol": "qsystem (01 ADDR KEY 07) or ff68 (FF 68 L L 68 …); one protocol per port"})
