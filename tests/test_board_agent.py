"""The call board node on a real hall server: calls reach the LED boards (simulators on real ptys) and the voice
(WAV files), a resync rebuilds the boards from the snapshot without announcing anyone again, and a dead board is
reported to the hall while the other boards and the voice carry on."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

from devices.board.simulator import BoardSimulator
from devices.registry import open_device
from hall_bus.nodes.board import DisplayModel
from hall_bus.nodes.board_agent import BoardAgent

from .bus_helpers import running_hall, until


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_calls_reach_every_board_and_the_voice_and_a_resync_rebuilds_the_boards(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wall = BoardSimulator("pingan", lines=3, width=20)
    strip = BoardSimulator("imm9003", lines=1, width=16)
    wall_port, strip_port = wall.start_pty(), strip.start_pty()

    async def main() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            boards = {
                "led-wall": open_device({"type": "led-pingan", "port": wall_port, "address": 1, "lines": 3,
                                         "width": 20, "frame_gap": 0.02}),
                "led-strip": open_device({"type": "led-imm9003", "port": strip_port, "address": 5,
                                          "frame_gap": 0.02}),
            }
            voice = open_device({"type": "voice-segments", "out_dir": str(tmp_path / "calls"), "chime": False})
            board = hall.client("board-1", config=cfg)
            agent = BoardAgent(board, DisplayModel({g: r.label for g, r in cfg.groups.items()}), boards, voice)
            board.on_event, board.on_resync = agent.on_event, agent.on_resync
            await board.start()
            agent.start()
            kiosk = await hall.started("kiosk-1", subscribe=False)
            counter = await hall.started("counter-5", subscribe=False)
            for group in ("normal", "accompany", "normal"):
                await kiosk.request({"op": "issue", "service": "企业开办", "group": group})
            for _ in range(3):
                called = await counter.request({"op": "call_next", "counter": 5})
                await counter.request({"op": "finish", "counter": 5, "ticket": called["result"]["ticket"]})
            await until(lambda: len(voice.history) == 3 and all(a.end for a in voice.history), 20)
            # each board has its own worker: wait until both have drawn the newest call
            await until(lambda: wall.shown[:1] == ["A003 → 5号窗口"] and strip.shown == ["请A003到5号窗口"], 10)
            # 陪同办 went first (priority), then the two walk-ins in order; the wall shows all three, newest first
            assert wall.shown == ["A003 → 5号窗口", "A001 → 5号窗口", "A002 → 5号窗口◆"]
            # (the strip has 16 columns: the words shrank, never the numbers)
            assert [a.number for a in voice.history] == ["A002", "A001", "A003"]
            for item in voice.history:
                with wave.open(str(item.file)) as w:
                    assert w.getnframes() > w.getframerate()  # more than a second of speech
            # The board lost power and shows nothing; a resync (as after a server restart) puts the calls back
            # and announces nobody again.
            wall.shown.clear()
            agent.on_resync()
            await until(lambda: wall.shown != [], 10)
            assert wall.shown[0] == "A003 → 5号窗口" and len(voice.history) == 3
            await agent.close()

    try:
        run(main())
    finally:
        wall.stop()
        strip.stop()


def test_a_dead_board_is_reported_and_the_others_keep_showing_calls(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = BoardSimulator("pingan", lines=1, width=16)
    port = good.start_pty()

    async def main() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            boards = {"led-good": open_device({"type": "led-pingan", "port": port, "address": 1, "frame_gap": 0.02}),
                      "led-gone": open_device({"type": "led-pingan", "port": str(tmp_path / "ttyUSB9"),
                                               "address": 2})}
            board = hall.client("board-1", config=cfg)
            agent = BoardAgent(board, DisplayModel(), boards)
            board.on_event, board.on_resync = agent.on_event, agent.on_resync
            await board.start()
            agent.start()
            kiosk = await hall.started("kiosk-1", subscribe=False)
            counter = await hall.started("counter-5", subscribe=False)
            await kiosk.request({"op": "issue", "service": "企业开办"})
            await counter.request({"op": "call_next", "counter": 5})
            await until(lambda: good.shown == ["请A001到5号窗口"], 10)
            state = hall.server.core.state
            await until(lambda: "board-1/led-gone" in state.faults, 10)
            assert "does not exist" in state.faults["board-1/led-gone"]["problem"]
            assert "board-1/led-good" not in state.faults
            assert agent.slots["led-gone"].failures >= 1 and agent.slots["led-good"].writes >= 1
            await agent.close()

    try:
        run(main())
    finally:
        good.stop()


def test_two_boards_on_one_rs485_line_never_interleave_their_frames(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    line = BoardSimulator("pingan", lines=1, width=16)  # hears every address on the line
    port = line.start_pty()

    async def main() -> None:
        boards = {name: open_device({"type": "led-pingan", "port": port, "address": addr, "frame_gap": 0})
                  for name, addr in (("led-a", 1), ("led-b", 2))}

        class Quiet:  # no bus needed: the model is fed directly, statuses go nowhere
            state = None

            async def request(self, _cmd: dict[str, Any]) -> dict[str, Any]:
                return {"ok": True}

        agent = BoardAgent(Quiet(), DisplayModel(), boards)
        assert len(agent.ports) == 1  # one writer for the shared line
        agent.start()
        for n in range(1, 31):
            agent.on_event({"type": "ticket_called", "at": "2026-11-23T09:00:00+08:00",
                            "data": {"number": f"A{n:03d}", "counter": 5, "service": "企业开办", "group": "normal",
                                     "label": "", "ticket": f"T{n}"}})
            await asyncio.sleep(0.003)
        await until(lambda: line.shown == ["请A030到5号窗口"], 10)
        await until(lambda: all(s.shown == ["请A030到5号窗口"] for s in agent.slots.values()), 10)
        assert line.bad_frames == 0
        await agent.close()

    try:
        run(main())
    finally:
        line.stop()
