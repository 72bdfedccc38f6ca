"""The phone page as a hall bus node: uvicorn serving the Starlette app inside the node's own asyncio loop,
beside the bus client whose mirror it reads. One loop, so the page's handlers read the mirror between events
and never see one half applied, and need no lock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import uvicorn

from hall_bus.config import HallConfig
from hall_bus.http_serve import PageServer, bind, url_of
from hall_bus.web.app import Bus, make_app

log = logging.getLogger("hall.web")
PORT_TAKEN = "is another phone page running? (hallctl run web --port …)"


class WebNode:
    """The page's server: `serve()` until `close()`. Quiet: uvicorn logs warnings only and no access log, since
    the paths hold booking codes and their keys, and a proxy in front keeps its own log."""

    def __init__(self, cfg: HallConfig, client: Bus, *, bind: str = "127.0.0.1", port: int = 8088,
                 now: Callable[[], datetime] | None = None, **page: Any) -> None:
        self.sock = _bind(bind, port)
        self.url = url_of(self.sock)
        self.app = make_app(cfg, client, now=now, **page)
        # proxy_headers from 127.0.0.1 only: behind the hall's reverse proxy the limits count the visitor's
        # address (X-Forwarded-For), and nobody else can claim one.
        config = uvicorn.Config(self.app, log_config=None, log_level="warning", access_log=False, lifespan="off",
                                server_header=False, timeout_graceful_shutdown=2, ws="none", proxy_headers=True,
                                forwarded_allow_ips="127.0.0.1")
        self.server = PageServer(config, self.sock)

    async def serve(self) -> None:
        log.info("phone page at %s", self.url)
        self._serving = True
        try:
            await self.server.serve()
        finally:
            self.sock.close()  # only once uvicorn is done with it: closed under it, its selector fails

    def close(self) -> None:
        self.server.should_exit = True
        if not getattr(self, "_serving", False):
            self.sock.close()


def _bind(address: str, port: int) -> Any:
    shown = f"[{address}]" if ":" in address else address
    return bind(f"{shown}:{port}", what="web: phone page", taken=PORT_TAKEN)
