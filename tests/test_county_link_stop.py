"""The county link stops when it is cancelled, even when the hub's answer arrives at that very moment.

The hall server stops by cancelling its tasks and waiting for them. On Python 3.11, `asyncio.wait_for` returns
the inner result instead of raising when a cancellation and the result arrive together, so a link awaiting its
answer through it carried on polling and the server's stop waited for ever. bench_county.py found it: after a
wire run, four links of 316 went on polling the hub and the run hung.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hall_bus.config import CountyLinkSettings
from hall_bus.county import protocol as hp
from hall_bus.county.link import CountyLink


class HeldSocket:
    """Takes what is sent at once and gives the answer only when the test says."""

    def __init__(self) -> None:
        self.answer: asyncio.Future[bytes] | None = None
        self.asked = asyncio.Event()
        self.closed = False

    def send(self, frame: bytes) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def recv(self) -> asyncio.Future[bytes]:
        self.answer = asyncio.get_running_loop().create_future()
        self.asked.set()
        return self.answer

    def close(self, linger: int = 0) -> None:
        self.closed = True


def make_link(tmp_path: Path) -> CountyLink:
    async def apply(command: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    return CountyLink(CountyLinkSettings(poll_seconds=0.05), "PAT01", tmp_path / "keys", tmp_path,
                      read_events=lambda after, limit: [], last_seq=lambda: 0, apply=apply)


@pytest.mark.parametrize("when", ["the answer arrives with the cancellation", "waiting for the answer"])
def test_a_cancelled_link_stops(tmp_path: Path, when: str) -> None:
    async def scenario() -> None:
        link = make_link(tmp_path)
        sock = HeldSocket()
        link._sock = sock  # type: ignore[assignment]
        task = asyncio.create_task(link.run())
        await asyncio.wait_for(sock.asked.wait(), 5)
        assert sock.answer is not None
        if when == "the answer arrives with the cancellation":
            sock.answer.set_result(hp.dumps(hp.Ack(high_water=0)))
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=2)
        assert done, "the link went on after it was cancelled"
        assert task.cancelled()
        assert sock.closed

    asyncio.run(scenario())


def test_a_cancelled_link_stops_as_it_is_woken(tmp_path: Path) -> None:
    """The same between rounds: the server wakes the link (new events) just as it stops."""

    async def scenario() -> None:
        link = make_link(tmp_path)
        sock = HeldSocket()
        link._sock = sock  # type: ignore[assignment]
        task = asyncio.create_task(link.run())
        await asyncio.wait_for(sock.asked.wait(), 5)
        assert sock.answer is not None
        sock.asked.clear()
        sock.answer.set_result(hp.dumps(hp.Ack(high_water=0)))  # the first answer: the link learns the mark
        await asyncio.wait_for(sock.asked.wait(), 5)
        assert sock.answer is not None
        sock.answer.set_result(hp.dumps(hp.Ack(high_water=0)))  # nothing to send: it waits for a wake
        for _ in range(3):
            await asyncio.sleep(0)
        link.wake.set()
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=2)
        assert done and task.cancelled(), "the link went on after it was cancelled"

    asyncio.run(scenario())
