"""The console kiosk behind `hallctl run kiosk`: the node's devices from the config, a line per visitor."""

from __future__ import annotations

import argparse
import asyncio
import codecs
import os
import sys
import threading
from typing import Any

from hall_bus.config import HallConfig
from hall_bus.errors import UserError


def kiosk_devices(cfg: HallConfig, args: argparse.Namespace) -> tuple[Any, Any]:
    """The node's printer and ID reader from the hall config (or --printer/--idcard overrides), picked by the
    registry's type → kind. A device that does not answer at start is reported and kept: drivers reconnect on
    next use, so the kiosk issues tickets on screen until it is back, then prints again."""
    from devices.errors import DeviceError
    from devices.registry import DeviceOptionsError, kind_of, open_device

    tables = {kind_of(d.type).name: d.model_dump() for n in cfg.nodes if n.id == args.node for d in n.devices}
    if args.printer:
        tables["printer"] = {"name": "printer", "type": "escpos-serial", "port": args.printer,
                             "profile": args.profile}
    if args.idcard:
        tables["idcard"] = {"name": "idcard", "type": "sam-serial", "port": args.idcard}
    found: dict[str, Any] = {}
    for kind in ("printer", "idcard"):
        if kind not in tables or args.no_devices:
            continue
        try:
            found[kind] = device = open_device(tables[kind])
        except DeviceOptionsError as exc:
            raise UserError(str(exc)) from None
        try:
            device.link.open()
        except DeviceError as exc:
            print(f"warning: {tables[kind]['name']}: {exc} (tickets go on screen until it answers)", file=sys.stderr)
    return found.get("printer"), found.get("idcard")


def kiosk_camera(cfg: HallConfig, args: argparse.Namespace) -> Any:
    """The node's document camera for reading appointment codes, or None (no camera configured, --no-devices,
    or a camera that cannot be opened: then the kiosk simply does not offer 「我有预约」, and says why here)."""
    from devices.errors import DeviceError
    from devices.registry import DeviceOptionsError, kind_of, open_device

    if getattr(args, "no_devices", False):
        return None
    source = getattr(args, "camera", None)
    tables = [d.model_dump() for n in cfg.nodes if n.id == args.node for d in n.devices
              if kind_of(d.type).name == "camera"]
    if source:
        tables = [{"name": "camera", "type": "doc-camera", "source": source}]
    if not tables:
        return None
    try:
        return open_device(tables[0])
    except DeviceOptionsError as exc:
        raise UserError(str(exc)) from None
    except DeviceError as exc:
        print(f"warning: {tables[0]['name']}: {exc} (appointment codes cannot be scanned)", file=sys.stderr)
        return None


def kiosk_prompts(cfg: HallConfig, args: argparse.Namespace) -> Any:
    """The kiosk's spoken prompts when its node has a voice device, else None (the screen alone)."""
    from devices.registry import DeviceOptionsError, kind_of, option_problems
    from devices.voice.options import VoiceSegments, open_prompts

    tables = [d.model_dump() for n in cfg.nodes if n.id == args.node for d in n.devices
              if kind_of(d.type).name == "voice"]
    if not tables or getattr(args, "no_devices", False):
        return None
    options = {k: v for k, v in tables[0].items() if k not in ("name", "type")}
    problems = option_problems(tables[0]["type"], options)
    if problems:
        raise UserError(str(DeviceOptionsError(tables[0]["name"], problems)))
    return open_prompts(VoiceSegments.model_validate(options))


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


async def run_kiosk(cfg: HallConfig, client: Any, args: argparse.Namespace) -> int:
    """The line-per-visitor loop. A stop (SIGTERM, Ctrl-C, a revoked key) cancels it wherever it waits; it then
    says so in one line, and the tickets already issued are in the server's ledger."""
    try:
        return await _serve_lines(cfg, client, args)
    except asyncio.CancelledError:
        print(f"kiosk {args.node}: stopped", file=sys.stderr, flush=True)
        raise


async def _serve_lines(cfg: HallConfig, client: Any, args: argparse.Namespace) -> int:
    from hall_bus.nodes.kiosk import KioskAgent

    printer, reader = kiosk_devices(cfg, args)
    agent = KioskAgent(client, cfg, args.node, printer=printer, reader=reader)
    client.on_event = agent.on_event  # notice slips (一次性告知) a greeter or a window sends to this kiosk
    client.on_resync = agent.on_resync
    agent.on_slip_problem = lambda nid, why: print(f"✗ 告知单 {nid} 未能打印（{why}），请找帮办员", flush=True)
    agent.take_jobs()  # those owed while this kiosk was away are in the snapshot it started from
    services = ", ".join(s.name for s in cfg.services)
    print(f"自助取号 kiosk {args.node}: type a service ({services}), optionally a group "
          f"({', '.join(cfg.groups)}); start with 'card' to read the ID card first; 'q' quits.", flush=True)
    lines = stdin_lines()
    while True:
        line = await lines.get()
        if not line or line.strip() == "q":
            return 0
        words = line.split()
        if not words:
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
