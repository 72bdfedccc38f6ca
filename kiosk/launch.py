"""The window runners: each registered under the entry-point group `hall_bus.windows` (pyproject.toml), which
`hallctl run ROLE` looks up, so hall_bus never imports this package. A runner settles Kivy first (prepare: its
home, our command line, the font, the screen), then imports its app module, builds the node with
hall_bus.nodes.builders (devices, agent, client) and runs the app and the client on one asyncio loop.

Why the app modules are imported inside the runners: they import Kivy, which reads its settings at import.

The window opens at once, whether or not the hall server answers: a kiosk that cannot reach the server says
so on screen and comes back by itself, instead of a technician's traceback on a dark screen.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hall_bus.config import HallConfig
from hall_bus.errors import UserError
from hall_bus.nodes.builders import Built, build_counter_panel, build_display, build_greeter, build_kiosk, node_of
from hall_bus.nodes.options import NodeOptions
from kiosk.boot import NoChineseFont, prepare

log = logging.getLogger("kiosk.launch")


def _prepare(role: str, opts: NodeOptions, size: tuple[int, int]) -> None:
    """Kivy's settings for this window; no Chinese font is one line (the kiosk refuses to show boxes)."""
    try:
        prepare(font=opts.font, fullscreen=not opts.windowed, size=size)
    except NoChineseFont as exc:
        raise UserError(f"run {role}: {exc}") from None


async def _keep_starting(client: Any) -> None:
    """Connect in the background, retrying for as long as the window is open."""
    while True:
        try:
            await client.start(timeout=3600)
            return
        except Exception as exc:  # KeyRefused is logged and retried: the greeter sees "offline"
            log.warning("hall server: %s; retrying", exc)
            await asyncio.sleep(5)


async def run_connected(app: Any, built: Built) -> int:
    """A window: it opens at once, its client connects (and reconnects) in the background, and both end
    together; then the node's agent, client and devices are closed."""
    starting = asyncio.get_running_loop().create_task(_keep_starting(built.client))
    try:
        await app.async_run(async_lib="asyncio")
    finally:
        starting.cancel()
        await built.close()
    return 0


async def run_citizen_kiosk(cfg: HallConfig, opts: NodeOptions) -> int:
    _prepare("kiosk", opts, (540, 960) if opts.windowed else (1080, 1920))
    from hall_bus.nodes.kiosk_flow import KioskFlow
    from kiosk.citizen import CitizenKioskApp, watch_camera, watch_card, watch_connection

    node = node_of(cfg, opts.node)
    kiosk = build_kiosk(cfg, opts)
    agent, reader, camera, prompts = (kiosk.agent, kiosk.devices.get("idcard"), kiosk.devices.get("camera"),
                                      kiosk.devices.get("prompts"))
    flow = KioskFlow(cfg, idle_seconds=opts.idle if opts.idle is not None else node.idle_seconds)

    async def issue(service: str, group: str, card: Any) -> Any:
        return await agent.serve(service, group, card=card, **flow.issue_facts())

    ppm = opts.px_per_mm if opts.px_per_mm is not None else node.px_per_mm
    app = CitizenKioskApp(flow, issue, hall_name=cfg.hall.name, px_per_mm=ppm, can_scan=camera is not None,
                          large_text=node.large_text, high_contrast=node.high_contrast, print_guide=agent.print_guide,
                          speak=prompts.say if prompts is not None else None,
                          on_start_tasks=[watch_connection(kiosk.client)]
                          + ([watch_card(agent, cfg.hall.tz)] if reader is not None else [])
                          + ([watch_camera(camera, cfg)] if camera is not None else []))
    agent.on_slip_problem = app.slip_failed
    return await run_connected(app, kiosk)


async def run_hall_display(cfg: HallConfig, opts: NodeOptions) -> int:
    _prepare("display", opts, (1280, 720) if opts.windowed else (1920, 1080))
    from kiosk.display import HallDisplayApp, link_state

    display = build_display(cfg, opts)
    app = HallDisplayApp(display.agent, hall_name=cfg.hall.name, high_contrast=node_of(cfg, opts.node).high_contrast,
                         online=link_state(display.client))
    client = display.client
    client.on_event = lambda ev: app.event(ev, client.state)
    client.on_resync = lambda: app.resynced(client.state)
    return await run_connected(app, display)


async def run_greeter(cfg: HallConfig, opts: NodeOptions) -> int:
    """`hallctl run greeter --node ID`: the tablet's bus client (mirrored state, push), camera and window on one
    loop. The window opens whether or not the server answers; the tablet says offline until it does."""
    _prepare("greeter", opts, (1280, 800))
    from kiosk.greeter import GreeterTabletApp

    greeter = build_greeter(cfg, opts)
    node = node_of(cfg, opts.node)
    app = GreeterTabletApp(greeter.agent, cfg, large_text=node.large_text, high_contrast=node.high_contrast,
                           px_per_mm=opts.px_per_mm or node.px_per_mm)
    greeter.client.on_event = app.event
    greeter.client.on_resync = app.resynced
    return await run_connected(app, greeter)


async def run_counter_panel(cfg: HallConfig, opts: NodeOptions) -> int:
    """`hallctl run counter-panel`: the window's touch panel, its bus client on the same asyncio loop. The window
    opens at once; it says so while the hall server cannot be reached."""
    _prepare("counter-panel", opts, (1280, 720))
    from kiosk.counter_panel import CounterPanelApp, watch_connection

    panel = build_counter_panel(cfg, opts)
    px_per_mm = opts.px_per_mm or node_of(cfg, opts.node).px_per_mm
    node = node_of(cfg, opts.node)
    app = CounterPanelApp(panel.agent, hall_name=cfg.hall.name, px_per_mm=px_per_mm, large_text=node.large_text,
                          high_contrast=node.high_contrast, on_start_tasks=[watch_connection(panel.client)])
    return await run_connected(app, panel)
