"""A quiet hall still escalates: the server sends `tick` on its heartbeat when the engine says one is due."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .bus_helpers import running_hall, until


def test_an_unclaimed_help_request_is_escalated_with_no_further_commands(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    quick = cfg.model_copy(update={"hall": cfg.hall.model_copy(update={"help_escalate_minutes": 0.02})})
    seen: list[dict] = []

    async def scenario() -> None:
        async with running_hall(quick, tmp_path) as hall:
            greeter = hall.client("greeter-1", config=quick, on_event=seen.append)
            await greeter.start()
            kiosk = await hall.started("kiosk-1", subscribe=False)
            answer = await kiosk.request({"op": "issue", "service": "医保", "group": "accompany"})
            await until(lambda: any(e["type"] == "help_escalated" for e in seen), timeout=10)
            escalated = next(e for e in seen if e["type"] == "help_escalated")
            assert escalated["data"]["help_id"] == answer["result"]["help_id"]
            assert greeter.state is not None and greeter.state.helps[escalated["data"]["help_id"]].escalated
            beats = greeter.heartbeats
            await until(lambda: greeter.heartbeats >= beats + 3)  # three more chances to escalate it again
            assert sum(e["type"] == "help_escalated" for e in seen) == 1  # once, not every heartbeat

    asyncio.run(asyncio.wait_for(scenario(), 60))
