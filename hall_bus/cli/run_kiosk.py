"""The console kiosk behind `hallctl run kiosk`: the node's devices from the config, a line per visitor."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from hall_bus.config import HallConfig


def kiosk_devices(cfg: HallConfig, args: argparse.Namespace) -> tuple[Any, Any]:
    """The node's printer and ID reader from the hall config (or --printer/--idcard overrides); a device that
    fails to open is reported and left out: the kiosk still issues tickets, on screen."""
    from devices.errors import DeviceError
    from devices.registry import open_device

    tables = {d.type.split("-")[0]: d.model_dump() for n in cfg.nodes if n.id == args.node for d in n.devices}
    if args.printer:
        tables["escpos"] = {"name": "printer", "type": "escpos-serial", "port": args.printer,
                            "profile": args.profile}
    if args.idcard:
        tables["sam"] = {"name": "idcard", "type": "sam-serial", "port": args.idcard}
    found: dict[str, Any] = {}
    for key in ("escpos", "sam"):
        if key in tables and not args.no_devices:
            try:
                found[key] = open_device(tables[key])
            except DeviceError as exc:
                print(f"warning: {tables[key]['name']}: {exc}", file=sys.stderr)
    return found.get("escpos"), found.get("sam")


async def run_kiosk(cfg: HallConfig, client: Any, args: argparse.Namespace) -> int:
    from hall_bus.nodes.kiosk import KioskAgent

    printer, reader = kiosk_devices(cfg, args)
    agent = KioskAgent(client, cfg, args.node, printer=printer, reader=reader)
    services = ", ".join(s.name for s in cfg.services)
    print(f"自助取号 kiosk {args.node}: type a service ({services}), optionally a group "
          f"({', '.join(cfg.groups)}); start with 'card' to read the ID card first; 'q' quits.", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline))
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
