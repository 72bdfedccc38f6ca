"""`hallctl run counter` for windows with hardware: keypads, rating pads and counter displays.

All the keypads of a hall usually share one RS-485 line, and one process must own a line (two would split the
bytes between them and both poll), so one process serves every window on it: `hallctl run counter --node
counter-1 --node counter-5`. Each window keeps its own node, key and client, so the server still lets each
operate only its own window. With one window the console's keys work beside the keypad.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import Any

from hall_bus.cli.common import first_done, node_client, node_role, start_client, stop_on_signals, until_refused
from hall_bus.cli.node_devices import open_node_devices
from hall_bus.config import HallConfig
from hall_bus.errors import UserError


async def run_counters(cfg: HallConfig, args: argparse.Namespace, nodes: list[str]) -> int:
    from hall_bus.nodes.counter import run_counter
    from hall_bus.nodes.counter_devices import CounterDevices

    stop = asyncio.Event()
    stop_on_signals(stop)
    windows: list[CounterDevices] = []
    clients: list[Any] = []
    try:
        for node in nodes:
            role, counter = node_role(cfg, node)
            if role != "counter" or counter is None:
                raise UserError(f"node {node} is a {role}, not a counter with a window")
            devices = open_node_devices(cfg, node)
            client = node_client(cfg, args, node, mirror=True)
            window = CounterDevices(client, counter, keypad=devices.keypad, pad=devices.pad,
                                    display=next(iter(devices.boards.values()), None), names=devices.names)
            client.on_event, client.on_resync = window.on_event, window.on_resync
            clients.append(client)
            await start_client(client, args.timeout)
            window.start()
            windows.append(window)
            kit = ", ".join(n for n in (devices.names.get("keypad"), devices.names.get("pad"),
                                        devices.names.get("display")) if n) or "no devices"
            print(f"窗口 {counter} 号 ({node}): {kit}", flush=True)

        async def stopped() -> int:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.duration)
            return 0

        jobs = [stopped(), until_refused(clients)]
        if len(nodes) == 1 and not args.no_console:  # the keyboard works beside the keypad
            jobs.append(run_counter(clients[0], windows[0].counter, sys.stdin, sys.stdout))
        else:
            print("Ctrl-C to stop", flush=True)
        return await first_done(*jobs)
    finally:
        for window in windows:
            await window.close()
        for client in clients:
            await client.close()
