"""The byte transports every device simulator serves on: a raw pseudo-terminal (what a serial device looks like
to its driver) and a loopback TCP port (a networked printer or board controller). A simulator only says what it
answers to the bytes it gets (`feed`); the loops here do the reading, the writing and the stopping, the same for
every kind of device."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import tty
from collections.abc import Callable

Feed = Callable[[bytes], bytes]  # bytes from the host → the device's answer (b"" for none)


def open_raw_pty() -> tuple[int, int, str]:
    """(master, slave, slave's path), both ends raw: no line discipline between the driver and the simulator."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def serve_pty(fd: int, stop: threading.Event, feed: Feed) -> None:
    """Until `stop` or the pty hangs up: each chunk the host writes is fed, each answer written back."""
    while not stop.is_set():
        try:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            data = os.read(fd, 65536)
        except OSError:
            return
        reply = feed(data)
        if reply:
            with contextlib.suppress(OSError):
                os.write(fd, reply)


def listen_tcp(host: str, port: int, backlog: int = 1) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock


def serve_tcp(sock: socket.socket, stop: threading.Event, feed: Feed,
              on_connect: Callable[[], None] | None = None) -> None:
    """One connection at a time, as a device with one network port; `on_connect` resets per-connection state."""
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(0.1)
            if on_connect is not None:
                on_connect()
            while not stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                reply = feed(data)
                if reply:
                    with contextlib.suppress(OSError):
                        conn.sendall(reply)


def close_listener(sock: socket.socket | None) -> None:
    """Wakes the thread blocked in accept() (close alone does not), then closes."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
