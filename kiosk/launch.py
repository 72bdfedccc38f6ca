"""`hallctl run kiosk` and `hallctl run display` with a window: the node's client, devices and app on one asyncio
loop. Imported only when a window is asked for, so the CLI and the headless nodes never load Kivy.

The window opens at once, whether or not the hall server answers: a kiosk that cannot reach the server says
so on screen and comes back by itself, instead of a technician's traceback on a dark screen.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from hall_bus.config import HallConfig
from kiosk.boot import prepare

log = logging.getLogger("kiosk.launch")


def _client(cfg: HallConfig, args: argparse.Namespace, **kw: Any) -> Any:
    from hall_bus.wire.client import HallClient

    return HallClient.for_node(cfg, args.node, keys_dir=args.keys, server=args.server, **kw)


async def _keep_starting(client: Any) -> None:
    """Connect in the background, retrying for as long as the window is open."""
    while True:
        try:
            await client.start(timeout=3600)
            return
        except Exception as exc:  # KeyRefused is logged and retried: the greeter sees "offline"
            log.warning("hall server: %s; retrying", exc)
            await asyncio.sleep(5)


async def run_citizen_kiosk(cfg: HallConfig, args: argparse.Namespace) -> int:
    prepare(font=args.font, fullscreen=not args.windowed, size=(540, 960) if args.windowed else (1080, 1920))
    from hall_bus.cli.run_kiosk import kiosk_camera, kiosk_devices, kiosk_prompts
    from hall_bus.nodes.kiosk import KioskAgent
    from hall_bus.nodes.kiosk_flow import KioskFlow
    from kiosk.citizen import CitizenKioskApp, watch_camera, watch_card, watch_connection

    node = next(n for n in cfg.nodes if n.id == args.node)
    printer, reader = kiosk_devices(cfg, args)
    camera = kiosk_camera(cfg, args)
    prompts = kiosk_prompts(cfg, args)
    client = _client(cfg, args, mirror=True)  # mirrored: the notice slips it owes are in the hall state
    agent = KioskAgent(client, cfg, args.node, printer=printer, reader=reader)
    client.on_event = agent.on_event
    client.on_resync = agent.on_resync
    flow = KioskFlow(cfg, idle_seconds=args.idle if args.idle is not None else node.idle_seconds)

    async def issue(service: str, group: str, card: Any) -> Any:
        return await agent.serve(service, group, card=card, **flow.issue_facts())

    starting = asyncio.get_running_loop().create_task(_keep_starting(client))
    ppm = args.px_per_mm if args.px_per_mm is not None else node.px_per_mm
    app = CitizenKioskApp(flow, issue, hall_name=cfg.hall.name, px_per_mm=ppm, can_scan=camera is not None,
                          speak=prompts.say if prompts is not None else None,
                          on_start_tasks=[watch_connection(client)]
                          + ([watch_card(agent, cfg.hall.tz)] if reader is not None else [])
                          + ([watch_camera(camera, cfg)] if camera is not None else []))
    agent.on_slip_problem = app.slip_failed
    try:
        await app.async_run(async_lib="asyncio")
    finally:
        starting.cancel()
        await client.close()
        if prompts is not None:
            prompts.close()
        for device in (printer, reader, camera):
            if device is not None:
                device.close()
    return 0


async def run_hall_display(cfg: HallConfig, args: argparse.Namespace) -> int:
    prepare(font=args.font, fullscreen=not args.windowed, size=(1280, 720) if args.windowed else (1920, 1080))
    from hall_bus.nodes.board import DisplayModel
    from kiosk.display import HallDisplayApp

    app = HallDisplayApp(DisplayModel({g: r.label for g, r in cfg.groups.items()}), hall_name=cfg.hall.name)
    client = _client(cfg, args, mirror=True)
    client.on_event = lambda ev: app.event(ev, client.state)
    client.on_resync = lambda: app.resynced(client.state)
    return await run_connected(app, client)


async def run_connected(app: Any, client: Any, *cleanup: Any) -> int:
    """A staff or hall window: it opens at once, its client connects (and reconnects) in the background, and
    both end together; `cleanup` closes the app's devices afterwards."""
    starting = asyncio.get_running_loop().create_task(_keep_starting(client))
    try:
        await app.async_run(async_lib="asyncio")
    finally:
        starting.cancel()
        await client.close()
        for close in cleanup:
            close()
    return 0
