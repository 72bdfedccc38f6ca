"""Hall devices end to end: keypad press → LED board frame, and call → first voice sample, beside their baselines.

- press → board: a counter keypad (FF 68, the KeypadLineSimulator on a real pty, four keypads on one RS-485 line
  owned by RS485Line) → CounterDevices → the hall server over CURVE on 127.0.0.1 → the board node's client →
  BoardAgent → BoardDriver (平安 protocol) → the BoardSimulator on another pty. Timed from the simulator writing
  the key frame to the board simulator having decoded the frame whose top row shows that ticket's number.
  Two cases: 叫号 with the previous visitor still at the window (the keypad finishes that case first: two round
  trips, the usual press in a hall), and 叫号 at an idle window (评价 pressed before, untimed: one round trip).
- the bare bus round trip of `call_next` (and `finish`) from a counter client to the same server, in the same run:
  back to back and paced like the presses (one every ~90 ms, the bus idle in between) before the devices start
  (nothing else running in this process), and paced again with the rig idle (line polling, board node up).
- voice: the call event reaching the board agent → the first sample handed to the sink (the Announcer's worker
  joins the segments and calls `play`), the first call cold (a new SegmentBank, the segment files' pages dropped
  from the page cache with posix_fadvise: read from the disk on that call, as the board node's first call of
  the day after a boot), then warm; beside joining the same segments alone (numpy concatenate) and writing a
  WAV of that length.

Every clock is time.perf_counter in this one process (the simulators are threads here). The hall server runs in
its own process (`python -m hall_bus.cli server`) unless --inproc puts it in this process's asyncio loop.
Ptys are not baud-limited: the wire time a real 9600 8N1 line needs for the frames is printed to be added.

Run: .venv/bin/python benchmarks/bench_hall_devices.py [--presses 200] [--idle-presses 100] [--bare 150]
     [--voice 50] [--gap-ms 5] [--frame-gap 0.02] [--inproc] [--tiny]
Prints figures; a press that calls nobody or never reaches the board, or a figure with no samples, ends the run
with a non-zero exit (a failed measurement is an error, never a nan in the table).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import BenchmarkFailed, figure, figures, parse_args

from devices.board.simulator import BoardSimulator
from devices.keypad import ff68
from devices.keypad.line import REPEAT_WINDOW
from devices.keypad.simulator import KeypadLineSimulator
from devices.registry import open_device
from devices.voice.announcer import Announcement, Announcer
from devices.voice.join import Samples, write_wav
from devices.voice.segments import SegmentBank
from hall_bus.config import load_config
from hall_bus.domain.commands import CounterOp, Finish, Issue
from hall_bus.nodes.board import DisplayModel
from hall_bus.nodes.board_agent import BoardAgent
from hall_bus.nodes.counter_devices import CounterDevices
from hall_bus.stats import percentile
from hall_bus.wire.client import HallClient
from hall_bus.wire.keys import KeyStore

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "hall.example.toml"
SERVICE = "企业开办"  # served by windows 1, 3, 4 and 5 of the example hall
WINDOWS = (1, 3, 4, 5)  # one keypad each, addresses = window numbers, all on one line
EXTRA_NODES = "".join(f'\n[[nodes]]\nid = "counter-{n}"\nrole = "counter"\ncounter = {n}\n' for n in (3, 4))
NODES = ("kiosk-1", "board-1", *(f"counter-{n}" for n in WINDOWS))
MS = 1000
HOLD = REPEAT_WINDOW + 0.05  # the line drops the same frame from one keypad within REPEAT_WINDOW: wait longer
PACE = HOLD / len(WINDOWS)  # about how often a press comes in the press runs (keypads take turns)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wire_ms(nbytes: int, baud: int = 9600) -> float:
    """8N1: a start bit, 8 data bits and a stop bit per byte."""
    return nbytes * 10 / baud * MS


def stats(values: list[float], what: str = "figure") -> tuple[float, float, float]:
    values = figures(values, what)
    return percentile(values, 50) * MS, percentile(values, 99) * MS, max(values) * MS


# ---------------------------------------------------------------------- timed stand-ins (subclasses, no edits)


class TimedBoard(BoardSimulator):
    """The LED board simulator, noting when each ticket number first reaches the top row (in its own thread,
    right after the frame is decoded)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.first_top: dict[str, float] = {}

    def _apply(self, frame: Any) -> tuple[bool, str]:
        out = super()._apply(frame)
        if self._shown:
            number = self._shown[0].split(" ", 1)[0]
            self.first_top.setdefault(number, time.perf_counter())
        return out


class TimedWindow(CounterDevices):
    """A window's devices noting when each key reaches the loop and when each command goes out and is answered;
    `handled` gets each top-level key once it is done, `errors` what a key raised (the window's worker only logs
    it, so a press would look merely slow)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.stamps: dict[str, float] = {}
        self.handled: asyncio.Queue[str] = asyncio.Queue()
        self.errors: list[BaseException] = []
        self._depth = 0

    async def key(self, op: str, ticket: str | None = None) -> None:
        top = self._depth == 0
        if top:
            self.stamps[f"key:{op}"] = time.perf_counter()
        self._depth += 1
        try:
            await super().key(op, ticket)
        except Exception as exc:
            self.errors.append(exc)
            raise
        finally:
            self._depth -= 1
            if top:
                self.handled.put_nowait(op)

    async def _request(self, command: Any) -> dict[str, Any] | None:
        # _request, the one way a window's command reaches the bus, rather than _send (which takes an op and
        # answers a bool): an override with the wrong signature fails every press
        op = command.op
        self.stamps[f"{op}>"] = time.perf_counter()
        answer = await super()._request(command)
        self.stamps[f"{op}<"] = time.perf_counter()
        return answer


class TimedSink:
    """A sink that notes when the first sample reaches it, then writes the call as a WAV (as WavDirSink does)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.played: dict[str, float] = {}
        self.items: list[Announcement] = []
        self._cond = threading.Condition()

    def play(self, samples: Samples, rate: int, item: Announcement) -> Path:
        t = time.perf_counter()
        path = write_wav(self.out_dir / f"{item.seq:06d}-{item.number}.wav", samples, rate)
        with self._cond:
            self.played[item.number] = t
            self.items.append(item)
            self._cond.notify_all()
        return path

    def describe(self) -> str:
        return f"timed WAV files in {self.out_dir}"

    def wait_count(self, count: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.items) >= count, timeout)


def evict_from_page_cache(bank: SegmentBank) -> int:
    """Ask the kernel to drop the segment files' cached pages (POSIX_FADV_DONTNEED, these files only), so the
    cold call reads them from the disk; how many files were advised."""
    done = 0
    for info in bank.describe():
        if info.path is None or not hasattr(os, "posix_fadvise"):
            continue
        fd = os.open(info.path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            done += 1
        finally:
            os.close(fd)
    return done


# ---------------------------------------------------------------------- the run


async def bare_round_trips(client: HallClient, counter: int, n: int,
                           every: float = 0.0) -> tuple[list[float], list[float]]:
    """call_next then finish, each timed on its own; someone is always waiting (tickets issued up front). With
    `every`, one pair per that many seconds (the bus idle in between, as between presses); else back to back."""
    calls: list[float] = []
    finishes: list[float] = []
    for _ in range(n):
        if every:
            await asyncio.sleep(every)
        t = time.perf_counter()
        answer = await client.send(CounterOp(op="call_next", counter=counter))
        calls.append(time.perf_counter() - t)
        if not answer["ok"]:
            raise BenchmarkFailed(f"bare call_next refused: {answer}")
        t = time.perf_counter()
        answer = await client.send(Finish(counter=counter, ticket=answer["result"]["ticket"]))
        finishes.append(time.perf_counter() - t)
        if not answer["ok"]:
            raise BenchmarkFailed(f"bare finish refused: {answer}")
    return calls, finishes


async def wait_handled(window: TimedWindow, op: str, timeout: float = 10.0) -> None:
    while await asyncio.wait_for(window.handled.get(), timeout) != op:
        pass


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Waits for the window's mirror of the hall (its own event subscription) to catch up with an answer."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.001)
    return True


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    text = EXAMPLE.read_text(encoding="utf-8").replace('catalogue = "catalogue.example.toml"', "") + EXTRA_NODES
    cfg_path = tmp / "hall.toml"
    cfg_path.write_text(text, encoding="utf-8")
    cfg = load_config(cfg_path)
    keys = KeyStore(tmp / "keys")
    keys.init()
    for node in NODES:
        keys.add(node)

    server_proc: subprocess.Popen[str] | None = None
    server_task: asyncio.Task[None] | None = None
    stop = asyncio.Event()
    if args.inproc:
        from hall_bus.wire.server import HallServer

        server = HallServer(cfg, tmp / "data", keys_dir=keys.dir, command_endpoint="tcp://127.0.0.1:*",
                            event_endpoint="tcp://127.0.0.1:*")
        server_task = asyncio.create_task(server.run(stop))
        await asyncio.wait_for(server.ready.wait(), 30)
        cmd_ep, ev_ep = server.command_endpoint, server.event_endpoint
    else:
        cmd_port, ev_port = free_port(), free_port()
        cmd_ep, ev_ep = f"tcp://127.0.0.1:{cmd_port}", f"tcp://127.0.0.1:{ev_port}"
        server_proc = subprocess.Popen(
            [sys.executable, "-m", "hall_bus.cli", "server", "--config", str(cfg_path), "--data", str(tmp / "data"),
             "--keys", str(keys.dir), "--commands", cmd_ep, "--events", ev_ep],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert server_proc.stderr is not None
        while "commands on" not in server_proc.stderr.readline():
            if server_proc.poll() is not None:
                raise BenchmarkFailed("hall server failed to start")
        threading.Thread(target=server_proc.stderr.read, daemon=True).start()  # keep draining its log

    def client(node: str, **kw: Any) -> HallClient:
        return HallClient(node, cmd_ep, ev_ep, credentials=keys.node_credentials(node),
                          heartbeat_seconds=cfg.bus.heartbeat_seconds,
                          server_timeout_seconds=cfg.bus.server_timeout_seconds, **kw)

    clients: list[HallClient] = []
    line = KeypadLineSimulator("ff68", keypads=list(WINDOWS))
    board_sim = TimedBoard("pingan", lines=2, width=20)
    windows: dict[int, TimedWindow] = {}
    agent: BoardAgent | None = None
    announcer: Announcer | None = None
    try:
        kiosk = client("kiosk-1", subscribe=False)
        # the windows' clients mirror the hall: a window's devices follow the mirrored state, not the answers
        counters = {n: client(f"counter-{n}", config=cfg) for n in WINDOWS}
        clients += [kiosk, *counters.values()]
        await asyncio.gather(*(c.start(timeout=30) for c in clients))
        need = args.presses + 2 * args.idle_presses + 3 * args.bare + args.voice + 30
        for _ in range(need):
            answer = await kiosk.send(Issue(service=SERVICE))
            if not answer["ok"]:
                raise BenchmarkFailed(f"issue refused: {answer}")

        # 1. the bare round trip, nothing else running in this process
        await bare_round_trips(counters[4], 4, 10)  # warm-up
        out["bare_call"], out["bare_finish"] = await bare_round_trips(counters[4], 4, args.bare)
        out["paced_call"], out["paced_finish"] = await bare_round_trips(counters[4], 4, args.bare, PACE)

        # 2. the rig: keypad line, windows, board node
        port, board_port = line.start(), board_sim.start_pty()
        driver = open_device({"type": "led-pingan", "port": board_port, "address": 1, "lines": 2, "width": 20,
                              "frame_gap": args.frame_gap})
        board_frames: list[int] = []
        write_at: dict[str, float] = {}
        send, show_call = driver.send, driver.show_call

        def timed_send(frame: bytes) -> None:
            board_frames.append(len(frame))
            send(frame)

        def timed_show_call(number: str, window: str | int, note: str = "") -> list[str]:
            write_at.setdefault(number, time.perf_counter())
            return show_call(number, window, note)

        driver.send, driver.show_call = timed_send, timed_show_call
        board = client("board-1", config=cfg)
        clients.append(board)
        agent = BoardAgent(board, DisplayModel({g: r.label for g, r in cfg.groups.items()}), {"led-main": driver})
        event_at: dict[str, float] = {}

        def on_event(ev: dict[str, Any]) -> None:
            if ev["type"] == "ticket_called":
                event_at.setdefault(ev["data"]["number"], time.perf_counter())
            assert agent is not None
            agent.on_event(ev)

        board.on_event, board.on_resync = on_event, agent.on_resync
        await board.start(timeout=30)
        agent.start()
        line_opts = {"protocol": "ff68", "gap_ms": args.gap_ms, "poll_seconds": args.poll_seconds}
        for n in WINDOWS:
            windows[n] = TimedWindow(counters[n], n, names={"keypad": "keypad"},
                                     keypad=open_device({"type": "keypad-serial", "port": port, "address": n,
                                                         **line_opts}))
            counters[n].on_event, counters[n].on_resync = windows[n].on_event, windows[n].on_resync
            windows[n].start()
        deadline = time.monotonic() + 10  # first polls answered, "keypad answers" reported
        while not all(any("keypad answers" in line for line in w.log) for w in windows.values()):
            if time.monotonic() > deadline:
                raise BenchmarkFailed(f"keypads not answering: {[w.log[-2:] for w in windows.values()]}")
            await asyncio.sleep(0.02)
        for w in windows.values():
            while not w.handled.empty():
                w.handled.get_nowait()

        last_press = dict.fromkeys(WINDOWS, 0.0)

        async def press_call(i: int, idle: bool) -> dict[str, float]:
            n = WINDOWS[i % len(WINDOWS)]
            w = windows[n]
            if idle and w.current is not None:
                line.press(n, "ask_rating")  # 评价: finishes the case (untimed)
                await wait_handled(w, "ask_rating")
                if not await until(lambda: w.current is None):
                    raise BenchmarkFailed(f"press {i}: 评价 left {w.current} at window {n} ({w.log[-3:]})")
            wait = last_press[n] + HOLD - time.perf_counter()
            await asyncio.sleep(max(wait, args.pause))
            before = w.current["ticket"] if w.current else None
            w.stamps = {}
            t0 = time.perf_counter()
            line.press(n, "call_next")
            last_press[n] = t0
            await wait_handled(w, "call_next")
            if w.errors:
                raise BenchmarkFailed(f"press {i}: window {n}'s key handler raised {w.errors[-1]!r}")
            if not await until(lambda: w.current is not None and w.current["ticket"] != before):
                raise BenchmarkFailed(f"press {i}: window {n} called nobody ({w.log[-3:]})")
            number = w.current["number"]
            if not await asyncio.to_thread(board_sim.wait_for, lambda s: number in s.first_top, 5.0):
                raise BenchmarkFailed(f"press {i}: {number} never reached the board")
            s = w.stamps
            missing = {"key:call_next", "call_next>", "call_next<"} - s.keys()
            if missing or number not in event_at or number not in write_at:
                raise BenchmarkFailed(f"press {i}: {number} left no stamp for {sorted(missing)} "
                                      f"(event {number in event_at}, board write {number in write_at})")
            row = {"t0": t0, "key": s["key:call_next"], "call>": s["call_next>"], "call<": s["call_next<"],
                   "event": event_at[number], "write": write_at[number], "seen": board_sim.first_top[number]}
            if "finish>" in s:
                row["finish>"], row["finish<"] = s["finish>"], s["finish<"]
            return row

        for w in windows.values():  # one untimed call each, so every window has a visitor for the busy case
            line.press(w.counter, "call_next")
            last_press[w.counter] = time.perf_counter()
            await wait_handled(w, "call_next")
            if not await until(lambda w=w: w.current is not None):
                raise BenchmarkFailed(f"window {w.counter} called nobody ({w.log[-3:]})")
        busy = [await press_call(i, idle=False) for i in range(args.presses)]
        idle = [await press_call(i, idle=True) for i in range(args.idle_presses)]
        out["busy"], out["idle"] = busy, idle
        out["board_frame_bytes"] = max(board_frames) if board_frames else 0
        out["line_status"] = line_status = windows[1].keypad.line.status()
        out["bad_frames"] = line_status["bad_frames"]
        for w in windows.values():  # leave every window idle
            if w.current is not None:
                line.press(w.counter, "ask_rating")
                await wait_handled(w, "ask_rating")
                if not await until(lambda w=w: w.current is None):
                    raise BenchmarkFailed(f"评价 left {w.current} at window {w.counter}")

        # 3. the bare round trip again, the rig idle (line polling, board node subscribed)
        out["paced_call_rig"], _ = await bare_round_trips(counters[4], 4, args.bare, PACE)

        # 4. voice: a new announcer on the board agent, segments not yet in memory
        sink = TimedSink(tmp / "calls")
        bank = SegmentBank()
        out["evicted"] = evict_from_page_cache(bank)
        announcer = Announcer(sink, bank)
        agent.announcer = announcer
        voice: list[tuple[float, float]] = []  # (event → sink, announce() → sink)
        for i in range(args.voice + 1):
            before = len(event_at)
            answer = await counters[3].send(CounterOp(op="call_next", counter=3))
            if not answer["ok"]:
                raise BenchmarkFailed(f"voice: call_next refused: {answer}")
            number = answer["result"]["number"]
            if not await asyncio.to_thread(sink.wait_count, i + 1, 30.0):
                raise BenchmarkFailed(f"voice: {number} was not announced")
            item = sink.items[-1]
            if item.latency is None or number not in event_at:
                raise BenchmarkFailed(f"voice: {number} has no announce latency or no call event")
            voice.append((sink.played[number] - event_at[number], item.latency))
            answer = await counters[3].send(Finish(counter=3, ticket=answer["result"]["ticket"]))
            if not answer["ok"]:
                raise BenchmarkFailed(f"voice: finish refused: {answer}")
            if len(event_at) != before + 1:
                raise BenchmarkFailed(f"voice: {len(event_at) - before} call events for one call")
        out["voice_cold"], out["voice"] = voice[0], voice[1:]
        segments = sink.items[-1].segments
        out["voice_segments"] = segments
        out["voice_samples"] = sink.items[-1].samples
        parts = [bank.samples(s) for s in segments]
        joins, wavs = [], []
        for _ in range(max(1, args.voice)):
            t = time.perf_counter()
            joined = np.concatenate(parts)
            joins.append(time.perf_counter() - t)
            t = time.perf_counter()
            write_wav(tmp / "baseline.wav", joined, bank.rate)
            wavs.append(time.perf_counter() - t)
        out["join"], out["wav"] = joins, wavs
        out["joined_samples"], out["rate"] = len(joined), bank.rate
    finally:
        for w in windows.values():
            await w.close()
        if agent is not None:
            await agent.close()
        for c in clients:
            await c.close()
        line.stop()
        board_sim.stop()
        if server_task is not None:
            stop.set()
            await asyncio.wait_for(server_task, 10)
        if server_proc is not None:
            server_proc.send_signal(signal.SIGTERM)
            try:
                server_proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server_proc.kill()
    return out


# ---------------------------------------------------------------------- report


def spans(rows: list[dict[str, float]], a: str, b: str) -> list[float]:
    return [r[b] - r[a] for r in rows if a in r and b in r and r[b] == r[b] and r[a] == r[a]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=200, help="叫号 with a visitor at the window (finish + call)")
    ap.add_argument("--idle-presses", type=int, default=100, help="叫号 at an idle window (评价 pressed before)")
    ap.add_argument("--bare", type=int, default=150,
                    help="bare call_next round trips, 3 runs: back to back, paced, paced with the rig idle")
    ap.add_argument("--voice", type=int, default=50, help="warm voice calls (after one cold)")
    ap.add_argument("--gap-ms", type=float, default=5, help="keypad line gap between frames (real lines: 50)")
    ap.add_argument("--poll-seconds", type=float, default=2.0, help="keypad liveness polls per address")
    ap.add_argument("--frame-gap", type=float, default=0.02, help="board frame gap, seconds (real boards: 0.3)")
    ap.add_argument("--pause", type=float, default=0.02, help="seconds between one press done and the next")
    ap.add_argument("--inproc", action="store_true", help="run the hall server in this process's asyncio loop")
    args = parse_args(ap, presses=8, idle_presses=4, bare=10, voice=3, poll_seconds=0.5)
    if args.presses + 2 * args.idle_presses + 3 * args.bare + args.voice + 40 > 999:
        raise SystemExit("too many calls for one service's 999 numbers a day: lower the counts")

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-hall-devices-", dir=ROOT) as tmpdir:
        res = asyncio.run(run(args, Path(tmpdir)))
    elapsed = time.perf_counter() - t_start

    key_bytes = len(ff68.encode_key(1, ff68.KEY_CALL_NEXT))
    board_bytes = res["board_frame_bytes"]
    busy, idle = res["busy"], res["idle"]
    b_lat = spans(busy, "t0", "seen")
    i_lat = spans(idle, "t0", "seen")
    bare, paced = res["bare_call"], res["paced_call"]
    bare_pair = [c + f for c, f in zip(res["bare_call"], res["bare_finish"], strict=True)]
    paced_pair = [c + f for c, f in zip(res["paced_call"], res["paced_finish"], strict=True)]
    bp99 = stats(bare)[1]
    pp99 = stats(paced)[1]
    where = "in this process's asyncio loop (--inproc)" if args.inproc else "its own process (hallctl server)"

    print(f"hall server: {where}, CURVE on, 127.0.0.1; {len(WINDOWS)} FF 68 keypads on one pty line "
          f"(gap_ms {args.gap_ms:g}, polls every {args.poll_seconds:g} s), 平安 2×20 board on a pty "
          f"(frame_gap {args.frame_gap:g} s); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"wire time a real 9600 8N1 line adds: key frame {key_bytes} B = {wire_ms(key_bytes):.1f} ms, "
          f"board frame {board_bytes} B = {wire_ms(board_bytes):.1f} ms (sum {wire_ms(key_bytes + board_bytes):.1f} "
          f"ms); real gaps, line 50 ms / board 0.3 s, only delay a frame that follows another that closely")
    print()
    print(f"{'figure':<58} {'p50':>8} {'p99':>8} {'max':>8} {'n':>5}  target")

    def row(name: str, values: list[float], target: str = "") -> tuple[float, float, float]:
        p50, p99, mx = stats(values, name)
        print(f"{name:<58} {p50:8.2f} {p99:8.2f} {mx:8.2f} {len(values):5d}  {target}")
        return p50, p99, mx

    print("-- press → board (ms)")
    _, busy99, _ = row("叫号, visitor at window: finish + call_next → board", b_lat, "p99 < 30 ms")
    _, idle99, _ = row("叫号, idle window: call_next → board", i_lat, "p99 < 30 ms")
    print("-- bare bus round trip, same server (ms)")
    row("call_next → answer, back to back, nothing else running", bare)
    row("finish + call_next, back to back", bare_pair)
    row(f"call_next → answer, one every {PACE * MS:.0f} ms (press pace)", paced)
    row(f"finish + call_next, one pair every {PACE * MS:.0f} ms", paced_pair)
    row(f"call_next → answer, every {PACE * MS:.0f} ms, rig idle (line, board up)", res["paced_call_rig"])
    print("-- where the press → board time goes, 叫号 at a busy window (ms)")
    row("  key frame written → key handler on the loop", spans(busy, "t0", "key"))
    row("  finish request → answer", spans(busy, "finish>", "finish<"))
    row("  finish answer → call_next sent", spans(busy, "finish<", "call>"))
    row("  call_next request → answer", spans(busy, "call>", "call<"))
    row("  call_next sent → ticket_called event at board agent", spans(busy, "call>", "event"))
    row("  event at board agent → board driver called (thread hop)", spans(busy, "event", "write"))
    row("  board driver called → frame decoded by the board", spans(busy, "write", "seen"))
    row("  (idle window) key handler → call_next sent", spans(idle, "key", "call>"))
    print("-- voice: event at board agent → first sample at the sink (ms)")
    cold_ev, cold_announce = (figure(v, "voice, first call") for v in res["voice_cold"])
    print(f"{'first call, cold (new SegmentBank, files evicted from cache)':<58} {cold_ev * MS:8.2f} "
          f"{'':8} {'':8} {1:5d}  < 300 ms   (announce() → sink {cold_announce * MS:.2f} ms)")
    row("warm calls, segments in memory", [v[0] for v in res["voice"]], "< 300 ms")
    row("  of which announce() → sink (Announcement.latency)", [v[1] for v in res["voice"]])
    seconds = res["joined_samples"] / res["rate"]
    row(f"baseline: np.concatenate of the {len(res['voice_segments'])} segments ({seconds:.2f} s)", res["join"])
    row(f"baseline: write_wav of {res['joined_samples']} samples", res["wav"])
    print()
    print(f"ratio press→board p99 / bare call_next p99, back to back ({bp99:.2f} ms): busy {busy99 / bp99:.1f}, "
          f"idle {idle99 / bp99:.1f};  paced ({pp99:.2f} ms): busy {busy99 / pp99:.1f}, idle {idle99 / pp99:.1f}")
    print(f"keypad line: {res['line_status']['frames']} frames, {res['bad_frames']} bad; "
          f"{len(busy)} + {len(idle)} presses, all reached the board; "
          f"full announcement {res['voice_samples'] / res['rate']:.2f} s; {res['evicted']} segment files evicted "
          f"before the cold call; run took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
