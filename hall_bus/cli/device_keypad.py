"""`hallctl device keypad monitor` and `hallctl device sim keypad`: the technician's two views of an RS-485 line
of counter keypads (呼叫器) and rating pads (评价器).

The monitor is a listener, not a counter agent: it holds the line through the same owner the agents use
(devices/keypad/line.py), so it decodes, counts bad frames and polls exactly as the hall does, but nothing it
hears goes to the hall bus. Keys are shown as the op the counter agent would send, so "I pressed 呼叫 and nothing
happened" can be split into "the key never reached the PC" and "the hall refused it". The ff68 protocol's
acknowledgements are still sent: a keypad without its echo repeats the key, which would look like a fault.

The simulator puts keypads (and, for ff68, a rating pad) on a real pty and takes its orders from stdin, so a
technician can rehearse at a desk and a test can drive it through a pipe. Every failure is one line with the fix
(exit codes as in device.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from devices.errors import DeviceError
from hall_bus.errors import UserError

if TYPE_CHECKING:
    from devices.keypad.line import LineEvent, RS485Line
    from devices.keypad.simulator import KeypadLineSimulator

MISSING = 4
Protocol = Literal["qsystem", "ff68"]
PROTOCOLS: tuple[Protocol, ...] = ("qsystem", "ff68")
LINE_KINDS = ("keypad", "evaluator")
SIM_KEYPADS = (1, 5)
SIM_PADS = (11,)  # ff68 only: QSystem has no rating pads


# ---------------------------------------------------------------------- what the monitor knows of the line


@dataclass(frozen=True)
class _Known:
    """A device the hall file (or --keypads/--pads) puts at an address, so an event can say whose it is."""

    address: int
    kind: str
    name: str = ""
    node: str = ""
    window: int | None = None

    def who(self) -> str:
        parts = [self.node or self.name] if (self.node or self.name) else []
        if self.window is not None:
            parts.append(f"window {self.window}")
        if self.kind == "evaluator":
            parts.append("rating pad")
        return ", ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {"address": self.address, "kind": self.kind, "name": self.name or None, "node": self.node or None,
                "window": self.window}


@dataclass
class _Setup:
    port: str
    protocol: Protocol
    baudrate: int
    poll_seconds: float
    missed_polls: int = 3
    gap_ms: float = 50
    source: str = ""  # the hall file, for "not in hall.toml"; "" with --port
    known: dict[int, _Known] = field(default_factory=dict)
    best_key: dict[int, Literal[1, 5]] = field(default_factory=dict)

    def line(self) -> RS485Line:
        from devices.keypad.line import RS485Line

        line = RS485Line(self.port, protocol=self.protocol, baudrate=self.baudrate, gap_ms=self.gap_ms,
                         poll_seconds=self.poll_seconds, missed_polls=self.missed_polls)
        try:
            for dev in self.known.values():
                if dev.kind == "evaluator":
                    line.add_evaluator(dev.address, best_key=self.best_key.get(dev.address, 1))
                else:
                    line.add_keypad(dev.address)
        except DeviceError as exc:
            raise UserError(f"keypad monitor: {exc}") from None
        return line


def _addresses(text: str | None, what: str) -> list[int]:
    if not text:
        return []
    try:
        out = [int(a, 0) for a in text.replace(",", " ").split()]
    except ValueError:
        raise UserError(f"--{what} {text!r}: give addresses as numbers, e.g. --{what} 1,5") from None
    bad = [a for a in out if not 0 <= a <= 255]
    if bad:
        raise UserError(f"--{what}: address {bad[0]} is outside 0..255 (the device's address switches)")
    return out


def _setup(args: argparse.Namespace) -> _Setup:
    """Where to listen and who is there: from --port and the options, or from NAME's table in the hall file."""
    from devices.options import STANDARD_BAUDRATES

    if args.baudrate is not None and args.baudrate not in STANDARD_BAUDRATES:
        raise UserError(f"--baudrate {args.baudrate} is not a standard baud rate "
                        f"({', '.join(map(str, STANDARD_BAUDRATES))}); keypads are usually 9600")
    if args.duration is not None and args.duration <= 0:
        raise UserError(f"--duration {args.duration:g}: give a number of seconds above 0, or leave it out")
    if args.poll is not None and args.poll < 0:
        raise UserError(f"--poll {args.poll:g}: give seconds between polls, or 0 to listen without polling")
    if args.port and args.name:
        raise UserError(f"give --port or a device name, not both ({args.name}'s port comes from its table)")
    if args.port:
        if args.config:
            raise UserError("--config goes with a device name (NAME --config HALL.toml), not with --port")
        return _port_setup(args)
    if not args.name:
        raise UserError("say which line: --port /dev/ttyUSB0 (with --protocol qsystem|ff68), "
                        "or a configured keypad: NAME --config HALL.toml")
    if not args.config:
        raise UserError(f"a device name needs --config (the hall file that defines {args.name})")
    for opt in ("protocol", "keypads", "pads"):
        if getattr(args, opt):
            raise UserError(f"--{opt} goes with --port; {args.name}'s line comes from its table in {args.config}")
    return _config_setup(args)


def _port_setup(args: argparse.Namespace) -> _Setup:
    protocol: Protocol = args.protocol or "qsystem"
    setup = _Setup(args.port, protocol, args.baudrate or 9600, 2.0 if args.poll is None else args.poll)
    pads = _addresses(args.pads, "pads")
    if pads and protocol != "ff68":
        raise UserError("--pads: rating pads speak ff68; add --protocol ff68 (every device on one line speaks "
                        "the same protocol)")
    for a in _addresses(args.keypads, "keypads"):
        setup.known[a] = _Known(a, "keypad")
    for a in pads:
        if a in setup.known:
            raise UserError(f"address {a} is in both --keypads and --pads; every device needs its own address")
        setup.known[a] = _Known(a, "evaluator")
    return setup


def _config_setup(args: argparse.Namespace) -> _Setup:
    from devices.evaluator.options import EvalPadOptions
    from devices.keypad.options import LineOptions
    from devices.registry import TYPES, DeviceOptionsError, kind_of, parse_options
    from hall_bus.cli.device import _find
    from hall_bus.config import load_config

    def line_options(where: str, table: dict[str, Any]) -> LineOptions:
        try:
            _kind, opts = parse_options(table)
        except DeviceOptionsError as exc:
            raise UserError(f"{where}: {exc}") from None
        assert isinstance(opts, LineOptions)  # keypad-serial and eval-pad are both line devices
        return opts

    cfg = load_config(args.config)
    table = _find(cfg, args.name)
    if kind_of(table["type"]).name not in LINE_KINDS:
        raise UserError(f"{args.name} is of type {table['type']}, not a keypad or a rating pad "
                        "(types keypad-serial, eval-pad)")
    opts = line_options(args.name, table)
    setup = _Setup(opts.port, opts.protocol_name, args.baudrate or opts.baudrate,
                   opts.poll_seconds if args.poll is None else args.poll, missed_polls=opts.missed_polls,
                   gap_ms=opts.gap_ms, source=Path(args.config).name)
    for node in cfg.nodes:
        for dev in node.devices:
            peer = dev.model_dump()
            kind = TYPES.get(peer["type"])
            if kind is None or kind.name not in LINE_KINDS or peer.get("port") != opts.port:
                continue
            where = f"{node.id}/{peer['name']}"
            popts = line_options(where, peer)
            if (popts.protocol_name, popts.baudrate) != (opts.protocol_name, opts.baudrate):
                raise UserError(f"{where} on {opts.port} is {popts.protocol_name} at {popts.baudrate} baud, "
                                f"{args.name} is {opts.protocol_name} at {opts.baudrate}: give every device on "
                                "one port the same protocol and baudrate in the hall file")
            other = setup.known.get(popts.address)
            if other is not None:
                raise UserError(f"{where} and {other.node}/{other.name} are both at address {popts.address} on "
                                f"{opts.port}: every device on one line needs its own address")
            setup.known[popts.address] = _Known(popts.address, kind.name, peer["name"], node.id, node.counter)
            if isinstance(popts, EvalPadOptions):
                setup.best_key[popts.address] = popts.best_key
    return setup


# ---------------------------------------------------------------------- how events are shown


def _key_name(protocol: Protocol, raw: bytes) -> tuple[int | None, str]:
    """The key code in a key frame and its name on the keypad, for "which key was that?"."""
    from devices.keypad import ff68, qsystem

    if protocol == "qsystem":
        if len(raw) < 3:
            return None, "?"
        code = raw[2]
        try:
            return code, qsystem.Key(code).name
        except ValueError:
            return code, f"0x{code:02X}"
    frames = [f for f in ff68.Decoder().feed(raw) if isinstance(f, ff68.Frame)]
    if not frames or not frames[0].data:
        return None, "?"
    data = frames[0].data
    names = {getattr(ff68, n): n.removeprefix("KEY_") for n in dir(ff68) if n.startswith("KEY_")}
    name = names.get(data[-1], f"0x{data[-1]:02X}")
    if len(data) > 1:
        name = " ".join(f"{d:X}" for d in data[:-1]) + " " + name
    return data[-1], name


class _Monitor:
    """Turns line events into lines for a person or JSON objects for a script; counts what a summary needs."""

    def __init__(self, setup: _Setup, as_json: bool) -> None:
        self.setup = setup
        self.json = as_json
        self.unknown_state: dict[int, Any] = {}  # QSystem keys of unknown addresses are read by their own state
        self.unknown_seen: set[int] = set()
        self.was_down: set[int] = set()
        self.keys = self.ratings = 0

    def emit(self, obj: dict[str, Any], text: str) -> None:
        if self.json:
            print(json.dumps({"event": obj.pop("event"), "time": time.strftime("%H:%M:%S"), **obj},
                             ensure_ascii=False), flush=True)
        else:
            print(f"{time.strftime('%H:%M:%S')}  {text}", flush=True)

    def listening(self) -> None:
        s = self.setup
        who = ", ".join(f"{d.address:02d} ({d.who() or d.kind})" for d in sorted(s.known.values(),
                                                                                key=lambda d: d.address))
        poll = f"polling every {s.poll_seconds:g} s" if s.poll_seconds > 0 and s.known else "not polling"
        self.emit({"event": "listening", "port": s.port, "protocol": s.protocol, "baudrate": s.baudrate,
                   "poll_seconds": s.poll_seconds if s.known else 0,
                   "devices": [d.as_json() for d in sorted(s.known.values(), key=lambda d: d.address)]},
                  f"listening on {s.port} ({s.protocol}, {s.baudrate} baud, {poll}); "
                  + (f"devices: {who}" if who else "every address is shown as it is heard")
                  + "; nothing is sent to the hall bus. Ctrl-C ends")

    def _where(self, event: LineEvent) -> tuple[dict[str, Any], str]:
        address = event.address
        known = self.setup.known.get(address) if address is not None else None
        info: dict[str, Any] = {"address": address, "known": known is not None}
        if known is not None:
            info.update(name=known.name or None, node=known.node or None, window=known.window)
            return info, f"  ({known.who()})" if known.who() else ""
        if address is None or not (self.setup.source or self.setup.known):
            return info, ""
        where = f"not on {self.setup.port} in {self.setup.source}" if self.setup.source else "not in --keypads/--pads"
        hint = ""
        if address not in self.unknown_seen:
            self.unknown_seen.add(address)
            hint = ("; a device's address switches may be wrong, or it is missing from the hall file"
                    if self.setup.source else "")
        return info, f"  (unknown address: {where}{hint})"

    def event(self, ev: LineEvent) -> None:
        from devices.keypad.keymap import LEVELS, LEVELS_EN, next_state, qsystem_op

        addr = f"{ev.address:02d}" if ev.address is not None else "--"
        raw = ev.raw.hex(" ")
        if ev.kind == "key":
            info, who = self._where(ev)
            code, key = _key_name(self.setup.protocol, ev.raw)
            op = ev.op
            if not ev.known and self.setup.protocol == "qsystem" and code is not None and ev.address is not None:
                state = self.unknown_state.get(ev.address, "idle")
                op = qsystem_op(code, state)
                if op is not None:
                    self.unknown_state[ev.address] = next_state(state, op)
            self.keys += 1
            what = op or f"{key} key: no operation now"
            self.emit({"event": "key", **info, "op": op, "key": key,
                       "code": None if code is None else f"0x{code:02X}", "raw": raw},
                      f"{addr}  {what:<10}{who}  [{key}: {raw}]")
        elif ev.kind == "rating":
            info, who = self._where(ev)
            self.ratings += 1
            if ev.level is None:
                self.emit({"event": "rating", **info, "level": None, "label": None, "raw": raw,
                           "detail": ev.detail or "raw value outside 1..5"},
                          f"{addr}  rating out of range ({ev.detail or 'raw value outside 1..5'}){who}  [{raw}]")
            else:
                self.emit({"event": "rating", **info, "level": ev.level, "label": LEVELS[ev.level],
                           "label_en": LEVELS_EN[ev.level], "raw": raw},
                          f"{addr}  rating {ev.level} {LEVELS[ev.level]}{who}  [{raw}]")
        elif ev.kind == "status":
            info, who = self._where(ev)
            if ev.answering:
                again = ev.address in self.was_down
                self.was_down.discard(ev.address)  # type: ignore[arg-type]
                self.emit({"event": "status", **info, "answering": True, "again": again},
                          f"{addr}  {'answers again' if again else 'answers'}{who}")
            else:
                self.was_down.add(ev.address)  # type: ignore[arg-type]
                self.emit({"event": "status", **info, "answering": False, "detail": ev.detail},
                          f"{addr}  NOT ANSWERING{who}: {ev.detail}")
        elif ev.kind == "bad_frame":
            reason, _, detail = ev.detail.partition(" (")
            detail = detail.removesuffix(")")
            self.emit({"event": "bad_frame", "reason": reason, "detail": detail, "raw": raw},
                      f"--  bad frame: {reason}" + (f" ({detail})" if detail else "") + f"  [{raw}]")
        else:
            self.emit({"event": "line", "detail": ev.detail}, f"line: {ev.detail}")

    def summary(self, status: dict[str, Any], seconds: float) -> None:
        from devices.keypad.line import NOISE_FIX

        bad: dict[str, int] = status["bad"]
        unknown: dict[int, int] = status["unknown_addresses"]
        text = (f"summary: {seconds:.0f} s, {_n(status['frames'], 'frame')} ({_n(self.keys, 'key')}, "
                f"{_n(self.ratings, 'rating')}), {_n(status['bad_frames'], 'bad frame')}"
                + (f" ({', '.join(f'{r} {n}' for r, n in sorted(bad.items()))})" if bad else ""))
        if unknown and (self.setup.source or self.setup.known):
            text += "; unknown addresses: " + ", ".join(f"{a} ({_n(n, 'frame')})" for a, n in sorted(unknown.items()))
        if status["not_answering"]:
            text += "; not answering: " + ", ".join(str(a) for a in status["not_answering"])
        if status["error"]:
            text += f"; line down: {status['error']} — try: {status['fix']}"
        elif status["bad_frames"]:
            text += f"; if bad frames keep coming: {NOISE_FIX}"
        self.emit({"event": "summary", "seconds": round(seconds, 1), "frames": status["frames"], "keys": self.keys,
                   "ratings": self.ratings, "bad_frames": status["bad_frames"], "bad": bad,
                   "unknown_addresses": {str(a): n for a, n in sorted(unknown.items())},
                   "not_answering": status["not_answering"], "line_error": status["error"]}, text)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _monitor(args: argparse.Namespace) -> int:
    setup = _setup(args)
    line = setup.line()
    try:
        line.open()
    except DeviceError as exc:
        print(f"no keypad line: {exc}", file=sys.stderr)
        return MISSING
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop ends it like Ctrl-C, with the summary
    # Every warning the line logs ("not answering", "line down") is an event printed below; without a handler
    # Python's last-resort handler would print each a second time on stderr. A configured root handler still
    # gets them.
    logging.getLogger("devices.keypad").addHandler(logging.NullHandler())
    events: queue.Queue[LineEvent] = queue.Queue()
    line.add_listener(events.put)
    mon = _Monitor(setup, args.json)
    started = time.monotonic()
    deadline = started + args.duration if args.duration else None
    try:
        mon.listening()
        line.start()
        while deadline is None or time.monotonic() < deadline:
            try:
                mon.event(events.get(timeout=0.1))
            except queue.Empty:
                continue
    except KeyboardInterrupt:
        pass
    finally:
        line.stop()  # the handler thread runs what the worker queued before it stops: nothing heard is lost
        status = line.status()
    while not events.empty():
        mon.event(events.get_nowait())
    mon.summary(status, time.monotonic() - started)
    return MISSING if status["error"] else 0


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """argparse prints the whole usage before its error; the technician needs the one line that says what."""

    def error(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: {message} (see {parser.prog} --help)\n")

    parser.error = error  # type: ignore[method-assign]


def register_keypad(ds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    if "keypad" in ds.choices:  # registered already (device_hall wires it in; a second call is harmless)
        return
    kp = ds.add_parser("keypad", help="counter keypads and rating pads on an RS-485 line")
    ks = kp.add_subparsers(dest="keypad_command", required=True, metavar="ACTION")
    p = ks.add_parser("monitor", help="print every key, rating, bad frame and silent device on the line; "
                      "sends nothing to the hall bus",
                      usage="%(prog)s (--port PORT [--protocol qsystem|ff68] [--keypads ADDRS] [--pads ADDRS] | "
                      "NAME --config HALL.toml) [--baudrate N] [--poll SECONDS] [--duration SECONDS] [--json]",
                      description="Listen to a keypad line: `--port PORT [--protocol qsystem|ff68]`, or a "
                      "configured keypad or rating pad: `NAME --config HALL.toml` (every keypad and pad of the "
                      "hall on that port is then shown by name). Runs until Ctrl-C or --duration, then prints a "
                      "summary.")
    p.add_argument("name", nargs="?", help="a configured keypad or rating pad (NAME or NODE/NAME; needs --config)")
    p.add_argument("--config", help="the hall file that defines NAME")
    p.add_argument("--port", help="a serial port or pty path, e.g. /dev/ttyUSB0")
    p.add_argument("--protocol", choices=PROTOCOLS, help="with --port: qsystem (default) or ff68")
    p.add_argument("--baudrate", type=int, help="default 9600, or the device table's")
    p.add_argument("--keypads", metavar="ADDRS", help="with --port: keypad addresses to poll, e.g. 1,5")
    p.add_argument("--pads", metavar="ADDRS", help="with --port and ff68: rating pad addresses to poll, e.g. 11")
    p.add_argument("--poll", type=float, metavar="SECONDS",
                   help="seconds between liveness polls of each known address (0: never send a poll); "
                   "default 2, or the table's poll_seconds")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=_monitor)
    for parser in (kp, p):
        _one_line_errors(parser)


# ---------------------------------------------------------------------- the simulator, driven from stdin

HELP = ("commands: press ADDR KEY (an op name or a code like 0x31) | rate ADDR LEVEL (1..5, 5 = 非常满意) | "
        "dead ADDR | alive ADDR | garbage | show | quit")


def _sim_protocol(value: str | None) -> Protocol:
    """`device sim` defaults --protocol to the board's "pingan"; for keypads that default means QSystem."""
    if value in (None, "", "pingan"):
        return "qsystem"
    if value in PROTOCOLS:
        return value  # type: ignore[return-value]
    raise UserError(f"sim keypad: unknown keypad protocol {value!r}; use --protocol qsystem or --protocol ff68")


def _keys(protocol: Protocol) -> list[str]:
    from devices.keypad.keymap import OPS, ff68_key, qsystem_key

    out = []
    for op in OPS:
        try:
            qsystem_key(op) if protocol == "qsystem" else ff68_key(op)
        except ValueError:
            continue
        out.append(op)
    return out


class _SimShell:
    """One command line → one action on the simulator and one line saying what it did."""

    def __init__(self, sim: KeypadLineSimulator, protocol: Protocol) -> None:
        self.sim = sim
        self.protocol = protocol
        self.keys = _keys(protocol)
        self.shown: dict[int, tuple[str, int, int]] = {}

    def say(self, text: str) -> None:
        print(text, flush=True)

    def _label(self, address: int) -> str:
        return f"{'rating pad' if self.sim.device(address).kind == 'evaluator' else 'keypad'} {address}"

    def _address(self, word: str) -> int | None:
        try:
            address = int(word, 0)
        except ValueError:
            address = -1
        if address not in self.sim.devices:
            self.say(f"no simulated device at {word!r}; devices: {', '.join(map(str, sorted(self.sim.devices)))}")
            return None
        return address

    def command(self, text: str) -> bool:
        """False when the technician is done."""
        words = text.split()
        if not words:
            return True
        cmd, rest = words[0].lower(), words[1:]
        if cmd in ("quit", "exit", "q"):
            self.say("bye")
            return False
        if cmd in ("help", "?"):
            self.say(HELP + f"; keys: {', '.join(self.keys)}")
            return True
        need = {"press": 2, "rate": 2, "dead": 1, "alive": 1, "garbage": 0, "show": 0}
        if cmd not in need or len(rest) != need[cmd]:
            self.say(f"{text.strip()!r}? {HELP}")
            return True
        if cmd == "garbage":
            data = b"\x55\xaa\x13\x00\xfe"
            self.sim.garbage(data)
            self.say(f"garbage on the line: {data.hex(' ')}")
            return True
        if cmd == "show":
            self.show()
            return True
        address = self._address(rest[0])
        if address is None:
            return True
        if cmd == "press":
            self.press(address, rest[1])
        elif cmd == "rate":
            self.rate(address, rest[1])
        elif cmd == "dead":
            self.sim.kill(address)
            self.say(f"{self._label(address)} stops answering: no poll answers, its keys send nothing")
        else:
            self.sim.revive(address)
            self.say(f"{self._label(address)} answers again")
        return True

    def press(self, address: int, key: str) -> None:
        from devices.keypad import ff68, qsystem
        from devices.keypad.keymap import ff68_key, qsystem_key

        try:
            if key.lower() in self.keys:
                op: Any = key.lower()
                code = qsystem_key(op) if self.protocol == "qsystem" else None
                data = ff68_key(op) if self.protocol == "ff68" else b""
                what: Any = op
            else:
                code = int(key, 0)
                if not 0 <= code <= 0xFF:
                    raise ValueError
                data, what = bytes([code]), code
        except ValueError:
            self.say(f"press: {key!r} is no key of a {self.protocol} keypad; keys: {', '.join(self.keys)}, "
                     "or a code like 0x31")
            return
        frame = qsystem.encode_key(address, code) if self.protocol == "qsystem" else \
            ff68.encode(address, ff68.FUNC_KEY, data)  # type: ignore[arg-type]
        if not self.sim.press(address, what):
            self.say(f"{self._label(address)} is dead (`alive {address}` revives it): nothing sent")
            return
        note = ""
        if self.protocol == "qsystem" and isinstance(what, str):
            note = f" (the {qsystem.Key(code).name} key; the host reads it by the counter's state)"
        self.say(f"{self._label(address)}: pressed {key}{note}, sent {frame.hex(' ')}")

    def rate(self, address: int, level_text: str) -> None:
        from devices.keypad.keymap import LEVELS, rating_raw

        dev = self.sim.device(address)
        if dev.kind != "evaluator":
            pads = [a for a, d in self.sim.devices.items() if d.kind == "evaluator"]
            self.say(f"rate: {address} is a keypad; " + (f"rating pads: {', '.join(map(str, pads))}" if pads
                                                          else "a qsystem line has no rating pads (use ff68)"))
            return
        try:
            level = int(level_text)
            raw = rating_raw(level, dev.best_key)
        except ValueError:
            self.say(f"rate: level {level_text!r}: give 1..5 (5 {LEVELS[5]}, 1 {LEVELS[1]})")
            return
        if not self.sim.rate(address, level):
            self.say(f"{self._label(address)} is dead (`alive {address}` revives it): nothing sent")
            return
        self.say(f"{self._label(address)}: rating {level} {LEVELS[level]} sent (the pad's raw value {raw})")

    def _is_poll(self, address: int, frame: bytes) -> bool:
        from devices.keypad import ff68, qsystem

        return frame == (qsystem.encode_poll(address) if self.protocol == "qsystem" else ff68.encode_poll(address))

    def show(self) -> None:
        from devices.keypad import qsystem

        for address in sorted(self.sim.devices):
            dev = self.sim.device(address)
            frames = [f for f in dev.frames if not self._is_poll(address, f)]
            parts = [] if dev.kind == "evaluator" else [
                f'display "{dev.display}"' if dev.display else "display blank (nothing written yet)"]
            if self.protocol == "qsystem":
                parts.append(f"LED {qsystem.Led(dev.led).name.lower()}")
            parts += [f"{dev.beeps} beeps", f"{dev.polls} polls"]
            if self.protocol == "ff68":
                parts.append(f"{dev.acks} acks")
            if dev.dead:
                parts.append("DEAD")
            last = "; last: " + ", ".join(f.hex(" ") for f in frames[-3:]) if frames else ""
            self.say(f"{self._label(address)}: {', '.join(parts)}; {len(frames)} other host frames{last}")
        bad = self.sim.bad_from_host
        self.say(f"host frames received: {len(self.sim.host_frames)}"
                 + (f"; bad from the host: {len(bad)} (last: {bad[-1]})" if bad else ""))

    def changes(self) -> None:
        """What the host made a device do, as it happens, so the technician sees the display change."""
        for address in sorted(self.sim.devices):
            dev = self.sim.device(address)
            now = (dev.display, dev.led, dev.beeps)
            before = self.shown.get(address, ("", now[1], 0))
            self.shown[address] = now
            if now[0] != before[0]:
                self.say(f'  ▮ {self._label(address)} shows "{now[0]}"')
            if now[2] != before[2]:
                self.say(f"  ♪ {self._label(address)} beeps")
            if now[1] != before[1] and self.protocol == "qsystem":
                from devices.keypad import qsystem

                self.say(f"  ● {self._label(address)} LED {qsystem.Led(now[1]).name.lower()}")


def run_keypad_sim(args: argparse.Namespace, running: Callable[[], bool]) -> int:
    """Serve simulated keypads on a pty until quit, EOF on stdin, --duration, Ctrl-C or SIGTERM."""
    from devices.keypad.simulator import KeypadLineSimulator

    protocol = _sim_protocol(getattr(args, "protocol", None))
    pads = SIM_PADS if protocol == "ff68" else ()
    sim = KeypadLineSimulator(protocol, keypads=SIM_KEYPADS, evaluators=pads)
    try:
        path = sim.start()
    except OSError as exc:
        raise UserError(f"sim keypad: cannot open a pseudo-terminal: {exc.strerror or exc}") from None
    shell = _SimShell(sim, protocol)
    try:
        shell.say(f"keypad line simulator ({protocol}) on {path}: keypads {', '.join(map(str, SIM_KEYPADS))}"
                  + (f", rating pad {', '.join(map(str, pads))}" if pads else ""))
        shell.say(f"watch it: hallctl device keypad monitor --port {path} --protocol {protocol}")
        shell.say(HELP + f"; keys: {', '.join(shell.keys)}")
        fd = sys.stdin.fileno() if sys.stdin is not None else -1
        pending = b""
        while running():
            shell.changes()
            if fd < 0:
                time.sleep(0.1)
                continue
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            chunk = os.read(fd, 4096)  # not sys.stdin: its buffer would hide lines from select
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop() if chunk else b""
            if any(not shell.command(raw.decode("utf-8", "replace")) for raw in lines):
                break
            if not chunk:
                shell.say("end of input")
                break
        shell.changes()
    except KeyboardInterrupt:
        pass
    finally:
        out = getattr(args, "out", None)
        if out:
            try:
                Path(out).write_bytes(b"".join(sim.host_frames))
                print(f"host frames ({len(sim.host_frames)}) saved to {out}", flush=True)
            except OSError as exc:
                print(f"cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        sim.stop()
    return 0
