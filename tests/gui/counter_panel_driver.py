"""Runs the counter panel headless against a real hall server, taps one scenario with real touch events, and writes
what happened (what the panel showed, what the ledger holds, screenshots) for the test to check.

One scenario per process: Kivy's window is a process-wide singleton, so each GUI test gets a fresh one.
Usage: python -m tests.gui.counter_panel_driver SCENARIO OUT_DIR
"""

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
SCENARIOS = ("case", "pad", "pause")


async def main(scenario: str, out: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="counter-panel-gui-"))
    font = prepare(home=tmp / "kivy", fullscreen=False, size=(1280, 720))

    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    from hall_bus.config import load_config
    from hall_bus.nodes.counter_panel import CounterPanelNode
    from kiosk.counter_panel import CounterPanelApp
    from tests.bus_helpers import ROSTER_PIN, roster_commands, running_hall
    from tests.gui.kiosk_driver import missing

    cfg = load_config(ROOT / "config" / "hall.example.toml")
    result: dict[str, Any] = {"scenario": scenario, "shots": [], "font": font, "texts": []}

    async with running_hall(cfg, tmp) as hall:
        state = hall.server.core.state
        client = hall.client("counter-5", config=cfg)
        node = CounterPanelNode(client, cfg, "counter-5")
        client.on_event, client.on_resync = node.on_event, node.on_resync
        app = CounterPanelApp(node, hall_name=cfg.hall.name)

        async def until(pred: Any, what: str, timeout: float = 8.0) -> None:
            deadline = time.monotonic() + timeout
            while not pred():
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out in {scenario} waiting for {what} (screen {app.screen}, "
                                         f"message {app.message!r})")
                await asyncio.sleep(0.05)

        async def frame() -> None:
            await asyncio.sleep(0.3)  # a few frames at 60 fps: the screen shows the new state

        def ids() -> Any:
            return app.root.current_screen.ids

        def tap(widget: Any) -> None:
            x, y = widget.to_window(*widget.center)
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            touch.touch_up()

        async def press(widget: Any) -> None:
            """Tap once the button is enabled and no op is under way, as a clerk would see it."""
            await until(lambda: not widget.disabled and not app.busy, f"{getattr(widget, 'text', widget)} enabled")
            tap(widget)

        def texts() -> list[str]:
            from kivy.uix.label import Label

            return [w.text for w in app.root.current_screen.walk() if isinstance(w, Label) and w.text]

        async def shot(name: str) -> None:
            await frame()
            path = out / f"counter-panel-{scenario}-{name}.png"
            app.root.export_to_png(str(path))
            result["shots"].append(path.name)
            result["texts"] += texts()

        def ledger(kind: str) -> list[dict[str, Any]]:
            return [e["data"] for e in hall.server.core.ledger.events() if e["type"] == kind]

        async def issue(*tickets: tuple[str, str]) -> None:
            kiosk = await hall.started("kiosk-1", subscribe=False)
            for service, group in tickets:
                answer = await kiosk.request({"op": "issue", "service": service, "group": group})
                assert answer["ok"], answer

        async def drive() -> None:
            try:
                await until(lambda: app.root is not None and Window.width > 0, "the window")
                await client.start()
                await client.wait_synced(5)
                admin = await hall.started("admin", subscribe=False)
                for command in roster_commands():
                    assert (await admin.send(command))["ok"]
                await sign_in()
                if scenario == "case":
                    await case()
                elif scenario == "pad":
                    await pad()
                else:
                    await pause()
            except Exception as exc:  # reported to the test, which fails with it
                result["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                app.stop()

        async def sign_in() -> None:
            """A clerk at the start of a shift: the panel shows only the sign-in screen until a PIN is right."""
            await until(lambda: app.screen == "signin", "the sign-in screen")
            if scenario == "case":
                await shot("signin")
            tap(ids()["staff"])
            ids()["staff"].insert_text("李娜")
            tap(ids()["pin"])
            ids()["pin"].insert_text(ROSTER_PIN)
            await press(ids()["sign_in"])
            await until(lambda: app.screen == "main" and app.clerk == "李娜", "signed in")
            result["clerk"] = app.clerk

        async def case() -> None:
            await issue(("企业开办", "normal"), ("投资项目", "normal"), ("企业开办", "accompany"),
                        ("综合受理", "normal"))
            await until(lambda: len(app.next_up) == 3, "the queue preview")
            await shot("idle")
            result["preview"] = list(app.next_up)
            main = ids()
            result["button_heights"] = {name: main[name].height for name in
                                        ("call_next", "recall", "start", "finish", "no_show", "pad")}
            result["disabled_before_call"] = sorted(n for n in ("recall", "start", "finish", "no_show")
                                                    if main[n].disabled)
            await press(main["call_next"])
            await until(lambda: app.v_number != "" and not app.busy, "the called visitor")
            result["called"] = app.v_number
            result["start_enabled_when_called"] = not main["start"].disabled
            await press(main["start"])
            await until(lambda: app.v_status == "办理中" and not app.busy, "service started")
            await shot("serving")
            result["start_enabled_when_serving"] = not ids()["start"].disabled
            await press(ids()["finish"])
            await until(lambda: app.screen == "finish", "the finish dialog")
            await shot("finish")
            await press(ids()["o_missing"])
            await frame()
            toggles = list(reversed(ids()["materials"].children))
            result["material_toggles"] = [b.code for b in toggles]
            picked = [toggles[0].code, toggles[2].code]
            await press(toggles[0])
            await press(toggles[2])
            await frame()
            result["chosen"] = list(app.chosen)
            await shot("materials")
            await press(ids()["confirm"])
            await until(lambda: app.screen == "rate", "the rating prompt")
            await shot("rate")
            result["notice_text"] = app.notice
            result["rate_number"] = app.rate_number
            await press(ids()["rate4"])
            await until(lambda: app.rate_done.startswith("谢谢"), "the thanks")
            result["thanks"] = app.rate_done
            tap(ids()["rate5"])  # a second tap during the thanks is not a second rating
            await until(lambda: app.screen == "main", "back to the clerk's screen", 6)
            await until(lambda: app.view.to_rate is None, "the rated case forgotten")
            result["rate_enabled_after"] = not ids()["ask_rating"].disabled
            finished = ledger("ticket_finished")
            result["finished"] = [(f["ticket"], f["number"], f["outcome"], f["materials"]) for f in finished]
            result["notices"] = [(n["ticket"], n["items"], n["print_at"], n["service"], n["by"]) for n in
                                 ledger("notice_issued")]
            result["actors"] = sorted({e["data"].get("actor") for e in hall.server.core.ledger.events()
                                       if e["type"] in ("ticket_called", "service_started", "ticket_finished",
                                                        "notice_issued", "rating_recorded")})
            result["ratings"] = [(r["ticket"], r["level"]) for r in ledger("rating_recorded")]
            result["picked"] = picked
            # the next visitor is transferred: the service picker and the position
            await until(lambda: not ids()["call_next"].disabled, "call next enabled again")
            await press(ids()["call_next"])
            await until(lambda: app.v_number != "", "the second visitor")
            result["called_second"] = app.v_number
            await press(ids()["transfer"])
            await until(lambda: app.screen == "transfer", "the transfer dialog")
            await frame()  # laid out: a tap lands where the button is drawn
            target = next(b for b in ids()["services"].children if b.code == "综合受理")
            result["transfer_same_disabled"] = next(b for b in ids()["services"].children
                                                    if b.code == app.v_service).disabled
            await press(target)
            await press(ids()["p_end"])
            await shot("transfer")
            await press(ids()["confirm"])
            await until(lambda: app.screen == "main" and app.v_number == "", "the transfer done")
            result["transfers"] = [(t["number"], t["to_service"], t["position"]) for t in
                                   ledger("ticket_transferred")]

        async def pad() -> None:
            await issue(*[("企业开办", "normal")] * 4)
            await until(lambda: len(app.next_up) == 4, "the queue preview")
            result["preview"] = list(app.next_up)
            await press(ids()["pad"])
            await until(lambda: app.screen == "pad", "the number pad")
            await frame()
            letter = next(b for b in ids()["letters"].children if b.text == "A")
            result["letters"] = sorted(b.text for b in ids()["letters"].children)
            await press(letter)
            await press(ids()["d3"])
            await frame()
            result["pad_shown"] = ids()["shown"].text
            result["key_heights"] = min(ids()[k].height for k in ("d0", "d3", "backspace", "call"))
            await shot("pad")
            await press(ids()["call"])
            await until(lambda: app.screen == "main" and app.v_number != "", "the call from the pad")
            result["called"] = app.v_number
            result["calls"] = [(c["number"], c["counter"]) for c in ledger("ticket_called")]
            await press(ids()["park"])
            await until(lambda: app.parked != [] and app.v_number == "", "the park")
            await shot("parked")
            result["parked_button"] = ids()["parked0"].text
            await press(ids()["parked0"])
            await until(lambda: app.v_number != "", "the resume")
            await shot("resumed")
            result["resumed"] = app.v_number
            result["notes"] = app.v_notes
            result["resumed_in_ledger"] = [r["number"] for r in ledger("ticket_resumed")]

        async def pause() -> None:
            await issue(("投资项目", "normal"), ("企业开办", "normal"))
            await until(lambda: len(app.next_up) == 2, "the queue preview")
            result["pause_disabled_when_closed"] = ids()["pause"].disabled
            sign = ids()["sign"]
            await press(sign)  # a double tap on 签到: the second touch lands on the same button, now 签退
            await asyncio.sleep(0.1)
            await until(lambda: not app.busy, "the first tap's answer")
            tap(sign)
            await until(lambda: state.counters[5].status == "open" and app.status == "open", "signed in")
            await frame()
            result["after_double_tap"] = {"status": state.counters[5].status, "message": app.message}
            await press(ids()["pause"])
            await until(lambda: state.counters[5].status == "paused" and app.status == "paused", "paused")
            await shot("paused")
            result["pause_text"] = ids()["pause"].text
            result["call_next_disabled_when_paused"] = ids()["call_next"].disabled
            tap(ids()["call_next"])  # greyed: nothing is sent
            await frame()
            result["called_while_paused"] = len(ledger("ticket_called"))
            await press(ids()["pause"])
            await until(lambda: state.counters[5].status == "open" and not ids()["call_next"].disabled, "resumed")
            await press(ids()["call_next"])
            await until(lambda: app.v_number != "", "a call after the pause")
            await shot("called")
            result["called"] = app.v_number
            result["statuses"] = [e["type"] for e in hall.server.core.ledger.events()
                                  if e["type"].startswith("counter_")]

        driver = asyncio.get_running_loop().create_task(drive())
        await app.async_run(async_lib="asyncio")
        await driver
    result["missing_glyphs"] = sorted(missing(result["texts"], font))
    return result


if __name__ == "__main__":
    name, out_dir = sys.argv[1], Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    res = asyncio.run(main(name, out_dir))
    (out_dir / f"counter-panel-{name}.json").write_text(json.dumps(res, ensure_ascii=False, indent=1),
                                                        encoding="utf-8")
