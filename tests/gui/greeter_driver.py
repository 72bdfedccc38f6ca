"""Runs the greeter tablet headless against a real hall server, taps through one scenario with real touch events,
and writes what happened (and screenshots) for the test to check. A kiosk, a counter and a second tablet are
plain bus clients in the same process.

One scenario per process: Kivy's window is a process-wide singleton, so each GUI test gets a fresh one.
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


async def main(scenario: str, out: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="greeter-gui-"))
    font = prepare(home=tmp / "kivy", fullscreen=False, size=(1280, 800))

    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch
    from kivy.uix.label import Label
    from kivy.uix.textinput import TextInput

    from devices.camera.capture import Camera
    from hall_bus.config import load_config
    from hall_bus.nodes.greeter import GreeterNode, help_list, refusal_words
    from kiosk.greeter import GreeterTabletApp
    from tests.bus_helpers import NODES, ROSTER_PIN, roster_commands, running_hall
    from tests.gui.kiosk_driver import missing

    cfg = load_config(ROOT / "config" / "hall.example.toml")
    if scenario == "screens":  # requests escalate after a second, so the list shows an escalated one on top
        cfg = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"help_escalate_minutes": 0.02})})
    result: dict[str, Any] = {"scenario": scenario, "shots": [], "font": font, "missing_glyphs": []}

    async with running_hall(cfg, tmp, [*NODES, "greeter-2"]) as hall:
        client = hall.client("greeter-1", config=cfg)
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
            path = out / (f"greeter-{name}.png" if scenario == "screens" else f"greeter-{scenario}-{name}.png")
            app.root.export_to_png(str(path))
            result["shots"].append(path.name)

        def screen() -> Any:
            return app.root.ids.screens.current_screen

        async def open_tab(name: str) -> Any:
            tap(app.root.ids[f"tab_{name}"])
            await until(lambda: app.root.ids.screens.current == name, f"tab {name}")
            await frame()
            return screen().ids

        def toggle(box: Any, value: str) -> Any:
            return next(b for b in box.children if getattr(b, "value", None) == value)

        def type_into(widget: Any, text: str) -> None:
            tap(widget)
            widget.insert_text(text)

        def help_row(help_id: str) -> Any:
            rv = screen().ids.helps
            return next((r for r in rv.layout_manager.children if r.help_id == help_id), None)

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
                if scenario == "screens":
                    await screens(kiosk)
                elif scenario == "claim_race":
                    await claim_race(kiosk)
                elif scenario == "consultation":
                    await consultation()
                elif scenario == "delegation":
                    await delegation()
                elif scenario == "notice":
                    await notice()
                result["message"] = app.message
            except Exception as exc:  # reported to the test, which fails with it
                import traceback

                result["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-1500:]}"
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
            if scenario == "screens":
                shot("signin")
            ids.pin.text = ""
            type_into(ids.pin, ROSTER_PIN)
            before = len(app.answers)
            tap(ids.sign_in)
            await answered(before)
            await until(lambda: app.signed_in and app.root.ids.screens.current == "help", "signed in")
            result["signed_in_as"] = app.helper
            await frame()

        async def screens(kiosk: Any) -> None:
            first = await kiosk.request({"op": "issue", "service": "医保", "group": "accompany",
                                         "birth_date": "19500301"})
            first_help = first["result"]["help_id"]
            await until(lambda: hall.server.core.state.helps[first_help].escalated, "the first request escalated")
            await kiosk.request({"op": "issue", "service": "人社", "group": "wheelchair_push",
                                 "birth_date": "19380505"})  # the first request is escalated by now
            await kiosk.request({"op": "issue", "service": "公安", "group": "guide"})
            other = GreeterNode(await hall.signed_in("greeter-2", "李强", subscribe=False), "greeter-2")
            last = await kiosk.request({"op": "issue", "service": "不动产", "group": "delegate"})
            await other.claim(last["result"]["help_id"])
            await node.open_consultation("张秀英", "异地就医备案要带什么？", service="医保")
            await until(lambda: len(app.help_rows) == 4 and app.help_rows[0]["mark"], "four requests, one escalated")
            await frame()
            result["help_rows"] = [dict(r) for r in app.help_rows]
            result["row_heights"] = [r.height for r in screen().ids.helps.layout_manager.children]
            tap(help_row(first["result"]["help_id"]).ids.detail)
            await frame()
            shot("help")
            result["heights"] = {}
            for tab in ("walkin", "consult", "notice", "deleg", "mine"):
                ids = await open_tab(tab)
                if tab == "notice":
                    tap(toggle(ids.services, "医保"))
                    await frame()
                    tap(toggle(ids["items"], "户口簿"))
                    await frame()
                if tab == "walkin":
                    tap(toggle(ids.services, "医保"))
                    await frame()
                buttons = [w for w in screen().walk() if hasattr(w, "state") and hasattr(w, "on_release")]
                result["heights"][tab] = min(b.height for b in buttons)
                shot(tab)
            result["case_rows"] = [dict(r) for r in app.case_rows]
            # a cancel's reason is for that visitor only: the form is empty for the next one
            await open_tab("help")
            tap(help_row(first["result"]["help_id"]).ids.detail)
            await frame()
            type_into(screen().ids.reason, "家属陪同，不需要帮办")
            before = len(app.answers)
            tap(screen().ids.cancel)
            cancelled = await answered(before)
            result["cancel_ok"] = bool(cancelled.get("ok"))
            result["reason_after_cancel"] = screen().ids.reason.text

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
