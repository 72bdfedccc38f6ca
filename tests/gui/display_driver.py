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
                    await counter.request({"op": "call_next", "counter": 5})
                    await counter.request({"op": "finish", "counter": 5})
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


if __name__ == "__main__":
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    res = asyncio.run(main(out_dir))
    (out_dir / "display.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
