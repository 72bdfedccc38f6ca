"""`hallctl run board`: a call board prints each call; with LED boards and voice in its node's devices it drives
them too, from the mirrored hall state."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from hall_bus.cli.common import first_done, start_client, stop_on_signals, until_refused
from hall_bus.config import HallConfig
from hall_bus.nodes.builders import build_board
from hall_bus.nodes.options import NodeOptions


def run_board_node(cfg: HallConfig, opts: NodeOptions) -> int:
    """Until Ctrl-C, SIGTERM, --duration or a revoked key; announcements still queued get a few seconds."""
    return asyncio.run(_run(cfg, opts))


async def _run(cfg: HallConfig, opts: NodeOptions) -> int:
    from hall_bus.nodes.board import board_printer, run_board

    stop = asyncio.Event()
    stop_on_signals(stop)
    board = build_board(cfg, opts)
    printer = board_printer(sys.stdout)
    drive = board.client.on_event if board.agent is not None else None

    def on_event(ev: dict[str, Any]) -> None:  # each call printed, and shown on the boards it drives
        printer(ev)
        if drive is not None:
            drive(ev)

    board.client.on_event = on_event
    try:
        await start_client(board.client, opts.timeout)
        if board.agent is not None:
            board.agent.start()
            board.agent.on_resync()  # the boards show the hall's calls now, not the last ones they had
        drives = f" driving {', '.join(board.devices)}" if board.devices else ""
        print(f"叫号屏 call board {opts.node}{drives}: waiting for calls (Ctrl-C to stop)", flush=True)

        async def stopped() -> int:
            await stop.wait()
            return 0

        return await first_done(run_board(board.client, opts.duration, stop), until_refused([board.client]),
                                stopped())
    finally:
        await board.close()
