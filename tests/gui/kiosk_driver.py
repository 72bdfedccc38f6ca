"""Runs the citizen kiosk headless against a real hall server and a simulated printer, taps through one
scenario with real touch events, and writes what happened (and screenshots) for the test to check.

One scenario per process: Kivy's window is a process-wide singleton, so each GUI test gets a fresh one.
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


async def main(scenario: str, out: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-gui-"))
    font = prepare(home=tmp / "kivy", fullscreen=False, size=(540, 960))

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
        app = CitizenKioskApp(flow, issue, hall_name=cfg.hall.name, on_start_tasks=tasks, can_scan=camera is not None,
                              speak=speaker.say if speaker else None)

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
            """A visitor's tap: not in the half second after a screen change, when the kiosk ignores touches."""
            await until(app.accepts_touch)
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

        async def drive() -> None:
            try:
                await until(lambda: app.root is not None and Window.width > 0)
                await frame()
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
                    await asyncio.sleep(0.6)  # past the guard: had the stray tap chosen anything, it is done
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
                await press(button)
                if scenario == "double_tap":
                    tap(button)
                    tap(button)
                await until(lambda: app.step == "ticket", timeout=10)
                await frame()
                await asyncio.sleep(0.5)
                shot("ticket")
                result["spoken"] = list(app.spoken)
                result["ticket_info"] = app.ticket_info
                result.update(number=app.number, printed=app.printed, message=app.message,
                              helper=app.helper_coming, lines=list(app.ticket_lines), qr=bool(app.qr_source),
                              issued=app.issues, texts=texts())
                result["missing_glyphs"] = sorted(set(result["missing_glyphs"]) | missing(texts(), font))
            except Exception as exc:  # reported to the test, which fails with it
                result["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                app.stop()

        driver = asyncio.get_running_loop().create_task(drive())
        await app.async_run(async_lib="asyncio")
        await driver
        if speaker is not None:
            await asyncio.sleep(0.5)
            speaker.close(30)
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
