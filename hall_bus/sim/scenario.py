"""The scenario runner: one command per JSON line in, one event per JSON line out.

A hall manager or a tester writes what happens in the hall as a script; the runner replays it through the real
core (ledger included) so the same script gives the same events every time. A bad line is reported as
`FILE:LINE: what is wrong` on stderr and skipped (or stops the run with --stop-on-error); lines already
processed stay in the ledger.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig
from hall_bus.domain.commands import CommandInvalid, parse_command
from hall_bus.errors import UserError
from hall_bus.store.core import HallCore
from hall_bus.wire.redact import public_event


@dataclass
class RunResult:
    lines: int = 0
    commands: int = 0
    events: int = 0
    errors: int = 0
    stopped_early: bool = False


class ScenarioLineError(ValueError):
    pass



def _parse_at(value: Any, clock: ManualClock) -> datetime:
    if not isinstance(value, str):
        raise ScenarioLineError(f"at: expected an ISO time string like 2026-11-23T09:00:05+08:00, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ScenarioLineError(f"at: {value!r} is not an ISO time like 2026-11-23T09:00:05+08:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.tz)
    return moment


def decode_line(raw: bytes | str, first: bool) -> str:
    """One line as text: UTF-8 (a BOM on the first line is allowed, as Windows editors write it)."""
    if isinstance(raw, str):
        text = raw
    else:
        if b"\x00" in raw:
            raise ScenarioLineError("binary data, not a line of text (is this the right file?)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScenarioLineError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                                    "save the script as UTF-8") from None
    if first:
        text = text.removeprefix("\ufeff")
    return text


def parse_line(text: str, clock: ManualClock, started: bool) -> tuple[datetime | None, Any]:
    """Validate one line: JSON object, a time that does not go backwards, a well-formed command.

    A line with a good `at` and a bad command still moves the clock (the returned time is set by the caller
    before the command error is raised through `LineTimeOnly`), so later lines without `at` keep their time.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioLineError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:  # 100,000 '[': the parser gives up before it finds anything wrong with the line
        raise ScenarioLineError("arrays or objects nested too deeply; a command needs at most two levels") from None
    except ValueError:  # a number longer than Python converts (sys.get_int_max_str_digits, 4300 digits)
        raise ScenarioLineError(f"a number with more than {sys.get_int_max_str_digits()} digits; "
                                "no field takes a number that long") from None
    if not isinstance(data, dict):
        raise ScenarioLineError(f"a line must be a JSON object, got {type(data).__name__}")
    moment = None
    if "at" in data:
        moment = _parse_at(data.pop("at"), clock)
        if started and moment < clock.now():
            raise ScenarioLineError(
                f"at: {moment.isoformat()} is earlier than the previous line ({clock.now().isoformat()}); "
                "scenario lines must be in time order")
    elif not started:
        raise ScenarioLineError("the first command needs an 'at' time")
    try:
        return moment, parse_command(data)
    except CommandInvalid as exc:
        raise LineTimeOnly(moment, str(exc)) from None


class LineTimeOnly(ScenarioLineError):
    """The line's time was good but its command was not: the time still counts."""

    def __init__(self, moment: datetime | None, message: str) -> None:
        super().__init__(message)
        self.moment = moment


def run_scenario(config: HallConfig, lines: Iterable[bytes | str], *, source: str, data_dir: Path,
                 out: IO[str], err: IO[str], stop_on_error: bool = False) -> RunResult:
    clock = ManualClock(datetime(2000, 1, 1), config.hall.tz)
    core: HallCore | None = None
    res = RunResult()
    started = False
    floor: datetime | None = None  # the ledger's newest event: a script may not write before it
    horizon: datetime | None = None  # ... nor far beyond it and the real today (_not_far_ahead)
    try:
        for lineno, raw in enumerate(lines, start=1):
            res.lines += 1
            try:
                text = decode_line(raw, lineno == 1).strip()
                if not text or text.startswith("#"):
                    continue
                if core is None:
                    core = HallCore(config, data_dir, clock)
                    last = core.ledger.last_event_at()
                    floor = datetime.fromisoformat(last) if last else None
                    horizon = max(floor, datetime.now(UTC)) + FAR_AHEAD if floor else None
                try:
                    moment, cmd = parse_line(text, clock, started)
                except LineTimeOnly as exc:
                    if exc.moment is not None:
                        _not_before(exc.moment, floor, data_dir)
                        _not_far_ahead(exc.moment, horizon, f"{source}:{lineno}", data_dir)
                        clock.set(exc.moment)
                        started = True
                    raise
                if moment is not None:
                    _not_before(moment, floor, data_dir)
                    _not_far_ahead(moment, horizon, f"{source}:{lineno}", data_dir)
            except ScenarioLineError as exc:
                res.errors += 1
                print(f"{source}:{lineno}: {_short(str(exc))}", file=err)
                if stop_on_error:
                    res.stopped_early = True
                    break
                continue
            if moment is not None:
                clock.set(moment)
            started = True
            answer = core.submit(cmd)
            res.commands += 1
            for ev in answer.get("events", []):
                # a log a person reads and may paste to support: masked as the bus masks it (the ledger keeps all)
                out.write(json.dumps(public_event(ev, core.state), ensure_ascii=False, separators=(",", ":")) + "\n")
                res.events += 1
            if not answer["ok"]:
                res.errors += 1
                print(f"{source}:{lineno}: {cmd.op} refused ({answer['code']}): {_short(answer['message'])}",
                      file=err)
                if stop_on_error:
                    res.stopped_early = True
                    break
    finally:
        if core is not None:
            core.close()
        out.flush()
    return res


MAX_MESSAGE = 400


def _short(message: str) -> str:
    """One readable line even when the message quotes a hostile value (a 100,000-character service name): the
    line number says where to look, the first few hundred characters say what."""
    message = " ".join(message.splitlines())
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:MAX_MESSAGE]}… ({len(message) - MAX_MESSAGE} more characters)"


def _not_before(moment: datetime, floor: datetime | None, data_dir: Path) -> None:
    if floor is not None and moment < floor:
        raise ScenarioLineError(f"at: {moment.isoformat()} is before the newest event already in {data_dir} "
                                f"({floor.isoformat()}); time never goes backwards")


FAR_AHEAD = timedelta(days=1)


def _not_far_ahead(moment: datetime, horizon: datetime | None, where: str, data_dir: Path) -> None:
    """Refuse (exit 2) a line that would put an existing ledger in the future.

    Time never goes backwards, so a hall server on that ledger would stamp every later event after the script's
    date: a typo'd year, or a test script run against the hall's real data, would leave the hall in 2062 for good.
    The bound is a day past the later of the ledger's newest event and the real time now: continuing yesterday's
    ledger, a week-old test ledger, or a script for tomorrow morning all pass, and nothing runs ahead of reality by
    more than a day. A fresh data directory has no ledger to spoil and no bound.
    """
    if horizon is not None and moment > horizon:
        raise UserError(f"{where}: at: {moment.isoformat()} is more than {FAR_AHEAD.days} day beyond both the newest "
                        f"event in {data_dir} and the time now; a script may not put an existing ledger in the "
                        "future (use a fresh --data directory)")


def open_script(path: str) -> tuple[Iterable[bytes], str]:
    """Lines as bytes: each is decoded on its own, so one bad line is reported and the rest still run."""
    if path == "-":
        return sys.stdin.buffer, "<stdin>"
    return Path(path).open("rb"), path
