"""`hallctl run kiosk`: the touch window (a registered window runner), or with --console the terminal kiosk:
the node's printer and ID reader from the config, a line per visitor."""

from __future__ import annotations

import asyncio
import codecs
import os
import sys
import threading
from typing import Any

from hall_bus.cli.common import first_done, start_client, stop_on_signals, until_refused
from hall_bus.cli.run_window import run_window
from hall_bus.config import HallConfig
from hall_bus.nodes.builders import Built, build_kiosk
from hall_bus.nodes.options import NodeOptions


def run_kiosk_node(cfg: HallConfig, opts: NodeOptions) -> int:
    """The window, unless asked for the terminal kiosk."""
    return asyncio.run(_console(cfg, opts)) if opts.console else run_window("kiosk", cfg, opts)


async def _console(cfg: HallConfig, opts: NodeOptions) -> int:
    stop = asyncio.Event()
    stop_on_signals(stop)
    kiosk = build_kiosk(cfg, opts)
    try:
        await start_client(kiosk.client, opts.timeout)

        async def stopped() -> int:  # Ctrl-C or SIGTERM ends a console kiosk too
            await stop.wait()
            return 0

        return await first_done(serve_lines(cfg, kiosk, opts), until_refused([kiosk.client]), stopped())
    finally:
        await kiosk.close()


def stdin_lines() -> asyncio.Queue[str | None]:
    """The terminal's lines as they are typed (None at the end), read by a daemon thread with os.read.

    Why not run_in_executor(sys.stdin.readline): its worker thread sits in readline until a line comes, and
    asyncio.run waits for the executor's threads at exit, so a SIGTERM to a waiting kiosk stopped it only when
    someone pressed Enter. A daemon thread is not waited for, and os.read holds no lock of sys.stdin's that the
    interpreter would need at exit."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def put(line: str | None) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        except RuntimeError:  # the loop is closed: the kiosk has stopped
            return False
        return True

    def read(fd: int) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            pending += decoder.decode(chunk, final=not chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                if not put(line + "\n"):
                    return
            if not chunk:
                if pending:
                    put(pending)
                put(None)
                return

    def read_plain() -> None:  # a stdin without a file descriptor (embedded, a test's StringIO)
        while line := sys.stdin.readline():
            if not put(line):
                return
        put(None)

    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        threading.Thread(target=read_plain, name="kiosk-stdin", daemon=True).start()
    else:
        threading.Thread(target=read, args=(fd,), name="kiosk-stdin", daemon=True).start()
    return queue


async def serve_lines(cfg: HallConfig, kiosk: Built, opts: NodeOptions) -> int:
    """The line-per-visitor loop. A stop (SIGTERM, Ctrl-C, a revoked key) cancels it wherever it waits; it then
    says so in one line, and the tickets already issued are in the server's ledger."""
    try:
        return await _serve_lines(cfg, kiosk.agent, opts)
    except asyncio.CancelledError:
        print(f"kiosk {opts.node}: stopped", file=sys.stderr, flush=True)
        raise


async def _serve_lines(cfg: HallConfig, agent: Any, opts: NodeOptions) -> int:
    # notice slips (一次性告知) a greeter or a window sends to this kiosk: the builder wired on_event to the agent
    agent.on_slip_problem = lambda nid, why: print(f"✗ 告知单 {nid} 未能打印（{why}），请找帮办员", flush=True)
    agent.take_jobs()  # those owed while this kiosk was away are in the snapshot it started from
    services = ", ".join(s.name for s in cfg.services)
    usage = (f"type a service ({services}), optionally a group ({', '.join(cfg.groups)}); start with 'card' to "
             "read the ID card first; '?' shows this again; 'q' quits.")
    print(f"自助取号 kiosk {opts.node}: {usage}", flush=True)
    lines = stdin_lines()
    while True:
        line = await lines.get()
        if not line or line.strip() == "q":
            return 0
        words = line.split()
        if not words:
            continue
        if words[0] in ("?", "help"):  # the counter console's key for help; not a service to send to the hall
            print(usage, flush=True)
            continue
        use_card = words[0] == "card"
        words = words[1:] if use_card else words
        if not words:
            print("✗ which service?", flush=True)
            continue
        out = await agent.serve(words[0], words[1] if len(words) > 1 else None, use_card=use_card)
        if not out.ok:
            print(f"✗ {out.answer.get('message', out.answer.get('code'))}", flush=True)
            continue
        r = out.answer["result"]
        print(f"✓ {r['number']} {r['service']} {r['label']}，前面 {r['ahead']} 人，约 {r['wait_min']} 分钟"
              + ("（已打印）" if out.printed else ""), flush=True)
        for note in (out.card_note, out.printer_note):
            if note:
                print(f"  note: {note}", flush=True)
        for text in out.on_screen:
            print(f"  | {text}", flush=True)
