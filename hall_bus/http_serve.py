"""uvicorn inside a process that has its own asyncio loop and its own signal handling: the county hub's
dashboard and the hall's phone page are served the same way, from here.

The socket is bound before uvicorn starts, so the caller knows the real port (port 0 in tests) and a port in
use is one clear line at start, not a traceback from inside uvicorn.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import uvicorn

from hall_bus.errors import UserError

DASHBOARD_TAKEN = "is another hub running? (change [hub] dashboard in the county file)"


class PageServer(uvicorn.Server):
    """uvicorn on a socket bound beforehand. The process owns SIGINT and SIGTERM (the hub, the hall node):
    uvicorn's own handlers would take Ctrl-C from it, so they are not installed."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket) -> None:
        super().__init__(config)
        self.sock = sock

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        await super().serve(sockets=sockets or [self.sock])


def bind(address: str, *, what: str = "hub: dashboard", taken: str = DASHBOARD_TAKEN) -> socket.socket:
    """A listening TCP socket on "IP:PORT" ("[::1]:8090" for IPv6); UserError with words when it cannot be.
    `what` names the page in those words, `taken` says what to do when the port is in use."""
    host, sep, port_text = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit():
        raise UserError(f"{what} address {address!r} is not IP:PORT (e.g. 127.0.0.1:8090)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port_text)))
        sock.listen(128)  # listening now: a second page on the same port fails here, not when uvicorn starts
    except OSError as exc:
        sock.close()
        owner, _, page = what.partition(": ")
        raise UserError(f"{owner}: cannot serve the {page or owner} on {address}: {exc.strerror or exc}; "
                        f"{taken}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1" if host == "0.0.0.0" else "[::1]"
    return f"http://{shown}:{port}/"
