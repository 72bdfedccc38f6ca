"""An LED board simulator on a real pseudo-terminal (serial protocols) or a loopback TCP port (textnet).

It decodes the configured protocol with the same module the driver encodes with, keeps what the LED shows now
(`shown`, the rows a visitor reads), how many frames were bad (noise, wrong checksum, cut short), and draws the
board's face as a PNG. Like a real board it ignores frames for another address on a shared RS-485 line, shows
only what fits its rows and width (a row that runs over is counted in `overflows`: the driver should never cause
one), and a textnet controller answers every request OK or ERR.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..sim_transport import close_listener, listen_tcp, open_raw_pty, serve_pty, serve_tcp
from . import layout, textnet
from .driver import protocol_module
from .frame import DoesNotFit, Frame, columns
from .render import Colour, render_png


class BoardSimulator:
    def __init__(self, protocol: str, *, lines: int = 1, width: int = 16, address: int | None = None,
                 charset: layout.Charset = "gbk") -> None:
        self.protocol = protocol
        self.module = protocol_module(protocol)
        self.lines = lines
        self.width = width
        self.address = address
        self.charset: layout.Charset = charset
        self.frames: list[Frame] = []
        self.bad_frames = 0
        self.ignored = 0  # frames for another address
        self.overflows = 0
        self.brightness = 15
        self.path = ""
        self.port = 0
        self._shown: list[str] = []
        self._calls: list[layout.CallEntry] = []
        self._rest = b""
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fds: list[int] = []
        self._sock: socket.socket | None = None

    # ------------------------------------------------------------------ what it shows

    @property
    def shown(self) -> list[str]:
        with self._lock:
            return list(self._shown)

    def bad(self) -> list[Frame]:
        with self._lock:
            return [f for f in self.frames if f.kind == "bad"]

    def wait_for(self, predicate: Callable[[BoardSimulator], bool], timeout: float = 3.0) -> bool:
        """Block until `predicate(self)` holds after some frame, or the timeout; whether it holds."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._changed:
                self._changed.wait(min(left, 0.05))

    def wait_frames(self, count: int, timeout: float = 3.0) -> bool:
        return self.wait_for(lambda s: len(s.frames) >= count, timeout)

    def render(self, path: str | Path, colour: Colour = "red") -> Path:
        with self._lock:
            rows, level = list(self._shown), self.brightness
        return render_png(rows, path, lines=self.lines, width=self.width, colour=colour, brightness=level,
                          charset=self.charset)

    # ------------------------------------------------------------------ the board

    def _rows_of_stream(self, text: str) -> list[str]:
        if columns(text.rstrip()) > self.lines * self.width:
            self.overflows += 1
        return layout.split_rows(text, self.width, self.lines)

    def _rows_of_lines(self, rows: tuple[str, ...]) -> list[str]:
        if len(rows) > self.lines or any(columns(r.rstrip()) > self.width for r in rows):
            self.overflows += 1
        return [layout.split_rows(r, self.width, 1)[0] if r.strip() else "" for r in rows[: self.lines]]

    def _apply(self, frame: Frame) -> tuple[bool, str]:
        """Update the face for one frame (lock held); the textnet answer."""
        self.frames.append(frame)
        if frame.kind == "bad":
            self.bad_frames += 1
            return False, frame.error
        if self.protocol != "textnet" and self.address is not None and frame.address not in (None, self.address):
            self.ignored += 1
            return True, ""
        if frame.kind == "ping":
            return True, textnet.VERSION
        if frame.kind == "text":
            self._shown = self._rows_of_lines(frame.lines) if frame.lines or not frame.text else \
                self._rows_of_stream(frame.text)
        elif frame.kind == "call" and self.protocol == "textnet":
            entry = layout.CallEntry(frame.number, frame.window, frame.note)
            try:  # the controller lays the call out for its own rows and width
                if self.lines == 1:
                    self._shown = [layout.fit_call(entry.number, entry.window, self.width, entry.note)]
                else:
                    calls = layout.remember(self._calls, entry, self.lines)
                    self._shown = layout.calls_screen(calls, self.lines, self.width)
                    self._calls = calls
            except DoesNotFit as exc:
                return False, exc.message
        elif frame.kind == "call":
            self._shown = self._rows_of_stream(frame.text)
        elif frame.kind == "clear":
            self._shown, self._calls = [], []
        elif frame.kind == "brightness":
            self.brightness = frame.level if frame.level is not None else self.brightness
        elif frame.kind == "test":
            self._shown = layout.all_lit(self.lines, self.width)
        while self._shown and not self._shown[-1]:
            self._shown.pop()
        return True, ""

    def feed(self, data: bytes) -> bytes:
        """Bytes from the line; the answers due (textnet only)."""
        with self._changed:
            frames, self._rest = self.module.decode(self._rest + data)
            answers = [self._apply(f) for f in frames]
            if frames:
                self._changed.notify_all()
        if self.protocol != "textnet":
            return b""
        return b"".join(textnet.encode_reply(ok, text) for ok, text in answers)

    # ------------------------------------------------------------------ transports

    def start_pty(self, link: str | None = None) -> str:
        """Serve on a new pseudo-terminal (raw mode, as a real serial board sees bytes); with `link`, also at
        that path (a symlink standing in for /dev/serial/by-id/…), which is returned."""
        master, slave, self.path = open_raw_pty()
        self._fds = [master, slave]
        if link:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(link)
            os.symlink(self.path, link)
            self.path = link
        self._stop.clear()
        self._thread = threading.Thread(target=serve_pty, args=(master, self._stop, self.feed), daemon=True,
                                        name="board-sim")
        self._thread.start()
        return self.path

    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._sock = listen_tcp(host, port, backlog=4)
        self.port = self._sock.getsockname()[1]
        self._stop.clear()
        self._thread = threading.Thread(target=serve_tcp, args=(self._sock, self._stop, self.feed, self._new_line),
                                        daemon=True, name="board-sim-tcp")
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stop.set()
        close_listener(self._sock)
        self._sock = None
        if self._thread:
            self._thread.join(2)
            self._thread = None
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
        if self.path and os.path.islink(self.path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def __enter__(self) -> BoardSimulator:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _new_line(self) -> None:
        with self._lock:
            self._rest = b""  # a new connection starts with a new line
