"""A window worked from its RS-485 keypad and rating pad against a real hall server: the keypad follows the
hall (console commands and agent restarts included), a rating is never pinned on the wrong visitor, and 暂停
can be undone from the keypad."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from devices.keypad.simulator import KeypadLineSimulator
from devices.registry import open_device
from hall_bus.nodes.counter_devices import CounterDevices

from .bus_helpers import running_hall, until

LINE = {"protocol": "ff68", "poll_seconds": 0, "gap_ms": 5}


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 90))


async def window(hall: Any, cfg: Any, port: str) -> CounterDevices:
    client = hall.client("counter-5", config=cfg)
    w = CounterDevices(client, 5, keypad=open_device({"type": "keypad-serial", "port": port, "address": 5, **LINE}),
                       pad=open_device({"type": "eval-pad", "port": port, "address": 15, **LINE}))
    client.on_event, client.on_resync = w.on_event, w.on_resync
    await client.start()
    w.start()
    await until(lambda: w.keypad.line.status()["open"], 5)  # a key pressed before the port is open is not heard
    return w


def test_ratings_pause_console_and_restart(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    line = KeypadLineSimulator("ff68", keypads=[5], evaluators=[15])
    port = line.start()

    async def main() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            state = hall.server.core.state
            kiosk = await hall.started("kiosk-1", subscribe=False)
            for _ in range(4):
                await kiosk.request({"op": "issue", "service": "企业开办"})
            w = await window(hall, cfg, port)
            ratings = lambda: {t.number: t.rating for t in state.tickets.values() if t.rating}  # noqa: E731

            line.press(5, "call_next")
            await until(lambda: line.display(5).strip() == "001", 10)
            # A001 leaves without rating; the clerk calls the next visitor (叫号 finishes A001 first) …
            await asyncio.sleep(0.4)  # an identical frame within 0.3 s is the keypad repeating itself
            line.press(5, "call_next")
            await until(lambda: line.display(5).strip() == "002", 10)
            line.rate(15, 1)  # … and A002, still at the window, presses 非常不满意: it is not A001's rating
            await until(lambda: any("no case just finished" in n for n in w.log), 5)
            assert ratings() == {}
            line.press(5, "ask_rating")  # 评价 ends A002's case; now the pad rates A002
            await until(lambda: w.to_rate is not None and line.display(5).strip() == "", 5)
            line.rate(15, 5)
            await until(lambda: ratings() == {"A002": "非常满意"}, 5)

            await asyncio.sleep(0.4)
            line.press(5, "pause")  # 暂停 …
            await until(lambda: state.counters[5].status == "paused", 5)
            line.press(5, "call_next")  # … and 叫号 on a paused window resumes it and calls
            await until(lambda: line.display(5).strip() == "003", 10)
            assert state.counters[5].status == "open"

            # The console finishes A003 on the same node: the keypad follows the hall, not its own keys.
            console = w.client
            await console.request({"op": "finish", "counter": 5, "ticket": state.counters[5].current})
            await until(lambda: line.display(5).strip() == "", 5)
            await console.request({"op": "call_next", "counter": 5})
            await until(lambda: line.display(5).strip() == "004", 5)

            # The agent restarts in the middle of A004's case: it knows A004 is at the window from the snapshot.
            await w.close()
            await w.client.close()
            w2 = await window(hall, cfg, port)
            await until(lambda: w2.current is not None and w2.current["number"] == "A004", 5)
            line.press(5, "ask_rating")
            await until(lambda: state.counters[5].current is None, 5)
            line.rate(15, 4)
            await until(lambda: ratings() == {"A002": "非常满意", "A004": "满意"}, 5)
            await w2.close()

    try:
        run(main())
    finally:
        line.stop()
