"""Runs the citizen kiosk headless against a real hall server and a simulated printer, taps through one
scenario with real touch events, and writes what happened (and screenshots) for the test to check.

One scenario per process: Kivy's window is a process-wide singleton, so each GUI test gets a fresh one. The
layout_portrait / layout_landscape scenarios walk every screen in every mode at one kiosk size in one window,
switching modes with the on-screen toggles, and audit each screen from its rendered pixels (tests/gui/measure.py).
Usage: python -m tests.gui.kiosk_driver SCENARIO OUT_DIR
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
LAYOUT_SIZES = {"layout_portrait": (1080, 1920), "layout_landscape": (1920, 1080)}
# The wall kiosk starts in large text (as kiosk-2 of the example hall): every visitor gets it back after 完成.
LAYOUT_START = {"layout_portrait": (False, False), "layout_landscape": (True, False)}
MODES = {"normal": (False, False), "large": (True, False), "contrast": (False, True), "large_contrast": (True, True)}


async def main(scenario: str, out: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-gui-"))
    size = LAYOUT_SIZES.get(scenario, (540, 960))
    font = prepare(home=tmp / "kivy", fullscreen=False, size=size)

    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    from devices.printer.decode import decode
    from devices.printer.simulator import PrinterSimulator
    from devices.registry import open_device
    from hall_bus.config import load_config
    from hall_bus.nodes.kiosk import KioskAgent
    from hall_bus.nodes.kiosk_flow import KioskFlow
    from kiosk.citizen import CitizenKioskApp, watch_camera, watch_card, watch_connection
    from tests.bus_helpers import running_hall

    cfg = load_config(ROOT / "config" / "hall.example.toml")
    psim = PrinterSimulator()
    psim.start_pty()
    reader = isim = None
    if scenario == "card":  # 张秀英, born 1952: 陪同办 suggested
        from devices.idcard.reader import IdCardReader
        from devices.idcard.simulator import IdCardSimulator, load_cards
        from devices.link import SerialLink

        isim = IdCardSimulator(load_cards(ROOT / "assets" / "idcard" / "cards.example.json"))
        isim.start()
        isim.insert(0)
        reader = IdCardReader(SerialLink(isim.path), timeout=1.0)
    if scenario == "paper_out":
        psim.set_state(paper_out=True)
    camera = None
    if scenario.startswith("appointment"):  # the camera sees a phone's appointment code (for today, or not)
        from datetime import datetime, timedelta

        import cv2

        from devices.camera.capture import Camera
        from devices.camera.simulator import document_photo
        from hall_bus.nodes.appointment import encode

        when = datetime.now(cfg.hall.tz).replace(second=0, microsecond=0)
        if scenario == "appointment_wrong_day":
            when += timedelta(days=1)
        photo, _ = document_photo(1632, 1224, qr_text=encode("医保", when, ref="YY-7", group="accompany"))
        cv2.imwrite(str(tmp / "appointment.png"), photo)
        camera = Camera(str(tmp / "appointment.png"))
    printer = open_device({"type": "escpos-serial", "port": psim.path, "baudrate": 115200, "profile": "xprinter-80"})
    result: dict[str, Any] = {"scenario": scenario, "shots": [], "font": font}

    async with running_hall(cfg, tmp) as hall:
        if scenario == "offline":  # a kiosk whose server is not there: nothing listens on this port
            from hall_bus.wire.client import HallClient
            from tests.bus_helpers import free_port

            client = HallClient("kiosk-1", f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}",
                                credentials=hall.keys.node_credentials("kiosk-1"), subscribe=False)
            starting = asyncio.get_running_loop().create_task(client.start(timeout=60))
        elif scenario in LAYOUT_SIZES:
            # A full-HD frame drawn by Mesa's software rasteriser, and each audit's read-back of it, hold this loop
            # (which the server shares here) for up to a second: the hall's own 3 s timeout, not the tests' 1 s.
            from hall_bus.wire.client import HallClient

            client = HallClient("kiosk-1", hall.server.command_endpoint, hall.server.event_endpoint,
                                credentials=hall.keys.node_credentials("kiosk-1"), subscribe=False,
                                heartbeat_seconds=cfg.bus.heartbeat_seconds,
                                server_timeout_seconds=cfg.bus.server_timeout_seconds)
            await client.start()
        else:
            client = await hall.started("kiosk-1", subscribe=False)
        agent = KioskAgent(client, cfg, "kiosk-1", printer=printer, reader=reader)
        # the idle scenario shortens the quiet time and the warning (a hall's warning is 20 s: test_kiosk_flow)
        flow = KioskFlow(cfg, idle_seconds=2, countdown_seconds=3) if scenario == "idle" else KioskFlow(cfg)
        async def issue(service: str, group: str, card: Any) -> Any:
            return await agent.serve(service, group, card=card, **flow.issue_facts())

        tasks = [watch_connection(client)] + ([watch_card(agent, cfg.hall.tz, every=0.3)] if reader else []) \
            + ([watch_camera(camera, cfg, every=1.0)] if camera else [])  # the scan screen is seen before it reads
        speaker = None
        if scenario == "three_taps":  # the prompts really spoken (espeak-ng), as WAV files: no sound card here
            from devices.voice.announcer import WavDirSink
            from devices.voice.prompts import PromptSpeaker

            speaker = PromptSpeaker(WavDirSink(tmp / "prompts"), cache_dir=tmp / "prompt-cache")
        start_large, start_contrast = LAYOUT_START.get(scenario, (False, False))
        app = CitizenKioskApp(flow, issue, hall_name=cfg.hall.name, on_start_tasks=tasks, can_scan=camera is not None,
                              speak=speaker.say if speaker else None, large_text=start_large,
                              high_contrast=start_contrast, print_guide=agent.print_guide)

        async def until(pred: Any, timeout: float = 8.0) -> None:
            deadline = time.monotonic() + timeout
            while not pred():
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out in {scenario} at step {app.step} (online {app.online}, "
                                         f"said {app.spoken[-1:]})")
                await asyncio.sleep(0.05)

        async def frame() -> None:
            await asyncio.sleep(0.25)  # a few frames at 60 fps: the screen shows the new state

        def tap(widget: Any) -> None:
            x, y = widget.to_window(*widget.center)
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            touch.touch_up()

        async def press(widget: Any) -> None:
            """A visitor's tap: not in the half second after a screen change, when the kiosk ignores touches, and
            not while the kiosk says it is offline (on a loaded machine its link may drop for a moment; a visitor
            would wait for the screen to come back too). Scenarios about being offline tap with `tap`."""
            await until(lambda: app.accepts_touch() and (app.online or scenario == "offline"))
            tap(widget)

        def shot(name: str) -> None:
            path = out / f"{scenario}-{name}.png"
            app.root.export_to_png(str(path))
            result["shots"].append(path.name)

        def texts() -> list[str]:
            from kivy.uix.label import Label

            return [w.text for w in app.root.current_screen.walk() if isinstance(w, Label) and w.text]

        def screen_ids() -> Any:
            return app.root.current_screen.ids

        def buttons_in(container: Any) -> list[Any]:
            return list(reversed(container.children))

        async def set_mode(large: bool, contrast: bool) -> None:
            """With the toolbar of the screen on show, as a visitor would."""
            for key, want in (("large", large), ("contrast", contrast)):
                if (app.theme.large_text if key == "large" else app.theme.high_contrast) != want:
                    await press(screen_ids()["toolbar"].ids[key])
            await until(lambda: (app.theme.large_text, app.theme.high_contrast) == (large, contrast))
            await frame()

        async def type_yb() -> None:
            """Y then B on the guide's letter keys, as a visitor looking for 医保 would."""
            keys = {b.text: b for b in buttons_in(screen_ids()["letters"])}
            for typed in ("y", "yb"):
                await press(keys[typed[-1].upper()])
                await until(lambda t=typed: flow.guide_query == t)
            await frame()

        async def open_yb_item() -> str:
            """The first 医保 item among the hits: its page."""
            assert cfg.catalogue is not None
            rows = buttons_in(screen_ids()["results"])
            pick = next(r for r in rows if r.entry_kind == "item"
                        and cfg.catalogue.item(r.entry_key).service == "医保")
            await press(pick)
            await until(lambda: app.step == "item")
            await frame()
            return str(pick.entry_key)

        async def layouts() -> None:
            from tests.gui.measure import Rules, audit, grab, save

            audits: dict[str, dict[str, Any]] = {}
            numbers: dict[str, dict[str, Any]] = {}
            back_to: list[list[bool]] = []
            guide_slips: dict[str, str] = {}

            def check(mode: str, screen: str, large: bool, contrast: bool) -> Any:
                rules = Rules(min_text_dp=30 if large else 18, min_target_dp=60 if large else 44, min_target_mm=15,
                              px_per_mm=4.0, min_text_contrast=7 if contrast else 4.5, min_edge_contrast=3)
                t0 = time.perf_counter()
                pixels = grab(app.root)
                t1 = time.perf_counter()
                report = audit(app.root, rules, pixels)
                report.failures += overlapping()
                audits.setdefault(mode, {})[screen] = report.as_dict()
                save(pixels, str(out / f"{scenario}-{mode}-{screen}.png"))
                # seconds the read-back and the audit held the loop: what to look at when the bus timed out
                result.setdefault("audit_seconds", []).append([mode, screen, round(t1 - t0, 2),
                                                               round(time.perf_counter() - t1, 2)])
                return pixels

            def small_copy(pixels: Any, name: str) -> None:
                """A README-sized copy (540 px wide)."""
                import cv2

                h, w = pixels.shape[:2]
                small = cv2.resize(pixels, (540, round(h * 540 / w)), interpolation=cv2.INTER_AREA)
                save(small, str(out / name))
                result["shots"].append(name)

            async def walk_to_help() -> None:
                await press(screen_ids()["start"])
                await until(lambda: app.step == "service")
                await frame()
                await press(next(b for b in buttons_in(screen_ids()["grid"]) if b.text == "医保"))
                await until(lambda: app.step == "help")
                await frame()

            async def to_ticket(group: str) -> None:
                await press(next(b for b in buttons_in(screen_ids()["choices"]) if b.group_code == group))
                await until(lambda: app.step == "ticket", timeout=10)
                await frame()

            for mode, (large, contrast) in MODES.items():
                # First visit: the mode switched on the welcome screen, the ticket printed.
                await set_mode(large, contrast)
                check(mode, "welcome", large, contrast)
                await press(screen_ids()["start"])
                await until(lambda: app.step == "service")
                await frame()
                check(mode, "service", large, contrast)
                await press(next(b for b in buttons_in(screen_ids()["grid"]) if b.text == "医保"))
                await until(lambda: app.step == "help")
                await frame()
                check(mode, "help", large, contrast)
                await to_ticket("accompany")
                await asyncio.sleep(0.1)
                pixels = check(mode, "ticket_printed", large, contrast)
                numbers[f"{mode}-printed"] = number_figures(pixels, app.printed)
                await press(screen_ids()["done"])
                await until(lambda: app.step == "welcome")
                await frame()
                back_to.append([app.theme.large_text, app.theme.high_contrast])
                # Second visit: paper out, the mode switched live on the help screen, the ticket only on screen.
                psim.set_state(paper_out=True)
                await walk_to_help()
                await set_mode(large, contrast)
                pixels = check(mode, "help_switched", large, contrast)
                if scenario == "layout_portrait" and mode in ("normal", "large", "contrast"):
                    small_copy(pixels, f"kiosk-portrait-{mode}.png")
                await to_ticket("normal")
                await until(lambda: app.qr_source != "")
                await asyncio.sleep(0.1)
                pixels = check(mode, "ticket_on_screen", large, contrast)
                numbers[f"{mode}-on_screen"] = {**number_figures(pixels, app.printed), "why": app.printer_why,
                                                "qr": screen_ids()["qr"].height}
                await press(screen_ids()["done"])
                await until(lambda: app.step == "welcome")
                await frame()
                # The guide, paper still out: the list, a search, an item's page and its print that failed, a
                # bundle's page (完成 gave the kiosk's starting mode back: this mode again first).
                await set_mode(large, contrast)
                await press(screen_ids()["guide"])
                await until(lambda: app.step == "guide")
                await frame()
                check(mode, "guide", large, contrast)
                await type_yb()
                check(mode, "guide_search", large, contrast)
                await open_yb_item()
                check(mode, "item", large, contrast)
                await press(screen_ids()["print_guide"])
                await until(lambda: flow.slip == "failed", timeout=10)
                await frame()
                check(mode, "item_not_printed", large, contrast)
                guide_slips[mode] = app.slip_words
                await press(screen_ids()["back"])
                await until(lambda: app.step == "guide")
                await frame()
                await press(screen_ids()["events"])
                await until(lambda: not flow.guide_query)
                await frame()
                await press(buttons_in(screen_ids()["results"])[0])
                await until(lambda: app.step == "bundle")
                await frame()
                check(mode, "bundle", large, contrast)
                for want in ("guide", "welcome"):
                    await press(screen_ids()["back"])
                    await until(lambda w=want: app.step == w)
                    await frame()
                psim.set_state(paper_out=False)
            result.update(guide_slips=guide_slips, audits=audits, numbers=numbers,
                          back_to=back_to, start_mode=[start_large, start_contrast],
                          tickets_issued=app.issues, wide=app.wide)

        def overlapping() -> list[str]:
            """Words drawn over words: a column given less height than its texts need lays them on each other,
            which neither clipping nor contrast shows."""
            from kivy.uix.label import Label

            from tests.gui.measure import _rect, _viewport, _visible, _words

            def shown(w: Any) -> tuple[float, float, float, float]:
                """The part of a label a visitor can see: rows scrolled out of a list are not on screen."""
                box, view = _rect(w), _viewport(w, (int(Window.width), int(Window.height)))
                return max(box[0], view[0]), max(box[1], view[1]), min(box[2], view[2]), min(box[3], view[3])

            boxes = [(w, shown(w)) for w in app.root.current_screen.walk(restrict=True)
                     if isinstance(w, Label) and w.text.strip() and _visible(w)]
            boxes = [(w, r) for w, r in boxes if r[2] - r[0] >= 1 and r[3] - r[1] >= 1]
            found = []
            for i, (a, ra) in enumerate(boxes):
                for b, rb in boxes[i + 1:]:
                    if min(ra[2], rb[2]) - max(ra[0], rb[0]) > 2 and min(ra[3], rb[3]) - max(ra[1], rb[1]) > 2:
                        found.append(f"overlap: {_words(a)} and {_words(b)}")
            return found

        def number_figures(pixels: Any, printed: bool) -> dict[str, Any]:
            """The ticket number as the visitor sees it: its contrast and the height of its glyphs, from pixels."""
            import numpy as np

            from tests.gui.measure import _crop, _rect, text_contrast

            label = screen_ids()["number"]
            region = _crop(pixels, _rect(label))
            want = np.array([v * 255 for v in label.color[:3]])
            rows = np.nonzero((np.abs(region.astype(np.int32) - want).sum(axis=2) < 60).any(axis=1))[0]
            glyph = int(rows[-1] - rows[0] + 1) if len(rows) else 0
            return {"text": label.text, "printed": printed, "contrast": text_contrast(region, tuple(label.color)),
                    "glyph_px": glyph, "glyph_share": glyph / pixels.shape[0]}

        async def settled() -> None:
            """Past the touch guard of the screen now showing, and drawn: had a stray touch chosen anything, the
            screen would have moved on (and the guard started again) by now."""
            await until(app.accepts_touch)
            await frame()

        async def double(widget: Any, ms: int) -> None:
            """A visitor's tap and its unsteady second touch `ms` later, at the same place, on whatever lies there
            by then."""
            await until(app.accepts_touch)
            x, y = widget.to_window(*widget.center)
            for i in range(2):
                if i:
                    await asyncio.sleep(ms / 1000)
                touch = UnitTestTouch(x, y)
                touch.touch_down()
                touch.touch_up()

        async def drive() -> None:
            try:
                await until(lambda: app.root is not None and Window.width > 0)
                await frame()
                if scenario in LAYOUT_SIZES:
                    await layouts()
                    return
                if scenario == "offline":
                    await until(lambda: not app.online)
                    await frame()
                    shot("welcome")
                    await press(screen_ids()["start"])
                    await frame()
                    result.update(step=app.step, texts=texts(), start_disabled=screen_ids()["start"].disabled,
                                  number=app.number)
                    return
                result["missing_glyphs"] = sorted(missing(texts(), font))
                shot("welcome")
                if scenario == "guide":  # 办事指南 → Y B → a 医保 item → print → 为此事项取号 → help → ticket
                    await press(screen_ids()["guide"])
                    await until(lambda: app.step == "guide")
                    await frame()
                    shot("guide")
                    result["missing_glyphs"] = sorted(set(result["missing_glyphs"]) | missing(texts(), font))
                    await type_yb()
                    shot("guide_yb")
                    result["results"] = [[r.entry_kind, r.entry_key, r.text] for r in
                                         buttons_in(screen_ids()["results"])]
                    result["key_height"] = buttons_in(screen_ids()["letters"])[0].height
                    code = await open_yb_item()
                    shot("item")
                    result["missing_glyphs"] = sorted(set(result["missing_glyphs"]) | missing(texts(), font))
                    result.update(item=code, page_title=app.page_title, page_facts=app.page_facts,
                                  page_materials=app.page_materials, item_texts=texts())
                    await press(screen_ids()["print_guide"])
                    await until(lambda: flow.slip in ("printed", "failed"), timeout=10)
                    await frame()
                    shot("item_printed")
                    result.update(slip=flow.slip, slip_words=app.slip_words,
                                  slip_text=decode(psim.job()).text if psim.job() else [])
                    psim.clear()  # what comes out next is the ticket
                    await press(screen_ids()["ticket_for"])
                    await until(lambda: app.step == "help")
                    await frame()
                    shot("help")
                    result["help_service"] = flow.service
                    button = next(b for b in buttons_in(screen_ids()["choices"]) if b.group_code == "normal")
                    await press(button)
                    await until(lambda: app.step == "ticket", timeout=10)
                    await frame()
                    shot("ticket")
                    result.update(number=app.number, printed=app.printed, issued=app.issues,
                                  ticket_info=app.ticket_info, spoken=list(app.spoken))
                    return
                if scenario.startswith("appointment"):  # 我有预约 → the code in view → the ticket: two taps
                    result["appt_button"] = screen_ids()["appt"].height
                    await press(screen_ids()["appt"])
                    await until(lambda: app.step == "scan")
                    await frame()
                    shot("scan")
                    if scenario == "appointment_wrong_day":
                        await until(lambda: app.message != "")
                        await frame()
                        shot("refused")
                        result.update(step=app.step, message=app.message, texts=texts(), number=app.number)
                        result["missing_glyphs"] = sorted(set(result["missing_glyphs"]) | missing(texts(), font))
                        return
                    await until(lambda: app.step == "ticket", timeout=15)
                    await frame()
                    shot("ticket")
                    result.update(number=app.number, printed=app.printed, helper=app.helper_coming,
                                  issued=app.issues, texts=texts(), spoken=list(app.spoken))
                    result["missing_glyphs"] = sorted(set(result["missing_glyphs"]) | missing(texts(), font))
                    return
                if scenario == "card":  # the card on the reader moves the kiosk on, with the group chosen
                    await until(lambda: app.step == "service")
                    result["suggested"] = app.suggested
                elif scenario.startswith("stray_"):  # the start button tapped twice: one screen on, no service
                    await double(screen_ids()["start"], int(scenario[6:]))
                    await settled()
                    result["after_stray_start"] = {"step": app.step, "service": flow.service}
                else:
                    await press(screen_ids()["start"])
                await until(lambda: app.step == "service")
                await frame()
                if scenario == "english":  # the language switch on the service screen
                    await press(screen_ids()["toolbar"].ids["lang"])
                    await frame()
                shot("service")
                result["card_words_shown"] = [t for t in texts() if t == app.card_words and t]
                grid = screen_ids()["grid"]
                result["services"] = [b.text for b in buttons_in(grid)]
                target = next(b for b in buttons_in(grid) if b.text in ("医保", "Medical insurance"))
                result["service_button_height"] = target.height
                if scenario.startswith("stray_"):  # a double tap's second touch, on whatever now lies under it
                    await press(target)
                    await asyncio.sleep(int(scenario[6:]) / 1000)
                    first = buttons_in(screen_ids()["choices"])[0]  # the help screen's first choice, laid out
                    x, y = first.to_window(*first.center)
                    touch = UnitTestTouch(x, y)
                    touch.touch_down()
                    touch.touch_up()
                    await settled()
                    result["after_stray"] = {"step": app.step, "tickets": len(hall.server.core.state.tickets)}
                else:
                    await press(target)
                await until(lambda: app.step == "help")
                await frame()
                result["body_font"] = screen_ids()["choices"].children[0].font_size
                if scenario == "large_text":
                    await press(screen_ids()["toolbar"].ids["large"])
                    await frame()
                    result["large_on"] = app.theme.large_text
                    result["body_font"] = screen_ids()["choices"].children[0].font_size
                choices = buttons_in(screen_ids()["choices"])
                result["choices"] = [app.group_words(b.group_code) for b in choices]
                result["choice_heights"] = [b.height for b in choices]
                result["missing_glyphs"] = sorted(set(result["missing_glyphs"]) | missing(texts(), font))
                shot("help")
                if scenario == "idle":
                    await until(lambda: app.countdown != "", timeout=6)
                    result["countdown"] = first = app.countdown
                    await until(lambda: app.countdown not in ("", first), timeout=3)  # the next second's tick
                    result["warnings_said"] = sum("秒后回到首页" in said for said in app.spoken)
                    more = next(w for w in app.root.current_screen.walk() if getattr(w, "text", "") == "我还需要时间")
                    result["more_time_height"] = more.height
                    result["missing_glyphs"] = sorted(set(result["missing_glyphs"]) | missing(texts(), font))
                    shot("warning")
                    await press(more)
                    pressed = time.monotonic()
                    await until(lambda: time.monotonic() > pressed + 3.2)  # past all the old warning had left
                    result["after_more_time"] = app.step
                    await until(lambda: app.step == "welcome", timeout=8)
                    result["after_idle"] = app.step
                    return
                pick = {"three_taps": "accompany", "large_text": "accompany", "card": app.suggested}.get(scenario,
                                                                                                      "normal")
                button = next(b for b in choices if b.group_code == pick)
                if scenario.startswith("stray_"):
                    await double(button, int(scenario[6:]))
                else:
                    await press(button)
                if scenario == "double_tap":
                    tap(button)
                    tap(button)
                await until(lambda: app.step == "ticket", timeout=10)
                await frame()
                shot("ticket")
                result["spoken"] = list(app.spoken)
                result["ticket_info"] = app.ticket_info
                result.update(number=app.number, printed=app.printed, message=app.message,
                              helper=app.helper_coming, lines=list(app.ticket_lines), qr=bool(app.qr_source),
                              issued=app.issues, texts=texts())
                result["missing_glyphs"] = sorted(set(result["missing_glyphs"]) | missing(texts(), font))
                if scenario.startswith("stray_"):  # 完成 tapped twice: back to welcome, and it stays there
                    await double(screen_ids()["done"], int(scenario[6:]))
                    await settled()
                    result["after_stray_done"] = {"step": app.step, "tickets": len(hall.server.core.state.tickets)}
            except Exception as exc:  # reported to the test, which fails with it
                result["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                stopped.set()
                app.stop()

        stopped = asyncio.Event()
        driver = asyncio.get_running_loop().create_task(drive())
        try:
            await app.async_run(async_lib="asyncio")
        except AttributeError as exc:
            # Kivy's teardown on a busy machine: a label's texture update still queued runs its kv rule
            # (`app.theme…`) after the app has gone, and kv's lookup of the app raises. Only then is it not ours.
            if not stopped.is_set() or "'NoneType' object has no attribute 'bind'" not in str(exc):
                raise
        await driver
        if speaker is not None:
            speaker.close(30)  # speaks what is still waiting (the ticket's words) before it ends
            result["prompt_wavs"] = [(p.text, p.file.stat().st_size if p.file else 0) for p in speaker.spoken]
        if scenario == "offline":
            starting.cancel()
            await client.close()
        elif scenario != "idle":
            result["printed_text"] = decode(psim.job()).text if psim.job() else []
            result["tickets_in_hall"] = len(hall.server.core.state.tickets)
            result["appointments_in_hall"] = sum(1 for t in hall.server.core.state.tickets.values()
                                                 if t.appointment_ts is not None)
    printer.close()
    psim.stop()
    if camera is not None:
        camera.close()
    if isim is not None:
        reader.close()  # type: ignore[union-attr]
        isim.stop()
    return result


def missing(texts: list[str], font: str) -> set[str]:
    """Characters on screen that the kiosk's font has no glyph for: they would be drawn as boxes."""
    from fontTools.ttLib import TTCollection, TTFont

    cmap = (TTCollection(font, lazy=True).fonts[0] if font.endswith(".ttc") else TTFont(font, lazy=True)).getBestCmap()
    import re

    plain = re.sub(r"\[/?[a-z]+(=[^\]]*)?\]", "", "".join(texts))  # markup tags are not drawn
    return {ch for ch in plain if not ch.isspace() and ord(ch) not in cmap}


if __name__ == "__main__":
    name, out_dir = sys.argv[1], Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    res = asyncio.run(main(name, out_dir))
    (out_dir / f"{name}.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
