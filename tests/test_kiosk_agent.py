"""The kiosk agent over the real bus with a simulated ID card reader and printer on ptys."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from devices.idcard.reader import IdCardReader
from devices.idcard.simulator import IdCardSimulator, load_cards
from devices.link import SerialLink
from devices.printer.decode import decode
from devices.printer.simulator import PrinterSimulator
from devices.registry import open_device
from hall_bus.domain import commands as c
from hall_bus.nodes.kiosk import KioskAgent
from hall_bus.web.links import case_link

from .bus_helpers import running_hall, until
from .conftest import ROOT

CARDS = load_cards(ROOT / "assets" / "idcard" / "cards.example.json")


@pytest.fixture
def devices():  # type: ignore[no-untyped-def]
    psim = PrinterSimulator()
    psim.start_pty()
    with IdCardSimulator(CARDS) as isim:
        printer = open_device({"type": "escpos-serial", "port": psim.path, "baudrate": 115200,
                               "profile": "xprinter-80"})
        reader = IdCardReader(SerialLink(isim.path), timeout=1.0)
        yield psim, isim, printer, reader
        printer.close()
        reader.close()
    psim.stop()


def test_card_suggests_the_group_and_the_ticket_prints(cfg, tmp_path: Path, devices) -> None:  # type: ignore[no-untyped-def]
    psim, isim, printer, reader = devices
    isim.insert(0)  # 张秀英, born 1952: 74 years old → 陪同办

    async def scenario() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            client = await hall.started("kiosk-1", subscribe=False)
            agent = KioskAgent(client, cfg, "kiosk-1", printer=printer, reader=reader)
            out = await agent.serve("医保", use_card=True)
            assert out.ok and out.printed and not out.on_screen
            assert out.answer["result"]["group"] == "accompany" and "help_id" in out.answer["result"]

    asyncio.run(asyncio.wait_for(scenario(), 30))
    job = decode(psim.job())
    assert "E001" in job.text and "医保 · 陪同办" in job.text and "姓名：张**" in job.text
    assert "请到帮办代办专区等候" in job.text
    assert "张秀英" not in "".join(job.text)


def test_paper_out_still_gives_the_visitor_a_ticket_on_screen(cfg, tmp_path: Path, devices) -> None:  # type: ignore[no-untyped-def]
    psim, _, printer, reader = devices
    psim.set_state(paper_out=True)

    async def scenario() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            client = await hall.started("kiosk-1", subscribe=False)
            agent = KioskAgent(client, cfg, "kiosk-1", printer=printer, reader=reader)
            out = await agent.serve("公安", use_card=True)  # no card on the reader either
            assert out.ok and not out.printed
            assert "F001" in out.on_screen and "paper" in out.printer_note and "no card" in out.card_note
            assert out.answer["result"]["group"] == "normal"

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert decode(psim.job()).text == []


def test_a_printer_that_stops_printing_alerts_the_greeters_and_its_recovery_clears_it(cfg, tmp_path: Path,
                                                                                       devices) -> None:  # type: ignore[no-untyped-def]
    from hall_bus.nodes.greeter import device_alerts

    psim, _, printer, reader = devices

    async def scenario() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            greeter = hall.client("greeter-1", config=cfg)
            await greeter.start()
            client = await hall.started("kiosk-1", subscribe=False)
            agent = KioskAgent(client, cfg, "kiosk-1", printer=printer, reader=reader)
            psim.set_state(paper_out=True)
            out = await agent.serve("医保")
            assert not out.printed and out.on_screen
            await agent.serve("医保")  # the same fault again: no second alert
            await until(lambda: device_alerts(greeter.state, time.time()) != [])
            alerts = device_alerts(greeter.state, time.time())
            assert [a[0] for a in alerts] == ["kiosk-1/printer"] and "paper" in alerts[0][1]
            psim.set_state(paper_out=False)
            assert (await agent.serve("医保")).printed
            await until(lambda: device_alerts(greeter.state, time.time()) == [])
            statuses = [e for e in hall.server.core.ledger.events() if e["type"] == "device_status"]
            assert [e["data"]["ok"] for e in statuses] == [False, True]

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_greeters_one_time_notice_comes_out_of_the_zone_kiosk_printer(cfg, tmp_path: Path, devices) -> None:  # type: ignore[no-untyped-def]
    psim, _, printer, reader = devices

    async def scenario() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            client = hall.client("kiosk-2", config=cfg)  # mirrored: the slips it owes are in the hall state
            agent = KioskAgent(client, cfg, "kiosk-2", printer=printer, reader=reader)
            client.on_event, client.on_resync = agent.on_event, agent.on_resync
            await client.start()
            other = hall.client("kiosk-1", config=cfg)
            other_agent = KioskAgent(other, cfg, "kiosk-1", printer=None)
            other.on_event, other.on_resync = other_agent.on_event, other_agent.on_resync
            await other.start()
            greeter = await hall.signed_in("greeter-1", subscribe=False)
            missing = ["不动产权证书", "完税证明", "村委会证明"]
            answer = await greeter.send(c.IssueNotice(service="不动产", missing=missing, print_at="kiosk-2"))
            assert answer["ok"], answer
            await until(lambda: hall.server.core.state.print_jobs["N-000001"].status == "printed", 10)
            assert agent.slips == [("N-000001", True, "")]
            assert other_agent.slips == []  # only the named kiosk prints it
            refused = await greeter.send(c.IssueNotice(service="不动产", missing=["照片"], print_at="kiosk-9"))
            assert not refused["ok"] and refused["code"] == "bad_notice"

    asyncio.run(asyncio.wait_for(scenario(), 30))
    job = decode(psim.job())
    text = "\n".join(job.text)
    assert "一次性告知书" in text and "办理事项：不动产" in text
    assert "1. 不动产权证书" in text and "2. 完税证明" in text and "3. 村委会证明" in text
    assert "告知人：小满" in text and "告知书编号 N-000001" in text and job.cuts == 1


def test_no_slip_is_lost_to_an_offline_kiosk_a_new_key_or_an_empty_printer(cfg, tmp_path: Path, devices) -> None:  # type: ignore[no-untyped-def]
    """The slips a visitor was promised: issued while the kiosk was off, issued right after its key was replaced,
    and one the printer could not print (the greeters are told, and reprint it once the paper is in)."""
    psim, _, printer, reader = devices
    from hall_bus.nodes.greeter import unprinted_slips

    async def scenario() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            greeter = await hall.signed_in("greeter-1", config=cfg)

            async def notice(*items: str) -> str:
                answer = await greeter.send(c.IssueNotice(service="不动产", missing=list(items), print_at="kiosk-2"))
                assert answer["ok"], answer
                return answer["result"]["notice_id"]

            def status(job: str) -> str:
                return hall.server.core.state.print_jobs[job].status

            away = await notice("不动产权证书")  # kiosk-2 is not running yet
            client = hall.client("kiosk-2", config=cfg)
            agent = KioskAgent(client, cfg, "kiosk-2", printer=printer, reader=reader)
            client.on_event, client.on_resync = agent.on_event, agent.on_resync
            await client.start()
            await until(lambda: status(away) == "printed", 10)  # owed while it was off: printed when it came back
            # a new key for the kiosk, and a notice right after: the old connection is cut, the new one prints it
            hall.keys.add("kiosk-2", replace=True)
            await client.close()
            right_after = await notice("完税证明")
            client = hall.client("kiosk-2", config=cfg)
            agent = KioskAgent(client, cfg, "kiosk-2", printer=printer, reader=reader)
            client.on_event, client.on_resync = agent.on_event, agent.on_resync
            await client.start()
            await until(lambda: status(right_after) == "printed", 10)
            # another node's key revoked: the server rebinds its event socket, and a notice issued in that moment
            # reaches the kiosk through the snapshot it resyncs from (an event alone would be lost)
            hall.keys.revoke("display-1")
            during = await notice("户口簿")
            await until(lambda: status(during) == "printed", 10)
            # out of paper: reported, the greeters see it, and a reprint brings it out once the paper is in
            psim.set_state(paper_out=True)
            empty = await notice("村委会证明")
            await until(lambda: status(empty) == "failed", 10)
            assert hall.server.core.state.print_jobs[empty].problem
            await until(lambda: [s[0] for s in unprinted_slips(greeter.state)] == [empty])  # type: ignore[arg-type]
            psim.set_state(paper_out=False)
            assert (await greeter.send(c.Reprint(job=empty)))["ok"]
            await until(lambda: status(empty) == "printed", 10)
            assert unprinted_slips(hall.server.core.state) == []
            assert [s[0] for s in agent.slips] == [right_after, during, empty, empty]  # this process's slips

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert decode(psim.job()).cuts >= 1


class _Mirror:
    """The kiosk's view of the hall for a print job: a state holding the jobs, and the reports it sends."""

    def __init__(self, state) -> None:  # type: ignore[no-untyped-def]
        self.state = state
        self.sent: list[c.Cmd] = []

    async def send(self, cmd: c.Cmd) -> dict:  # type: ignore[type-arg]
        self.sent.append(cmd)
        return {"ok": True}


def test_a_cases_receipt_and_result_notice_come_out_with_their_own_layout(cfg, clock, devices) -> None:  # type: ignore[no-untyped-def]
    """受理 at a window whose kiosk prints: the 受理回执 holds the case number, the masked applicant, the due date
    and the case number's QR code, and never the full name or ID number; 办结 prints the 领取通知."""
    from hall_bus.domain.commands import parse_command
    from hall_bus.domain.engine import QueueEngine

    psim, _, printer, _reader = devices
    engine = QueueEngine(cfg, clock)

    def send(op: str, **kw: object) -> dict:  # type: ignore[type-arg]
        return engine.execute(parse_command({"op": op, **kw}))[1]

    r = send("accept_case", item="QR-379901-BDC-004", applicant="张秀英", id_number="370322195203150021",
             counter=1, by="ln03", print_at="kiosk-2")
    mirror = _Mirror(engine.state)
    agent = KioskAgent(mirror, cfg, "kiosk-2", printer=printer)  # type: ignore[arg-type]

    async def take() -> None:
        agent.take_jobs()
        await until(lambda: any(isinstance(m, c.PrintResult) for m in mirror.sent), 10)

    asyncio.run(asyncio.wait_for(take(), 20))
    receipt = decode(psim.job())
    text = "\n".join(receipt.text)
    assert "受理回执" in text and f"办件编号：{r['case']}" in text and "申请人：张**" in text
    assert "承诺办结：2026-11-30 17:30 前" in text and "证件号码：3703**********0021" in text
    assert "张秀英" not in text and "370322195203150021" not in text
    # the printer's own QR code: the case's progress link (the case number), nothing personal
    assert receipt.qr_native == [case_link(cfg, r["case"])] and receipt.qr_native[0].endswith("/c/" + r["case"])
    assert agent.slips == [(r["print_job"], True, "")]
    assert [m.ok for m in mirror.sent if isinstance(m, c.PrintResult)] == [True]

    send("print_result", job=r["print_job"], ok=True, node="kiosk-2")
    send("start_case", case=r["case"], by="ln03")
    g = send("conclude_case", case=r["case"], decision="approved", by="ln03", print_at="kiosk-2")
    mirror.sent.clear()
    psim.clear()  # the receipt was read above; what follows is the result notice

    asyncio.run(asyncio.wait_for(take(), 20))
    result = "\n".join(decode(psim.job()).text)
    assert "领取通知" in result and "1 号窗口领取办理结果" in result and "张秀英" not in result
    assert agent.slips[-1] == (g["print_job"], True, "")
