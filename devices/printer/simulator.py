"""An ESC/POS printer simulator on a real pseudo-terminal or a TCP port (9100 style).

It keeps every byte it receives (decode them with `decode.decode`) and answers DLE EOT from its paper and
cover state. The faults a technician meets are switches: paper out, cover open, paper that runs out in the
middle of the ticket after N good ones (`paper_out_after`), and a cable pulled and put back (`unplug`/`plug`,
with an optional stable symlink standing in for /dev/serial/by-id/…, which survives the replug).

Raster and QR payloads are skipped by length, so image bytes that happen to read 10 04 are not taken for a
status query (real printers get this wrong; ours must not, or tests would flake).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading

from ..sim_transport import close_listener, listen_tcp, open_raw_pty, serve_pty, serve_tcp
from . import status as st


class PrinterSimulator:
    def __init__(self, *, paper_out_after: int | None = None) -> None:
        self.received = bytearray()
        self.state = st.PrinterStatus(online=True)
        self.paper_out_after = paper_out_after  # tickets (cuts) that print whole before the paper runs out
        self.cuts = 0
        self._scan = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.path = ""
        self.port = 0
        self._fds: list[int] = []
        self._sock: socket.socket | None = None
        self.link = ""  # a symlink kept pointing at the current pty

    # ------------------------------------------------------------------ control

    def set_state(self, **kw: bool) -> None:
        with self._lock:
            fields = {**self.state.__dict__, **kw}
            self.state = st.PrinterStatus(**fields)

    def start_pty(self, link: str | None = None) -> str:
        """Serve on a new pseudo-terminal; with `link`, also at that path (a symlink), which is returned."""
        master, slave, self.path = open_raw_pty()
        self._fds = [master, slave]
        if link:
            self.link = link
            with contextlib.suppress(FileNotFoundError):
                os.unlink(link)
            os.symlink(self.path, link)
        self._thread = threading.Thread(target=serve_pty, args=(master, self._stop, self._feed), daemon=True,
                                        name="printer-sim")
        self._thread.start()
        return self.link or self.path

    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._sock = listen_tcp(host, port)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=serve_tcp, args=(self._sock, self._stop, self._feed), daemon=True,
                                        name="printer-sim-tcp")
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
            os.close(fd)
        self._fds = []
        if self.link:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.link)

    def unplug(self) -> None:
        """The cable is pulled: the pty hangs up (or the TCP port closes) and the device path disappears."""
        self.stop()
        self._stop = threading.Event()

    def plug(self) -> str:
        """The cable is back: a new pty behind the same symlink, or the same TCP port."""
        if self.port:
            return str(self.start_tcp(port=self.port))
        return self.start_pty(self.link or None)

    def job(self) -> bytes:
        with self._lock:
            return bytes(self.received)

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self._scan = 0

    # ------------------------------------------------------------------ the device

    def _feed(self, data: bytes) -> bytes:
        """Store bytes; return the status answers due."""
        with self._lock:
            self.received += data
            answers = bytearray()
            buf = self.received
            i = self._scan
            while i < len(buf):
                b = buf[i]
                if b == 0x1D and i + 1 >= len(buf):
                    break  # a GS whose command byte is still on the wire: a cut or an image split across reads
                if b == 0x10:
                    if i + 2 >= len(buf):
                        break
                    if buf[i + 1] == 0x04 and buf[i + 2] in (1, 2, 3, 4):
                        n = buf[i + 2]
                        answers.append(st.encode(self.state).get(n, 0x12))
                        i += 3
                        continue
                if b == 0x1D and i + 1 < len(buf) and buf[i + 1] == 0x56:  # GS V m [n]: cut, a ticket is done
                    if i + 2 >= len(buf):
                        break
                    size = 3 if buf[i + 2] in (0, 1, 48, 49) else 4
                    if i + size > len(buf):
                        break
                    self.cuts += 1
                    i += size
                    continue
                if self.paper_out_after is not None and self.cuts >= self.paper_out_after:
                    self.state = st.PrinterStatus(**{**self.state.__dict__, "paper_out": True})  # mid-ticket
                if b == 0x1D and i + 1 < len(buf) and buf[i + 1] in (0x76, 0x28):
                    if buf[i + 1] == 0x76:
                        if i + 8 > len(buf):
                            break
                        skip = 8 + (buf[i + 4] + buf[i + 5] * 256) * (buf[i + 6] + buf[i + 7] * 256)
                    else:
                        if i + 5 > len(buf):
                            break
                        skip = 5 + buf[i + 3] + buf[i + 4] * 256
                    if i + skip > len(buf):
                        break
                    i += skip
                    continue
                i += 1
            self._scan = i
            return bytes(answers)
