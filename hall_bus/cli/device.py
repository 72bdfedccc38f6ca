"""`hallctl device …`: the maintenance technician's tools. Every failure is a line with the fix, never a traceback.

Exit codes (docs/devices.md): 0 done; 1 a probe check failed; 2 a user error (bad config, bad argument, an
--out directory that does not exist); 3 nothing there (no card, no page, no code); 4 device missing or silent;
5 the device answered with something we cannot trust (bad frame, bad card), or refused to print, or the ticket
did not come out whole (paper out, cover open).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from devices.errors import DeviceError, DeviceTimeout
from hall_bus.config import HallConfig, load_config
from hall_bus.errors import UserError

NOTHING, MISSING, UNTRUSTED = 3, 4, 5


def _console() -> Console:
    """At least 110 columns; piped into a log or a ticket to support, wide enough that no fix is wrapped."""
    return Console(width=max(Console().width, 110) if sys.stdout.isatty() else 240)


def _devices(cfg: HallConfig) -> list[tuple[str, dict[str, Any]]]:
    return [(node.id, d.model_dump()) for node in cfg.nodes for d in node.devices]


def _find(cfg: HallConfig, name: str) -> dict[str, Any]:
    """NAME or NODE/NAME; a bare name must be unique in the hall."""
    node, _, dev = name.rpartition("/")
    hits = [d for n, d in _devices(cfg) if d["name"] == dev and (not node or n == node)]
    if len(hits) == 1:
        return hits[0]
    known = ", ".join(f"{n}/{d['name']}" for n, d in _devices(cfg))
    if not hits:
        raise UserError(f"no device {name!r} in the hall configuration (known: {known})")
    where = ", ".join(f"{n}/{dev}" for n, d in _devices(cfg) if d["name"] == dev)
    raise UserError(f"{name!r} is on several nodes; say which, e.g. {where}")


def _settings(d: dict[str, Any]) -> str:
    """The device table's keys as the technician compares them with lsusb and labels: USB ids as 0416:5011."""
    from devices.link import usb_id

    rest = {k: v for k, v in d.items() if k not in ("name", "type")}
    parts = []
    if isinstance(rest.get("vendor_id"), int) and isinstance(rest.get("product_id"), int):
        parts.append(f"usb={usb_id(rest.pop('vendor_id'), rest.pop('product_id'))}")
    parts += [f"{k}={v}" for k, v in rest.items()]
    return ", ".join(parts)


def _list(args: argparse.Namespace) -> int:
    from devices.registry import TYPES, attached_serial_ports, attached_usb

    con = _console()
    if args.config:
        cfg = load_config(args.config)
        t = Table(title="configured devices", title_justify="left")
        for col in ("node", "name", "type", "settings"):
            t.add_column(col)
        for node, d in _devices(cfg):
            kind = TYPES[d["type"]]  # config check has refused unknown types already
            t.add_row(node, d["name"], f"{d['type']} ({kind.label}{'' if kind.open else ', no driver yet'})",
                      _settings(d))
        con.print(t)
    ports = attached_serial_ports()
    t = Table(title="serial ports attached", title_justify="left")
    for col in ("port", "description", "VID:PID"):
        t.add_column(col)
    for row in ports:
        t.add_row(*row)
    con.print(t if ports else "serial ports attached: none")
    usb, why = attached_usb()
    if why:
        con.print(f"USB: {why}")
    else:
        t = Table(title="USB devices", title_justify="left")
        t.add_column("VID:PID")
        t.add_column("class")
        for row in usb:
            t.add_row(*row)
        con.print(t)
    return 0


def _probe(args: argparse.Namespace) -> int:
    from devices.registry import probe

    cfg = load_config(args.config)
    dev = _find(cfg, args.name)
    checks = probe(dev)
    t = Table(title=f"probe {args.name} ({dev['type']})", title_justify="left")
    for col in ("check", "result", "detail", "fix to try"):
        t.add_column(col)
    for c in checks:  # str(): rich refuses ints (a TCP port), and a traceback is no answer for a technician
        t.add_row(str(c.name), "[green]OK[/green]" if c.ok else "[red]FAIL[/red]", str(c.detail), str(c.fix))
    _console().print(t)
    return 0 if all(c.ok for c in checks) else 1


def _out_path(out: str, suffixes: tuple[str, ...], what: str) -> Path:
    """Refuse an --out we cannot write before any work (or any device) is touched."""
    path = Path(out)
    if path.suffix.lower() not in suffixes:
        raise UserError(f"{path}: use {' or '.join(suffixes)} for the {what}")
    parent = path.parent
    if not parent.is_dir():
        raise UserError(f"{path}: the directory {parent} does not exist (create it with mkdir -p {parent})")
    return path


def _printer(args: argparse.Namespace) -> int:
    from devices.printer.driver import PrinterNotReady
    from devices.printer.preview import render
    from devices.printer.profile import get_profile
    from devices.printer.ticket import Ticket, layout

    hall_cfg = load_config(args.config).hall if args.config else None
    hall = hall_cfg.name if hall_cfg else "平安县政务服务中心"
    tz = hall_cfg.tz if hall_cfg else ZoneInfo("Asia/Shanghai")  # the hall's clock, not the machine's (often UTC)
    if args.printer_command == "preview":
        try:
            profile = get_profile(args.profile)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        t = Ticket(hall=hall, number="E007", service="医保", group_label="陪同办", ticket_id="20261123-E007",
                   issued_at=datetime.now(tz), ahead=3, wait_min=18, name="张秀英",
                   window_hint="请到帮办代办专区等候")
        out = _out_path(args.out, (".png", ".jpg", ".jpeg", ".bmp"), "preview")
        try:
            render(layout(t), profile).save(out)
        except OSError as exc:
            raise UserError(f"{out}: cannot write: {exc.strerror or exc}") from None
        print(f"ticket preview written to {out}")
        return 0
    if not args.config:
        raise UserError("printer test needs --config (it prints on a configured printer)")
    from devices.registry import DeviceOptionsError, kind_of, open_device

    cfg = load_config(args.config)
    dev = _find(cfg, args.name)
    if kind_of(dev["type"]).name != "printer":
        raise UserError(f"{args.name} is a {dev['type']}, not a printer")
    try:
        printer = open_device(dev)
    except DeviceOptionsError as exc:
        raise UserError(f"{args.name}: {exc}") from None
    try:
        result = printer.test_page(hall, tz)
    except PrinterNotReady as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return UNTRUSTED
    except DeviceError as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return MISSING
    finally:
        printer.close()
    print(f"printed {result.bytes_sent} bytes; status before: {result.before.describe()}; "
          f"after: {result.after.describe()}")
    if not result.ok:
        print(f"FAIL: {result.problem()}", file=sys.stderr)
    return 0 if result.ok else UNTRUSTED


def _idcard(args: argparse.Namespace) -> int:
    from devices.idcard.reader import IdCardReader, ReaderError
    from devices.link import SerialLink

    tz = load_config(args.config).hall.tz if args.config else ZoneInfo("Asia/Shanghai")
    reader = IdCardReader(SerialLink(args.port, args.baudrate), timeout=args.timeout)
    try:
        reader.link.open()
    except DeviceError as exc:
        print(f"no reader: {exc}", file=sys.stderr)
        return MISSING
    try:
        card = reader.read(fingerprint=args.fingerprint)
    except DeviceTimeout as exc:
        print(f"no answer: {exc}", file=sys.stderr)
        return MISSING if "no answer" in exc.message else UNTRUSTED
    except ReaderError as exc:
        print(f"reader error: {exc}", file=sys.stderr)
        return UNTRUSTED
    except DeviceError as exc:
        print(f"bad data: {exc}", file=sys.stderr)
        return UNTRUSTED
    finally:
        reader.close()
    if card is None:
        print("no card on the reader: place the card flat on the reader and try again", file=sys.stderr)
        return NOTHING
    from hall_bus.domain.age import age_on

    age = age_on(card.birth, datetime.now(tz).date()) if card.birth else None
    info = card.as_dict(age=age, show_id=args.show_id)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        keys = ("card_type_name", "name", "sex", "nation", "birth", "age", "address", "id_number", "authority",
                "valid_from", "valid_to")
        for k in keys:
            if info.get(k) not in (None, ""):
                print(f"{k:<15}{info[k]}")
    if card.id_problem:
        print(f"warning: {card.id_problem}", file=sys.stderr)
        return UNTRUSTED
    return 0


def _camera(args: argparse.Namespace) -> int:
    from devices.camera.capture import Camera
    from devices.camera.codes import scan
    from devices.camera.document import binarise, find_document, straighten
    from devices.camera.pdf import save_image

    if args.camera_command == "snap":
        _out_path(args.out, (".jpg", ".jpeg", ".png", ".pdf"), "picture")
    try:
        cam = Camera(args.source)
    except DeviceError as exc:
        print(f"no camera: {exc}", file=sys.stderr)
        return MISSING
    try:
        if args.camera_command == "scan":
            for _ in range(args.frames):
                codes = scan(cam.read())
                if codes:
                    for c in codes:
                        print(f"{c.kind}\t{c.text}")
                    return 0
            print(f"no QR code or barcode in {args.frames} frame(s)", file=sys.stderr)
            return NOTHING
        frame = cam.read()
        if args.document:
            corners = find_document(frame)
            if corners is None:
                print("no document found: put the page flat and fully in view, on a darker surface",
                      file=sys.stderr)
                return NOTHING
            frame = straighten(frame, corners)
        if args.binarise:
            frame = binarise(frame)
        try:
            path = save_image(frame, args.out)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"{args.out}: cannot write: {exc.strerror or exc}") from None
        print(f"saved {path} ({frame.shape[1]}×{frame.shape[0]})")
        return 0
    except DeviceError as exc:
        print(f"camera error: {exc}", file=sys.stderr)
        return MISSING
    finally:
        cam.close()


def _sim(args: argparse.Namespace) -> int:
    for out in (args.out, getattr(args, "png", None)):  # refused before the simulator runs, not after
        if out and not Path(out).parent.is_dir():
            raise UserError(f"{out}: the directory {Path(out).parent} does not exist (create it with mkdir -p "
                            f"{Path(out).parent})")
    deadline = time.monotonic() + args.duration if args.duration else None
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop runs the same clean-up as Ctrl-C

    def running() -> bool:
        return deadline is None or time.monotonic() < deadline

    if args.kind in ("board", "keypad"):
        from hall_bus.cli.device_hall import run_sim

        return run_sim(args, running)
    if args.kind == "camera":
        from devices.camera.simulator import write_video

        path = write_video(args.out or "doc-camera-sim.avi", frames=args.frames)
        print(f"camera simulator: video source {path} (use it as --source)")
        return 0
    try:
        if args.kind == "idcard":
            from devices.idcard.simulator import IdCardSimulator, load_cards

            cards_file = args.cards or str(Path(__file__).resolve().parents[2] / "assets/idcard/cards.example.json")
            try:
                cards = load_cards(cards_file)
            except (OSError, ValueError) as exc:
                raise UserError(f"{cards_file}: {exc}") from None
            sim = IdCardSimulator(cards)
            if args.fault:
                sim.inject(args.fault, times=10**9)  # every answer, until the simulator stops
            print(f"ID card reader simulator on {sim.start()} (115200 8N1), {len(cards)} card(s)"
                  + (f", fault: {args.fault} on every answer" if args.fault else ""), flush=True)
            i = 0
            while running():
                sim.insert(i)
                print(f"card {i % len(cards)} placed", flush=True)
                _sleep(args.cycle, running)
                if args.cycle:
                    sim.remove()
                    print("card removed", flush=True)
                    _sleep(args.cycle / 2, running)
                i += 1
            sim.stop()
        else:
            from devices.printer.decode import decode
            from devices.printer.simulator import PrinterSimulator

            psim = PrinterSimulator(paper_out_after=args.paper_out_after)
            psim.set_state(paper_out=args.paper_out, cover_open=args.cover_open)
            try:
                where = (f"tcp 127.0.0.1:{psim.start_tcp(port=args.tcp)}" if args.tcp is not None
                         else psim.start_pty())
            except OSError as exc:
                raise UserError(f"cannot serve on 127.0.0.1:{args.tcp}: {exc.strerror or exc}") from None
            faults = [f for f, on in (("paper out", args.paper_out), ("cover open", args.cover_open)) if on]
            if args.paper_out_after is not None:
                faults.append(f"paper runs out during ticket {args.paper_out_after + 1}")
            print(f"printer simulator on {where}" + (f"; {', '.join(faults)}" if faults else ""), flush=True)
            shown = 0  # decoded lines already printed: each line of each ticket appears once
            try:
                while running():
                    time.sleep(0.2)
                    lines = decode(psim.job()).text
                    for line in lines[shown:]:
                        print(f"  | {line}", flush=True)
                    shown = len(lines)
            finally:  # Ctrl-C and SIGTERM too: what the printer received is kept
                if args.out:
                    Path(args.out).write_bytes(psim.job())
                    print(f"received bytes saved to {args.out}", flush=True)
                psim.stop()
    except KeyboardInterrupt:
        pass
    return 0


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _sleep(seconds: float, running: Any) -> None:
    end = time.monotonic() + (seconds or 3600)
    while running() and time.monotonic() < end:
        time.sleep(0.05)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from devices.idcard.simulator import FAULTS

    dev = sub.add_parser("device", help="device diagnostics for maintenance staff")
    ds = dev.add_subparsers(dest="device_command", required=True, metavar="ACTION")

    p = ds.add_parser("list", help="configured devices and what is attached")
    p.add_argument("--config")
    p.set_defaults(handler=_list)

    p = ds.add_parser("probe", help="open a configured device and check it, with fixes for what fails")
    p.add_argument("name", help="device name, or NODE/NAME")
    p.add_argument("--config", required=True)
    p.set_defaults(handler=_probe)

    pr = ds.add_parser("printer", help="ticket printer")
    ps = pr.add_subparsers(dest="printer_command", required=True, metavar="ACTION")
    p = ps.add_parser("test", help="print a test ticket on a configured printer")
    p.add_argument("name")
    p.add_argument("--config")
    p.set_defaults(handler=_printer)
    p = ps.add_parser("preview", help="render a sample ticket as an image")
    p.add_argument("--out", required=True)
    p.add_argument("--profile", default="generic-80")
    p.add_argument("--config")
    p.set_defaults(handler=_printer)

    idc = ds.add_parser("idcard", help="ID card reader")
    ids = idc.add_subparsers(dest="idcard_command", required=True, metavar="ACTION")
    p = ids.add_parser("read", help="read the card on the reader")
    p.add_argument("--port", required=True)
    p.add_argument("--baudrate", type=int, default=115200)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--show-id", action="store_true", help="show name, ID number, address and the full birth date "
                   "unmasked (masked: the birth year only)")
    p.add_argument("--fingerprint", action="store_true")
    p.add_argument("--config", help="hall config (for the hall's time zone when computing the age)")
    p.set_defaults(handler=_idcard)

    cam = ds.add_parser("camera", help="document camera")
    cs = cam.add_subparsers(dest="camera_command", required=True, metavar="ACTION")
    p = cs.add_parser("snap", help="take a picture (of the document, straightened, with --document)")
    p.add_argument("--source", default="0", help="camera index or a video/image file")
    p.add_argument("--out", required=True, help=".jpg, .png or .pdf")
    p.add_argument("--document", action="store_true")
    p.add_argument("--binarise", action="store_true")
    p.set_defaults(handler=_camera)
    p = cs.add_parser("scan", help="read QR codes and barcodes")
    p.add_argument("--source", default="0")
    p.add_argument("--frames", type=int, default=30)
    p.set_defaults(handler=_camera)

    from hall_bus.cli.device_hall import register_into

    register_into(ds)

    p = ds.add_parser("sim", help="run a device simulator and print where it serves")
    p.add_argument("kind", choices=("idcard", "printer", "camera", "board", "keypad"))
    p.add_argument("--cards", help="idcard: JSON file of cards (default assets/idcard/cards.example.json)")
    p.add_argument("--cycle", type=float, default=0, help="idcard: place/remove cards every N seconds")
    p.add_argument("--fault", choices=FAULTS, help="idcard: answer every command with this fault")
    p.add_argument("--paper-out", action="store_true", help="printer: the paper is out")
    p.add_argument("--cover-open", action="store_true", help="printer: the cover is open")
    p.add_argument("--paper-out-after", type=int, metavar="N",
                   help="printer: N tickets print whole, then the paper runs out in the middle of the next")
    p.add_argument("--tcp", type=int, help="printer, board (textnet): serve on this TCP port (0 = any)")
    p.add_argument("--protocol", default="pingan", help="board: pingan, imm9003, imm9013 or textnet")
    p.add_argument("--lines", type=int, default=1, help="board: rows of the simulated board")
    p.add_argument("--width", type=int, default=16, help="board: characters per row")
    p.add_argument("--png", help="board: keep a picture of what the board shows in this PNG file")
    p.add_argument("--out", help="printer: save received bytes here on exit; camera: video file to write")
    p.add_argument("--frames", type=int, default=10, help="camera: frames in the video")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.set_defaults(handler=_sim)
