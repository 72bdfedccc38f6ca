"""`hallctl run web`: the citizen's phone page (预约, queue position, case progress, rating) on --bind:--port.

The page starts serving at once, even when the hall server is not answering yet: a visitor then reads the
offline words with the hotline instead of a browser error, and the client keeps trying in the background.
"""

from __future__ import annotations

import asyncio
import logging

from hall_bus.cli.common import first_done, stop_on_signals, until_refused
from hall_bus.config import HallConfig
from hall_bus.errors import UserError
from hall_bus.nodes.builders import build_web
from hall_bus.nodes.options import NodeOptions
from hall_bus.wire.client import BusError, BusTimeout, KeyRefused

log = logging.getLogger("hall.web")


def run_web_node(cfg: HallConfig, opts: NodeOptions) -> int:
    """Until Ctrl-C, SIGTERM or a revoked key."""
    return asyncio.run(_run(cfg, opts))


async def _run(cfg: HallConfig, opts: NodeOptions) -> int:
    stop = asyncio.Event()
    stop_on_signals(stop)
    web = build_web(cfg, opts)
    try:
        try:
            await web.client.start(timeout=opts.timeout)
        except KeyRefused as exc:
            raise UserError(exc.message) from None
        except BusError as exc:
            raise UserError(f"the hall server refuses {opts.node} ({exc.code}): {exc.message}") from None
        except (TimeoutError, BusTimeout):
            log.warning("no hall server answered within %.0f s; the page says so until it does", opts.timeout)
        print(f"手机页面 phone page {opts.node}: {web.agent.url} (Ctrl-C to stop)", flush=True)

        async def stopped() -> int:
            await stop.wait()
            return 0

        async def served() -> int:
            await web.agent.serve()
            return 0

        return await first_done(served(), until_refused([web.client]), stopped())
    finally:
        await web.close()
