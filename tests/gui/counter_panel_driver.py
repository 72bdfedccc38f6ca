"""Runs the counter panel headless against a real hall server, taps one scenario with real touch events, and writes
what happened (what the panel showed, what the ledger holds, screenshots, the measured screens) for the test to check.

One scenario per process: Kivy's window is a process-wide singleton, so each GUI test gets a fresh one. The
`tablet` (1280×800) and `big` (1920×1200) scenarios walk every screen a clerk meets and the visitor's rating prompt
(the 办件 screens included: 受理 → 补正 → 恢复 → 办结 → 出件 → 归档), and on each switch the panel between normal,
large text and high contrast live, measuring each from its pixels. The `steps*` scenarios (1280×720, 1280×800,
1920×1200) do the same for 延期 and a 重大事项's 环节: a delay with its new due date, a tracker picked from the
roster by name, a step finished with its second tap, and a delay asked after the due date (the hall's clock moved
past it) refused in words.
The hall server runs on fixed ports so `pause` can take it away and bring it back.
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
SIZES = {"case": (1280, 720), "pad": (1280, 720), "pause": (1280, 720), "tablet": (1280, 800), "big": (1920, 1200),
         "steps": (1280, 720), "steps-tablet": (1280, 800), "steps-big": (1920, 1200)}
SCENARIOS = tuple(SIZES)
MODES = ("normal", "large", "contrast")
TOUR = ("tablet", "big")
STEPS = ("steps", "steps-tablet", "steps-big")
MAJOR = "XK-379901-FGJ-002"  # 企业投资项目核准（联合审批）: three departments' steps, window 5
# 环节跟踪员 on the roster besides the test roster's people (none of whom tracks steps); 王芳 is a helper, not one
TRACKERS = (("zq04", "赵强", ["clerk", "tracker"]), ("ly-1", "刘洋", ["tracker"]), ("gz-2", "孙丽", ["tracker"]))


class Skippable:
    """The system clock, moved ahead on demand: a case's due date passes without waiting days for it. The hall's
    clock and the panel's are moved apart (`ahead`, `panel_ahead`): a panel a moment behind the hall offers a 延期
    the hall then refuses."""

    def __init__(self, tz: Any) -> None:
        self.tz, self.ahead, self.panel_ahead = tz, 0.0, 0.0

    def now(self) -> Any:
        from datetime import datetime, timedelta

        return datetime.now(self.tz) + timedelta(seconds=self.ahead)

    def panel(self) -> float:
        return time.time() + self.panel_ahead


RULES: dict[str, Any] = {}


class Server:
    """The hall server on fixed ports and one ledger: stopped and started again, it is a restart as the panel sees
    it (same endpoints, same state)."""

    def __init__(self, cfg: Any, tmp: Path, keys: Any, clock: Any = None) -> None:
        from tests.bus_helpers import free_port

        self.cfg, self.tmp, self.keys, self.clock = cfg, tmp, keys, clock
        self.endpoints = (f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}")
        self.halt = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Any:
        from hall_bus.wire.server import HallServer

        deadline = time.monotonic() + 15
        while True:
            server = HallServer(self.cfg, self.tmp / "data", keys_dir=self.keys.dir,
                                command_endpoint=self.endpoints[0], event_endpoint=self.endpoints[1],
                                clock=self.clock)
            self.halt = asyncio.Event()
            self.task = asyncio.create_task(server.run(self.halt))
            ready = asyncio.create_task(server.ready.wait())
            await asyncio.wait([self.task, ready], return_when=asyncio.FIRST_COMPLETED)
            if server.ready.is_set():
                return server
            ready.cancel()
            if time.monotonic() > deadline:  # the ports of the server just stopped never came free
                self.task.result()
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        self.halt.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 15)


async def main(scenario: str, out: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="counter-panel-gui-"))
    font = prepare(home=tmp / "kivy", fullscreen=False, size=SIZES[scenario])

    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch
    from kivy.uix.screenmanager import ScreenManager

    from hall_bus.clock import NeverBackwards
    from hall_bus.config import load_config
    from hall_bus.domain.commands import AddStaff
    from hall_bus.nodes.counter_panel import CounterPanelNode
    from hall_bus.wire.client import HallClient
    from kiosk.counter_panel import OFFLINE, CounterPanelApp, watch_connection
    from tests.bus_helpers import NODES, ROSTER_PIN, Hall, make_keys, roster_commands
    from tests.gui.kiosk_driver import missing
    from tests.gui.measure import Rules, audit, grab, save

    RULES.update(normal=Rules(min_text_dp=18, min_target_dp=44, min_text_contrast=4.5, min_edge_contrast=3),
                 large=Rules(min_text_dp=30, min_target_dp=60, min_text_contrast=4.5, min_edge_contrast=3),
                 contrast=Rules(min_text_dp=18, min_target_dp=44, min_text_contrast=7, min_edge_contrast=3))

    cfg = load_config(ROOT / "config" / "hall.example.toml")
    result: dict[str, Any] = {"scenario": scenario, "shots": [], "font": font, "texts": [], "audits": {}}
    keys = make_keys(tmp / "keys", NODES)
    skip = Skippable(cfg.hall.tz)
    server = Server(cfg, tmp, keys, NeverBackwards(skip) if scenario in STEPS else None)
    hall = Hall(await server.start(), keys, cfg, [])
    try:
        # Measuring a screen holds this one loop (server and panel alike) for seconds: the panel's client waits that
        # long for the server before calling it gone, except where going and coming back is the point (`pause`).
        silent = 1.0 if scenario == "pause" else 30.0
        client = HallClient("counter-5", server.endpoints[0], server.endpoints[1],
                            credentials=keys.node_credentials("counter-5"), heartbeat_seconds=0.2,
                            server_timeout_seconds=silent, config=cfg)
        hall.clients.append(client)
        node = CounterPanelNode(client, cfg, "counter-5", clock=skip.panel)
        client.on_event, client.on_resync = node.on_event, node.on_resync
        app = CounterPanelApp(node, hall_name=cfg.hall.name, on_start_tasks=[watch_connection(client, every=0.1)])

        async def until(pred: Any, what: str, timeout: float = 8.0) -> None:
            deadline = time.monotonic() + timeout
            while not pred():
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out in {scenario} waiting for {what} (screen {app.screen}, "
                                         f"message {app.message!r})")
                await asyncio.sleep(0.05)

        async def frame(frames: int = 3) -> None:
            """A few frames drawn (however slowly, under load): the screen is laid out in the new state."""
            start = Clock.frames_displayed
            await until(lambda: Clock.frames_displayed >= start + frames, f"{frames} frames drawn", 20)

        def ids() -> Any:
            return app.root.current_screen.ids

        def settled(widget: Any) -> bool:
            """On the screen now showing, with no screen change under way: a ScreenManager drops every touch
            while its transition runs (even NoTransition's, which ends on the next frame), so a tap then is lost."""
            w, child = widget, None
            while w is not None and w is not w.parent:
                if isinstance(w, ScreenManager) and (w.transition.is_active or child is not w.current_screen):
                    return False
                w, child = w.parent, w
            return True

        def tap(widget: Any) -> None:
            x, y = widget.to_window(*widget.center)
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            touch.touch_up()

        async def press(widget: Any) -> None:
            """Tap once the button is enabled and no op is under way, as a clerk would see it."""
            await until(lambda: not widget.disabled and not app.busy and settled(widget),
                        f"{getattr(widget, 'text', widget)} enabled")
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
            if scenario == "case":  # 1280×720 keeps working: measured in the normal mode it starts in
                result["audits"][f"{name}/normal"] = audit(app.root, RULES["normal"]).as_dict()

        async def set_mode(mode: str) -> None:
            """The clerk's 大字 / 高对比 toggles, tapped where the screen has them; the visitor's rating screen has
            none (it keeps the mode the clerk chose), so there the app is told directly."""
            want = {"large": mode == "large", "contrast": mode == "contrast"}
            modes = ids().get("modes")
            for key, on in want.items():
                if modes is not None:
                    button = modes.ids[key]
                    if button.selected != on:
                        await press(button)
                        await until(lambda b=button, on=on: b.selected == on, f"{key} switched {on}")
                else:
                    app.set_mode(**{"large_text" if key == "large" else "high_contrast": on})
            await until(lambda: (app.theme.large_text, app.theme.high_contrast) == (want["large"], want["contrast"]),
                        f"the {mode} theme")

        async def survey(name: str) -> None:
            """This screen in every mode, switched live: measured from its pixels, and kept as a screenshot."""
            for mode in MODES:
                await set_mode(mode)
                await frame()
                pixels = grab(app.root)
                path = out / f"counter-panel-{scenario}-{name}-{mode}.png"
                save(pixels, str(path))
                result["shots"].append(path.name)
                result["audits"][f"{name}/{mode}"] = audit(app.root, RULES[mode], pixels).as_dict()
                result["texts"] += texts()
            await set_mode("normal")

        def window() -> Any:
            """Window 5 as the hall server has it now (a restarted server has a new state object)."""
            return hall.server.core.state.counters[5]

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
                if scenario in STEPS:
                    pin = roster_commands()[0].pin_hash
                    for staff, name, duties in TRACKERS:
                        answer = await admin.send(AddStaff(staff=staff, name=name, duties=duties, pin_hash=pin))
                        assert answer["ok"], answer
                await sign_in()
                if scenario == "case":
                    await case()
                elif scenario == "pad":
                    await pad()
                elif scenario in TOUR:
                    await tour()
                elif scenario in STEPS:
                    await steps_tour()
                else:
                    await pause()
                    await hall_away_and_back()
            except Exception as exc:  # reported to the test, which fails with it
                result["error"] = f"{type(exc).__name__}: {exc}"
                print("driver:", result["error"], file=sys.stderr)
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
            if scenario in TOUR:
                await survey("signin")
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
            await press(sign)
            tap(sign)  # a double tap on 签到: the second touch at once, while the first is under way
            await until(lambda: not app.busy and app.status == "open", "the first tap's answer")
            tap(sign)  # a slow double tap: the second touch lands after the answer, on the button now 签退...
            tap(sign)  # ...and a third too soon after it to confirm anything
            await frame()
            await until(lambda: not app.busy, "the taps' answers")
            result["after_double_tap"] = {"status": window().status, "message": app.message, "shown": app.status}
            await press(ids()["pause"])
            await until(lambda: window().status == "paused" and app.status == "paused", "paused")
            await shot("paused")
            result["pause_text"] = ids()["pause"].text
            result["call_next_disabled_when_paused"] = ids()["call_next"].disabled
            tap(ids()["call_next"])  # greyed: nothing is sent
            await frame()
            result["called_while_paused"] = len(ledger("ticket_called"))
            await press(ids()["pause"])
            await until(lambda: window().status == "open" and not ids()["call_next"].disabled, "resumed")
            await press(ids()["call_next"])
            await until(lambda: app.v_number != "", "a call after the pause")
            await shot("called")
            result["called"] = app.v_number
            result["statuses"] = [e["type"] for e in hall.server.core.ledger.events()
                                  if e["type"].startswith("counter_")]

        def words() -> dict[str, Any]:
            main = ids()
            return {"message": main["message"].text, "status": main["status"].text, "online": app.online,
                    "texts": texts(), "call_enabled": not main["recall"].disabled}

        async def hall_away_and_back() -> None:
            """The hall server goes away and comes back: the panel says so each time, and only then."""
            await until(lambda: app.online and not app.busy, "online")
            await frame()
            result["before"] = words()
            await server.stop()
            await until(lambda: not app.online and ids()["message"].text == OFFLINE, "the panel offline", 20)
            await frame()
            result["offline"] = words()
            await shot("offline")
            hall.server = await server.start()
            await until(lambda: app.online and client.synced and ids()["message"].text != OFFLINE,
                        "the panel online again", 30)
            await until(lambda: not ids()["recall"].disabled, "the buttons back", 10)
            await frame()
            result["online_again"] = words()
            await shot("online-again")
            await press(ids()["start"])  # and the window works again
            await until(lambda: app.v_status == "办理中", "service started after the restart", 10)
            result["started_after_restart"] = [e["data"]["number"] for e in hall.server.core.ledger.events()
                                               if e["type"] == "service_started"]

        async def tour() -> None:
            """Every screen a clerk meets and the visitor's rating prompt, each in every mode."""
            await issue(("企业开办", "normal"), ("投资项目", "normal"), ("企业开办", "accompany"),
                        ("综合受理", "normal"))
            await until(lambda: len(app.next_up) == 3, "the queue preview")
            await survey("idle")
            await press(ids()["call_next"])
            await until(lambda: app.v_number != "" and not app.busy, "the called visitor")
            await survey("called")
            await press(ids()["start"])
            await until(lambda: app.v_status == "办理中" and not app.busy, "service started")
            await survey("serving")
            await press(ids()["transfer"])
            await until(lambda: app.screen == "transfer", "the transfer dialog")
            await press(next(b for b in ids()["services"].children if b.code == "综合受理"))
            await press(ids()["p_end"])
            await survey("transfer")
            await press(ids()["back"])
            await until(lambda: app.screen == "main", "back from the transfer dialog")
            await press(ids()["finish"])
            await until(lambda: app.screen == "finish", "the finish dialog")
            await press(ids()["o_missing"])
            await frame()
            toggles = list(reversed(ids()["materials"].children))
            await press(toggles[0])
            await press(toggles[2])
            await until(lambda: len(app.chosen) == 2, "two materials chosen")
            await survey("finish")
            await press(ids()["confirm"])
            await until(lambda: app.screen == "rate" and app.notice != "", "the rating prompt")
            await survey("rate")
            await press(ids()["rate5"])
            await until(lambda: app.rate_done.startswith("谢谢"), "the thanks")
            result["ratings"] = [(r["ticket"], r["level"]) for r in ledger("rating_recorded")]
            await until(lambda: app.screen == "main", "back to the clerk's screen", 6)
            await cases_tour()

        def typed(widget: Any, text: str) -> None:
            tap(widget)
            widget.insert_text(text)

        def case_now() -> Any:
            return hall.server.core.state.cases.get(app.case_no)

        async def cases_tour() -> None:
            """办件 for the next visitor: 受理 → 补正 → 材料已补齐 → the list → 办结 → 出件 (ID checked) → 归档,
            each new screen measured in every mode."""
            flow: dict[str, Any] = result.setdefault("case_flow", {})
            await press(ids()["call_next"])
            await until(lambda: app.v_number != "" and not app.busy, "the next visitor")
            flow["visitor"] = app.v_number
            await press(ids()["accept_case"])
            await until(lambda: app.screen == "accept", "the 受理 screen")
            await frame()
            items = list(reversed(ids()["items"].children))
            flow["items"] = [b.code for b in items]
            await press(items[0])
            await until(lambda: app.checklist != "", "the materials checklist")
            flow["checklist"] = app.checklist
            typed(ids()["applicant"], "张秀英")
            typed(ids()["id_number"], "410102196611241234")
            typed(ids()["phone"], "13812345678")
            await survey("accept")
            await press(ids()["confirm"])
            await until(lambda: app.screen == "case" and app.receipt != "", "the accepted case")
            flow["case"], flow["head"], flow["receipt"] = app.case_no, app.case_head, app.receipt
            flow["receipt_where"], flow["info"] = app.receipt_where, app.case_info
            await survey("case")
            await press(ids()["a_supplement"])
            await until(lambda: app.screen == "supplement", "the 补正 screen")
            await frame()
            toggles = list(reversed(ids()["materials"].children))
            await press(toggles[0])
            await press(toggles[1])
            await until(lambda: len(app.chosen) == 2, "two missing materials chosen")
            flow["missing"] = list(app.chosen)
            await survey("supplement")
            await press(ids()["confirm"])
            await until(lambda: app.screen == "case" and "resume" in app.case_actions, "the case in 补正")
            flow["in_supplement"] = app.case_info
            await press(ids()["a_resume"])
            await until(lambda: "conclude" in app.case_actions and not app.busy, "the case resumed")
            await press(ids()["back"])
            await until(lambda: app.screen == "cases", "the window's cases")
            await frame()
            rows = list(reversed(ids()["rows"].children))
            flow["rows"] = [b.text for b in rows]
            await survey("cases")
            await press(rows[0])
            await until(lambda: app.screen == "case", "the case picked from the list")
            await press(ids()["a_conclude"])
            await until(lambda: app.screen == "conclude", "the 办结 screen")
            await press(ids()["d_refused"])
            await frame()
            flow["refuse_needs_reason"] = ids()["confirm"].disabled
            await survey("conclude")
            await press(ids()["d_approved"])
            await press(ids()["confirm"])
            await until(lambda: app.screen == "case" and "deliver" in app.case_actions, "the case concluded")
            await press(ids()["a_deliver"])
            await until(lambda: app.screen == "deliver", "the 出件 screen")
            typed(ids()["collector"], "张秀英")
            await frame()
            flow["pickup_needs_id_check"] = ids()["confirm"].disabled
            await press(ids()["id_checked"])
            await until(lambda: app.id_checked, "the ID check ticked")
            await survey("deliver")
            await press(ids()["confirm"])
            await until(lambda: app.screen == "case" and "archive" in app.case_actions, "the case delivered")
            await press(ids()["a_archive"])
            await until(lambda: case_now() is not None and case_now().status == "archived" and not app.busy,
                        "the case archived")
            await frame()
            flow["after_archive"] = app.case_info
            k = case_now()
            flow["ledger"] = {"status": k.status, "decision": k.decision, "delivery": k.delivery,
                              "collector": k.collector, "owner": k.owner, "counter": k.counter,
                              "tickets": k.tickets, "missing_notices": k.notices,
                              "log": [entry["what"] for entry in k.log]}
            flow["notices"] = [(n["case"], n["items"], n["print_at"]) for n in ledger("notice_issued")
                               if n.get("case")]
            flow["texts"] = texts()

        def case_events(kind: str) -> list[dict[str, Any]]:
            return [d for d in ledger(kind) if d.get("case") == app.case_no]

        async def steps_tour() -> None:
            """A 重大事项 accepted for a 投资项目 visitor; 延期 with its new due date, the 环节 list, a tracker picked
            by name, step 1 finished by its second tap, and a delay asked after the due date refused in words;
            each new screen measured in every mode."""
            from datetime import datetime

            from kiosk.counter_panel import CONFIRM_AFTER

            flow: dict[str, Any] = result.setdefault("steps_flow", {})
            await issue(("投资项目", "normal"))
            await until(lambda: len(app.next_up) == 1, "the queue preview")
            await press(ids()["call_next"])
            await until(lambda: app.v_number != "" and not app.busy, "the called visitor")
            await press(ids()["start"])
            await until(lambda: app.v_status == "办理中" and not app.busy, "service started")
            await press(ids()["accept_case"])
            await until(lambda: app.screen == "accept", "the 受理 screen")
            await frame()
            item = next(b for b in ids()["items"].children if b.code == MAJOR)
            item.parent.parent.scroll_to(item, animate=False)
            await frame()
            await press(item)
            await until(lambda: app.item_code == MAJOR, "the 重大事项 picked")
            typed(ids()["applicant"], "张秀英")
            await frame()
            await press(ids()["confirm"])
            await until(lambda: app.screen == "case" and app.case_no != "" and not app.busy, "the accepted case")
            flow["case"], flow["head"], flow["info"] = app.case_no, app.case_head, app.case_info
            flow["offered"] = list(app.case_actions)
            await survey("case-major")

            # 延期: three working days, a common reason with a few words more, the new due date shown first
            await press(ids()["a_delay"])
            await until(lambda: app.screen == "delay", "the 延期 screen")
            await frame()
            flow["confirm_before"] = not ids()["confirm"].disabled
            flow["preview_before"] = app.delay_preview
            flow["days"] = [b.days for b in reversed(ids()["days"].children)]
            await press(next(b for b in ids()["days"].children if b.days == 3))
            await until(lambda: app.delay_days == 3, "three days picked")
            await press(ids()["r0"])
            await until(lambda: app.delay_reason == app.delay_reasons[0], "a common reason picked")
            flow["confirm_without_more"] = not ids()["confirm"].disabled
            ids()["reason"].insert_text("：用地红线复核")
            await until(lambda: app.delay_reason.endswith("用地红线复核"), "the reason written on")
            flow["reason_button_still_ticked"] = ids()["r0"].selected
            flow["preview"] = ids()["preview"].text
            await survey("delay")
            await press(ids()["confirm"])
            await until(lambda: app.screen == "case" and not app.busy, "the case after its delay")
            flow["delays"] = [(d["days"], d["reason"]) for d in case_events("case_delayed")]
            k = hall.server.core.state.cases[app.case_no]
            flow["due_after"] = f"{datetime.fromtimestamp(k.due_ts, cfg.hall.tz):%Y-%m-%d %H:%M}"
            flow["head_after"], flow["info_after"], flow["message_after"] = app.case_head, app.case_info, app.message

            # 环节: the list, a tracker picked by name, step 1 finished by its second tap
            await press(ids()["a_steps"])
            await until(lambda: app.screen == "steps", "the 环节 screen")
            await frame()
            cards = list(reversed(ids()["steps"].children))
            flow["steps"] = [c.words for c in cards]
            flow["finish_offered"] = [not c.ids.finish.disabled for c in cards]
            await survey("steps")
            await press(cards[0].ids.assign)
            await until(lambda: app.screen == "tracker", "the tracker picker")
            await frame()
            buttons = list(reversed(ids()["trackers"].children))
            flow["tracker_names"] = [b.label for b in buttons]
            flow["step_title"] = app.step_title
            await press(next(b for b in buttons if b.label == "赵强"))
            await until(lambda: app.tracker_pick == "zq04", "赵强 picked")
            await survey("tracker")
            await press(ids()["confirm"])
            await until(lambda: app.screen == "steps" and not app.busy, "back on the 环节 screen")
            await until(lambda: "赵强" in ids()["steps"].children[-1].words, "the tracker shown")
            flow["assigned"] = [(d["step"], d["tracker"]) for d in case_events("case_step_assigned")]
            flow["assign_message"] = app.message
            finish = ids()["steps"].children[-1].ids.finish
            await press(finish)
            tap(finish)  # a double tap: too soon to confirm anything
            await frame()
            flow["after_double_tap"] = (len(case_events("case_step_finished")), app.message)
            armed = time.monotonic()
            await until(lambda: time.monotonic() - armed > CONFIRM_AFTER + 0.1, "the confirmation pause")
            await press(finish)
            await until(lambda: len(case_events("case_step_finished")) == 1 and not app.busy, "step 1 finished")
            await until(lambda: "已办结" in ids()["steps"].children[-1].words, "step 1 shown done")
            cards = list(reversed(ids()["steps"].children))
            flow["steps_after"] = [c.words for c in cards]
            flow["finish_after"] = [not c.ids.finish.disabled for c in cards]
            flow["finish_message"] = app.message
            await survey("steps-done")

            # a delay asked after the due date: the panel still offered it, the hall (its clock past the due date)
            # refuses, and the panel says why
            await press(ids()["back"])
            await until(lambda: app.screen == "case", "back on the case")
            await press(ids()["a_delay"])
            await until(lambda: app.screen == "delay", "the 延期 screen again")
            await frame()
            flow["form_cleared"] = (app.delay_days, app.delay_reason, ids()["reason"].text)
            await press(next(b for b in ids()["days"].children if b.days == 1))
            await press(ids()["r2"])
            await until(lambda: app.delay_days == 1 and app.delay_reason != "", "a second delay filled in")
            skip.ahead = k.due_ts - time.time() + 60
            await press(ids()["confirm"])
            await until(lambda: not app.busy and app.message.startswith("未成功"), "the refusal")
            flow["refusal"], flow["screen_after_refusal"] = app.message, app.screen
            flow["delays_after_refusal"] = len(case_events("case_delayed"))
            await survey("delay-refused")

            # the panel's clock past the due date too: 延期 is no longer offered, and the case says why; the steps
            # past their own due dates say 已超期
            skip.panel_ahead = skip.ahead
            await press(ids()["back"])
            await until(lambda: app.screen == "case" and "delay" not in app.case_actions, "the case, late")
            await frame()
            flow["late_head"], flow["late_info"] = app.case_head, app.case_info
            flow["late_delay_disabled"] = ids()["a_delay"].disabled
            await survey("case-late")
            await press(ids()["a_steps"])
            await until(lambda: app.screen == "steps", "the 环节 screen, late")
            await frame()
            cards = list(reversed(ids()["steps"].children))
            flow["late_steps"] = [(c.words, c.late) for c in cards]
            await survey("steps-late")
            await frame()  # the switch back to normal laid out before the app stops: no redraw left for after it
            flow["texts"] = texts()

        driver = asyncio.get_running_loop().create_task(drive())
        await app.async_run(async_lib="asyncio")
        await driver
    finally:
        for c in hall.clients:
            await c.close()
        await server.stop()
    result["missing_glyphs"] = sorted(missing(result["texts"], font))
    return result


if __name__ == "__main__":
    name, out_dir = sys.argv[1], Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    res = asyncio.run(main(name, out_dir))
    (out_dir / f"counter-panel-{name}.json").write_text(json.dumps(res, ensure_ascii=False, indent=1),
                                                        encoding="utf-8")
