"""Who did what: the roster in the ledger, signing in on tablets and panels, and the visitor each act names.

All on a real hall server with CURVE on 127.0.0.1; `hallctl staff` against a server process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hall_bus.config import HallConfig, Node
from hall_bus.domain import commands as c
from hall_bus.domain.staff import hash_pin

from .bus_helpers import (
    NODES,
    ROSTER_PIN,
    config_on_ports,
    free_port,
    hallctl,
    make_keys,
    running_hall,
    start_server_process,
    until,
)
from .test_bus_process import wait_ready


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def ledger(hall: Any, kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in hall.server.core.ledger.events() if e["type"] == kind]


def test_a_tablet_acts_only_in_the_name_of_whoever_is_signed_in_on_it(cfg: HallConfig, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_hall(cfg, tmp_path, [*NODES, "greeter-2"]) as hall:
            kiosk = await hall.started("kiosk-1", subscribe=False)
            help_id = (await kiosk.send(c.Issue(service="医保", group="accompany")))["result"]["help_id"]
            bare = await hall.started("greeter-2", subscribe=False)
            refused = await bare.send(c.ClaimHelp(help_id=help_id))
            assert refused["code"] == "not_signed_in" and "sign in first" in refused["message"]
            g1 = await hall.signed_in("greeter-1", "小满", subscribe=False)
            # greeter-1 (小满) claims, hands over and cancels in 王芳's name: each refused, nothing changes
            for command in (c.ClaimHelp(help_id=help_id, helper="王芳"),
                            c.CancelHelp(help_id=help_id, by="王芳", reason="不需要"),
                            c.OpenConsultation(helper="王芳", name="张秀英", question="问题")):
                answer = await g1.send(command)
                assert answer["code"] == "wrong_person" and "signed in as 小满" in answer["message"], answer
            assert hall.server.core.state.helps[help_id].status == "open"
            assert (await g1.send(c.ClaimHelp(help_id=help_id)))["ok"]
            claimed = ledger(hall, "help_claimed")[-1]
            assert claimed["helper"] == "小满" and claimed["actor"] == "小满"  # the person, from the sign-in
            # a hand-over goes only to someone on the roster
            nobody = await g1.send(c.HandoverHelp(help_id=help_id, to_helper="路人甲"))
            assert nobody["code"] == "unknown_staff"
            # a counter's clerk opens a consultation as the clerk, never as a greeter
            counter = await hall.signed_in("counter-5", "李娜", subscribe=False)
            q = await counter.send(c.OpenConsultation(name="张秀英", question="营业执照怎么变更？"))
            assert q["ok"] and ledger(hall, "consultation_opened")[-1]["helper"] == "李娜"
            # a keypad's call, with nobody signed in on the window, names the node
            kiosk_events = ledger(hall, "ticket_issued")
            assert kiosk_events[-1]["actor"] == "kiosk-1"

    run(scenario())


def test_signing_in_elsewhere_signs_out_here_and_pins_are_guarded(cfg: HallConfig, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_hall(cfg, tmp_path, [*NODES, "greeter-2"]) as hall:
            kiosk = await hall.started("kiosk-1", subscribe=False)
            g1 = await hall.signed_in("greeter-1", "王芳", subscribe=False)
            g2 = await hall.started("greeter-2", subscribe=False)
            assert (await g2.send(c.SignIn(staff="王芳", pin=ROSTER_PIN)))["ok"]
            st = hall.server.core.state
            assert st.on_duty == {"greeter-2": "王芳"}  # one person, one tablet
            out = ledger(hall, "staff_signed_out")[-1]
            assert (out["node"], out["reason"]) == ("greeter-1", "signed in elsewhere")
            help_id = (await kiosk.send(c.Issue(service="医保", group="guide")))["result"]["help_id"]
            assert (await g1.send(c.ClaimHelp(help_id=help_id)))["code"] == "not_signed_in"
            # wrong PINs: the same words whether the id or the PIN is wrong; five in a row lock the tablet
            for staff in ("王芳", "没这个人", "王芳", "王芳", "王芳"):
                wrong = await g1.send(c.SignIn(staff=staff, pin="0000"))
                assert wrong["code"] == "bad_pin" and wrong["message"] == "staff id or PIN not recognised"
            locked = await g1.send(c.SignIn(staff="小满", pin=ROSTER_PIN))
            assert locked["code"] == "pin_locked" and "try again in 5 min" in locked["message"]
            assert "greeter-1" not in st.on_duty
            # the PIN itself is nowhere: not in the ledger, not in what a mirror holds
            text = hall.server.core.ledger.path.read_bytes()
            assert ROSTER_PIN.encode() not in text.replace(b"scrypt$", b"")
            display = await hall.started("display-1", config=cfg)
            assert {m.pin_hash for m in display.state.staff.values()} == {""}  # type: ignore[union-attr]
            # a staff card on the tablet's reader signs its holder in, with no PIN
            admin = await hall.started("admin", subscribe=False)
            card_hash = hall.server.core.state.staff["小满"].pin_hash
            assert (await admin.send(c.AddStaff(staff="0588", name="赵敏", duties=["helper"], pin_hash=card_hash,
                                                card="A7C3190E")))["ok"]
            carded = await hall.started("kiosk-2", subscribe=False)  # a kiosk has no one to sign in
            assert (await carded.send(c.SignIn(card="A7C3190E")))["code"] == "forbidden"
            bad_card = await hall.started("counter-5", subscribe=False)
            assert (await bad_card.send(c.SignIn(card="FFFF0000")))["code"] == "bad_card"
            assert (await bad_card.send(c.SignIn(card="A7C3190E")))["ok"]
            assert st.on_duty["counter-5"] == "0588" and ledger(hall, "staff_signed_in")[-1]["how"] == "card"
            # a disabled person is signed out at once and cannot sign in again
            assert (await admin.send(c.DisableStaff(staff="王芳")))["ok"]
            assert st.on_duty == {"counter-5": "0588"}
            assert (await g2.send(c.SignIn(staff="王芳", pin=ROSTER_PIN)))["code"] == "staff_disabled"

    run(scenario())


def test_an_idle_tablet_signs_its_person_out(cfg: HallConfig, tmp_path: Path) -> None:
    quick = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"staff_idle_minutes": 0.02})})

    async def scenario() -> None:
        async with running_hall(quick, tmp_path) as hall:
            await hall.signed_in("greeter-1", "小满", subscribe=False)
            assert hall.server.core.state.on_duty == {"greeter-1": "小满"}
            await until(lambda: not hall.server.core.state.on_duty, 10)
            assert ledger(hall, "staff_signed_out")[-1]["reason"] == "idle"

    run(scenario())


def test_a_keypad_and_a_panel_of_one_window_never_close_the_wrong_visitor(cfg: HallConfig, tmp_path: Path) -> None:
    """The race from the field: on one window, the keypad presses finish + call next while the panel presses
    finish a few milliseconds later. Each names the visitor its own mirror showed when pressed; the later finish
    is refused instead of closing the visitor just called. 150 rounds, 0 wrong closes."""
    two = cfg.model_copy(update={"nodes": [*cfg.nodes, Node(id="panel-5", role="counter", counter=5)]})
    rounds = 150

    async def scenario() -> tuple[int, int, int]:
        async with running_hall(two, tmp_path, [*NODES, "panel-5"]) as hall:
            kiosk = await hall.started("kiosk-1", subscribe=False)
            keypad = await hall.started("counter-5", config=two)
            panel = await hall.started("panel-5", config=two)
            for _ in range(rounds + 1):
                assert (await kiosk.send(c.Issue(service="企业开办")))["ok"]
            await keypad.send(c.CounterOp(op="call_next", counter=5))
            refused = finished = wrong = 0

            def shown(client: Any) -> str:
                return client.state.counters[5].current

            for _ in range(rounds):
                await until(lambda: shown(keypad) is not None and shown(keypad) == shown(panel))
                at_keypad, at_panel = shown(keypad), shown(panel)  # both pressed while showing the same visitor

                async def keypad_presses(ticket: str = at_keypad) -> str:
                    await keypad.send(c.Finish(counter=5, ticket=ticket))
                    return (await keypad.send(c.CounterOp(op="call_next", counter=5)))["result"]["ticket"]

                async def panel_presses(ticket: str = at_panel) -> dict[str, Any]:
                    await asyncio.sleep(0.003)
                    return await panel.send(c.Finish(counter=5, ticket=ticket))

                called, late = await asyncio.gather(keypad_presses(), panel_presses())
                refused += late["code"] == "not_at_window" if not late["ok"] else 0
                finished += bool(late["ok"])
                wrong += hall.server.core.state.tickets[called].status != "called"  # the one just called: closed?
            return wrong, refused, finished

    wrong, refused, finished = run(scenario())
    assert wrong == 0
    assert refused + finished == rounds and refused > 0  # the panel's late finish was refused, never misapplied


def test_hallctl_staff_keeps_the_roster_in_the_ledger(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", NODES)
    cmd_port, ev_port = free_port(), free_port()
    config = tmp_path / "hall.toml"
    config_on_ports(config, cmd_port, ev_port)
    server = start_server_process(config, tmp_path / "data", keys.dir, cmd_port, ev_port)
    common = ["--config", str(config), "--keys", str(keys.dir)]
    try:
        wait_ready(server)
        added = hallctl("staff", "add", "0231", "--name", "王芳", "--duty", "helper", "--duty", "supervisor",
                        *common, stdin="1357\n")
        assert added.returncode == 0 and "0231 王芳 added" in added.stdout and "服务督办员" in added.stdout
        again = hallctl("staff", "add", "0231", "--name", "王芳", "--duty", "helper", *common, stdin="1357\n")
        assert again.returncode == 2 and again.stderr.strip().endswith("nothing was changed")
        short = hallctl("staff", "add", "0232", "--name", "李强", "--duty", "helper", *common, stdin="12\n")
        assert short.returncode == 2 and "4 to 8 digits" in short.stderr
        listed = hallctl("staff", "list", *common)
        assert listed.returncode == 0 and "0231" in listed.stdout and "帮办员/代办员、服务督办员" in listed.stdout
        assert "1357" not in listed.stdout and "scrypt" not in listed.stdout
        assert hallctl("staff", "reset-pin", "0231", *common, stdin="8642\n").returncode == 0
        assert hallctl("staff", "disable", "0231", *common).returncode == 0
        assert "disabled" in hallctl("staff", "list", *common).stdout
        kiosk = hallctl("staff", "disable", "0231", "--node", "kiosk-1", *common)
        assert kiosk.returncode == 2 and "admin" in kiosk.stderr  # only admin keeps the roster
    finally:
        server.terminate()
        server.wait(10)
    events = (tmp_path / "data" / "ledger.sqlite3").read_bytes()
    assert b"staff_added" in events and b"staff_pin_set" in events and b"staff_disabled" in events


def test_the_report_names_each_helper_from_the_roster(cfg: HallConfig, tmp_path: Path) -> None:
    """Per-person figures read 小满（xm01）: the ledger keeps staff ids, the roster in it gives their names."""
    from datetime import date

    from hall_bus.reports.build import ReportRequest, build_report

    async def scenario() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            admin = await hall.started("admin", subscribe=False)
            pin_hash = hash_pin(ROSTER_PIN)
            assert (await admin.send(c.AddStaff(staff="xm01", name="小满", duties=["helper"], pin_hash=pin_hash)))["ok"]
            g = await hall.started("greeter-1", subscribe=False)
            assert (await g.send(c.SignIn(staff="xm01", pin=ROSTER_PIN)))["ok"]
            kiosk = await hall.started("kiosk-1", subscribe=False)
            help_id = (await kiosk.send(c.Issue(service="医保", group="accompany")))["result"]["help_id"]
            assert (await g.send(c.ClaimHelp(help_id=help_id)))["ok"]

    asyncio.run(asyncio.wait_for(scenario(), 60))
    from hall_bus.store.ledger import Ledger

    ledger = Ledger(tmp_path / "data")
    day = date.fromisoformat(next(e["data"]["day"] for e in ledger.events() if e["type"] == "day_opened"))
    ledger.close()
    out = tmp_path / "r.xlsx"
    result = build_report(ReportRequest(cfg, tmp_path / "data", day, day, [out]))
    assert out.exists() and list(result.summary.helper) == ["小满（xm01）"]
