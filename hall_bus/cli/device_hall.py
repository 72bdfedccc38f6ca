"""`hallctl device voice|board|keypad …`: the technician's tools for the hall's own devices (call boards, counter
keypads and rating pads, the voice). Kept apart from the kiosk devices' commands in device.py so each file has
one audience. Every failure is one line with the fix (exit codes as in device.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from devices.errors import DeviceError
from hall_bus.errors import UserError

MISSING = 4
DEFAULT_VOICE = {"name": "voice", "type": "voice-segments"}


def _configured(args: argparse.Namespace, kind: str, default: dict[str, Any] | None = None) -> dict[str, Any]:
    """The device table named by --config/NAME (checked to be of this kind), or the default table."""
    from hall_bus.cli.device import _find
    from hall_bus.config import load_config

    if getattr(args, "name", None):
        if not args.config:
            raise UserError(f"a device name needs --config (the hall file that defines {args.name})")
        from devices.registry import kind_of

        dev = _find(load_config(args.config), args.name)
        if kind_of(dev["type"]).name != kind:
            raise UserError(f"{args.name} is a {dev['type']}, not a {kind}")
        return dev
    if default is None:
        raise UserError(f"name the {kind}: NAME or NODE/NAME with --config")
    return dict(default)


def _open(table: dict[str, Any]) -> Any:
    from devices.registry import DeviceOptionsError, open_device

    try:
        return open_device(table)
    except DeviceOptionsError as exc:
        raise UserError(str(exc)) from None


# ---------------------------------------------------------------------- voice


def _voice(args: argparse.Namespace) -> int:
    table = _configured(args, "voice", DEFAULT_VOICE)
    if args.voice_command == "segments":
        if args.regenerate:
            try:
                for name, path, detail in _regenerate():
                    print(f"{name}\t{path}\t{detail}")
            except DeviceError as exc:
                print(f"FAIL: {exc}", file=sys.stderr)
                return MISSING
            except OSError as exc:
                raise UserError(f"voice segments: cannot write: {exc.strerror or exc}") from None
        announcer = _open(table)
        try:
            missing = 0
            for seg in announcer.bank.describe():
                missing += seg.source == "missing"
                print(f"{seg.name}\t{seg.source}\t{seg.path or ''}")
        finally:
            announcer.close()
        return MISSING if missing else 0
    if args.out:
        from hall_bus.cli.device import _out_path

        out = _out_path(args.out, (".wav",), "announcement")
        table = {**table, "out_dir": None}
    try:
        window = int(args.window)
    except ValueError:
        raise UserError(f"window {args.window!r}: give the window's number, e.g. 5") from None
    announcer = _open(table)
    try:
        if args.out:
            path = announcer.save(args.number, window, out, recall=args.recall)
            print(f"{'recall' if args.recall else 'call'} {args.number} to window {window} written to {path}")
            return 0
        item = announcer.announce(args.number, window, recall=args.recall)
        item.wait(60)
        if not item.ok:
            print(f"FAIL: {item.error}", file=sys.stderr)
            return MISSING
        print(f"{item.text} → {item.file or announcer.describe()}")
        return 0
    except (DeviceError, ValueError) as exc:
        raise UserError(f"voice: {exc}") from None
    finally:
        announcer.close()


def _regenerate() -> list[tuple[str, Path, str]]:
    """Refuse before the first file is rewritten: without espeak-ng the run would stop after the chime, leaving
    a half-regenerated set that looks like a success at a glance."""
    import shutil

    from devices.voice.segments import generate

    if shutil.which("espeak-ng") is None:
        raise DeviceError("espeak-ng is not installed, so no segment can be generated",
                          "apt-get install espeak-ng (recordings in assets/voice/recorded need no synthesis)")
    return generate(force=True)


# ---------------------------------------------------------------------- boards


def _board(args: argparse.Namespace) -> int:
    if args.board_command == "frame":
        return _board_frame(args)
    table = _configured(args, "board")
    board = _open(table)
    try:
        shown = [board.test_pattern()]
        import time

        time.sleep(args.hold)
        shown.append(board.show_call("A001", 1))
    except DeviceError as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return MISSING
    finally:
        board.close()
    for rows in shown:
        print("shown: " + " / ".join(rows))
    return 0


def _board_frame(args: argparse.Namespace) -> int:
    """The exact bytes a board would get: for a vendor asking "what did you send?" and for writing a frame to a
    board by hand (`--out /dev/ttyUSB0` works too: a serial port is a file)."""
    from devices.board.driver import BoardEncoder

    try:
        enc = BoardEncoder(args.protocol, args.address, rows=args.lines, width=args.width)
        if args.call:
            number, _, window = args.text.partition("@")
            if not window:
                raise UserError("--call takes NUMBER@WINDOW, e.g. A001@5")
            frames = [enc.call(number, window)]
        else:
            frames = enc.text(args.text.split("|"))
    except DeviceError as exc:
        raise UserError(f"board frame: {exc}") from None
    data = b"".join(frames)
    if args.out:
        out = Path(args.out)
        if str(out).startswith("/dev/") and not out.exists():  # never make a regular file where a port should be
            print(f"FAIL: {out} does not exist — try: check the cable; `hallctl device list` shows the serial "
                  "ports that are attached", file=sys.stderr)
            return MISSING
        if not out.parent.is_dir():
            raise UserError(f"{out}: the directory {out.parent} does not exist (create it with mkdir -p "
                            f"{out.parent})")
        try:
            with open(args.out, "ab" if args.append else "wb") as f:
                f.write(data)
        except OSError as exc:
            raise UserError(f"{args.out}: cannot write: {exc.strerror or exc}") from None
        print(f"{len(data)} bytes in {len(frames)} frame(s) written to {args.out}")
    for frame in frames:
        print(frame.hex(" ").upper())
    return 0


# ---------------------------------------------------------------------- simulators


def run_sim(args: argparse.Namespace, running: Any) -> int:
    """`hallctl device sim board|keypad`: a simulated device on a pty (or TCP for textnet boards) that prints
    what it shows as it changes, until Ctrl-C or --duration."""
    import time

    if args.kind == "board":
        from devices.board.simulator import BoardSimulator

        try:
            sim = BoardSimulator(args.protocol, lines=args.lines, width=args.width)
        except DeviceError as exc:
            raise UserError(f"sim board: {exc}") from None
        try:
            where = f"tcp 127.0.0.1:{sim.start_tcp(port=args.tcp or 0)}" if args.protocol == "textnet" \
                else sim.start_pty()
        except OSError as exc:
            raise UserError(f"cannot serve on 127.0.0.1:{args.tcp}: {exc.strerror or exc}") from None
        print(f"board simulator ({args.protocol}, {args.lines}×{args.width}) on {where}", flush=True)
        shown: list[str] = []
        bad = 0
        try:
            while running():
                time.sleep(0.2)
                if sim.shown != shown:
                    shown = list(sim.shown)
                    print("  ▮ " + " / ".join(shown), flush=True)
                    if args.png:
                        sim.render(args.png)
                if sim.bad_frames != bad:
                    bad = sim.bad_frames
                    print(f"  bad frames so far: {bad}", flush=True)
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
        return 0
    from hall_bus.cli.device_keypad import run_keypad_sim

    return run_keypad_sim(args, running)


def register_into(ds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from hall_bus.cli.device_keypad import register_keypad

    register_keypad(ds)
    board = ds.add_parser("board", help="LED call boards and counter displays")
    bs = board.add_subparsers(dest="board_command", required=True, metavar="ACTION")
    p = bs.add_parser("test", help="light every dot, then show 请 A001 号到 1 号窗口 on a configured board")
    p.add_argument("name", help="board name, or NODE/NAME")
    p.add_argument("--config", required=True)
    p.add_argument("--hold", type=float, default=2.0, help="seconds the test pattern stays before the call")
    p.set_defaults(handler=_board)
    p = bs.add_parser("frame", help="print (or write) the exact frame bytes for a text or a call")
    p.add_argument("text", help="rows separated by |, or NUMBER@WINDOW with --call")
    p.add_argument("--protocol", required=True, choices=("pingan", "imm9003", "imm9013", "textnet"))
    p.add_argument("--address", type=int, required=True)
    p.add_argument("--lines", type=int, default=1)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--call", action="store_true", help="TEXT is NUMBER@WINDOW: the protocol's call frame")
    p.add_argument("--out", help="also write the bytes to this file or serial port")
    p.add_argument("--append", action="store_true", help="append to --out instead of replacing it")
    p.set_defaults(handler=_board)

    voice = ds.add_parser("voice", help="the voice announcer (请 A023 号到 5 号窗口)")
    vs = voice.add_subparsers(dest="voice_command", required=True, metavar="ACTION")
    p = vs.add_parser("say", help="announce a call on the sound card, or write it as a WAV file")
    p.add_argument("number", help="ticket number, e.g. A023")
    p.add_argument("window", help="window number, e.g. 5")
    p.add_argument("--out", help="write the announcement to this .wav file instead of playing it")
    p.add_argument("--recall", action="store_true", help="the recall wording (再次呼叫)")
    p.add_argument("--name", help="a configured voice device (NAME or NODE/NAME; needs --config)")
    p.add_argument("--config")
    p.set_defaults(handler=_voice)
    p = vs.add_parser("segments", help="list the voice segments and where each comes from (recorded/generated)")
    p.add_argument("--regenerate", action="store_true", help="generate every segment again with espeak-ng")
    p.add_argument("--name", help="a configured voice device (NAME or NODE/NAME; needs --config)")
    p.add_argument("--config")
    p.set_defaults(handler=_voice)
