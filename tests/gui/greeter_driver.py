"""Runs the greeter tablet headless against a real hall server, taps through one scenario with real touch events,
and writes what happened (and screenshots) for the test to check. A kiosk, a counter and a second tablet are
plain bus clients in the same process.

One scenario per process: Kivy's window is a process-wide singleton, so each GUI test gets a fresh one. The
`screens_WxH` scenarios open a window of that size and show every screen in every mode (switched live with the
header's 大字 / 高对比 toggles), measuring each from its rendered pixels (tests/gui/measure.py).
Usage: python -m tests.gui.greeter_driver SCENARIO OUT_DIR
"""

from __future__ import annotations

import asyncio
import hashlib
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


MODES = {"normal": (False, False), "large": (True, False), "contrast": (False, True)}
MARRIAGE = "QR-379901-MZJ-011"  # 内地居民结婚登记: 可预约
HOME = "GF-379901-MZJ-001"  # 最低生活保障申请: 可上门
PAPER_OUT = "printer not ready: paper out — try: load a new paper roll"  # as devices/printer words it


async def main(scenario: str, out: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="greeter-gui-"))
    size = (1280, 800)
    if scenario.startswith(("screens_", "handover_")):
        w, h = scenario.partition("_")[2].split("x")
        size = (int(w), int(h))
    font = prepare(home=tmp / "kivy", fullscreen=False, size=size)

    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch
    from kivy.uix.label import Label
    from kivy.uix.textinput import TextInput

    from devices.camera.capture import Camera
    from hall_bus.config import load_config
    from hall_bus.domain.commands import DeviceStatus, PrintResult
    from hall_bus.nodes.greeter import GreeterNode, PageShot, help_list, refusal_words
    from kiosk.greeter import GreeterTabletApp
    from tests.bus_helpers import NODES, ROSTER_PIN, free_port, roster_commands, switchable_hall
    from tests.gui.kiosk_driver import missing
    from tests.gui.measure import Rules, audit, grab, save
    from tests.handover_helpers import county_keys, village

    cfg = load_config(ROOT / "config" / "hall.example.toml")
    screens_run = scenario.startswith("screens_")
    handover_run = scenario.startswith("handover_")
    if handover_run:  # a village station of the county: [county] up = the town, then the county centre
        cfg = village(cfg, free_port())
        county_keys(tmp / "keys")
    if screens_run:  # requests escalate after a second, so the list shows an escalated one on top
        cfg = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"help_escalate_minutes": 0.02})})
    result: dict[str, Any] = {"scenario": scenario, "shots": [], "font": font, "missing_glyphs": [],
                              "audits": {}}
    ports = (free_port(), free_port())  # fixed, so the server can go away and come back where it was

    async with switchable_hall(cfg, tmp, [*NODES, "greeter-2"], ports) as (hall, stop_server, start_server):
        # A screen's audit holds the loop for a moment; the tablet's client must not call that the server gone
        client = hall.client("greeter-1", config=cfg)
        client.server_timeout = 4.0
        node = GreeterNode.for_config(client, cfg, "greeter-1", data_dir=tmp / "tablet-data")
        app = GreeterTabletApp(node, cfg)
        client.on_event = app.event
        client.on_resync = app.resynced

        async def until(pred: Any, what: str, timeout: float = 10.0) -> None:
            deadline = time.monotonic() + timeout
            while not pred():
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out in {scenario} waiting for {what}")
                await asyncio.sleep(0.05)

        async def frame() -> None:
            await asyncio.sleep(0.3)

        def tap(widget: Any) -> None:
            x, y = widget.to_window(*widget.center)
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            touch.touch_up()

        def texts() -> list[str]:
            found = []
            for w in app.root.walk():
                if isinstance(w, Label) and w.text:
                    found.append(w.text)
                elif isinstance(w, TextInput):
                    found += [t for t in (w.text, w.hint_text) if t]
            return found

        def shot(name: str) -> None:
            result["missing_glyphs"] = sorted(set(result["missing_glyphs"]) | missing(texts(), font))
            path = out / f"greeter-{scenario}-{name}.png"
            app.root.export_to_png(str(path))
            result["shots"].append(path.name)

        async def set_mode(mode: str) -> None:
            """With the header's toggles, as staff do: the screen must restyle at once, nothing rebuilt."""
            large, contrast = MODES[mode]
            for toggle_id, want in (("large", large), ("contrast", contrast)):
                if (app.root.ids[toggle_id].state == "down") != want:
                    tap(app.root.ids[toggle_id])
            await until(lambda: (app.theme.large_text, app.theme.high_contrast) == (large, contrast), mode)
            await frame()

        async def audited(name: str) -> None:
            """The screen as it is now, in each mode: measured from its pixels, saved for a person to look at."""
            for mode in MODES:
                await set_mode(mode)
                large, contrast = MODES[mode]
                rules = Rules(min_text_dp=30 if large else 18, min_target_dp=60 if large else 44,
                              min_text_contrast=7 if contrast else 4.5, min_edge_contrast=3)
                pixels = grab(app.root)
                report = audit(app.root, rules, pixels)
                path = out / f"greeter-{scenario}-{mode}-{name}.png"
                save(pixels, str(path))
                result["shots"].append(path.name)
                result["audits"][f"{mode}/{name}"] = report.as_dict()
                result["missing_glyphs"] = sorted(set(result["missing_glyphs"]) | missing(texts(), font))
            await set_mode("normal")

        def screen() -> Any:
            return app.root.ids.screens.current_screen

        async def open_tab(name: str) -> Any:
            kinds = {"home": "kind_home", "visits": "kind_visits"}  # 预约's other kinds: tab, then the kind
            tap(app.root.ids["tab_phone" if name in kinds else f"tab_{name}"])
            if name in kinds:
                await until(lambda: app.root.ids.screens.current == "book", "tab 预约")
                screen().ids.book_scroll.scroll_y = 1  # up to the kind switch, as a person scrolls to it
                await frame()
                tap(screen().ids.kinds.ids[kinds[name]])
            want = "book" if name in ("phone", "home") else name  # 电话预约 and 上门办: one form in two kinds
            await until(lambda: app.root.ids.screens.current == want and app.booking.home == (name == "home")
                        if want == "book" else app.root.ids.screens.current == want, f"tab {name}")
            await frame()
            return screen().ids

        def toggle(box: Any, value: str) -> Any:
            return next(b for b in box.children if getattr(b, "value", None) == value)

        def type_into(widget: Any, text: str) -> None:
            tap(widget)
            widget.insert_text(text)

        def help_row(help_id: str) -> Any:
            box = app.root.ids.screens.get_screen("help").ids.helps
            return next((r for r in box.children if r.help_id == help_id), None)

        def shown_order() -> list[str]:
            box = app.root.ids.screens.get_screen("help").ids.helps
            return [r.number for r in sorted(box.children, key=lambda r: -r.y)]

        async def answered(before: int) -> dict[str, Any]:
            await until(lambda: len(app.answers) > before and not app.busy, "the tablet's answer")
            await frame()
            return app.answers[-1]

        async def drive() -> None:
            try:
                await until(lambda: app.root is not None and Window.width > 0, "the window")
                await client.start()
                await until(lambda: app.online, "online")
                admin = await hall.started("admin", subscribe=False)
                for command in roster_commands():
                    assert (await admin.send(command))["ok"]
                await sign_in()
                kiosk = await hall.started("kiosk-1", subscribe=False)
                await frame()
                if screens_run:
                    await screens(kiosk)
                    if size == (1280, 800):
                        await steady(kiosk)
                        await away_and_back()
                elif scenario == "claim_race":
                    await claim_race(kiosk)
                elif scenario == "consultation":
                    await consultation()
                elif scenario == "delegation":
                    await delegation()
                elif scenario == "notice":
                    await notice()
                elif scenario == "cases":
                    await cases()
                elif handover_run:
                    await handover()
                result["message"] = app.message
            except Exception as exc:  # reported to the test, which fails with it
                import traceback

                result["error"] = f"{type(exc).__name__}: {exc} (the tablet said {app.message!r})\n" \
                                  f"{traceback.format_exc()[-1500:]}"
                print(result["error"], file=sys.stderr)
            finally:
                app.stop()

        async def sign_in() -> None:
            """As the helper does at the start of a shift: the tablet shows only the sign-in screen; a wrong PIN
            is said in words; the right one opens the tabs, in the helper's name."""
            await until(lambda: app.root.ids.screens.current == "signin", "the sign-in screen")
            ids = screen().ids
            result["tabs_disabled_before_sign_in"] = app.root.ids.tab_help.disabled
            type_into(ids.staff, "王芳")
            type_into(ids.pin, "0000")
            before = len(app.answers)
            tap(ids.sign_in)
            await answered(before)
            result["wrong_pin_words"] = app.message
            if screens_run:
                await audited("signin")
            ids.pin.text = ""
            type_into(ids.pin, ROSTER_PIN)
            before = len(app.answers)
            tap(ids.sign_in)
            await answered(before)
            await until(lambda: app.signed_in and app.root.ids.screens.current == "help", "signed in")
            result["signed_in_as"] = app.helper
            await frame()

        async def screens(kiosk: Any) -> None:
            """Every screen a greeter meets, with a list as a busy morning has it: an escalated request on top, one
            held by another helper, a kiosk out of paper and a notice slip that did not come out."""
            first = await kiosk.request({"op": "issue", "service": "医保", "group": "accompany",
                                         "birth_date": "19500301"})
            first_help = first["result"]["help_id"]
            result["first_help"] = first_help
            await until(lambda: hall.server.core.state.helps[first_help].escalated, "the first request escalated")
            await kiosk.request({"op": "issue", "service": "人社", "group": "wheelchair_push",
                                 "birth_date": "19380505"})  # the first request is escalated by now
            await kiosk.request({"op": "issue", "service": "公安", "group": "guide"})
            other = GreeterNode(await hall.signed_in("greeter-2", "李强", subscribe=False), "greeter-2")
            last = await kiosk.request({"op": "issue", "service": "不动产", "group": "delegate"})
            await other.claim(last["result"]["help_id"])
            await node.open_consultation("张秀英", "异地就医备案要带什么？", service="医保")
            # kiosk-2 runs out of paper: its agent reports the printer as a device fault, and a slip fails there
            kiosk2 = await hall.started("kiosk-2", subscribe=False)
            assert (await kiosk2.send(DeviceStatus(device="printer", ok=False, problem=PAPER_OUT)))["ok"]
            assert (await node.issue_notice("医保", ["户口簿"]))["ok"]
            job = next(j.id for j in hall.server.core.state.print_jobs.values() if j.status == "pending")
            assert (await kiosk2.send(PrintResult(job=job, ok=False, problem=PAPER_OUT)))["ok"]
            app.settle_seconds = 0.2  # the screens are shown as they settle; `steady` tests the hold
            await until(lambda: len(app.help_rows) == 4 and app.help_rows[0]["mark"] and len(app.alerts) == 2,
                        "four requests, one escalated, two alerts")
            app.settle_seconds = app.SETTLE_SECONDS
            await frame()
            result["alerts"] = [a.words for a in app.alerts]
            result["help_rows"] = [dict(r) for r in app.help_rows]
            result["row_heights"] = [r.height for r in screen().ids.helps.children]
            tap(help_row(first_help).ids.detail)
            await frame()
            await audited("help")
            await cases_and_duties(kiosk)
            result["heights"] = {}
            for tab in ("walkin", "consult", "notice", "deleg", "mine", "phone", "home", "visits", "duty"):
                ids = await open_tab(tab)
                if tab == "notice":
                    tap(toggle(ids.services, "医保"))
                    await frame()
                    tap(toggle(ids["items"], "户口簿"))
                    await frame()
                if tab == "walkin":
                    tap(toggle(ids.services, "医保"))
                    await frame()
                if tab == "mine":
                    await until(lambda: any(r["kind"] == "case" for r in app.case_rows), "my cases")
                    tap(next(r for r in ids.cases.children if r.kind == "case").ids.pick)
                    await frame()
                    # a hall without [county]: no 转办 anywhere (no tab, no button)
                    inbox_tab = app.root.ids.tab_inbox
                    result["no_county"] = {"case_buttons": [b.text for b in ids.case_buttons.children],
                                           "inbox_tab_shown": inbox_tab.parent is not None,
                                           "tabs_shown": sum(len(row.children)
                                                             for row in app.root.ids.tabs.children)}
                if tab in ("phone", "home"):
                    await fill_booking(ids, home=tab == "home")
                if tab == "visits":
                    await visits_to_show(ids)
                if tab == "duty":
                    await until(lambda: len(app.duty_rows) >= 3, "the 督办 list")
                    tap(next(r for r in ids.duties.children if r.kind == "complaint").ids.pick)
                    await frame()
                    result["duty_rows"] = [dict(r) for r in app.duty_rows]
                buttons = [w for w in screen().walk() if hasattr(w, "state") and hasattr(w, "on_release")]
                result["heights"][tab] = min(b.height for b in buttons)
                await audited(tab)
            result["case_rows"] = [dict(r) for r in app.case_rows]
            # a cancel's reason is for that visitor only: the form is empty for the next one
            await open_tab("help")
            tap(help_row(first_help).ids.detail)
            await frame()
            type_into(screen().ids.reason, "家属陪同，不需要帮办")
            before = len(app.answers)
            tap(screen().ids.cancel)
            cancelled = await answered(before)
            result["cancel_ok"] = bool(cancelled.get("ok"))
            result["reason_after_cancel"] = screen().ids.reason.text

        async def fill_booking(ids: Any, *, home: bool) -> Any:
            """The booking form as a helper fills it for a caller: an item found by typing, the first day offered,
            the first time with places, the caller's name and mobile (and for 上门办 the address and needs)."""
            item = HOME if home else MARRIAGE
            type_into(ids.query, "低保" if home else "结婚")
            await until(lambda: any(b.value == item for b in ids["items"].children), "the item found")
            await frame()
            await reveal(toggle(ids["items"], item))
            tap(toggle(ids["items"], item))
            await until(lambda: bool(ids.days.children), "the days")
            await frame()
            day = app.booking.days[1][0]
            await reveal(toggle(ids.days, day))
            tap(toggle(ids.days, day))
            await until(lambda: bool(ids.times.children), "the times")
            await frame()
            start = next(iso for iso, _words, left in app.booking.slots if left > 0)
            await reveal(toggle(ids.times, start))
            tap(toggle(ids.times, start))
            await frame()
            await until(lambda: app.booking.start == start, "the time picked")
            type_into(ids.name, "孙玉兰" if home else "张秀英")
            type_into(ids.phone, "13912345678" if home else "13812345678")
            if home:
                type_into(ids.address, "平安县城关镇建设路12号")
                await reveal(toggle(ids.needs, "轮椅"))
                tap(toggle(ids.needs, "轮椅"))
            await frame()
            return day

        async def through_booking(ids: Any, *, home: bool) -> dict[str, Any]:
            """From the filled form: 占位 → the read-back → 确认 → the code (→ for 上门办, two helpers sent)."""
            day = await fill_booking(ids, home=home)
            await reveal(ids.review)
            before = len(app.answers)
            tap(ids.review)
            held = await answered(before)
            await until(lambda: app.booking.step == "readback", "the read-back")
            await frame()
            got: dict[str, Any] = {"held": held["ok"], "readback": ids.readback.text, "day": day}
            if home:
                shot_to_docs("home-visit-readback")
            await reveal(ids.confirm)
            before = len(app.answers)
            tap(ids.confirm)
            confirmed = await answered(before)
            await until(lambda: app.booking.step == "done", "the code")
            await frame()
            got.update(confirmed=confirmed["ok"], code=ids.code.text, form_left=[ids.name.text, ids.phone.text])
            if home:
                got["two_needed"] = ids.two_needed.text
                await until(lambda: bool(ids.helpers.children), "the helpers")
                await frame()
                tap(toggle(ids.helpers, "王芳"))
                tap(toggle(ids.travel, "20"))
                await frame()
                shot_to_docs("home-visit")
                await reveal(ids.assign)
                before = len(app.answers)
                tap(ids.assign)
                one = await answered(before)
                got["one_helper"] = [one["ok"], app.message]
                await reveal(ids.helpers)
                tap(toggle(ids.helpers, "李强"))
                await reveal(ids.assign)
                before = len(app.answers)
                tap(ids.assign)
                got["assigned"] = (await answered(before))["ok"]
                await frame()
            else:
                shot_to_docs("phone-booking")
            return got

        def shot_to_docs(name: str) -> None:
            """The picture a person looks at in docs/screens (only from the 1280×800 run of the cases scenario)."""
            docs = ROOT / "docs" / "screens"
            docs.mkdir(parents=True, exist_ok=True)
            app.root.export_to_png(str(docs / f"greeter-{name}.png"))
            shot(name)

        async def visits_to_show(ids: Any) -> None:
            """我的上门 with a visit on it (booked, sent to 王芳) and one act waiting in the outbox."""
            if not app.visit_rows:
                day, _code = await booked_visit()
                app.visit_day = day
                app.refresh()
                await until(lambda: bool(app.visit_rows), "my visits")
                await frame()

        async def booked_visit() -> tuple[Any, str]:
            from datetime import date as date_

            day = date_.fromisoformat(node.booking_days(HOME, group="home_visit")[1].isoformat())
            start = node.open_slots(HOME, day, group="home_visit")[-1].start
            held = await node.hold_home_visit(HOME, start, "孙玉兰", "13912345670", "平安县东关村3组12号")
            code = held["result"]["code"]
            assert (await node.confirm_booking(code))["ok"]
            await until(lambda: code in node.state.bookings, "the visit mirrored")
            assert (await node.assign_home_visit(code, ["王芳"], 30))["ok"]
            await until(lambda: node.state.bookings[code].helpers == ["王芳"], "the visit assigned")
            return day, code

        async def cases_and_duties(kiosk: Any) -> None:
            """What 我的事项 and 督办 hold on a working day: a delegation accepted as a 即办件 (due today), one
            signed and not yet accepted, a complaint from 12345 and a bad rating at window 5."""
            page = PageShot("f" * 64, "delegations/screens-1.jpg", tmp / "none.jpg")
            did = (await node.record_delegation("孙玉兰", ["企业开办"], [page]))["result"]["delegation_id"]
            assert (await node.accept_delegation(did, "XK-379901-SCJ-002"))["ok"]
            assert (await node.record_delegation("周桂英", ["不动产"], [page]))["ok"]
            assert (await node.register_complaint("hotline", "window", "5", "窗口午休时没人，等了四十分钟",
                                                  complainant="赵大海"))["ok"]
            counter = await hall.started("counter-5", subscribe=False)
            await kiosk.request({"op": "issue", "service": "企业开办"})
            for op in ("open_counter", "call_next", "start"):
                await counter.request({"op": op, "counter": 5})
            at_window = hall.server.core.state.counters[5].current
            fin = await counter.request({"op": "finish", "counter": 5, "ticket": at_window})
            await counter.request({"op": "rate", "ticket": fin["result"]["ticket"], "level": 2,
                                   "comment": "材料要求说了两次才说全"})

        async def reveal(widget: Any) -> None:
            """Scrolled into view as a finger would, before it is tapped (a long form on a 800-high tablet)."""
            from kivy.uix.scrollview import ScrollView

            w = widget.parent
            while w is not None and not isinstance(w, ScrollView):
                w = w.parent
            if w is not None:
                w.scroll_to(widget, animate=False)
                await frame()

        def button(box: Any, words: str) -> Any:
            return next(b for b in box.children if b.text == words)

        async def steady(kiosk: Any) -> None:
            """The list does not move under a finger. The greeter's finger is over E-something's 认领 when a request
            that goes above it (escalated) arrives: the tap must claim the row that was under the finger."""
            await open_tab("help")
            app.settle_seconds = 0.2
            await until(lambda: not app.held, "a settled list")
            app.settle_seconds = 60.0  # "the greeter is touching the tablet" for the whole check, however slow
            await frame()  # laid out in its settled order
            open_rows = [r for r in app.help_rows if r["can_claim"]]
            target = open_rows[-1]
            tap(app.root.ids.message)  # the greeter is using the tablet now
            aim = help_row(target["help_id"]).ids.claim
            x, y = aim.to_window(*aim.center)
            before_order = shown_order()
            new = await kiosk.request({"op": "issue", "service": "税务", "group": "accompany"})
            new_help = new["result"]["help_id"]
            await until(lambda: any(r["help_id"] == new_help and r["mark"] for r in app._fresh),
                        "the new request escalated on the tablet", timeout=15)
            await frame()
            result["held"] = app.held
            result["order_while_held"] = shown_order()
            result["order_before"] = before_order
            shot("held")
            await audited("held")
            result["bar_text"] = screen().ids.new_bar.text
            before = len(app.answers)
            finger = UnitTestTouch(x, y)  # where the finger was aimed before the request came
            finger.touch_down()
            finger.touch_up()
            claimed = await answered(before)
            st = hall.server.core.state
            result["steady"] = {"target": target["number"], "claim_ok": bool(claimed.get("ok")),
                                "target_helper": st.helps[target["help_id"]].helper,
                                "new_helper": st.helps[new_help].helper, "new": new["result"]["number"]}
            tap(screen().ids.new_bar)
            await until(lambda: not app.held, "the bar tapped")
            await frame()
            result["order_after_bar"] = shown_order()
            # left alone, the list takes its new order by itself
            tap(app.root.ids.message)
            app.settle_seconds = 0.4
            late = await kiosk.request({"op": "issue", "service": "公安", "group": "guide"})
            late_number = late["result"]["number"]
            await until(lambda: late_number in shown_order(), "the idle list taking the new request")
            result["idle_order"] = shown_order()
            app.settle_seconds = app.SETTLE_SECONDS
            await forms_cleared()

        async def forms_cleared() -> None:
            """Every form is empty after it did its job: the tablet goes from visitor to visitor."""
            cleared: dict[str, Any] = {}
            ids = await open_tab("walkin")
            tap(toggle(ids.services, "医保"))
            type_into(ids.birth, "19500301")
            before = len(app.answers)
            tap(ids.issue)
            cleared["walkin_ok"] = bool((await answered(before)).get("ok"))
            cleared["birth"] = ids.birth.text
            ids = await open_tab("notice")
            tap(toggle(ids.services, "医保"))
            await frame()
            tap(toggle(ids["items"], "户口簿"))
            await frame()
            before = len(app.answers)
            tap(ids.issue)
            cleared["notice_ok"] = bool((await answered(before)).get("ok"))
            cleared["items_chosen"] = [m for m, on in app.notice_items if on]
            ids = await open_tab("mine")
            consult = next(c for c in ids.cases.children if c.kind == "consultation")
            tap(consult.ids.pick)
            await frame()
            type_into(ids.words, "已当面答复：带医保卡和备案表")
            before = len(app.answers)
            tap(button(ids.case_buttons, "答复"))
            cleared["answer_ok"] = bool((await answered(before)).get("ok"))
            cleared["words"] = ids.words.text
            result["cleared"] = cleared

        async def away_and_back() -> None:
            """The hall server stops and starts again on the same ports and ledger: the tablet says 离线 in
            words (and its commands wait), then 在线 again, and pushes reach it once more."""
            await open_tab("help")
            await stop_server()
            await until(lambda: not app.online, "offline shown", timeout=15)
            await frame()
            status = app.root.ids.status
            result["away"] = {"status": status.text, "sign_out_disabled": app.root.ids.sign_out.disabled}
            await audited("offline")
            await start_server()
            await until(lambda: app.online, "online again", timeout=20)
            kiosk = await hall.started("kiosk-1", subscribe=False)
            back = await kiosk.request({"op": "issue", "service": "人社", "group": "guide"})
            app.settle_seconds = 0.2
            await until(lambda: back["result"]["number"] in shown_order(), "a request after the return", timeout=15)
            await frame()
            result["back"] = {"status": status.text, "number": back["result"]["number"]}
            shot("back")

        async def claim_race(kiosk: Any) -> None:
            other_client = await hall.signed_in("greeter-2", "李强", config=cfg)
            other = GreeterNode(other_client, "greeter-2")
            rounds = []
            for n in range(4):
                issued = await kiosk.request({"op": "issue", "service": "医保", "group": "guide"})
                hid = issued["result"]["help_id"]
                await until(lambda hid=hid: (r := help_row(hid)) is not None and not r.ids.claim.disabled,
                            "a claimable row")
                before = len(app.answers)
                if n % 2:  # the other tablet's claim leaves first, then the tap
                    theirs = asyncio.get_running_loop().create_task(other.claim(hid))
                    tap(help_row(hid).ids.claim)
                else:
                    tap(help_row(hid).ids.claim)
                    theirs = asyncio.get_running_loop().create_task(other.claim(hid))
                mine = await answered(before)
                their = await theirs
                holder = hall.server.core.state.helps[hid].helper
                await until(lambda hid=hid, holder=holder: other_client.state.helps[hid].helper == holder,
                            "the other mirror")
                await until(lambda hid=hid: help_row(hid) is not None and (help_row(hid).note or "我的" in
                                                                           help_row(hid).ids.claim.text),
                            "the row redrawn")
                row = help_row(hid)
                rounds.append({"help_id": hid, "tablet_ok": bool(mine.get("ok")), "other_ok": bool(their.get("ok")),
                               "holder": holder, "claims_in_ledger": sum(
                                   1 for e in hall.server.core.ledger.events()
                                   if e["type"] == "help_claimed" and e["data"]["help_id"] == hid),
                               "tablet_row": [row.note, row.status_text, row.ids.claim.text],
                               "tablet_message": app.message,
                               "finish_disabled": screen().ids.finish.disabled,
                               "other_words": refusal_words(their, None, hid),
                               "other_sees": next(i.helper for i in help_list(other_client.state, time.time())
                                                  if i.help_id == hid)})
                if not mine.get("ok") and "lost" not in result:
                    shot("lost")
                    result["lost"] = True
            # a claim on the other tablet shows on this one by push, without a tap
            issued = await kiosk.request({"op": "issue", "service": "公安", "group": "accompany"})
            hid = issued["result"]["help_id"]
            await until(lambda: help_row(hid) is not None, "the new row")
            started = time.monotonic()
            await other.claim(hid)
            await until(lambda: help_row(hid) is not None and help_row(hid).status_text == "李强 处理中",
                        "the other's claim on this tablet", timeout=3)
            result["push_seconds"] = time.monotonic() - started
            result["pushed_row"] = [help_row(hid).status_text, help_row(hid).ids.claim.text,
                                    help_row(hid).ids.claim.disabled]
            result["rounds"] = rounds
            result["snapshots_asked"] = client.resyncs
            shot("claimed")

        async def consultation() -> None:
            ids = await open_tab("consult")
            type_into(ids.name, "张秀英")
            type_into(ids.contact, "13812345678")
            type_into(ids.question, "异地就医备案要带什么材料？")
            tap(toggle(ids.services, "医保"))
            await frame()
            shot("form")
            before = len(app.answers)
            tap(ids.submit)
            answer = await answered(before)
            result["answer"] = answer
            result["form_result"] = app.consult_result
            ids = await open_tab("mine")
            await until(lambda: bool(app.case_rows), "my cases")
            await frame()
            shot("mine")
            cid = answer["result"]["consultation_id"]
            q = hall.server.core.state.consultations[cid]
            from hall_bus.nodes.greeter import due_words

            result.update(consultation_id=cid, due_words=due_words(q.due_ts, cfg.hall.tz), server_helper=q.helper,
                          server_name=q.name, case_rows=[dict(r) for r in app.case_rows], texts=texts())

        async def delegation() -> None:
            import cv2

            from devices.camera.simulator import document_photo

            photos = []
            for seed in (11, 12):
                photo, _ = document_photo(1632, 1224, seed=seed)
                photos.append(tmp / f"desk-{seed}.png")
                cv2.imwrite(str(photos[-1]), photo)
            ids = await open_tab("deleg")
            type_into(ids.principal, "孙玉兰")
            tap(toggle(ids.services, "不动产"))
            for n, photo in enumerate(photos, 1):
                node.camera = Camera(str(photo))
                tap(ids.take)
                await until(lambda n=n: len(app.deleg_pages) == n and not app.busy, f"page {n}")
                await frame()
            result["thumbnails"] = len(ids.thumbs.children)
            result["page_files"] = [Path(p).name for p in app.deleg_pages]
            shot("pages")
            before = len(app.answers)
            tap(ids.sign)
            answer = await answered(before)
            shot("signed")
            did = answer["result"]["delegation_id"]
            signed = next(e for e in hall.server.core.ledger.events() if e["type"] == "delegation_signed")
            stored = [hashlib.sha256((node.data_dir / p["file"]).read_bytes()).hexdigest()
                      for p in signed["data"]["pages"]]
            result.update(delegation_id=did, ledger_id=signed["data"]["delegation_id"],
                          ledger_pages=signed["data"]["pages"], stored_hashes=stored,
                          principal=signed["data"]["principal"], services=signed["data"]["services"],
                          form_result=app.deleg_result, case_rows=[dict(r) for r in app.case_rows])

        async def cases() -> None:
            """Tapped as a helper and supervisor do: a delegation accepted as a case from 我的事项 (item picked,
            受理为办件), started, 补正 asked and resumed, delayed with a reason; a complaint registered on 督办 and
            assigned; a 上门办 booked from its form."""
            page = PageShot("f" * 64, "delegations/cases-1.jpg", tmp / "none.jpg")
            did = (await node.record_delegation("孙玉兰", ["不动产"], [page]))["result"]["delegation_id"]
            ids = await open_tab("mine")
            await until(lambda: any(r["case_id"] == did for r in app.case_rows), "the delegation")
            tap(next(r for r in ids.cases.children if r.case_id == did).ids.pick)
            await until(lambda: bool(ids.deleg_items.children), "the items it can be accepted as")
            await frame()  # laid out where the finger goes
            tap(toggle(ids.deleg_items, "QR-379901-BDC-001"))
            await until(lambda: app.case_item == "QR-379901-BDC-001", "the item picked")
            before = len(app.answers)
            tap(button(ids.case_buttons, "受理为办件"))
            accepted = await answered(before)
            case_no = accepted["result"]["case"]
            result["accepted"] = {"ok": accepted["ok"], "message": app.message, "case": case_no}
            await until(lambda: any(r["case_id"] == case_no for r in app.case_rows), "the case in my cases")
            tap(next(r for r in ids.cases.children if r.case_id == case_no).ids.pick)
            await frame()
            steps = {}
            for action, words, days in (("开始办理", "", ""), ("要求补正", "购房合同原件、完税证明", ""),
                                        ("材料已补齐", "", ""), ("延期", "需补充测绘", "2")):
                await until(lambda action=action: not button(ids.case_buttons, action).disabled, action)
                if words:
                    type_into(ids.words, words)
                if days:
                    type_into(ids.days, days)
                before = len(app.answers)
                tap(button(ids.case_buttons, action))
                steps[action] = [bool((await answered(before)).get("ok")), app.message]
            shot("case")
            k = hall.server.core.state.cases[case_no]
            asked = next(e for e in hall.server.core.ledger.events() if e["type"] == "case_supplement_requested")
            result["case"] = {"steps": steps, "status": k.status, "delays": k.delays,
                              "missing": asked["data"]["missing"], "owner": k.owner,
                              "words_left": ids.words.text, "days_left": ids.days.text,
                              "row": next(dict(r) for r in app.case_rows if r["case_id"] == case_no)}
            ids = await open_tab("duty")
            tap(toggle(ids.channel, "mailbox"))
            tap(toggle(ids.subject_kind, "service"))
            type_into(ids.subject, "不动产")
            type_into(ids.complainant, "赵大海")
            type_into(ids.text, "过户要跑三趟")
            await reveal(ids.register)
            before = len(app.answers)
            tap(ids.register)
            registered = await answered(before)
            cid = registered["result"]["complaint_id"]
            await until(lambda: any(r["ref"] == cid for r in app.duty_rows), "the complaint on the list")
            tap(next(r for r in ids.duties.children if r.ref == cid).ids.pick)
            await reveal(ids.owner)
            type_into(ids.owner, "李强")
            await reveal(ids.duty_buttons)
            before = len(app.answers)
            tap(button(ids.duty_buttons, "分派给上面的工号"))
            assigned = await answered(before)
            shot("duty")
            q = hall.server.core.state.complaints[cid]
            result["complaint"] = {"ok": [registered["ok"], assigned["ok"]], "channel": q.channel,
                                   "subject": [q.subject_kind, q.subject], "owner": q.owner,
                                   "form_left": [ids.subject.text, ids.complainant.text, ids.text.text],
                                   "row": next(dict(r) for r in app.duty_rows if r["ref"] == cid)}
            ids = await open_tab("phone")
            result["phone"] = await through_booking(ids, home=False)
            code = result["phone"]["code"]
            b = hall.server.core.state.bookings[code]
            result["phone"].update(channel=b.channel, by=b.by, name=b.name, status=b.status, group=b.group)
            tap(ids.again)
            await frame()
            ids = await open_tab("home")
            result["home"] = await through_booking(ids, home=True)
            code = result["home"]["code"]
            b = hall.server.core.state.bookings[code]
            result["home"].update(helpers=b.helpers, travel=b.travel_minutes, address=b.address, needs=b.needs,
                                  by=b.by, channel=b.channel)
            # 我的上门 that day: 到达 and 办结 with a rating, the hall server away meanwhile
            from datetime import date as date_

            app.visit_day = date_.fromisoformat(result["home"]["day"])
            app.refresh()
            ids = await open_tab("visits")
            await until(lambda: any(r["code"] == code for r in app.visit_rows), "the visit on 我的上门")
            await frame()
            await stop_server()
            await until(lambda: not app.online, "offline")
            row = next(r for r in ids.visit_list.children if r.code == code)
            before = len(app.answers)
            tap(row.ids.arrive)
            await answered(before)
            await until(lambda: app.outbox_count == 1, "the arrival recorded")
            await frame()
            tap(row.ids.finish)
            await frame()
            assert toggle(ids.outcomes, "done").state == "down"  # 已办结 offered first; another is one tap
            type_into(ids.note, "材料已收齐")
            await reveal(ids.faces)
            tap(next(b for b in ids.faces.children if b.level == 5))
            await until(lambda: app.rating == 5, "the rating picked")
            await frame()
            shot_to_docs("my-visits-finishing")
            await reveal(ids.finish)
            before = len(app.answers)
            tap(ids.finish)
            finished = await answered(before)
            await until(lambda: app.outbox_count == 2, "the finish recorded")
            await frame()
            shot_to_docs("my-visits")
            result["visits"] = {"finished": finished["ok"], "count_words": ids.outbox_count.text,
                                "row": next(dict(r) for r in app.visit_rows if r["code"] == code),
                                "outbox": [list(x) for x in app.outbox_rows]}
            await start_server()
            await until(lambda: app.online, "online again", timeout=20)
            await until(lambda: app.outbox_count == 0, "the outbox sent", timeout=20)
            b = hall.server.core.state.bookings[code]
            kinds = [e["type"] for e in hall.server.core.ledger.events() if e["data"].get("code") == code]
            result["visits"].update(status=b.status, rating=b.rating, note=b.note, kinds=kinds,
                                    after=ids.outbox_count.text)
            result["texts"] = texts()

        async def handover() -> None:
            """转办 at a village station, tapped as its 代办员 does: three cases arrive from other sites as the county
            link brings them (one already past the time to accept it); one is accepted, one sent back with a
            reason; a case of the station's own is handed on to the town from 我的事项. Every screen of it is
            measured in every mode."""
            from datetime import datetime, timedelta

            from hall_bus.domain.commands import parse_command
            from tests.handover_helpers import arriving

            now = datetime.now(cfg.hall.tz).replace(microsecond=0)
            day = now.strftime("%Y%m%d")
            town, other, later = f"PAT01-{day}-0007", f"PAT01V02-{day}-0003", f"PAT01-{day}-0009"
            for number, site, by, reason in ((town, "PAT01", now + timedelta(hours=6), "请村里入户核查后出件"),
                                             (other, "PAT01V02", now - timedelta(hours=1), "申请人户籍在东关村"),
                                             (later, "PAT01", now + timedelta(hours=8), "请村里入户核查后出件")):
                answer = await hall.server.submit_own(parse_command(arriving(number, site, by, reason=reason,
                                                                             applicant="张秀英")))
                assert answer is not None and answer["ok"], answer
            ids = await open_tab("inbox")
            await until(lambda: len(app.inbox_rows) == 3 and app.inbox_rows[0]["late"], "three in the inbox, "
                        "the late one first")
            await frame()
            result["inbox_rows"] = [dict(r) for r in app.inbox_rows]
            result["inbox_tab"] = app.root.ids.tab_inbox.text

            def inbox_row(number: str) -> Any:
                return next(r for r in ids.arrivals.children if r.case_id == number)

            tap(inbox_row(other).ids.pick)
            await until(lambda: app.selected_inbox.get("case_id") == other, "the late one picked")
            tap(toggle(ids.decline_reasons, "不属于本级办理事项"))
            await frame()
            result["inbox_detail"] = ids.detail.text
            await audited("inbox")
            # accepted: it is this person's case here from now on
            tap(inbox_row(town).ids.pick)
            await until(lambda: app.selected_inbox.get("case_id") == town, "the town's case picked")
            result["decline_pick_after_switch"] = app.decline_pick  # a reason for one case never goes with another
            before = len(app.answers)
            tap(ids.accept)
            accepted = await answered(before)
            ledger = hall.server.core.ledger
            took = next(e["data"] for e in ledger.events() if e["type"] == "handover_accepted")
            result["accepted"] = {"ok": accepted["ok"], "message": app.message, "handler": took["handler"],
                                  "by": took["by"], "case": took["case"],
                                  "inbox": [r["case_id"] for r in app.inbox_rows]}
            # sent back: not without a reason; with one, tapped and written
            tap(inbox_row(other).ids.pick)
            await until(lambda: app.selected_inbox.get("case_id") == other, "the late one picked again")
            before = len(app.answers)
            tap(ids.decline)
            await frame()
            result["decline_without_reason"] = {"message": app.message, "sent": len(app.answers) > before}
            tap(toggle(ids.decline_reasons, "不属于本级办理事项"))
            type_into(ids.decline_words, "请转河口镇")
            await reveal(ids.decline)
            before = len(app.answers)
            tap(ids.decline)
            declined = await answered(before)
            back = next(e["data"] for e in ledger.events() if e["type"] == "handover_declined")
            result["declined"] = {"ok": declined["ok"], "message": app.message, "reason": back["reason"],
                                  "by": back["by"], "to_site": back["to_site"], "words_left": ids.decline_words.text,
                                  "pick_left": app.decline_pick, "inbox": [r["case_id"] for r in app.inbox_rows]}
            shot("inbox-after")
            # a case of the station's own, handed on to the town from 我的事项
            page = PageShot("f" * 64, "delegations/handover-1.jpg", tmp / "none.jpg")
            did = (await node.record_delegation("孙玉兰", ["不动产"], [page]))["result"]["delegation_id"]
            own = (await node.accept_delegation(did, "QR-379901-BDC-001"))["result"]["case"]
            assert (await node.start_case(own))["ok"]
            ids = await open_tab("mine")
            await until(lambda: any(r["case_id"] == own for r in app.case_rows), "the station's own case")
            tap(next(r for r in ids.cases.children if r.case_id == own).ids.pick)
            await until(lambda: any(b.text.startswith("转办") and not b.disabled for b in ids.case_buttons.children),
                        "the 转办 button")
            await frame()
            await audited("mine")
            tap(button(ids.case_buttons, "转办（转给上级站点）"))
            await until(lambda: app.handover_open and ids.handover_sites.parent is not None, "the 转办 form")
            await frame()
            result["form"] = {"sites": [b.text for b in reversed(ids.handover_sites.children)],
                              "reasons": [b.text for b in reversed(ids.handover_reasons.children)],
                              "buttons_hidden": ids.case_buttons.parent is None}
            before = len(app.answers)
            tap(ids.handover_confirm)
            await frame()
            result["handover_without_site"] = {"message": app.message, "sent": len(app.answers) > before}
            tap(toggle(ids.handover_sites, "PAT01"))
            await frame()
            tap(ids.handover_confirm)
            await frame()
            result["handover_without_reason"] = {"message": app.message, "sent": len(app.answers) > before}
            tap(toggle(ids.handover_reasons, "需镇级审核"))
            type_into(ids.handover_words, "申请人常住镇上")
            await frame()
            await audited("handover")
            await reveal(ids.handover_confirm)
            tap(ids.handover_confirm)
            handed = await answered(before)
            await until(lambda: not app.handover_open, "the form closed")
            sent = next(e["data"] for e in ledger.events() if e["type"] == "case_handed_over")
            await until(lambda: any(r["case_id"] == own and "已转办" in r["what"] for r in app.case_rows),
                        "the row saying where the case is")
            await frame()
            shot("mine-after")
            result["handed"] = {"ok": handed["ok"], "message": app.message, "case": sent["case"], "own": own,
                                "to_site": sent["to_site"], "reason": sent["reason"], "by": sent["by"],
                                "words_left": ids.handover_words.text, "site_left": app.handover_site,
                                "pick_left": app.handover_pick, "buttons_back": ids.case_buttons.parent is not None,
                                "row": next(dict(r) for r in app.case_rows if r["case_id"] == own),
                                "accepted_row": next(dict(r) for r in app.case_rows if r["case_id"] == town)}
            result["texts"] = texts()

        async def notice() -> None:
            ids = await open_tab("notice")
            tap(toggle(ids.services, "医保"))
            await frame()
            tap(toggle(ids["items"], "户口簿"))
            await frame()
            tap(toggle(ids["items"], "异地就医备案表"))
            type_into(ids.free, "村委会出具的居住证明")
            tap(ids.add)
            await frame()
            before = len(app.answers)
            tap(ids.issue)
            answer = await answered(before)
            shot("issued")
            ev = next(e for e in hall.server.core.ledger.events() if e["type"] == "notice_issued")
            result.update(answer=answer, shown=ids.result.text, ledger_text=ev["data"]["text"],
                          notice_id=ev["data"]["notice_id"], print_at=ev["data"]["print_at"],
                          items=ev["data"]["items"], free_items=ev["data"]["free_items"], texts=texts())

        driver = asyncio.get_running_loop().create_task(drive())
        await app.async_run(async_lib="asyncio")
        await driver
    return result


if __name__ == "__main__":
    name, out_dir = sys.argv[1], Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    res = asyncio.run(main(name, out_dir))
    (out_dir / f"greeter-{name}.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
