"""Runs the hall display headless against a real hall server; a kiosk issues and a counter calls over the bus,
and the display must show it by push. One process per screen size; the modes are switched inside it.

Usage: python -m tests.gui.display_driver OUT_DIR [main WxH | restart]"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")

from kiosk.boot import prepare

ROOT = Path(__file__).resolve().parents[2]
LONG_SERVICE = "不动产登记（二手房转移登记及抵押登记）"
LONG_NOTICE = ("请保管好随身物品，贵重物品请勿离身；需要帮助请找穿红马甲的帮办员，行动不便的群众可申请推着办、陪同办，"
               "工作人员将全程陪同；办事不满意请扫码评价，或拨打12345政务服务便民热线反映；"
               "大厅内禁止吸烟，请保持安静，手机调至静音。")


async def until(pred: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def settled() -> None:
    """Two frames drawn: property changes are laid out on the next frame, and drawn on the one after."""
    from kivy.clock import Clock

    start = Clock.frames_displayed
    await until(lambda: Clock.frames_displayed >= start + 2, "two frames")


def glyph_height(label: Any, pixels: Any) -> int:
    """The rendered height of one line of the label's glyphs, in px: the longest run of pixel rows in its box that
    hold pixels of the label's colour (a run, so a second wrapped line does not count twice)."""
    import numpy as np

    from tests.gui.measure import _crop, _rect

    region = _crop(pixels, _rect(label)).astype(np.int32)
    if region.size == 0:
        return 0
    want = np.array([v * 255 for v in label.color[:3]])
    inked = (np.abs(region - want).sum(axis=2) < 60).any(axis=1)
    best = run = 0
    for row in inked:
        run = run + 1 if row else 0
        best = max(best, run)
    return best


def overlaps(app: Any) -> list[str]:
    """What the audit does not see: a row's words spilling out of their row, a row out of its column, two rows
    on top of each other (a wrapped count ran over the next service before)."""
    from tests.gui.measure import _rect

    def inside(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
        return a[0] >= b[0] - 1.5 and a[1] >= b[1] - 1.5 and a[2] <= b[2] + 1.5 and a[3] <= b[3] + 1.5

    found = []
    for column in (app.root.ids.recent, app.root.ids.waiting, app.root.ids.big):
        rows = [r for r in column.children if r.children and r.height > 0]
        for row in rows:
            if not inside(_rect(row), _rect(column)):
                found.append(f"row out of its column: {[c.text for c in row.children]}")
            for label in row.children:
                if label.text and not inside(_rect(label), _rect(row)):
                    found.append(f"words out of their row: {label.text}")
        boxes = sorted(_rect(r) for r in rows)
        found += [f"rows overlap at y={b[1]:.0f}" for a, b in itertools.pairwise(boxes)
                  if min(a[3], b[3]) - max(a[1], b[1]) > 1.5 and min(a[2], b[2]) - max(a[0], b[0]) > 1.5]
    return found


def measure_screen(app: Any, out: Path, name: str) -> dict[str, Any]:
    """Audit the screen as it is now, save it, and measure how tall the calls and the notice are drawn."""
    from kivy.core.window import Window

    from tests.gui.measure import Rules, audit, grab, save

    t0 = time.monotonic()
    pixels = grab(app.root)
    t1 = time.monotonic()
    save(pixels, str(out / f"{name}.png"))
    t2 = time.monotonic()
    rules = Rules(min_text_dp=30.0, min_text_contrast=7.0 if app.high_contrast else 4.5)
    report = audit(app.root, rules, pixels).as_dict()
    t3 = time.monotonic()
    print(name, "grab", t1 - t0, "save", t2 - t1, "audit", t3 - t2, file=sys.stderr)
    ids, height = app.root.ids, Window.height
    earlier = [label for row in ids.recent.children if hasattr(row, "number") for label in row.children
               if label.text in (row.number, row.window)]
    notice = ids.notice
    fractions = {
        "newest_number": glyph_height(ids.number, pixels) / height,
        "newest_window": glyph_height(ids.window, pixels) / height,
        "earlier_calls": min(glyph_height(lb, pixels) for lb in earlier) / height if earlier else None,
        "notice": glyph_height(notice, pixels) / height if notice.text else None,
    }
    return {"name": name, "mode": "high_contrast" if app.high_contrast else "normal", "highlight": app.highlight,
            "lost": app.lost, "audit": report, "overlaps": overlaps(app),
            "fractions": {k: v if v is None else round(v, 4) for k, v in fractions.items()},
            "earlier_rows": len(earlier) // 2, "waiting_rows": [[r.service, r.count] for r in
                                                                 reversed(ids.waiting.children)
                                                                 if hasattr(r, "service")],
            "caption": app.caption, "banner": ids.banner.text, "recent_head": ids.recent_head.text,
            "notice_pages": list(app.notice_pages), "font_px": {"notice": notice.font_size,
                                                                "number": ids.number.font_size}}


async def every_mode(app: Any, out: Path, prefix: str, highlights: tuple[bool, ...]) -> list[dict[str, Any]]:
    screens = []
    for hc in (False, True):
        app.high_contrast = hc
        for hl in highlights:
            # the highlight is timed (8 s after a call); a loaded machine can take longer than that to get here
            app._highlight_until = time.monotonic() + (60.0 if hl else 0.0)
            app.highlight = hl
            await settled()
            mode = "high-contrast" if hc else "normal"
            screens.append(measure_screen(app, out, f"{prefix}-{mode}{'-new' if hl else ''}"))
    app.high_contrast = False
    return screens


def hall_config(tmp: Path, **replace: str) -> Path:
    """The example hall, with one service given a long official name (the display must wrap it, not cut it)."""
    text = (ROOT / "config" / "hall.example.toml").read_text(encoding="utf-8").replace('"不动产"', f'"{LONG_SERVICE}"')
    # no catalogue: its 不动产 items name the service by its real name
    text = text.replace('catalogue = "catalogue.example.toml"', "")
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def main(out: Path, size: tuple[int, int]) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="display-gui-"))
    prepare(home=tmp / "kivy", fullscreen=False, size=size)
    from hall_bus.config import load_config
    from hall_bus.nodes.board import DisplayModel
    from kiosk.display import HallDisplayApp
    from tests.bus_helpers import running_hall

    cfg = load_config(hall_config(tmp))
    tag = f"display-{size[0]}x{size[1]}"
    result: dict[str, Any] = {"size": list(size)}
    app = HallDisplayApp(DisplayModel({g: r.label for g, r in cfg.groups.items()}), hall_name=cfg.hall.name,
                         notice=LONG_NOTICE)

    async with running_hall(cfg, tmp) as hall:
        # The audits below hold the loop for a second or more (reading 4K pixels); a TV's client must not take
        # that for a dead server and resync between two screenshots of the same board.
        from hall_bus.wire.client import HallClient

        display = HallClient("display-1", hall.server.command_endpoint, hall.server.event_endpoint,
                             credentials=hall.keys.node_credentials("display-1"), heartbeat_seconds=0.2,
                             server_timeout_seconds=30.0, config=cfg)
        hall.clients.append(display)
        display.on_event = lambda ev: app.event(ev, display.state)
        display.on_resync = lambda: app.resynced(display.state)

        async def drive() -> None:
            try:
                await display.start()
                kiosk = await hall.started("kiosk-1", subscribe=False)
                counter = await hall.started("counter-5", subscribe=False)
                for service, group in [("企业开办", "normal"), ("投资项目", "accompany"), ("企业开办", "normal"),
                                       ("医保", "normal")]:
                    await kiosk.request({"op": "issue", "service": service, "group": group})
                await until(lambda: sum(app.model.waiting.values()) == 4, "four waiting")
                for _ in range(2):
                    called = await counter.request({"op": "call_next", "counter": 5})
                    await counter.request({"op": "finish", "counter": 5, "ticket": called["result"]["ticket"]})
                await counter.request({"op": "call_next", "counter": 5})
                await until(lambda: len(app.model.recent) == 3, "three calls")
                await settled()
                app.root.export_to_png(str(out / f"{tag}-first.png"))
                result.update(latest=app.latest_number, counter=app.latest_counter, mark=app.latest_mark,
                              recent=[list(r) for r in app.recent], waiting=[list(w) for w in app.waiting],
                              highlight=app.highlight, redraws=app.redraws)

                # A busy hall: many services waiting (one with a long name), several windows calling, the newest
                # call for the long service, assisted calls among the earlier ones.
                one = await hall.started("counter-1", subscribe=False)
                long_ids = []
                for service, group in [(LONG_SERVICE, "normal"), ("人社", "wheelchair_push"), (LONG_SERVICE, "normal"),
                                       (LONG_SERVICE, "normal"), (LONG_SERVICE, "accompany"),
                                       ("公安", "normal"), ("税务", "guide"), ("税务", "normal"),
                                       ("住房公积金", "normal"), ("婚姻登记", "normal"), ("司法", "normal"),
                                       ("综合受理", "normal"), (LONG_SERVICE, "normal"), ("人社", "normal"),
                                       ("企业开办", "normal"), ("投资项目", "normal")]:
                    issued = await kiosk.request({"op": "issue", "service": service, "group": group})
                    if service == LONG_SERVICE:
                        long_ids.append(issued["result"]["ticket"])
                for _ in range(5):
                    called = await one.request({"op": "call_next", "counter": 1})
                    await one.request({"op": "finish", "counter": 1, "ticket": called["result"]["ticket"]})
                last = await one.request({"op": "call_ticket", "counter": 1, "ticket": long_ids[-1]})
                assert last["ok"], last
                number = display.state.tickets[long_ids[-1]].number
                await until(lambda: app.latest_number == number and len(app.recent) >= 6, "the busy board")
                result["busy"] = {"latest": app.latest_number, "detail": app.latest_detail,
                                  "recent": [list(r) for r in app.recent], "waiting": [list(w) for w in app.waiting]}
                result["screens"] = await every_mode(app, out, tag, (True, False))
                # A crowded morning: more services waiting than the column holds, several with long names. The
                # list must show whole rows and sum the rest in one line, not run under the notice.
                crowd = {name: 30 - i for i, name in enumerate(
                    ["企业开办", "人社（养老保险关系转移接续）", "综合受理", "医保（异地就医备案及报销）",
                     "公安（户籍迁移及身份证补换领）", "税务", "住房公积金", "婚姻登记", "司法", LONG_SERVICE,
                     "出入境", "社保卡", "残疾人服务",
                     "退役军人事务", "农业农村"])}
                app.model.waiting = crowd
                app.model.version += 1
                app.refresh(chime=False)
                app.highlight = False
                await settled()
                crowded = measure_screen(app, out, f"{tag}-crowded")
                crowded["waiting_total"] = sum(crowd.values())
                result["crowded"] = crowded
                # Every page of the notice, shown in turn: each must fit its band whole.
                label, fitted = app.root.ids.notice, []
                for page in app.notice_pages:
                    app.notice_page = page
                    await settled()
                    fitted.append([page, label.texture_size[1] <= label.height + 1.5])
                result["notice"] = {"text": app.notice, "pages": fitted}
            except Exception as exc:
                import traceback

                result["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            finally:
                app.stop()

        driver = asyncio.get_running_loop().create_task(drive())
        await app.async_run(async_lib="asyncio")
        await driver
    return result


async def restart(out: Path) -> dict[str, Any]:
    """The server is killed (SIGKILL) while the display runs: the display must say plainly that it has lost the
    hall and that its calls may be out of date; when the server is started again on the same ledger and ports
    the display must reconnect, resync, drop the warning and show what the hall really is."""
    import signal

    tmp = Path(tempfile.mkdtemp(prefix="display-restart-"))
    prepare(home=tmp / "kivy", fullscreen=False, size=(1920, 1080))
    from hall_bus.config import load_config
    from hall_bus.nodes.board import DisplayModel
    from hall_bus.wire.client import HallClient
    from kiosk.display import HallDisplayApp, link_state
    from tests.bus_helpers import free_port, make_keys, start_server_process

    keys = make_keys(tmp / "keys", ["display-1", "counter-5", "kiosk-1", "admin"])
    cmd_port, ev_port = free_port(), free_port()
    config = hall_config(tmp, **{"command_port = 5555": f"command_port = {cmd_port}",
                                 "event_port = 5556": f"event_port = {ev_port}",
                                 "heartbeat_seconds = 1.0": "heartbeat_seconds = 0.3",
                                 "server_timeout_seconds = 3.0": "server_timeout_seconds = 1.5"})
    cfg = load_config(config)
    server = start_server_process(config, tmp / "data", keys.dir, cmd_port, ev_port)
    result: dict[str, Any] = {}

    def node(name: str, **kw: Any) -> HallClient:
        return HallClient.for_node(cfg, name, keys_dir=str(keys.dir), **kw)

    display = node("display-1", mirror=True)
    app = HallDisplayApp(DisplayModel({g: r.label for g, r in cfg.groups.items()}), hall_name=cfg.hall.name,
                         online=link_state(display))
    display.on_event = lambda ev: app.event(ev, display.state)
    display.on_resync = lambda: app.resynced(display.state)

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
            await until(lambda: app.latest_number == "A001" and not app.lost, "A001 on the display before the kill")
            result["before"] = {"lost": app.lost, "banner": app.root.ids.banner.text}
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
            await until(lambda: app.lost, "the lost-hall banner")
            result["lost_screens"] = await every_mode(app, out, "display-lost", (False,))
            result["while_lost"] = {"latest": app.latest_number, "caption": app.caption}
            resyncs = display.resyncs
            server = start_server_process(config, tmp / "data", keys.dir, cmd_port, ev_port)
            await until(lambda: not app.lost, "the banner gone after the restart", timeout=30)
            result["back"] = {"resyncs": display.resyncs - resyncs, "banner": app.root.ids.banner.text}
            await counter.request({"op": "finish", "counter": 5, "ticket": first["result"]["ticket"]}, timeout=2.0,
                                  retries=15)
            await counter.request({"op": "call_next", "counter": 5}, timeout=2.0, retries=15)
            await until(lambda: app.latest_number == "A002", "A002 on the display after the restart")
            await settled()
            app.root.export_to_png(str(out / "display-restart.png"))
            result["back_screen"] = measure_screen(app, out, "display-back")
            waiting = {t.service: 0 for t in display.state.tickets.values()} if display.state else {}
            for tid in display.state.waiting if display.state else []:
                waiting[display.state.tickets[tid].service] += 1
            result.update(latest=app.latest_number, recent=[list(r) for r in app.recent], lost=app.lost,
                          waiting=[list(w) for w in app.waiting], mirror_waiting={k: v for k, v in waiting.items()
                                                                                   if v})
            await kiosk.close()
            await counter.close()
        except Exception as exc:
            import traceback

            result["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
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
        w, h = (int(v) for v in (sys.argv[3] if len(sys.argv) > 3 else "1920x1080").split("x"))
        res = asyncio.run(main(out_dir, (w, h)))
        (out_dir / f"display-{w}x{h}.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), "utf-8")
