"""Several keypads and evaluation pads at their addresses on ONE real pseudo-terminal, as on an RS-485 line.

The line owner opens the pty's path like any /dev/ttyUSB0, so the same code runs against the simulator and the
hall. The simulator speaks the real bytes of either protocol: keys and ratings go to the host, polls are
answered (echoed), the host's display, LED and beep frames change what each device shows, and every host frame
is recorded. Faults seen on real lines are switches: a device that stops answering, bursts of garbage, a frame
cut off half-way, and two devices talking at once.
"""

from __future__ import annotations

import os
import select
import threading
from dataclasses import dataclass, field
from typing import Literal

from ..sim_transport import open_raw_pty
from . import ff68, qsystem
from .frames import BadFrame
from .keymap import BestKey, Op, ff68_key, qsystem_key, rating_raw

SimKind = Literal["keypad", "evaluator"]


@dataclass
class SimDevice:
    address: int
    kind: SimKind = "keypad"
    best_key: BestKey = 1
    dead: bool = False
    display: str = ""
    led: int = qsystem.Led.OFF
    blink: int = qsystem.BLINK_NONE
    beeps: int = 0
    polls: int = 0
    acks: int = 0
    frames: list[bytes] = field(default_factory=list)  # host frames addressed to this device


class KeypadLineSimulator:
    """`with KeypadLineSimulator("ff68", keypads=[1, 2], evaluators=[9]) as sim: RS485Line(sim.path, …)`."""

    def __init__(self, protocol: Literal["qsystem", "ff68"] = "qsystem", *, keypads: tuple[int, ...] | list[int] = (),
                 evaluators: tuple[int, ...] | list[int] = (), best_key: BestKey = 1) -> None:
        if evaluators and protocol != "ff68":
            raise ValueError("evaluation pads speak ff68")
        self.protocol = protocol
        self.devices: dict[int, SimDevice] = {}
        for a in keypads:
            self.devices[a] = SimDevice(a, "keypad")
        for a in evaluators:
            self.devices[a] = SimDevice(a, "evaluator", best_key=best_key)
        self.host_frames: list[bytes] = []  # every frame the host sent, in order
        self.bad_from_host: list[BadFrame] = []
        self.master = self.slave = -1
        self.path = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()

    # ------------------------------------------------------------------ control

    def start(self) -> str:
        self.master, self.slave, self.path = open_raw_pty()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="keypad-sim", daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        """Also the pulled cable: the host's port reports an error and the path disappears."""
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1

    def __enter__(self) -> KeypadLineSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, address: int, kind: SimKind = "keypad", best_key: BestKey = 1) -> SimDevice:
        with self._lock:
            dev = self.devices[address] = SimDevice(address, kind, best_key)
            return dev

    # ------------------------------------------------------------------ the devices' side

    def press(self, address: int, key: Op | int) -> bool:
        """A key on the keypad at `address`: an op name (the key that means it) or a raw key code.
        A dead keypad sends nothing and False is returned."""
        dev = self._dev(address)
        if dev.dead:
            return False
        if self.protocol == "qsystem":
            code = key if isinstance(key, int) else qsystem_key(key)
            self.write(qsystem.encode_key(address, code))
        else:
            data = bytes([key]) if isinstance(key, int) else ff68_key(key)
            self.write(ff68.encode(address, ff68.FUNC_KEY, data))
        return True

    def rate(self, address: int, level: int) -> bool:
        """A visitor's rating, as a GB/T 39734 level (5 = 非常满意); sent as the pad's raw value."""
        dev = self._dev(address)
        if dev.dead:
            return False
        self.write(ff68.encode_rating(address, rating_raw(level, dev.best_key)))
        return True

    def kill(self, address: int) -> None:
        """The device stops answering (power lost, a wire cut at its end)."""
        self._dev(address).dead = True

    def revive(self, address: int) -> None:
        self._dev(address).dead = False

    def garbage(self, data: bytes = b"\x55\xaa\x13\x00\xfe") -> None:
        self.write(data)

    def partial(self, address: int) -> None:
        """The first half of a key frame, then silence (a keypad reset mid-frame)."""
        frame = (qsystem.encode_key(address, qsystem.Key.CALL) if self.protocol == "qsystem"
                 else ff68.encode_key(address, ff68.KEY_CALL_NEXT))
        self.write(frame[: len(frame) // 2 + 1])

    def collision(self, first: int, second: int) -> None:
        """Two keypads pressed at the same instant: their bytes interleave on the wire."""
        if self.protocol == "qsystem":
            a, b = qsystem.encode_key(first, qsystem.Key.CALL), qsystem.encode_key(second, qsystem.Key.CALL)
        else:
            a, b = ff68.encode_key(first, ff68.KEY_CALL_NEXT), ff68.encode_key(second, ff68.KEY_CALL_NEXT)
        self.write(bytes(x for pair in zip(a, b, strict=True) for x in pair))

    def write(self, data: bytes) -> None:
        with self._write_lock:
            os.write(self.master, data)

    # ------------------------------------------------------------------ what the host made the devices do

    def display(self, address: int) -> str:
        """What the keypad's display reads ("   023"; "" before the host wrote to it)."""
        return self._dev(address).display

    def device(self, address: int) -> SimDevice:
        return self._dev(address)

    def _dev(self, address: int) -> SimDevice:
        with self._lock:
            dev = self.devices.get(address)
        if dev is None:
            raise KeyError(f"no simulated device at address {address}; add it first")
        return dev

    def _serve(self) -> None:
        decoder: qsystem.Decoder | ff68.Decoder = (qsystem.Decoder(to_host=False) if self.protocol == "qsystem"
                                                   else ff68.Decoder())
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.02)
                if not ready:
                    self.bad_from_host.extend(decoder.flush())
                    continue
                data = os.read(self.master, 4096)
            except OSError:
                return
            for frame in decoder.feed(data):
                try:
                    self._host_frame(frame)
                except OSError:
                    return

    def _host_frame(self, frame: qsystem.Frame | qsystem.DisplayFrame | ff68.Frame | BadFrame) -> None:
        if isinstance(frame, BadFrame):
            self.bad_from_host.append(frame)
            return
        if isinstance(frame, qsystem.DisplayFrame):
            raw = qsystem.encode_display(frame.address, frame.text.strip(), frame.blink)
        elif isinstance(frame, qsystem.Frame):
            raw = qsystem.encode_command(frame.address, frame.code)
        else:
            raw = ff68.encode_frame(frame)
        with self._lock:
            self.host_frames.append(raw)
            dev = self.devices.get(frame.address)
            if dev is None:
                return
            dev.frames.append(raw)
            if isinstance(frame, qsystem.DisplayFrame):
                dev.display, dev.blink = frame.text, frame.blink
                return
            if isinstance(frame, qsystem.Frame):
                if frame.is_poll:
                    dev.polls += 1
                    if not dev.dead:
                        self.write(raw)
                elif frame.code >= qsystem.Led.BEEP_OFF:
                    dev.beeps += 1
                    dev.led = frame.code - (qsystem.Led.BEEP_OFF - qsystem.Led.OFF)
                else:
                    dev.led = frame.code
                return
            if frame.func == ff68.FUNC_POLL:
                dev.polls += 1
                if not dev.dead:
                    self.write(raw)
            elif frame.func == ff68.FUNC_DISPLAY:
                dev.display = ff68.show(frame.data)
            elif frame.func == ff68.FUNC_BEEP:
                dev.beeps += 1
            elif frame.func in (ff68.FUNC_KEY, ff68.FUNC_RATING):
                dev.acks += 1  # the host's echo of our key or rating
