"""`hallctl device keypad monitor` and `hallctl device sim keypad` as the technician runs them: real hallctl
subprocesses, real ptys, keys pressed while the command runs. Nothing waits a fixed time: every step waits for
the line it expects, with a generous timeout."""

from __future__ import annotations

import contextlib
import json
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.keypad.line import RS485Line
from devices.keypad.simulator import KeypadLineSimulator

from .conftest import EXAMPLE, ROOT

WAIT = 20.0

def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hall_bus.cli", *args]


def hallctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(*args), capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          stdin=subprocess.DEVNULL, encoding="utf-8")


class Running:
    """A hallctl process whose stdout is read line by line while the test acts on the simulator."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(_command(*args), cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = WAIT) -> str:
        for line in self.lines:
            if predicate(line):
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if predicate(line):
                return line
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
        raise AssertionError(f"no {what} in:\n" + "\n".join(self.lines) + f"\nstderr: {err}")

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines if line.startswith("{")]

    def wait_event(self, what: str, **fields: Any) -> dict[str, Any]:
        def match(line: str) -> bool:
            if not line.startswith("{"):
                return False
            obj = json.loads(line)
            return all(obj.get(k) == v for k, v in fields.items())

        return json.loads(self.wait_for(match, f"{what} {fields}"))

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def finish(self, sig: int | None = signal.SIGTERM) -> int:
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(WAIT)
        while True:  # what the process printed while it ended
            try:
                line = self._q.get(timeout=WAIT)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return rc

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)


@contextlib.contextmanager
def running(*args: str) -> Iterator[Running]:
    r = Running(*args)
    try:
        yield r
    finally:
        r.kill()


def until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in time")
        time.sleep(0.02)


# ---------------------------------------------------------------------- the monitor


def test_monitor_qsystem_lists_keys_with_addresses_and_ops() -> None:
    with KeypadLineSimulator("qsystem", keypads=[1, 5]) as sim, \
            running("device", "keypad", "monitor", "--port", sim.path, "--protocol", "qsystem",
                    "--duration", "120", "--json") as mon:
        ready = mon.wait_event("listening line", event="listening")
        assert ready["port"] == sim.path and ready["protocol"] == "qsystem"
        # QSystem keys mean what the counter's state says: CALL calls, START starts, CALL again recalls
        sim.press(5, "call_next")
        mon.wait_event("call_next from 5", event="key", address=5, op="call_next")
        sim.press(5, "start")
        mon.wait_event("start from 5", event="key", address=5, op="start")
        sim.press(5, "finish")
        mon.wait_event("finish from 5", event="key", address=5, op="finish")
        sim.press(1, "call_next")
        mon.wait_event("call_next from 1", event="key", address=1, op="call_next")
        sim.press(1, "recall")  # the same CALL key, now that 1 has called someone
        mon.wait_event("recall from 1", event="key", address=1, op="recall", key="CALL")
        sim.garbage()
        mon.wait_event("the garbage", event="bad_frame", reason="garbage")
        assert mon.finish() == 0
        keys = [(e["address"], e["op"]) for e in mon.events() if e["event"] == "key"]
        assert keys == [(5, "call_next"), (5, "start"), (5, "finish"), (1, "call_next"), (1, "recall")]
        summary = mon.events()[-1]
        assert summary["event"] == "summary" and summary["keys"] == 5 and set(summary["bad"]) == {"garbage"}
        assert summary["frames"] >= 5
        assert sim.host_frames == []  # no --keypads: nothing to poll, and a monitor sends nothing else


def test_monitor_ff68_keys_ratings_and_a_silent_keypad() -> None:
    with KeypadLineSimulator("ff68", keypads=[1, 5], evaluators=[11]) as sim, \
            running("device", "keypad", "monitor", "--port", sim.path, "--protocol", "ff68", "--keypads", "1,5",
                    "--pads", "11", "--poll", "0.2", "--duration", "120", "--json") as mon:
        mon.wait_event("listening line", event="listening")
        for address in (1, 5, 11):
            mon.wait_event(f"{address} answering", event="status", address=address, answering=True)
        sim.press(5, "call_next")
        mon.wait_event("call_next from 5", event="key", address=5, op="call_next", known=True)
        sim.press(5, "no_show")  # 6 then confirm
        mon.wait_event("no_show from 5", event="key", address=5, op="no_show")
        sim.press(1, "pause")
        mon.wait_event("pause from 1", event="key", address=1, op="pause")
        sim.rate(11, 5)
        best = mon.wait_event("rating 5", event="rating", address=11, level=5)
        assert best["label"] == "非常满意"
        sim.rate(11, 1)
        assert mon.wait_event("rating 1", event="rating", address=11, level=1)["label"] == "非常不满意"
        until(lambda: sim.device(5).acks >= 2, "the line's echo of keypad 5's keys")
        sim.kill(5)
        down = mon.wait_event("5 not answering", event="status", address=5, answering=False)
        assert "polls" in down["detail"]
        sim.revive(5)
        mon.wait_event("5 answering again", event="status", address=5, answering=True, again=True)
        sim.press(1, "transfer")
        mon.wait_event("transfer from 1", event="key", address=1, op="transfer")
        assert mon.finish() == 0
        summary = mon.events()[-1]
        assert summary["event"] == "summary" and summary["keys"] == 4 and summary["ratings"] == 2
        assert summary["not_answering"] == [] and summary["bad_frames"] == 0


def test_monitor_by_name_shows_the_hall_files_devices(tmp_path: Path) -> None:
    with KeypadLineSimulator("qsystem", keypads=[1, 5, 7]) as sim:
        hall = tmp_path / "hall.toml"
        hall.write_text(EXAMPLE.read_text(encoding="utf-8").replace('"/dev/ttyS1"', f'"{sim.path}"')
                        .replace('catalogue = "catalogue.example.toml"', ""),
                        encoding="utf-8")
        with running("device", "keypad", "monitor", "counter-5/keypad", "--config", str(hall),
                     "--duration", "120") as mon:
            first = mon.wait_for(lambda line: "listening on" in line, "listening line")
            assert sim.path in first and "01 (counter-1, window 1)" in first and "05 (counter-5, window 5)" in first
            sim.press(5, "call_next")
            line = mon.wait_for(lambda line: "call_next" in line and "  05  " in line, "call_next from 5")
            assert "(counter-5, window 5)" in line
            sim.press(7, "call_next")  # a keypad whose address switches say 7: not in the hall file
            stray = mon.wait_for(lambda line: "  07  " in line, "the stray keypad")
            assert "unknown address" in stray and "hall.toml" in stray
            assert mon.finish() == 0
            summary = mon.lines[-1]
            assert summary.split("  ", 1)[1].startswith("summary:") and "unknown addresses: 7" in summary


def test_monitor_user_errors_are_one_line() -> None:
    missing = hallctl("device", "keypad", "monitor", "--port", "/nonexistent", "--duration", "5")
    assert missing.returncode == 4, missing.stderr
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and "/nonexistent" in lines[0] and "try:" in lines[0]
    assert "Traceback" not in missing.stderr + missing.stdout
    for args, words in ((("--duration", "1"), "--port"),
                        (("--port", "/dev/null", "--protocol", "pingan"), "invalid choice"),
                        (("counter-5/keypad",), "--config"),
                        (("--port", "/dev/null", "--baudrate", "1234"), "standard baud rate"),
                        (("--port", "/dev/null", "--pads", "11"), "ff68"),
                        (("kiosk-1/printer", "--config", str(EXAMPLE)), "not a keypad")):
        res = hallctl("device", "keypad", "monitor", *args)
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in res.stderr, (args, res.stderr)


def test_monitor_stops_after_duration_with_a_summary() -> None:
    with KeypadLineSimulator("qsystem", keypads=[1]) as sim:
        res = hallctl("device", "keypad", "monitor", "--port", sim.path, "--duration", "0.5")
    assert res.returncode == 0, res.stderr
    assert "listening on" in res.stdout and "summary: " in res.stdout.splitlines()[-1]


# ---------------------------------------------------------------------- the simulator, driven through stdin

PTY = re.compile(r" on (/dev/\S+?):")


def _line_on(path: str, protocol: str) -> tuple[RS485Line, queue.Queue[Any]]:
    got: queue.Queue[Any] = queue.Queue()
    line = RS485Line(path, protocol=protocol, poll_seconds=0)  # type: ignore[arg-type]
    line.add_listener(got.put)
    line.open()
    line.start()
    return line, got


def _next(got: queue.Queue[Any], predicate: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            event = got.get(timeout=0.1)
            if predicate(event):
                return event
    raise AssertionError(f"no {what} on the line")


def test_sim_keypad_qsystem_through_stdin() -> None:
    with running("device", "sim", "keypad", "--duration", "120") as sim:
        first = sim.wait_for(lambda line: "keypad line simulator" in line, "first line")
        assert "(qsystem)" in first  # device sim's default --protocol is the board's pingan: keypads mean QSystem
        match = PTY.search(first)
        assert match, first
        line, got = _line_on(match.group(1), "qsystem")
        try:
            keypad = line.add_keypad(5)
            line.add_keypad(1)
            sim.send("press 5 call_next")
            sim.wait_for(lambda text: text.startswith("keypad 5: pressed call_next"), "press answer")
            event = _next(got, lambda e: e.kind == "key", "key")
            assert (event.address, event.op) == (5, "call_next")
            sim.send("press 5 0x32")  # START by its code
            assert _next(got, lambda e: e.kind == "key", "key").op == "start"
            sim.send("press 1 pause")  # a QSystem keypad has no pause key
            sim.wait_for(lambda text: "no key of a qsystem keypad" in text, "refusal")
            sim.send("bogus 1 2 3")
            sim.wait_for(lambda text: text.startswith("'bogus 1 2 3'? commands:"), "help line")
            sim.send("garbage")
            assert _next(got, lambda e: e.kind == "bad_frame", "bad frame").detail.startswith("garbage")
            sim.send("dead 1")
            sim.send("press 1 call_next")
            sim.wait_for(lambda text: "keypad 1 is dead" in text, "dead keypad")
            sim.send("alive 1")
            sim.send("press 1 call_next")
            assert _next(got, lambda e: e.kind == "key", "key").address == 1
            assert keypad.show_number("A023") == "023"
            sim.wait_for(lambda text: 'keypad 5 shows "023"' in text, "display change")
            sim.send("show")
            shown = sim.wait_for(lambda text: text.startswith("keypad 5: display"), "show")
            assert '"023"' in shown
            sim.wait_for(lambda text: text.startswith("host frames received:"), "host frame count")
            line.stop()  # before the simulator's pty goes away
            sim.send("quit")
            assert sim.finish(None) == 0
        finally:
            line.stop()


def test_sim_keypad_ff68_rating_pad_and_end_of_input() -> None:
    with running("device", "sim", "keypad", "--protocol", "ff68", "--duration", "120") as sim:
        first = sim.wait_for(lambda line: "keypad line simulator" in line, "first line")
        assert "(ff68)" in first and "rating pad 11" in first
        match = PTY.search(first)
        assert match, first
        line, got = _line_on(match.group(1), "ff68")
        ratings: queue.Queue[tuple[int, int]] = queue.Queue()
        try:
            line.add_keypad(5)
            line.add_evaluator(11, on_rating=lambda a, level: ratings.put((a, level)))
            sim.send("rate 11 5")
            assert ratings.get(timeout=WAIT) == (11, 5)
            sim.send("rate 11 2")
            assert ratings.get(timeout=WAIT) == (11, 2)
            sim.send("rate 11 6")
            sim.wait_for(lambda text: text.startswith("rate: level '6'"), "refused level")
            sim.send("press 5 ask_rating")
            assert _next(got, lambda e: e.kind == "key", "key").op == "ask_rating"
            sim.send("press 5 no_show")
            assert _next(got, lambda e: e.kind == "key", "key").op == "no_show"
            line.stop()  # before the simulator's pty goes away
            assert sim.proc.stdin is not None
            sim.proc.stdin.close()  # end of input ends the simulator
            assert sim.finish(None) == 0
            assert "end of input" in sim.lines
        finally:
            line.stop()


def test_sim_keypad_refuses_a_board_protocol_and_stops_after_duration() -> None:
    res = subprocess.run([sys.executable, "-m", "hall_bus.cli", "device", "sim", "keypad", "--protocol", "imm9003"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL)
    assert res.returncode == 2 and "qsystem" in res.stderr and "Traceback" not in res.stderr
    with running("device", "sim", "keypad", "--duration", "0.5") as sim:  # stdin open and silent
        assert sim.finish(None) == 0
        assert any("keypad line simulator" in text for text in sim.lines)


@pytest.mark.parametrize("protocol", ["qsystem", "ff68"])
def test_monitor_watches_the_simulator_command(protocol: str) -> None:
    """The two commands together, as a technician rehearses: one terminal runs the simulator, one the monitor."""
    with running("device", "sim", "keypad", "--protocol", protocol, "--duration", "120") as sim:
        path = PTY.search(sim.wait_for(lambda line: "keypad line simulator" in line, "first line"))
        assert path
        with running("device", "keypad", "monitor", "--port", path.group(1), "--protocol", protocol,
                     "--duration", "120", "--json") as mon:
            mon.wait_event("listening line", event="listening")
            sim.send("press 5 call_next")
            mon.wait_event("call_next from 5", event="key", address=5, op="call_next")
            if protocol == "ff68":
                sim.send("rate 11 4")
                assert mon.wait_event("rating", event="rating", address=11, level=4)["label"] == "满意"
            assert mon.finish() == 0
        sim.send("quit")
        assert sim.finish(None) == 0
