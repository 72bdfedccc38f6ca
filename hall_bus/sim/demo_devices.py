"""The hall devices `make demo` drives on simulators: an LED call board and the voice on the board's node, and one
window worked from an RS-485 keypad with a rating pad — the same agents a hall runs, on ptys instead of cables.

What a person can look at afterwards: `build/demo/board.png` (what the LED board showed last, drawn as LEDs) and
`build/demo/voice/` (the latest announcements as WAV files: a machine without a sound card still lets you listen
to what the hall would have said).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from typing import IO, Any

from devices.board.simulator import BoardSimulator
from devices.keypad.simulator import KeypadLineSimulator
from devices.registry import open_device
from devices.voice.announcer import Announcer, WavDirSink
from hall_bus.nodes.board import DisplayModel
from hall_bus.nodes.board_agent import BoardAgent
from hall_bus.nodes.counter_devices import CounterDevices

PAD_ADDRESS = 200
LINE = {"protocol": "ff68", "poll_seconds": 1.0, "gap_ms": 10}


class RollingWavSink(WavDirSink):
    """WAV files of the latest `keep` announcements: a compressed demo day calls hundreds of visitors."""

    def __init__(self, out_dir: Path, keep: int = 20) -> None:
        super().__init__(out_dir)
        self.keep = keep
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.glob("*.wav"):
            old.unlink()

    def play(self, samples: Any, rate: int, item: Any) -> Path:
        path = super().play(samples, rate, item)
        for old in sorted(self.out_dir.glob("*.wav"))[: -self.keep]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
        return path


class DemoDevices:
    def __init__(self, out_dir: Path, keypad_window: int, out: IO[str]) -> None:
        self.out_dir = out_dir
        self.window = keypad_window
        self.out = out
        self.board_sim = BoardSimulator("pingan", lines=3, width=20)
        self.line_sim = KeypadLineSimulator("ff68", keypads=[keypad_window], evaluators=[PAD_ADDRESS])
        self.agent: BoardAgent | None = None
        self.counter: CounterDevices | None = None
        self.voice: Announcer | None = None

    def start_board(self, client: Any) -> BoardAgent:
        port = self.board_sim.start_pty()
        board = open_device({"type": "led-pingan", "port": port, "address": 1, "lines": 3, "width": 20,
                             "frame_gap": 0.05})
        self.voice = Announcer(RollingWavSink(self.out_dir / "voice"), chime=True)
        self.agent = BoardAgent(client, DisplayModel(), {"led-main": board}, self.voice)
        self.agent.start()
        return self.agent

    def start_counter(self, client: Any) -> CounterDevices:
        port = self.line_sim.start()
        self.counter = CounterDevices(
            client, self.window, names={"keypad": "keypad", "pad": "pad"},
            keypad=open_device({"type": "keypad-serial", "port": port, "address": self.window, **LINE}),
            pad=open_device({"type": "eval-pad", "port": port, "address": PAD_ADDRESS, **LINE}))
        client.on_event, client.on_resync = self.counter.on_event, self.counter.on_resync
        self.counter.start()
        return self.counter

    async def clerk(self, service_seconds: Any, rng: random.Random) -> None:
        """The clerk at the keypad window: 叫号, serve, 评价; the visitor presses the pad."""
        assert self.counter is not None
        window, line = self.counter, self.line_sim
        while True:
            line.press(self.window, "call_next")
            for _ in range(20):
                await asyncio.sleep(0.1)
                if window.current is not None:
                    break
            if window.current is None:
                await asyncio.sleep(0.3)
                continue
            await asyncio.sleep(service_seconds(window.current.get("service", "")))
            line.press(self.window, "ask_rating")
            for _ in range(20):
                await asyncio.sleep(0.1)
                if window.to_rate is not None:
                    break
            if window.to_rate is not None and rng.random() < 0.8:
                line.rate(PAD_ADDRESS, rng.choices([5, 4, 3, 2, 1], [70, 20, 6, 3, 1])[0])

    async def close(self) -> None:
        if self.counter is not None:
            await self.counter.close()
        if self.agent is not None:
            await self.agent.close()
        picture = self.out_dir / "board.png"
        with contextlib.suppress(OSError):
            self.board_sim.render(picture)
        self.board_sim.stop()
        self.line_sim.stop()
        shown = " / ".join(self.board_sim.shown) or "(nothing)"
        spoken = len(self.voice.history) if self.voice is not None else 0
        print(f"LED board shows: {shown}  (picture: {picture})", file=self.out, flush=True)
        print(f"voice: {spoken} announcements; the latest are WAV files in {self.out_dir / 'voice'}", file=self.out,
              flush=True)
        if self.counter is not None:
            rated = sum(1 for note in self.counter.log if note.startswith("✓ 评价"))
            print(f"window {self.window} worked from its RS-485 keypad: {rated} cases rated on its pad",
                  file=self.out, flush=True)
