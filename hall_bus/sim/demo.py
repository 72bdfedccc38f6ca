"""`make demo`: a whole hall on one machine. A hall server with CURVE keys, a kiosk issuing the visitors of a
simulated day (time compressed), a greeter claiming help requests, console counters calling and finishing, one
window worked from a simulated RS-485 keypad and rating pad, and the call board printing every call while it
drives a simulated LED board and the voice (WAV files), all over real sockets and ptys on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hall_bus.config import HallConfig, Node
from hall_bus.domain import commands as cmds
from hall_bus.nodes.board import call_text
from hall_bus.sim.daysim import WALK_S, plan_arrivals
from hall_bus.sim.demo_bookings import book_ahead, start_phone_page
from hall_bus.sim.demo_devices import DemoDevices
from hall_bus.sim.roster import DEMO_STAFF, seed_roster
from hall_bus.stats import percentile
from hall_bus.wire.client import BusError, BusTimeout, HallClient
from hall_bus.wire.keys import KeyStore
from hall_bus.wire.server import HallServer


def pick_counters(cfg: HallConfig, k: int) -> list[int]:
    """One 帮办代办 window, then department windows until every service is served, then more up to k."""
    chosen: list[int] = []
    assist = [c.number for c in cfg.counters if cfg.zones_by_id[c.zone].kind == "assistance"]
    chosen += assist[:1]
    uncovered = {s.name for s in cfg.services}
    dept = [c for c in cfg.counters if cfg.zones_by_id[c.zone].kind == "department"]
    while uncovered:
        best = max(dept, key=lambda c: (len(uncovered & set(c.services)), -c.number))
        if not uncovered & set(best.services):
            break
        chosen.append(best.number)
        uncovered -= set(best.services)
    for c in dept:
        if len(chosen) >= k:
            break
        if c.number not in chosen:
            chosen.append(c.number)
    return sorted(chosen)


WEB_NODE = "phone-web"  # the phone page's node, when the hall file names none


class Demo:
    def __init__(self, cfg: HallConfig, *, speed: float, counters: int, visitors: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.speed = speed
        self.windows = pick_counters(cfg, counters)
        extra = [Node(id=f"counter-{n}", role="counter", counter=n) for n in self.windows
                 if f"counter-{n}" not in {x.id for x in cfg.nodes}]
        spare = [c.number for c in cfg.counters if c.number not in self.windows]
        self.panel_window = spare[0] if spare else None  # a window left to you, on the counter panel
        if self.panel_window is not None:
            from hall_bus.sim.demo_windows import KIOSK_NODE, PANEL_NODE

            extra.append(Node(id=PANEL_NODE, role="counter", counter=self.panel_window, print_at=KIOSK_NODE))
        if not any(n.role == "web" for n in cfg.nodes):
            extra.append(Node(id=WEB_NODE, role="web"))
        self.web_node = next(n.id for n in [*cfg.nodes, *extra] if n.role == "web")
        self.cfg = cfg.model_copy(update={"nodes": [*cfg.nodes, *extra]})
        self.arrivals = [a for a in plan_arrivals(cfg, visitors, self.rng) if not cfg.groups[a[2]].appointment]
        self.events: list[dict[str, Any]] = []
        self.issued = 0
        self.finished = 0
        self.out = sys.stdout

    async def kiosk(self, client: HallClient, start: float, t0: float) -> None:
        for at, service, group in self.arrivals:
            delay = start + (at - t0) / self.speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            answer = await client.send(cmds.Issue(service=service, group=group))
            if answer["ok"]:
                self.issued += 1

    async def greeter(self, client: HallClient, requests: asyncio.Queue[str]) -> None:
        while True:
            help_id = await requests.get()
            await asyncio.sleep(60 / self.speed)  # a helper walks over
            with contextlib.suppress(BusTimeout, BusError):
                await client.send(cmds.ClaimHelp(help_id=help_id))  # in the name of whoever signed in there

    async def counter(self, client: HallClient, number: int) -> None:
        while True:
            answer = await client.send(cmds.CounterOp(op="call_next", counter=number))
            if not answer["ok"]:
                await asyncio.sleep(0.2)
                continue
            r = answer["result"]
            await asyncio.sleep(self.service_seconds(r["service"]))
            await client.send(cmds.AtWindow(op="start", counter=number, ticket=r["ticket"]))
            await client.send(cmds.Finish(counter=number, ticket=r["ticket"]))
            self.finished += 1
            if self.rng.random() < 0.7:
                level = self.rng.choices([5, 4, 3, 2, 1], [70, 20, 6, 3, 1])[0]  # 5 = 非常满意
                await client.send(cmds.Rate(ticket=r["ticket"], level=level))

    def service_seconds(self, service: str) -> float:
        """Real seconds a case takes at the demo's speed: walking to the window, then the service itself."""
        minutes = self.cfg.services_by_name[service].avg_minutes if service in self.cfg.services_by_name else 10
        return (WALK_S + self.rng.gammavariate(4.0, minutes * 15)) / self.speed

    def on_board_event(self, requests: asyncio.Queue[str]) -> Any:
        def handle(ev: dict[str, Any]) -> None:
            self.events.append(ev)
            if ev["type"] == "help_requested":
                requests.put_nowait(ev["data"]["help_id"])
            text = call_text(ev)
            if text and ev["type"] == "ticket_called":
                print(f"  {ev['at'][11:19]}  {text}", file=self.out, flush=True)
        return handle

    def summary(self) -> str:
        waits = [ev["data"]["wait_s"] * self.speed / 60 for ev in self.events
                 if ev["type"] == "ticket_finished" and ev["data"]["wait_s"] is not None]
        if not waits:
            return f"issued {self.issued}, served 0"
        return (f"issued {self.issued}, served {len(waits)}; simulated wait p50 {percentile(waits, 50):.0f} min, "
                f"p90 {percentile(waits, 90):.0f} min, max {max(waits):.0f} min")


async def run_demo(cfg: HallConfig, *, duration: float | None, speed: float, counters: int, visitors: int,
                   seed: int, config_path: Path | None = None, windows: bool = False) -> int:
    demo = Demo(cfg, speed=speed, counters=counters, visitors=visitors, seed=seed)
    cfg = demo.cfg
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with tempfile.TemporaryDirectory(prefix="hall-demo-") as tmp:
        keys = KeyStore(Path(tmp) / "keys")
        keys.init()
        nodes = {"kiosk-1": "kiosk", "greeter-1": "greeter", "board-1": "board", demo.web_node: "web",
                 **{f"counter-{n}": "counter" for n in demo.windows}}
        for node in nodes:
            keys.add(node)
        server = HallServer(cfg, tmp, keys_dir=keys.dir, command_endpoint="tcp://127.0.0.1:*",
                            event_endpoint="tcp://127.0.0.1:*")
        server_task = asyncio.create_task(server.run(stop))
        await server.ready.wait()
        seed_roster(server.core, DEMO_STAFF)
        requests: asyncio.Queue[str] = asyncio.Queue()

        def client(node: str, **kw: Any) -> HallClient:
            return HallClient(node, server.command_endpoint, server.event_endpoint,
                              credentials=keys.node_credentials(node), **kw)

        board = client("board-1")
        hall_devices = DemoDevices(Path.cwd() / "build" / "demo", demo.windows[0], demo.out)
        board_agent = hall_devices.start_board(board)
        printer = demo.on_board_event(requests)

        def on_event(ev: dict[str, Any]) -> None:
            printer(ev)
            board_agent.on_event(ev)

        board.on_event = on_event
        board.on_resync = board_agent.on_resync
        keypad_node = f"counter-{demo.windows[0]}"  # mirrors the hall: its keypad shows what the hall says
        mirrored = (keypad_node, demo.web_node)  # the keypad and the phone page show what the hall says
        others = {node: client(node, subscribe=False) for node in nodes if node not in ("board-1", *mirrored)}
        others.update({node: client(node, config=cfg) for node in mirrored})
        for each in [board, *others.values()]:
            await each.start()
        xm = DEMO_STAFF[0]
        await others["greeter-1"].send(cmds.SignIn(staff=xm.staff, pin=xm.pin))
        hall_devices.start_counter(others[keypad_node])
        codes = await book_ahead(cfg, others["greeter-1"], others[demo.web_node], demo.out)
        page = start_phone_page(cfg, others[demo.web_node], codes, demo.out)
        print(f"{cfg.hall.name} · 叫号屏 call board  (windows {', '.join(map(str, demo.windows))}; "
              f"1 real second = {speed:.0f} hall seconds; Ctrl-C to stop)", flush=True)
        shown = None
        if windows and config_path is not None:
            from hall_bus.sim.demo_windows import DemoWindows

            shown = DemoWindows(config_path, keys, Path(tmp), server.command_endpoint, server.event_endpoint,
                                demo.out, panel_window=demo.panel_window)
            shown.start()
        start = time.monotonic()
        t0 = demo.arrivals[0][0] if demo.arrivals else 0.0
        tasks = [asyncio.create_task(demo.greeter(others["greeter-1"], requests))]
        if shown is not None:
            tasks.append(asyncio.create_task(shown.show_tickets()))
        tasks += [asyncio.create_task(demo.counter(others[f"counter-{n}"], n)) for n in demo.windows[1:]]
        tasks.append(asyncio.create_task(hall_devices.clerk(demo.service_seconds, demo.rng)))
        kiosk = asyncio.create_task(demo.kiosk(others["kiosk-1"], start, t0))

        async def day_done() -> None:
            await kiosk
            while demo.finished < demo.issued:
                await asyncio.sleep(0.2)

        done = asyncio.create_task(day_done())
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([done, stopper], timeout=duration, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in [*tasks, kiosk, done, stopper]:
                t.cancel()
            await asyncio.gather(*tasks, kiosk, done, stopper, return_exceptions=True)
            if shown is not None:  # the window processes never outlive the demo
                shown.stop()
            if page is not None:
                await page.close()
            await hall_devices.close()
        print(f"demo over after {time.monotonic() - start:.0f} s: {demo.summary()}", flush=True)
        for each in [board, *others.values()]:
            await each.close()
        stop.set()
        await server_task
    return 0
