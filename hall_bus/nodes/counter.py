"""The counter node without a UI toolkit: keypad keys → commands, answers → the line the clerk reads.

The console agent reads one key per line (so it works from a keyboard and from a pipe alike); the Kivy counter
panel and the RS-485 keypads will map their buttons onto the same commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import IO, Any

from hall_bus.domain import commands as c
from hall_bus.wire.client import BusError, BusTimeout, HallClient

COUNTER_KEYS = """\
  n  叫号 call next            r  重呼 recall             s  开始办理 start
  f  办结 finish               m 材料,材料  缺材料(一次性告知) x  过号 no-show
  c 号码  呼叫指定号 call ticket  t 事项  转办 transfer      k  挂起 park
  u 号码  恢复挂起 resume        p  暂停 pause             o  签到/继续 open/resume
  q  退出 quit                 ?  帮助 help"""


def parse_key(line: str, counter: int, current: str | None = None) -> c.Cmd | str | None:
    """A command for one line of keypad input, a help text, or None to quit. `current` is the ticket at the window
    as this node's mirror shows it now: the acts on a visitor name it, so a key pressed just after another window
    device called the next visitor never closes that visitor."""
    text = line.strip()
    if not text:
        return ""
    key, _, arg = text.partition(" ")
    arg = arg.strip()
    at_window = {"r": "recall", "s": "start", "x": "no_show"}
    try:
        if key == "q":
            return None
        if key in ("n", "o", "p"):
            op = {"n": "call_next", "o": "open_counter", "p": "pause_counter"}[key]
            return c.build(c.CounterOp, op=op, counter=counter)
        if key in at_window or key in ("f", "k", "m", "t"):
            if current is None:
                return "✗ 窗口现在没有办事人 · nobody is at the window"
            if key in at_window:
                return c.build(c.AtWindow, op=at_window[key], counter=counter, ticket=current)
            if key == "f":
                return c.build(c.Finish, counter=counter, ticket=current)
            if key == "k":
                return c.build(c.Park, counter=counter, ticket=current)
            if key == "m" and arg:
                return c.build(c.Finish, counter=counter, ticket=current, outcome="materials_missing",
                               materials=[m.strip() for m in arg.replace("，", ",").split(",") if m.strip()])
            if key == "t" and arg:
                return c.build(c.Transfer, counter=counter, ticket=current, to_service=arg)
        if key == "c" and arg:
            return c.build(c.CallTicket, counter=counter, ticket=arg)
        if key == "u" and arg:
            return c.build(c.ResumeParked, counter=counter, ticket=arg)
    except c.CommandInvalid as exc:
        return f"✗ {exc}"
    return COUNTER_KEYS


def describe(answer: dict[str, Any]) -> str:
    if not answer.get("ok"):
        return f"✗ {answer.get('message', answer.get('code'))}"
    r = answer.get("result", {})
    op = answer.get("op")
    if op in ("call_next", "call_ticket"):
        return f"✓ 叫号 {r['number']}（{r.get('service', '')}，{r.get('label', '')}）"
    if op == "recall":
        return f"✓ {r['number']} 过号" if r.get("no_show") else f"✓ 重呼 {r['number']}（第{r['count']}次）"
    if op == "finish":
        return f"✓ {r['number']} 办结" + (f"\n  {r['notice']}" if r.get("notice") else "")
    return f"✓ {op} {r.get('number', '')}".rstrip()


async def line_reader(lines: IO[str]) -> Callable[[], Awaitable[str]]:
    """Lines from a terminal or a pipe through the event loop, so a stopped agent is not held by a thread
    blocked in readline; a regular file (or a test's StringIO) is read in a thread."""
    loop = asyncio.get_running_loop()
    try:
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), lines)
    except (ValueError, OSError, AttributeError):
        return lambda: loop.run_in_executor(None, lines.readline)

    async def read() -> str:
        return (await reader.readline()).decode("utf-8", "replace")

    return read


def current_ticket(client: Any, counter: int) -> str | None:
    """The ticket at the window in this node's mirror of the hall (what its display shows)."""
    state = getattr(client, "state", None)
    window = state.counters.get(counter) if state is not None else None
    return window.current if window is not None else None


async def run_counter(client: HallClient, counter: int, lines: IO[str], out: IO[str]) -> int:
    print(f"窗口 {counter} 号 · counter {counter} connected as {client.node}. '?' for keys.", file=out, flush=True)
    read = await line_reader(lines)
    while True:
        line = await read()
        if line == "":
            return 0
        cmd = parse_key(line, counter, current_ticket(client, counter))
        if cmd is None:
            return 0
        if isinstance(cmd, str):
            if cmd:
                print(cmd, file=out, flush=True)
            continue
        try:
            answer = await client.send(cmd)
        except (BusTimeout, BusError) as exc:
            print(f"✗ {exc}", file=out, flush=True)
            continue
        print(describe(answer), file=out, flush=True)
