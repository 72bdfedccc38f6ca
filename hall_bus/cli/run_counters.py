"""`hallctl run counter`: a window from the terminal's keys, and windows with hardware (keypads, rating pads,
counter displays).

All the keypads of a hall usually share one RS-485 line, and one process must own a line (two would split the
bytes between them and both poll), so one process serves every window on it: `hallctl run counter --node
counter-1 --node counter-5`. Each window keeps its own node, key and client, so the server still lets each
operate only its own window. With one window the console's keys work beside the keypad.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

from hall_bus.cli.common import first_done, start_client, stop_on_signals, until_refused
from hall_bus.config import HallConfig
from hall_bus.nodes.builders import Built, build_counters, node_of
from hall_bus.nodes.options import NodeOptions


def run_counter_node(cfg: HallConfig, opts: NodeOptions) -> int:
    """Every window named, until Ctrl-C, SIGTERM, --duration, a revoked key, or the end of the terminal's input
    (one window with its keys on the terminal)."""
    return asyncio.run(_run(cfg, opts))


async def _close_refused(windows: list[Built]) -> int:
    """Windows on one line are separate nodes: revoking counter-5's key closes window 5 (its keypad address is
    released from the line) and leaves counter-1 working. The process ends, exit 2, when no window is left."""
    left = list(windows)
    while left:
        await asyncio.sleep(0.5)
        for window in [w for w in left if w.client.refused is not None]:
            left.remove(window)
            then = "closing this window, the others on the line carry on" if left else "stopping"
            print(f"{window.client.node}: {window.client.refused.message}; {then}", file=sys.stderr, flush=True)
            await window.close()
    return 2


async def _run(cfg: HallConfig, opts: NodeOptions) -> int:
    from hall_bus.nodes.counter import run_counter

    stop = asyncio.Event()
    stop_on_signals(stop)
    windows: list[Built] = []
    try:
        for window in build_counters(cfg, opts):  # a window that fails to open stops the rest in `finally`
            windows.append(window)
            await start_client(window.client, opts.timeout)
            if window.agent is not None:
                window.agent.start()
                kit = ", ".join(window.devices) or "no devices"
                print(f"窗口 {window.agent.counter} 号 ({window.client.node}): {kit}", flush=True)

        async def stopped() -> int:  # Ctrl-C, SIGTERM or --duration
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), opts.duration)
            return 0

        jobs: list[Any] = [stopped(), until_refused([w.client for w in windows]) if len(windows) == 1
                           else _close_refused(windows)]
        if len(windows) == 1 and opts.keyboard:  # the keyboard works beside the keypad
            counter = node_of(cfg, opts.node).counter
            assert counter is not None
            jobs.append(run_counter(windows[0].client, counter, sys.stdin, sys.stdout))
        else:
            print("Ctrl-C to stop", flush=True)
        return await first_done(*jobs)
    finally:
        for window in windows:
            await window.close()
