"""One RS-485 line of counter keypads and evaluation pads, owned by one object in one process.

Every device on a line shares one pair of wires, so everything that talks on it must go through one owner:
two writers would interleave their frames into collisions of their own making. `RS485Line` is that owner:

- One worker thread holds the link. It reads, decodes and, between frames, sends: one queue, a configurable
  gap after every frame on the wire (the host's or a device's), and never while a device is mid-frame. Like
  pyserial's `serial.threaded.ReaderThread` it turns bytes into packets and hands them on, but it also owns
  the writes, and a transport error does not end it: it reports the error once and reopens the port until the
  cable is back (ReaderThread stops on the first SerialException).
- Handlers run on a second thread, so a slow bus call in `on_key` never delays an acknowledgement a keypad
  is waiting for.
- Liveness: each address is polled in turn with a frame that changes nothing on the device (see qsystem.py
  and ff68.py). Any frame from a device counts as an answer; `missed_polls` polls in a row without one mark it
  "not answering" (logged once, reported by `status()` and `on_status`), and its next frame marks it back.
  The other devices on the line are not affected: polls go to one address at a time and never block keys.
  When the line itself goes down (port missing, adapter unplugged) every device on it is "not answering" at
  once, since none can be reached; after the reopen each is back on its first frame (or at once, unpolled).
- The port is opened with an exclusive lock: a second process on the same wires would split the incoming bytes
  and poll over this one, so it is refused with `OWNER_FIX` instead.
- Bad bytes (collisions, noise, partial frames) are counted by reason and dropped; they never stop the line.

`shared_line(port, …)` returns the process's one line for a port, so a counter agent holding a keypad and an
evaluation pad on the same wires gets one owner, and a second, incompatible opening is refused.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import DeviceError
from ..link import ByteLink, SerialLink
from . import ff68, qsystem
from .frames import BadFrame
from .keymap import BestKey, CounterState, Op, ff68_op, next_state, qsystem_op, rating_level

log = logging.getLogger("devices.keypad")

ProtocolName = Literal["qsystem", "ff68"]
DeviceKind = Literal["keypad", "evaluator"]
KeyHandler = Callable[[int, Op], None]
RatingHandler = Callable[[int, int], None]
StatusHandler = Callable[[int, bool], None]

WIRING_FIX = ("check the device's power, its address switches and the A/B wires at both ends "
              "(a 120 Ω terminator belongs at each end of the line)")
NOISE_FIX = ("two devices may share an address or the line picks up noise: check the address switches, "
             "the A/B wiring and the terminators")
OWNER_FIX = ("another process owns this line: run all counters of one RS-485 line in one "
             "`hallctl run counter --node A --node B` process (and stop it before `hallctl device keypad monitor`)")
MAX_QUEUE = 200
REPEAT_WINDOW = 0.3  # an FF 68 keypad repeats a key frame it saw no echo for; the same frame this soon is a repeat
FRAME_TIMEOUT = 0.1  # silence after part of a frame: at 9600 baud the longest frame takes 16 ms


@dataclass(frozen=True)
class LineEvent:
    """Everything the line saw, for `hallctl device keypad monitor` and for logs."""

    kind: Literal["key", "rating", "status", "bad_frame", "line"]
    address: int | None = None
    op: Op | None = None
    level: int | None = None
    answering: bool | None = None
    known: bool = True
    detail: str = ""
    raw: bytes = b""

    def __str__(self) -> str:
        where = f"address {self.address}" if self.address is not None else "line"
        unknown = " (not in the hall file)" if not self.known else ""
        if self.kind == "key":
            what = f"key {self.op or 'without an operation'}"
        elif self.kind == "rating":
            what = f"rating {self.level}" if self.level is not None else "rating out of range"
        elif self.kind == "status":
            what = "answers" if self.answering else "not answering"
        elif self.kind == "bad_frame":
            what = "bad frame"
        else:
            what = "line"
        raw = f" [{self.raw.hex(' ')}]" if self.raw else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{where}{unknown}: {what}{detail}{raw}"


@dataclass
class _Device:
    address: int
    kind: DeviceKind
    best_key: BestKey = 1
    on_key: KeyHandler | None = None
    on_rating: RatingHandler | None = None
    on_status: StatusHandler | None = None
    state: CounterState = "idle"
    led: int = qsystem.Led.OFF
    display: str = ""
    answering: bool | None = None  # None: not polled yet (or polling is off)
    told: bool | None = None  # what on_status last said, so a change is reported once however it was learnt
    missed: int = 0
    last_seen: float | None = None
    next_poll: float = 0.0
    keys: int = 0
    ratings: int = 0
    last_frame: tuple[bytes, float] = (b"", 0.0)

    def status(self, now: float) -> dict[str, Any]:
        return {"kind": self.kind, "answering": self.answering, "missed_polls": self.missed,
                "last_seen_s": None if self.last_seen is None else round(now - self.last_seen, 3),
                "state": self.state, "display": self.display, "keys": self.keys, "ratings": self.ratings}


@dataclass
class _Counters:
    frames: int = 0
    bad: dict[str, int] = field(default_factory=dict)
    last_bad: str = ""
    dropped_sends: int = 0
    unknown: dict[int, int] = field(default_factory=dict)
    reopened: int = 0


class RS485Line:
    """The owner of one RS-485 line. Construct, add devices, `start()`; or use `shared_line`."""

    def __init__(self, port: str, *, protocol: ProtocolName = "qsystem", baudrate: int = 9600, gap_ms: float = 50,
                 poll_seconds: float = 2.0, missed_polls: int = 3, answer_ms: float = 250,
                 retry_seconds: float = 1.0, link: ByteLink | None = None) -> None:
        if protocol not in ("qsystem", "ff68"):
            raise ValueError(f"unknown keypad protocol {protocol!r}; known: qsystem, ff68")
        self.port = port
        self.protocol: ProtocolName = protocol
        self.baudrate = baudrate
        self.gap_ms = gap_ms
        self.gap = gap_ms / 1000
        self.poll_seconds = poll_seconds
        self.missed_polls = max(1, missed_polls)
        self.answer_timeout = answer_ms / 1000
        self.retry_seconds = retry_seconds
        self.link: ByteLink = link or SerialLink(port, baudrate, timeout=0.01, exclusive=True, in_use_fix=OWNER_FIX)
        self._devices: dict[int, _Device] = {}
        self._listeners: list[Callable[[LineEvent], None]] = []
        self._sends: deque[bytes] = deque()
        self._acks: deque[bytes] = deque()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None
        self._calls: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._counts = _Counters()
        self._error: DeviceError | None = None
        self._is_open = False
        self._outstanding: tuple[int, float] | None = None  # (address, answer deadline) of the poll in flight
        self._decoder: qsystem.Decoder | ff68.Decoder = self._new_decoder()

    # ------------------------------------------------------------------ devices and handlers

    def add_keypad(self, address: int, *, on_key: KeyHandler | None = None,
                   on_status: StatusHandler | None = None) -> Keypad:
        self._register(address, "keypad", on_key=on_key, on_status=on_status)
        return Keypad(self, address)

    def add_evaluator(self, address: int, *, on_rating: RatingHandler | None = None,
                      on_status: StatusHandler | None = None, best_key: BestKey = 1) -> EvalPad:
        if self.protocol != "ff68":
            raise DeviceError(f"{self.port}: evaluation pads speak the ff68 protocol, this line is {self.protocol}",
                              "evaluation pads need their own line, or set protocol = \"ff68\" for every device "
                              "on this port")
        self._register(address, "evaluator", on_rating=on_rating, on_status=on_status, best_key=best_key)
        return EvalPad(self, address)

    def _register(self, address: int, kind: DeviceKind, **kw: Any) -> None:
        if not 0 <= address <= 0xFF:
            raise DeviceError(f"{self.port}: address {address} is outside 0..255", "set the device's address")
        with self._lock:
            known = self._devices.get(address)
            if known is not None and known.kind != kind:
                raise DeviceError(f"{self.port}: address {address} is already a {known.kind}",
                                  "every device on one line needs its own address: fix the hall file or the "
                                  "device's address switches")
            dev = known or _Device(address, kind)
            for key, value in kw.items():
                if value is not None:
                    setattr(dev, key, value)
            self._devices[address] = dev
            if known is None and self._error is not None:  # added to a line that is down: unreachable too
                self._unreachable(dev, self._error)

    def remove(self, address: int) -> None:
        with self._lock:
            self._devices.pop(address, None)
            if self._outstanding and self._outstanding[0] == address:
                self._outstanding = None

    def set_handlers(self, address: int, *, on_key: KeyHandler | None = None, on_rating: RatingHandler | None = None,
                     on_status: StatusHandler | None = None) -> None:
        with self._lock:
            dev = self._device(address)
            dev.on_key = on_key or dev.on_key
            dev.on_rating = on_rating or dev.on_rating
            if on_status is not None and on_status is not dev.on_status:
                dev.on_status = on_status
                if dev.told is False:  # it went unreachable before anyone listened: the new handler must know
                    self._call(on_status, dev.address, False)

    def add_listener(self, listener: Callable[[LineEvent], None]) -> None:
        """Every event the line sees, known addresses or not (the monitor)."""
        with self._lock:
            self._listeners.append(listener)

    def set_counter_state(self, address: int, state: CounterState) -> None:
        """Correct the state a QSystem keypad's keys are read in, from the bus's answer (see keymap)."""
        with self._lock:
            self._device(address).state = state

    def _device(self, address: int) -> _Device:
        dev = self._devices.get(address)
        if dev is None:
            raise DeviceError(f"{self.port}: no device at address {address} on this line",
                              "add it to the hall file with this port and address")
        return dev

    # ------------------------------------------------------------------ commands to devices

    def send(self, frame: bytes) -> None:
        """Queue a frame for the line. It goes out in order, after the gap; the line starts if it has not."""
        with self._lock:
            if len(self._sends) >= MAX_QUEUE:
                self._sends.popleft()  # a line down for long: the oldest command is the most out of date
                self._counts.dropped_sends += 1
            self._sends.append(frame)
        self.start()

    def show_number(self, address: int, ticket: str | None, waiting: int | None = None) -> str:
        """Show a ticket number on a keypad's display; returns what the display shows.

        A ticket the display cannot show without changing its number (see `qsystem.display_text`,
        `ff68.display_digits`) blanks the display and is logged: a blank display sends the clerk to the
        screen, a wrong number sends a visitor away.
        """
        with self._lock:
            dev = self._device(address)
        try:
            if self.protocol == "qsystem":
                text = qsystem.display_text(ticket) if ticket else ""
                frame = qsystem.encode_display(address, text)
                shown = text.rjust(qsystem.DISPLAY_CHARS)
            else:
                digits = ff68.display_digits(ticket, waiting)
                frame = ff68.encode_display(address, digits)
                shown = ff68.show(digits)
        except ValueError as exc:
            log.warning("%s: keypad %d: %s; display blanked", self.port, address, exc)
            if self.protocol == "qsystem":
                frame, shown = qsystem.encode_display(address, ""), " " * qsystem.DISPLAY_CHARS
            else:
                frame, shown = ff68.encode_display(address, bytes([ff68.BLANK] * 6)), " " * ff68.DISPLAY_DIGITS
        with self._lock:
            dev.display = shown
        self.send(frame)
        return shown

    def show_text(self, address: int, text: str, *, blink: bool = False) -> None:
        """QSystem only: up to three ASCII characters ("CAL", "---")."""
        if self.protocol != "qsystem":
            raise DeviceError(f"{self.port}: ff68 keypads show digits only", "use show_number")
        frame = qsystem.encode_display(address, text, qsystem.BLINK_ALWAYS if blink else qsystem.BLINK_NONE)
        with self._lock:
            self._device(address).display = text.rjust(qsystem.DISPLAY_CHARS)
        self.send(frame)

    def led(self, address: int, led: qsystem.Led) -> None:
        if self.protocol != "qsystem":
            raise DeviceError(f"{self.port}: ff68 keypads have no LED command", "leave the LED to the keypad")
        with self._lock:
            dev = self._device(address)
            if led < qsystem.Led.BEEP_OFF:
                dev.led = led
        self.send(qsystem.encode_command(address, led))

    def beep(self, address: int) -> None:
        """A short beep; a QSystem keypad keeps its LED as it was."""
        with self._lock:
            dev = self._device(address)
        if self.protocol == "qsystem":
            self.send(qsystem.encode_command(address, dev.led + (qsystem.Led.BEEP_OFF - qsystem.Led.OFF)))
        else:
            self.send(ff68.encode_beep(address))

    # ------------------------------------------------------------------ life cycle

    def open(self) -> None:
        """Open the port now, raising DeviceError with the fix; the worker opens it by itself otherwise."""
        self.link.open()

    def start(self) -> None:
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return
            self._stop.clear()
            self._dispatcher = threading.Thread(target=self._dispatch, name=f"rs485-handlers {self.port}",
                                                daemon=True)
            self._worker = threading.Thread(target=self._run, name=f"rs485 {self.port}", daemon=True)
            self._dispatcher.start()
            self._worker.start()

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._worker,):
            if thread is not None and thread is not threading.current_thread():
                thread.join(3)
        self._calls.put(None)
        if self._dispatcher is not None and self._dispatcher is not threading.current_thread():
            self._dispatcher.join(3)
        self._worker = self._dispatcher = None
        self.link.close()
        self._is_open = False
        with _LINES_LOCK:
            if _LINES.get(self.port) is self:
                del _LINES[self.port]

    def __enter__(self) -> RS485Line:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            devices = {addr: dev.status(now) for addr, dev in sorted(self._devices.items())}
            return {
                "port": self.port, "protocol": self.protocol, "baudrate": self.baudrate,
                "running": self.running, "open": self._is_open,
                "error": self._error.message if self._error else None,
                "fix": self._error.fix if self._error else None,
                "polling": self.poll_seconds > 0,
                "frames": self._counts.frames,
                "bad_frames": sum(self._counts.bad.values()), "bad": dict(self._counts.bad),
                "last_bad": self._counts.last_bad or None,
                "dropped_sends": self._counts.dropped_sends, "reopened": self._counts.reopened,
                "unknown_addresses": dict(self._counts.unknown),
                "devices": devices,
                "not_answering": [a for a, d in devices.items() if d["answering"] is False],
            }

    @property
    def error(self) -> DeviceError | None:
        """The transport error the line is retrying on, if it is down."""
        return self._error

    # ------------------------------------------------------------------ the worker

    def _new_decoder(self) -> qsystem.Decoder | ff68.Decoder:
        return qsystem.Decoder(to_host=True) if self.protocol == "qsystem" else ff68.Decoder()

    def _poll_frame(self, address: int) -> bytes:
        return qsystem.encode_poll(address) if self.protocol == "qsystem" else ff68.encode_poll(address)

    def _run(self) -> None:
        failures = 0
        last_wire = 0.0  # when the last frame was on the wire (ours or a device's)
        last_rx = 0.0
        while not self._stop.is_set():
            try:
                if not self._is_open:
                    self.link.open()
                    self._up()
                    failures = 0
                chunk = self.link.read(4096, 0.01)
                now = time.monotonic()
                if chunk:
                    last_rx = last_wire = now
                    self._handle(self._decoder.feed(chunk), now)
                elif self._decoder.pending() and now - last_rx > FRAME_TIMEOUT:
                    self._handle(self._decoder.flush(), now)
                self._check_poll(now)
                if self._decoder.pending() or now - last_wire < self.gap:
                    continue  # a device is mid-frame, or the gap has not passed
                frame = self._next_frame(now)
                if frame is not None:
                    self.link.write(frame)
                    last_wire = time.monotonic()
            except DeviceError as exc:
                failures += 1
                self._down(exc)
                self._stop.wait(min(self.retry_seconds * failures, 5.0))
            except Exception as exc:  # a bug must be seen, not end the line silently
                log.exception("%s: keypad line failed; reopening", self.port)
                failures += 1
                self._down(DeviceError(f"{self.port}: {type(exc).__name__}: {exc}", "see the log; the line reopens"))
                self._stop.wait(min(self.retry_seconds * failures, 5.0))
        self.link.close()
        self._is_open = False

    def _up(self) -> None:
        self._is_open = True
        self._decoder = self._new_decoder()
        with self._lock:
            if self._error is not None:
                log.info("%s: keypad line open again", self.port)
                self._counts.reopened += 1
                self._emit(LineEvent("line", detail="open again"))
            self._error = None
            if self.poll_seconds > 0:
                return  # each device is back when it answers its next poll (see _seen)
            for dev in self._devices.values():
                if dev.answering is False:  # only the line could have made an unpolled device unreachable
                    dev.answering = None  # no poll says more than "the line is open"
                    self._status_event(dev, True, "the line is open again")

    def _down(self, exc: DeviceError) -> None:
        first = self._error is None or self._error.message != exc.message
        with self._lock:
            self._error = exc
            self._is_open = False
            self._outstanding = None
            for dev in self._devices.values():
                self._unreachable(dev, exc)
        with contextlib.suppress(Exception):
            self.link.close()
        if first:
            log.error("%s: keypad line down: %s", self.port, exc)
            self._emit(LineEvent("line", detail=str(exc)))

    def _unreachable(self, dev: _Device, exc: DeviceError) -> None:
        """Called with the lock held: no device on a line that is down can answer, so the hall hears it now,
        not `missed_polls` polls later (there are no polls without a port)."""
        dev.missed = 0
        if dev.answering is not False:
            dev.answering = False
            self._status_event(dev, False, f"the line is down: {exc.message}")

    def _next_frame(self, now: float) -> bytes | None:
        with self._lock:
            if self._acks:
                return self._acks.popleft()  # the keypad waits for its echo: before anything else
            if self._sends:
                return self._sends.popleft()
            if self.poll_seconds <= 0 or self._outstanding is not None or not self._devices:
                return None
            dev = min(self._devices.values(), key=lambda d: d.next_poll)
            if dev.next_poll > now:
                return None
            dev.next_poll = now + self.poll_seconds
            self._outstanding = (dev.address, now + self.answer_timeout)
            return self._poll_frame(dev.address)

    def _check_poll(self, now: float) -> None:
        with self._lock:
            if self._outstanding is None or now < self._outstanding[1]:
                return
            address = self._outstanding[0]
            self._outstanding = None
            dev = self._devices.get(address)
            if dev is None:
                return
            dev.missed += 1
            if dev.missed >= self.missed_polls and dev.answering is not False:
                dev.answering = False
                log.warning("%s: %s %d not answering (%d polls missed)", self.port, dev.kind, address, dev.missed)
                self._status_event(dev, False, f"{dev.missed} polls without an answer; {WIRING_FIX}")

    def _seen(self, dev: _Device, now: float) -> None:
        """Called with the lock held: any frame from a device proves it is there."""
        dev.last_seen = now
        dev.missed = 0
        if self._outstanding and self._outstanding[0] == dev.address:
            self._outstanding = None
        if dev.answering is not True:
            if dev.answering is False:
                log.info("%s: %s %d answers again", self.port, dev.kind, dev.address)
            dev.answering = True
            self._status_event(dev, True, "answers")

    def _status_event(self, dev: _Device, answering: bool, detail: str) -> None:
        if dev.told is answering:
            return  # e.g. an unpolled device told "back" at the reopen, then heard from: one report, not two
        dev.told = answering
        self._emit(LineEvent("status", dev.address, answering=answering, detail=detail))
        if dev.on_status is not None:
            self._call(dev.on_status, dev.address, answering)

    def _handle(self, frames: list[Any], now: float) -> None:
        for frame in frames:
            if isinstance(frame, BadFrame):
                with self._lock:
                    self._counts.bad[frame.reason] = self._counts.bad.get(frame.reason, 0) + 1
                    self._counts.last_bad = str(frame)
                log.debug("%s: %s", self.port, frame)
                self._emit(LineEvent("bad_frame", detail=f"{frame.reason} ({frame.detail})", raw=frame.data))
            elif isinstance(frame, qsystem.Frame):
                self._qsystem_frame(frame, now)
            elif isinstance(frame, ff68.Frame):
                self._ff68_frame(frame, now)

    def _qsystem_frame(self, frame: qsystem.Frame, now: float) -> None:
        raw = qsystem.encode_key(frame.address, frame.code)
        with self._lock:
            self._counts.frames += 1
            dev = self._devices.get(frame.address)
            if dev is not None:
                self._seen(dev, now)
            if frame.is_poll:
                return
            if dev is None:
                self._counts.unknown[frame.address] = self._counts.unknown.get(frame.address, 0) + 1
                self._emit(LineEvent("key", frame.address, qsystem_op(frame.code, "idle"), known=False, raw=raw))
                return
            op = qsystem_op(frame.code, dev.state)
            dev.keys += 1
            if op is not None:
                dev.state = next_state(dev.state, op)
        self._key(dev, op, raw, f"key 0x{frame.code:02X}")

    def _ff68_frame(self, frame: ff68.Frame, now: float) -> None:
        raw = ff68.encode_frame(frame)
        op: Op | None = None
        level: int | None = None
        with self._lock:
            self._counts.frames += 1
            dev = self._devices.get(frame.address)
            if dev is not None:
                self._seen(dev, now)
            if frame.func not in (ff68.FUNC_KEY, ff68.FUNC_RATING):
                return  # a poll answer, or a device echoing our display/beep frame
            self._acks.append(raw)  # the vendor host echoes every key and rating frame, known address or not
            repeat = dev is not None and dev.last_frame[0] == raw and now - dev.last_frame[1] < REPEAT_WINDOW
            if dev is not None:
                dev.last_frame = (raw, now)
            if dev is None:
                self._counts.unknown[frame.address] = self._counts.unknown.get(frame.address, 0) + 1
            if repeat:
                return
            if frame.func == ff68.FUNC_KEY:
                op = ff68_op(frame.data)
                if dev is not None:
                    dev.keys += 1
                    if op is not None:
                        dev.state = next_state(dev.state, op)
            else:
                level = rating_level(frame.data[0], dev.best_key if dev else 1) if frame.data else None
                if dev is not None:
                    dev.ratings += 1
        if dev is None:
            if frame.func == ff68.FUNC_KEY:
                self._emit(LineEvent("key", frame.address, ff68_op(frame.data), known=False, raw=raw))
            else:
                self._emit(LineEvent("rating", frame.address, level=level, known=False, raw=raw))
            return
        if frame.func == ff68.FUNC_KEY:
            self._key(dev, op, raw, f"key 0x{frame.key:02X}")
        else:
            self._emit(LineEvent("rating", dev.address, level=level, raw=raw,
                                 detail="" if level is not None else f"raw value {frame.data[:1].hex()} is not 1..5"))
            if level is not None and dev.on_rating is not None:
                self._call(dev.on_rating, dev.address, level)

    def _key(self, dev: _Device, op: Op | None, raw: bytes, what: str) -> None:
        self._emit(LineEvent("key", dev.address, op, raw=raw, detail="" if op else f"{what} means nothing now"))
        if op is not None and dev.on_key is not None:
            self._call(dev.on_key, dev.address, op)

    # ------------------------------------------------------------------ handlers, off the worker thread

    def _emit(self, event: LineEvent) -> None:
        for listener in list(self._listeners):
            self._call(listener, event)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        self._calls.put(lambda: fn(*args))

    def _dispatch(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            try:
                call()
            except Exception:  # a handler's bug must not end the line
                log.exception("%s: keypad handler failed", self.port)


class Keypad:
    """One counter keypad on a line: what a counter agent holds."""

    kind: DeviceKind = "keypad"

    def __init__(self, line: RS485Line, address: int) -> None:
        self.line = line
        self.address = address

    def listen(self, on_key: KeyHandler, on_status: StatusHandler | None = None) -> None:
        """Keys (as bus ops) and liveness changes from now on; starts the line."""
        self.line.set_handlers(self.address, on_key=on_key, on_status=on_status)
        self.line.start()

    def show_number(self, ticket: str | None, waiting: int | None = None) -> str:
        return self.line.show_number(self.address, ticket, waiting)

    def clear(self) -> str:
        return self.line.show_number(self.address, None)

    def show_text(self, text: str, *, blink: bool = False) -> None:
        self.line.show_text(self.address, text, blink=blink)

    def led(self, led: qsystem.Led) -> None:
        self.line.led(self.address, led)

    def beep(self) -> None:
        self.line.beep(self.address)

    def set_state(self, state: CounterState) -> None:
        self.line.set_counter_state(self.address, state)

    def status(self) -> dict[str, Any]:
        line = self.line.status()
        return {**line["devices"].get(self.address, {}), "port": line["port"], "line_error": line["error"],
                "fix": line["fix"] or (WIRING_FIX if line["devices"].get(self.address, {}).get("answering") is False
                                       else None)}

    def close(self) -> None:
        release(self.line, self.address)


class EvalPad(Keypad):
    """One evaluation pad (评价器) on a line."""

    kind: DeviceKind = "evaluator"

    def listen(self, on_rating: RatingHandler, on_status: StatusHandler | None = None) -> None:  # type: ignore[override]
        """Ratings (GB/T 39734 levels, 5 = 非常满意) and liveness changes from now on; starts the line."""
        self.line.set_handlers(self.address, on_rating=on_rating, on_status=on_status)
        self.line.start()


# ---------------------------------------------------------------------- one line per port in this process

_LINES: dict[str, RS485Line] = {}
_LINES_LOCK = threading.Lock()


def shared_line(port: str, *, protocol: ProtocolName = "qsystem", baudrate: int = 9600, gap_ms: float = 50,
                poll_seconds: float = 2.0, missed_polls: int = 3) -> RS485Line:
    """This process's owner of `port`, created on first use. Not started: it starts on the first listen or
    command. Devices on one line must agree on protocol, baud rate and timing; a disagreement is refused."""
    with _LINES_LOCK:
        line = _LINES.get(port)
        if line is None:
            line = RS485Line(port, protocol=protocol, baudrate=baudrate, gap_ms=gap_ms, poll_seconds=poll_seconds,
                             missed_polls=missed_polls)
            _LINES[port] = line
            return line
    want = {"protocol": protocol, "baudrate": baudrate, "gap_ms": gap_ms, "poll_seconds": poll_seconds,
            "missed_polls": missed_polls}
    have = {"protocol": line.protocol, "baudrate": line.baudrate, "gap_ms": line.gap_ms,
            "poll_seconds": line.poll_seconds, "missed_polls": line.missed_polls}
    differ = [f"{k} {have[k]} vs {want[k]}" for k in want if have[k] != want[k]]
    if differ:
        raise DeviceError(f"{port}: devices on this line disagree: {', '.join(differ)}",
                          "give every device on one port the same protocol, baudrate, gap_ms, poll_seconds and "
                          "missed_polls in the hall file")
    return line


def release(line: RS485Line, address: int) -> None:
    """A device is no longer used; the line stops when its last device goes."""
    line.remove(address)
    with line._lock:
        empty = not line._devices
    if empty:
        line.stop()
