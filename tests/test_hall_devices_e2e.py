"""Keypad → bus → board, end to end: RS-485 keypads and a rating pad on one simulated line (a real pty), the
counters' nodes and the call board's node on a real hall server on 127.0.0.1, the LED board a simulator on
another pty. What a visitor sees is checked on the simulated board; what the supervisor reads, in the ledger."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from devices.board.simulator import BoardSimulator
from devices.keypad.simulator import KeypadLineSimulator
from devices.registry import open_device
from hall_bus.nodes.board import DisplayModel
from hall_bus.nodes.board_agent import BoardAgent
from hall_bus.nodes.counter_devices import CounterDevices

from .bus_helpers import running_hall, until

LINE = {"protocol": "ff68", "poll_seconds": 0.2, "missed_polls": 2, "gap_ms": 5}


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 90))


def test_a_keypress_calls_the_visitor_onto_the_board_and_the_pad_rates_that_case(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    line = KeypadLineSimulator("ff68", keypads=[1, 5], evaluators=[15])
    board_sim = BoardSimulator("pingan", lines=2, width=20)
    port, board_port = line.start(), board_sim.start_pty()

    async def main() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            board = hall.client("board-1", config=cfg)
            agent = BoardAgent(board, DisplayModel(), {"led-main": open_device(
                {"type": "led-pingan", "port": board_port, "address": 1, "lines": 2, "width": 20,
                 "frame_gap": 0.02})})
            board.on_event, board.on_resync = agent.on_event, agent.on_resync
            await board.start()
            agent.start()
            windows = {}
            for node, number in (("counter-1", 1), ("counter-5", 5)):
                client = hall.client(node, config=cfg)  # mirrors the hall: the keypad follows the hall's state
                windows[number] = CounterDevices(
                    client, number, names={"keypad": "keypad", "pad": "pad"},
                    keypad=open_device({"type": "keypad-serial", "port": port, "address": number, **LINE}),
                    pad=open_device({"type": "eval-pad", "port": port, "address": 15, **LINE})
                    if number == 5 else None)
                client.on_event, client.on_resync = windows[number].on_event, windows[number].on_resync
                await client.start()
                windows[number].start()
            kiosk = await hall.started("kiosk-1", subscribe=False)
            for _ in range(2):
                await kiosk.request({"op": "issue", "service": "企业开办"})

            line.press(5, "call_next")
            await until(lambda: board_sim.shown[:1] == ["A001 → 5号窗口"], 10)
            await until(lambda: line.display(5).strip() == "001", 5)  # the keypad shows the number, not "A"
            line.press(5, "ask_rating")  # 评价: the case ends, the pad asks the visitor
            await until(lambda: windows[5].to_rate is not None, 5)
            line.rate(15, 2)  # 不满意: a follow-up is opened for the supervisor
            state = hall.server.core.state
            await until(lambda: any(t.rating for t in state.tickets.values()), 5)
            rated = next(t for t in state.tickets.values() if t.rating)
            assert rated.number == "A001" and rated.rating == "不满意" and rated.counter == 5
            assert len(state.followups) == 1
            line.rate(15, 5)  # a second rating for the same case is not recorded (一事一评)
            await until(lambda: any("no case just finished" in note for note in windows[5].log), 5)
            assert sum(1 for t in state.tickets.values() if t.rating) == 1

            line.press(1, "call_next")  # counter 1 serves 企业开办 too
            await until(lambda: board_sim.shown[:1] == ["A002 → 1号窗口"], 10)
            assert board_sim.shown == ["A002 → 1号窗口", "A001 → 5号窗口"]

            # Keypad 1 loses power: reported to the hall; keypad 5 still calls (nobody left: it says so).
            line.kill(1)
            await until(lambda: "counter-1/keypad" in state.faults, 10)
            admin = await hall.started("admin", subscribe=False)
            status = await admin.status()  # what `hallctl status` prints
            assert [f["device"] for f in status["faults"]] == ["counter-1/keypad"]
            assert "does not answer" in status["faults"][0]["problem"]
            line.press(5, "call_next")
            await until(lambda: any("queue_empty" in n or "nobody" in n for n in windows[5].log), 5)
            assert "counter-5/keypad" not in state.faults
            line.revive(1)
            await until(lambda: "counter-1/keypad" not in state.faults, 10)
            for w in windows.values():
                await w.close()
            await agent.close()

    try:
        run(main())
    finally:
        line.stop()
        board_sim.stop()
