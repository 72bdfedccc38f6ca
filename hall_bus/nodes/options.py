"""What a node is started with, as one frozen value: the CLI turns its command line into this once, and the
builders and window runners below it read only this, never argparse's Namespace (so a test, the demo or a
window's launcher can start a node without faking a command line)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeOptions:
    node: str
    keys: str = "data/keys"
    server: str | None = None  # the hall server's host (None: [bus].server from the config)
    timeout: float = 10.0  # seconds a console agent waits for the server at start
    duration: float | None = None  # stop after this many seconds (board, counter with devices)
    more_nodes: tuple[str, ...] = ()  # counter: the other windows whose keypads are on this process's line
    keyboard: bool = True  # counter: the terminal's keys work beside the keypad
    console: bool = False  # kiosk: a line per visitor in a terminal instead of the touch window
    printer: str | None = None  # kiosk: serial port of an ESC/POS printer, instead of the config's
    profile: str = "generic-80"  # the printer profile with `printer`
    idcard: str | None = None  # kiosk: serial port of the ID card reader, instead of the config's
    camera: str | None = None  # kiosk, greeter: camera index or an image/video file, instead of the config's
    no_devices: bool = False  # kiosk: tickets on screen only, nothing opened
    voice_out: str | None = None  # write announcements and prompts as WAV files here instead of playing them
    data: str = "data"  # greeter: where delegation pages are kept
    windowed: bool = False  # a normal window instead of full screen
    font: str | None = None  # a Chinese font file (default: found with fontconfig)
    px_per_mm: float | None = None  # the screen's pixels per millimetre (default: the node's in the config)
    idle: float | None = None  # seconds before an idle kiosk goes back to welcome (default: the node's)
    verbose: bool = False
    port: int = 8088  # web: the phone page's port
    bind: str = "127.0.0.1"  # web: the address it listens on (the reverse proxy's side; 0.0.0.0 for the LAN)
