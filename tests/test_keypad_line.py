"""The RS-485 line owner against several simulated keypads and pads on one real pseudo-terminal."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.errors import DeviceError
from devices.keypad import ff68, qsystem
from devices.keypad.line import RS485Line, shared_line
from devices.keypad.simulator import KeypadLineSimulator
from devices.registry import open_device, probe

FAST = {"gap_ms": 2, "poll_seconds": 0.05, "missed_polls": 2, "answer_ms": 100}


def wait_for(what: str, cond: Callable[[], Any], seconds: float = 10.0) -> Any:
    """Wait for a condition, not for a time: the test fails with what never happened, however slow CI is."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def ready(line: RS485Line) -> None:
    """Keys pressed before the port is open are lost (opening flushes the input, on a real line too)."""
    wait_for("the line open", lambda: line.status()["open"])


class Recorder:
    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()

    def __call__(self, *args: Any) -> None:
        with self.lock:
            self.items.append(args)

    def has(self, *item: Any) -> bool:
        with self.lock:
            return item in self.items


@pytest.fixture
def ff68_sim() -> Iterator[KeypadLineSimulator]:
    with KeypadLineSimulator("ff68", keypads=[1, 2], evaluators=[9]) as sim:
        yield sim


@pytest.fixture
def qsystem_sim() -> Iterator[KeypadLineSimulator]:
    with KeypadLineSimulator("qsystem", keypads=[3, 4]) as sim:
        yield sim


def test_two_keypads_and_a_rating_reach_their_handlers(ff68_sim: KeypadLineSimulator) -> None:
    keys, ratings = Recorder(), Recorder()
    with RS485Line(ff68_sim.path, protocol="ff68", **FAST) as line:
        line.add_keypad(1, on_key=keys)
        line.add_keypad(2, on_key=keys)
        line.add_evaluator(9, on_rating=ratings)
        ready(line)
        ff68_sim.press(1, "call_next")
        ff68_sim.press(2, "recall")
        ff68_sim.rate(9, 5)
        ff68_sim.press(2, 0x12)  # a raw key code: pause
        wait_for("both keypads' keys", lambda: keys.has(1, "call_next") and keys.has(2, "recall")
                 and keys.has(2, "pause"))
        wait_for("the rating as level 5 (非常满意)", lambda: ratings.has(9, 5))
        assert not keys.has(2, "call_next") and not keys.has(1, "recall")
        # the host echoes every key and rating frame: that is the keypad's acknowledgement
        wait_for("acks", lambda: ff68_sim.device(1).acks == 1 and ff68_sim.device(2).acks == 2
                 and ff68_sim.device(9).acks == 1)
        assert ff68.encode_key(1, ff68.KEY_CALL_NEXT) in ff68_sim.device(1).frames


def test_qsystem_keys_follow_the_counter_state(qsystem_sim: KeypadLineSimulator) -> None:
    keys = Recorder()
    with RS485Line(qsystem_sim.path, protocol="qsystem", **FAST) as line:
        line.add_keypad(3, on_key=keys)
        k4 = line.add_keypad(4, on_key=keys)
        ready(line)
        qsystem_sim.press(3, qsystem.Key.CALL)
        wait_for("call_next from 3", lambda: keys.has(3, "call_next"))
        qsystem_sim.press(3, qsystem.Key.CALL)  # called already: the same key recalls
        qsystem_sim.press(4, qsystem.Key.CALL)
        wait_for("recall from 3 and call_next from 4", lambda: keys.has(3, "recall") and keys.has(4, "call_next"))
        qsystem_sim.press(3, qsystem.Key.START)
        wait_for("start", lambda: keys.has(3, "start"))
        qsystem_sim.press(3, qsystem.Key.FINISH)  # serving: finish, not no-show
        wait_for("finish", lambda: keys.has(3, "finish"))
        assert not keys.has(3, "no_show")
        k4.set_state("idle")  # the bus said nobody was waiting
        qsystem_sim.press(4, qsystem.Key.CALL)
        wait_for("4 calls again", lambda: keys.items.count((4, "call_next")) == 2)


def test_a_dead_keypad_is_reported_while_the_others_keep_working(ff68_sim: KeypadLineSimulator) -> None:
    keys, status = Recorder(), Recorder()
    with RS485Line(ff68_sim.path, protocol="ff68", **FAST) as line:
        line.add_keypad(1, on_key=keys, on_status=status)
        line.add_keypad(2, on_key=keys, on_status=status)
        wait_for("both answer", lambda: status.has(1, True) and status.has(2, True))
        ff68_sim.kill(2)
        wait_for("2 reported not answering", lambda: line.status()["not_answering"] == [2])
        wait_for("on_status told", lambda: status.has(2, False))
        assert not status.has(1, False)
        assert line.status()["devices"][1]["answering"] is True
        ff68_sim.press(1, "call_next")
        wait_for("1 still works", lambda: keys.has(1, "call_next"))
        assert status.items.count((2, False)) == 1  # reported once, not at every missed poll
        ff68_sim.revive(2)
        wait_for("2 answers again", lambda: line.status()["not_answering"] == [] and status.items[-1] == (2, True))
        ff68_sim.press(2, "call_next")
        wait_for("2 works again", lambda: keys.has(2, "call_next"))


def test_qsystem_dead_keypad_comes_back(qsystem_sim: KeypadLineSimulator) -> None:
    with RS485Line(qsystem_sim.path, protocol="qsystem", **FAST) as line:
        line.add_keypad(3)
        line.add_keypad(4)
        wait_for("polls answered", lambda: line.status()["devices"][4]["answering"] is True)
        qsystem_sim.kill(4)
        wait_for("4 not answering", lambda: line.status()["not_answering"] == [4])
        assert line.status()["devices"][3]["answering"] is True
        qsystem_sim.revive(4)
        wait_for("4 back", lambda: line.status()["devices"][4]["answering"] is True)


def test_display_bytes_arrive_and_show_the_right_digits(ff68_sim: KeypadLineSimulator) -> None:
    with RS485Line(ff68_sim.path, protocol="ff68", **FAST) as line:
        k1 = line.add_keypad(1)
        assert k1.show_number("A023", 7) == "007023"
        wait_for("display frame", lambda: ff68_sim.display(1) == "007023")
        assert H("FF 68 08 08 68 01 02 00 00 07 00 02 03 0F 16") in ff68_sim.device(1).frames  # CS 1+2+7+2+3 = 0x0F
        assert k1.show_number("A1234567") == "      "  # cannot be shown truthfully: blank, never a cut number
        wait_for("display blanked", lambda: ff68_sim.display(1) == "      ")
        k1.beep()
        wait_for("beep", lambda: ff68_sim.device(1).beeps == 1)
        assert ff68_sim.display(2) == ""  # nothing addressed to keypad 2 changed it


def test_qsystem_display_led_and_beep(qsystem_sim: KeypadLineSimulator) -> None:
    with RS485Line(qsystem_sim.path, protocol="qsystem", **FAST) as line:
        k3 = line.add_keypad(3)
        assert k3.show_number("A023") == "023"
        wait_for("display", lambda: qsystem_sim.display(3) == "023")
        assert H("01 03 20 30 32 33 07") in qsystem_sim.device(3).frames
        k3.led(qsystem.Led.GREEN)
        wait_for("green LED", lambda: qsystem_sim.device(3).led == qsystem.Led.GREEN)
        k3.beep()  # beeps and keeps the LED: 0x32 + 7 = 0x39
        wait_for("beep", lambda: qsystem_sim.device(3).beeps == 1)
        assert H("01 03 39 07") in qsystem_sim.device(3).frames and qsystem_sim.device(3).led == qsystem.Led.GREEN
        k3.show_text("CAL", blink=True)
        wait_for("text", lambda: qsystem_sim.display(3) == "CAL" and qsystem_sim.device(3).blink == 0x21)


@pytest.mark.parametrize("protocol", ["qsystem", "ff68"])
def test_bad_bytes_are_counted_and_the_line_goes_on(protocol: str) -> None:
    with KeypadLineSimulator(protocol, keypads=[1, 2]) as sim:  # type: ignore[arg-type]
        keys = Recorder()
        # no polls: a poll answer landing in the middle of the injected bytes would turn a partial into a collision
        quiet = {**FAST, "poll_seconds": 0}
        with RS485Line(sim.path, protocol=protocol, **quiet) as line:  # type: ignore[arg-type]
            line.add_keypad(1, on_key=keys)
            line.add_keypad(2, on_key=keys)
            ready(line)
            sim.garbage()
            wait_for("garbage counted", lambda: line.status()["bad"].get("garbage"))
            sim.partial(1)
            wait_for("partial counted", lambda: line.status()["bad"].get("partial"))
            sim.collision(1, 2)
            wait_for("collision counted", lambda: line.status()["bad"].get("collision"))
            assert not keys.items  # nothing broken became a key
            sim.press(2, "call_next")
            wait_for("the next good frame", lambda: keys.has(2, "call_next"))
            assert line.running and line.status()["error"] is None


def test_a_handler_that_raises_does_not_stop_the_line(ff68_sim: KeypadLineSimulator) -> None:
    keys = Recorder()

    def broken(address: int, op: str) -> None:
        raise RuntimeError("bus down")

    with RS485Line(ff68_sim.path, protocol="ff68", **FAST) as line:
        line.add_keypad(1, on_key=broken)
        line.add_keypad(2, on_key=keys)
        ready(line)
        ff68_sim.press(1, "call_next")
        ff68_sim.press(2, "call_next")
        wait_for("2 still heard", lambda: keys.has(2, "call_next"))
        assert line.running


def test_an_unknown_address_is_reported_not_dispatched(ff68_sim: KeypadLineSimulator) -> None:
    events: list[Any] = []
    ff68_sim.add(7)
    with RS485Line(ff68_sim.path, protocol="ff68", **FAST) as line:
        line.add_listener(events.append)
        line.add_keypad(1)
        ready(line)
        ff68_sim.press(7, "recall")
        wait_for("unknown address counted", lambda: line.status()["unknown_addresses"] == {7: 1})
        wait_for("monitor event", lambda: any(e.kind == "key" and e.address == 7 and not e.known for e in events))


def test_a_missing_port_is_a_device_error_with_a_fix() -> None:
    line = RS485Line("/dev/ttyUSB-no-such-port", **FAST)
    with pytest.raises(DeviceError) as info:
        line.open()
    assert "does not exist" in info.value.message and info.value.fix
    line.add_keypad(1)
    line.retry_seconds = 0.05
    with line:
        wait_for("the error in status", lambda: line.status()["error"])
        assert line.status()["fix"] and line.running  # reported, and still retrying


def test_a_pulled_cable_is_reported_and_the_line_reopens(tmp_path: Path) -> None:
    port = tmp_path / "ttyRS485"
    keys = Recorder()
    first = KeypadLineSimulator("ff68", keypads=[1])
    os.symlink(first.start(), port)
    line = RS485Line(str(port), protocol="ff68", retry_seconds=0.05, **FAST)
    line.add_keypad(1, on_key=keys)
    with line:
        ready(line)
        first.press(1, "call_next")
        wait_for("first key", lambda: keys.has(1, "call_next"))
        first.stop()  # the cable is pulled
        wait_for("line down reported", lambda: line.status()["error"])
        assert line.running
        with KeypadLineSimulator("ff68", keypads=[1]) as second:  # plugged back in
            port.unlink()
            os.symlink(second.path, port)
            wait_for("line reopened", lambda: line.status()["open"] and line.status()["reopened"] >= 1)
            second.press(1, "recall")
            wait_for("key after reopening", lambda: keys.has(1, "recall"))


def test_a_port_missing_at_start_reports_every_device_until_it_appears(tmp_path: Path) -> None:
    port = tmp_path / "ttyRS485"
    status = Recorder()
    line = RS485Line(str(port), protocol="ff68", retry_seconds=0.05, **FAST)
    line.add_keypad(1, on_status=status)
    line.add_evaluator(9, on_status=status)
    with line:
        wait_for("both told not answering", lambda: status.has(1, False) and status.has(9, False))
        assert line.status()["not_answering"] == [1, 9] and line.status()["error"]
        late = Recorder()
        line.add_keypad(2, on_status=late)  # a device added while the line is down is unreachable too
        line.set_handlers(1, on_status=late)  # and a handler attached after the report still hears it
        wait_for("late handlers told", lambda: late.has(2, False) and late.has(1, False))
        with KeypadLineSimulator("ff68", keypads=[1, 2], evaluators=[9]) as sim:  # the adapter is plugged in
            os.symlink(sim.path, port)
            wait_for("all answer", lambda: line.status()["not_answering"] == [] and late.has(1, True)
                     and late.has(2, True) and status.has(9, True))
            time.sleep(0.3)  # several polls answered: still one report each
            assert status.items.count((9, False)) == 1 and status.items.count((9, True)) == 1
            assert late.items.count((1, True)) == 1 and late.items.count((2, False)) == 1


def test_a_pulled_adapter_makes_every_device_unreachable_once_and_back(tmp_path: Path) -> None:
    port = tmp_path / "ttyRS485"
    status = Recorder()
    first = KeypadLineSimulator("qsystem", keypads=[3, 4])
    os.symlink(first.start(), port)
    line = RS485Line(str(port), protocol="qsystem", retry_seconds=0.05, **FAST)
    line.add_keypad(3, on_status=status)
    line.add_keypad(4, on_status=status)
    with line:
        wait_for("both answer", lambda: status.has(3, True) and status.has(4, True))
        first.stop()  # the USB-RS485 adapter is pulled
        wait_for("both not answering", lambda: status.has(3, False) and status.has(4, False))
        assert line.status()["not_answering"] == [3, 4]
        time.sleep(0.3)  # the line keeps retrying: no report at every attempt
        assert status.items.count((3, False)) == 1 and status.items.count((4, False)) == 1
        with KeypadLineSimulator("qsystem", keypads=[3, 4]) as second:
            port.unlink()
            os.symlink(second.path, port)
            wait_for("both answer again", lambda: status.items.count((3, True)) == 2
                     and status.items.count((4, True)) == 2)
            assert line.status()["not_answering"] == [] and line.status()["reopened"] >= 1


def test_an_unpolled_line_reports_its_devices_back_when_it_reopens(tmp_path: Path) -> None:
    port = tmp_path / "ttyRS485"
    status, keys = Recorder(), Recorder()
    line = RS485Line(str(port), protocol="ff68", retry_seconds=0.05, **{**FAST, "poll_seconds": 0})
    line.add_keypad(1, on_status=status, on_key=keys)
    with line:
        wait_for("not answering", lambda: status.items == [(1, False)])
        with KeypadLineSimulator("ff68", keypads=[1]) as sim:
            os.symlink(sim.path, port)
            wait_for("back at the reopen", lambda: status.items == [(1, False), (1, True)])
            assert line.status()["not_answering"] == []
            sim.press(1, "call_next")
            wait_for("the key", lambda: keys.has(1, "call_next"))
            time.sleep(0.1)
            assert status.items == [(1, False), (1, True)]  # the key proves nothing new: no second report


def test_a_line_owned_by_another_owner_is_refused_with_the_fix(qsystem_sim: KeypadLineSimulator) -> None:
    from devices.link import SerialLink

    owner = SerialLink(qsystem_sim.path, 9600, exclusive=True)
    owner.open()
    try:
        with pytest.raises(DeviceError) as info:
            SerialLink(qsystem_sim.path, 9600, exclusive=True).open()
        assert qsystem_sim.path in info.value.message and "another process" in info.value.message
        plain = SerialLink(qsystem_sim.path, 9600)  # printers and ID readers: no lock asked, none enforced
        plain.open()
        plain.close()
        status = Recorder()
        second = RS485Line(qsystem_sim.path, protocol="qsystem", retry_seconds=0.05, **FAST)  # not shared_line
        with pytest.raises(DeviceError) as info:
            second.open()
        assert info.value.fix and "hallctl run counter --node A --node B" in info.value.fix
        second.add_keypad(3, on_status=status)
        with second:
            wait_for("the line's error and the keypad unreachable", lambda: status.has(3, False))
            assert "in use by another process" in second.status()["error"]
    finally:
        owner.close()
    with RS485Line(qsystem_sim.path, protocol="qsystem", **FAST) as line:  # the owner gone, the port is free
        line.add_keypad(3)
        ready(line)


def test_a_second_process_on_the_same_line_gets_one_line_with_the_fix(qsystem_sim: KeypadLineSimulator) -> None:
    import subprocess
    import sys

    from .conftest import ROOT

    script = ("import sys\n"
              "from devices.errors import DeviceError\n"
              "from devices.keypad.line import RS485Line\n"
              "try:\n"
              "    RS485Line(sys.argv[1]).open()\n"
              "except DeviceError as exc:\n"
              "    print(exc)\n"
              "    sys.exit(4)\n")
    with RS485Line(qsystem_sim.path, protocol="qsystem", **FAST) as line:
        line.add_keypad(3)
        ready(line)
        res = subprocess.run([sys.executable, "-c", script, qsystem_sim.path], capture_output=True, text=True,
                             cwd=ROOT, timeout=60)
    assert res.returncode == 4, res.stdout + res.stderr
    assert qsystem_sim.path in res.stdout and "one `hallctl run counter --node A --node B` process" in res.stdout


# ---------------------------------------------------------------- through the hall file's device tables


def test_open_device_gives_keypads_and_pads_one_owner_per_port(ff68_sim: KeypadLineSimulator) -> None:
    k = open_device({"name": "k", "type": "keypad-serial", "port": ff68_sim.path, "address": 1, "protocol": "ff68"})
    pad = open_device({"name": "e", "type": "eval-pad", "port": ff68_sim.path, "address": 9})
    try:
        assert k.line is pad.line is shared_line(ff68_sim.path, protocol="ff68")
        keys, ratings = Recorder(), Recorder()
        k.listen(keys)
        pad.listen(ratings)
        ready(k.line)
        ff68_sim.press(1, "ask_rating")
        ff68_sim.rate(9, 2)
        wait_for("key and rating", lambda: keys.has(1, "ask_rating") and ratings.has(9, 2))
        assert k.show_number("A005") == "   005"
        wait_for("display", lambda: ff68_sim.display(1) == "   005")
        wait_for("status", lambda: k.status()["answering"] is True)
        with pytest.raises(DeviceError, match="disagree"):
            open_device({"name": "q", "type": "keypad-serial", "port": ff68_sim.path, "address": 2})
    finally:
        k.close()
        pad.close()
    assert not k.line.running


def test_options_keep_the_old_keys_and_refuse_pads_on_qsystem() -> None:
    from devices.registry import option_problems

    assert option_problems("keypad-serial", {"port": "/dev/ttyS1", "address": 1}) == []
    assert option_problems("eval-pad", {"port": "/dev/ttyS1", "address": 1, "baudrate": 9600}) == []
    assert option_problems("eval-pad", {"port": "/dev/ttyS1", "address": 1, "protocol": "qsystem"})
    assert option_problems("keypad-serial", {"port": "/dev/ttyS1", "address": 1, "protocol": "ff69"})


def test_probe_says_who_answers(ff68_sim: KeypadLineSimulator) -> None:
    ff68_sim.kill(2)
    rows = probe({"name": "k", "type": "keypad-serial", "port": ff68_sim.path, "address": 1, "protocol": "ff68"})
    assert [r.ok for r in rows] == [True, True], rows
    rows = probe({"name": "k", "type": "keypad-serial", "port": ff68_sim.path, "address": 2, "protocol": "ff68"})
    assert rows[-1].name == "answers" and not rows[-1].ok and rows[-1].fix
    rows = probe({"name": "e", "type": "eval-pad", "port": "/dev/ttyUSB-no-such-port", "address": 9})
    assert not rows[0].ok and rows[0].fix


def H(text: str) -> bytes:
    return bytes.fromhex(text)
