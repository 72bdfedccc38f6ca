"""The kiosk agent over the real bus with a simulated ID card reader and printer on ptys."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from devices.idcard.reader import IdCardReader
from devices.idcard.simulator import IdCardSimulator, load_cards
from devices.link import SerialLink
from devices.printer.decode import decode
from devices.printer.simulator import PrinterSimulator
from devices.registry import open_device
from hall_bus.nodes.kiosk import KioskAgent

from .bus_helpers import running_hall
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
