"""Runs the hall display headless against a real hall server; a kiosk issues and a counter calls over the bus,
and the display must show it by push. Usage: python -m tests.gui.display_driver OUT_DIR"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")

from kiosk.boot import prepare

ROOT = Path(__file__).resolve().parents[2]


async def main(out: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="display-gui-"))
    prepare(home=tmp / "kivy", fullscreen=False, size=(960, 540))
    from hall_bus.config import load_config
    from hall_bus.nodes.board import DisplayModel
    from kiosk.display import HallDisplayApp
    from tests.bus_helpers import running_hall

    cfg = load_config(ROOT / "config" / "hall.example.toml")
    result: dict[str, Any] = {}
    app = HallDisplayApp(DisplayModel({g: r.label for g, r in cfg.groups.items()}), hall_name=cfg.hall.name)

    async with running_hall(cfg, tmp) as hall:
        display = hall.client("display-1", config=cfg)
        display.on_event = lambda ev: app.event(ev, display.state)
        display.on_resync = lambda: app.resynced(display.state)

        async def until(pred: Any, timeout: float = 8.0) -> None:
            deadline = time.monotonic() + timeout
            while not pred():
                if time.monotonic() > deadline:
                    raise AssertionError("timed out")
                await asyncio.sleep(0.05)

        async def drive() -> None:
            try:
                await display.start()
                kiosk = await hall.started("kiosk-1", subscribe=False)
                counter = await hall.started("counter-5", subscribe=False)
                for service, group in [("企业开办", "normal"), ("投资项目", "accompany"), ("企业开办", "normal"),
                                       ("医保", "normal")]:
                    await kiosk.request({"op": "issue", "service": service, "group": group})
                await until(lambda: sum(app.model.waiting.values()) == 4)
                for _ in range(2):
                    called = await counter.request({"op": "call_next", "counter": 5})
                    await counter.request({"op": "finish", "counter": 5, "ticket": called["result"]["ticket"]})
                await counter.request({"op": "call_next", "counter": 5})
                await until(lambda: len(app.model.recent) == 3)
                await asyncio.sleep(0.4)
                app.root.export_to_png(str(out / "display.png"))
                result.update(latest=app.latest_number, counter=app.latest_counter, mark=app.latest_mark,
                              recent=[list(r) for r in app.recent], waiting=[list(w) for w in app.waiting],
                              highlight=app.highlight, redraws=app.redraws)
            except Exception as exc:
                result["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                app.stop()

        driver = asyncio.get_running_loop().create_task(drive())
        await app.async_run(async_lib="asyncio")
        await driver
    return result


async def restart(out: Path) -> dict[str, Any]:
    """The server is killed (SIGKILL) and started again on the same ledger and ports while the display runs:
    the display must reconnect, resync and show what the hall really is, not what it showed before."""
    import signal

    tmp = Path(tempfile.mkdtemp(prefix="display-restart-"))
    prepare(home=tmp / "kivy", fullscreen=False, size=(960, 540))
    from hall_bus.config import load_config
    from hall_bus.nodes.board import DisplayModel
    from hall_bus.wire.client import HallClient
    from kiosk.display import HallDisplayApp
    from tests.bus_helpers import free_port, make_keys, start_server_process

    keys = make_keys(tmp / "keys", ["display-1", "counter-5", "kiosk-1", "admin"])
    cmd_port, ev_port = free_port(), free_port()
    config = tmp / "hall.toml"
    config.write_text((ROOT / "config" / "hall.example.toml").read_text(encoding="utf-8")
                      .replace("command_port = 5555", f"command_port = {cmd_port}")
                      .replace("event_port = 5556", f"event_port = {ev_port}")
                      .replace("heartbeat_seconds = 1.0", "heartbeat_seconds = 0.3")
                      .replace("server_timeout_seconds = 3.0", "server_timeout_seconds = 1.5"), encoding="utf-8")
    cfg = load_config(config)
    server = start_server_process(config, tmp / "data", keys.dir, cmd_port, ev_port)
    app = HallDisplayApp(DisplayModel({g: r.label for g, r in cfg.groups.items()}), hall_name=cfg.hall.name)
    result: dict[str, Any] = {}

    def node(name: str, **kw: Any) -> HallClient:
        return HallClient.for_node(cfg, name, keys_dir=str(keys.dir), **kw)

    display = node("display-1", mirror=True)
    display.on_event = lambda ev: app.event(ev, display.state)
    display.on_resync = lambda: app.resynced(display.state)

    async def until(pred: Any, what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def drive() -> None:
        nonlocal server
        try:
            await display.start(timeout=20)
            kiosk, counter = node("kiosk-1", subscribe=False), node("counter-5", subscribe=False)
            await kiosk.start(timeout=20)
            await counter.start(timeout=20)
            for _ in range(3):
                await kiosk.request({"op": "issue", "service": "企业开办"})
            first = await counter.request({"op": "call_next", "counter": 5})
            await until(lambda: app.latest_number == "A001", "A001 on the display before the kill")
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
            resyncs = display.resyncs
            server = start_server_process(config, tmp / "data", keys.dir, cmd_port, ev_port)
            await counter.request({"op": "finish", "counter": 5, "ticket": first["result"]["ticket"]}, timeout=2.0,
                                  retries=15)
            await counter.request({"op": "call_next", "counter": 5}, timeout=2.0, retries=15)
            # A restart quicker than the client's timeout needs no resync (the sequence goes on without a gap);
            # a slower one does. Either way the screen must end up showing the hall as it is.
            await until(lambda: app.latest_number == "A002", "A002 on the display after the restart")
            await asyncio.sleep(0.5)
            app.root.export_to_png(str(out / "display-restart.png"))
            waiting = {t.service: 0 for t in display.state.tickets.values()} if display.state else {}
            for tid in display.state.waiting if display.state else []:
                waiting[display.state.tickets[tid].service] += 1
            result.update(latest=app.latest_number, recent=[list(r) for r in app.recent],
                          waiting=[list(w) for w in app.waiting], mirror_waiting={k: v for k, v in waiting.items()
                                                                                   if v},
                          resyncs=display.resyncs - resyncs)
            await kiosk.close()
            await counter.close()
        except Exception as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            app.stop()

    driver = asyncio.get_running_loop().create_task(drive())
    await app.async_run(async_lib="asyncio")
    await driver
    await display.close()
    server.terminate()
    server.wait(timeout=10)
    return result


if __name__ == "__main__":
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    if len(sys.argv) > 2 and sys.argv[2] == "restart":
        res = asyncio.run(restart(out_dir))
        (out_dir / "display-restart.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), "utf-8")
    else:
        res = asyncio.run(main(out_dir))
        (out_dir / "display.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
