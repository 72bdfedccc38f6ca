"""What must be settled before Kivy is imported: where it keeps its files, the Chinese font, and the kiosk-mode
settings its defaults get wrong. Import this module first in every Kivy app and test.

Why before: Kivy reads KIVY_HOME, its config and the command line at import, and a label drawn before the font
is registered keeps its tofu boxes. Why these settings: a kiosk must not show a cursor, blank its screen,
quit on Esc, open a settings panel on F1, or see every touch twice (mouse provider + the touch device).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

# Simplified-Chinese fonts whose face 0 has Chinese shapes. Kivy's SDL2 text opens only face 0 of a .ttc, and
# face 0 of Noto Sans CJK .ttc is the Japanese one (骨 直 角 drawn wrongly), so it is not on this list.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansSC-Regular.otf",
)
FONT_PACKAGE = "fonts-wqy-microhei"


class NoChineseFont(RuntimeError):
    """The kiosk cannot draw Chinese: it refuses to start rather than show boxes to a visitor."""


def find_font(configured: str | None = None) -> str:
    if configured:
        if Path(configured).is_file():
            return configured
        raise NoChineseFont(f"font {configured}: no such file")
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return path
    try:  # fontconfig knows fonts in other places (a hall's own font directory)
        out = subprocess.run(["fc-match", "-f", "%{file}", "WenQuanYi Micro Hei:lang=zh-cn"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    if out and "wqy" in out.lower() and Path(out).is_file():
        return out
    raise NoChineseFont(f"no Chinese font found; install it with: sudo apt-get install {FONT_PACKAGE}")


def _no_cut_buffer_noise(record: logging.LogRecord) -> bool:
    text = record.getMessage()
    return not (text.startswith(("Cutbuffer:", "xclip - ", "xsel - ")))


def prepare(*, home: Path | None = None, font: str | None = None, fullscreen: bool = True,
            size: tuple[int, int] = (1080, 1920)) -> str:
    """Environment and Kivy Config for a kiosk window. Returns the font path. Safe to call more than once."""
    font_path = find_font(font)
    state = home or Path(os.environ.get("HALL_STATE_DIR", Path.cwd() / "data")) / "kivy"
    state.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KIVY_HOME", str(state))  # Kivy's config and logs stay out of the user's home
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # our own command line is not Kivy's
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # through our logging, and its masking filter
    # Where there is no GPU driver Mesa draws with llvmpipe, whose rasteriser threads kept memory they freed: a
    # hall display idling with its scrolling notice grew from 250 to 293 MB in five minutes. Drawing in the
    # main thread, its memory stays between 74 and 95 MB (docs/benchmarks.md). Other drivers ignore this.
    os.environ.setdefault("LP_NUM_THREADS", "0")
    if not (shutil.which("xclip") or shutil.which("xsel")):  # a tablet has no clipboard to share: without these,
        os.environ.setdefault("KIVY_CLIPBOARD", "dummy")  # Kivy prints tracebacks looking for one at every start
        # ...and a text box looks for a cut buffer through the same two programs, with a CRITICAL line and two
        # tracebacks that read like a crash to whoever starts a tablet; nothing on our screens copies or pastes.
        logging.getLogger("kivy").addFilter(_no_cut_buffer_noise)
    if not Path("/proc/asound").exists() and "SDL_AUDIODRIVER" not in os.environ:
        # No sound card: SDL's ALSA spills eight lines and a CRITICAL at every start; the chime plays into nothing.
        os.environ["SDL_AUDIODRIVER"] = "dummy"
        logging.getLogger("kiosk.boot").warning("no sound card (/proc/asound is missing): chimes are not heard; "
                                                "the screens and the calls still show")

    from kivy.config import Config

    Config.set("kivy", "default_font", ["HallCJK", font_path, font_path, font_path, font_path])
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "log_enable", "0")
    Config.set("kivy", "keyboard_mode", "system")  # no on-screen keyboard: nothing on the kiosk is typed
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("graphics", "allow_screensaver", "0")
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "borderless", "1" if fullscreen else "0")
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    # One explicit input source, so a touch screen does not deliver every touch twice (mouse + mtdev).
    for option in list(Config.options("input")) if Config.has_section("input") else []:
        Config.remove_option("input", option)
    Config.set("input", "mouse", "mouse,disable_multitouch")
    return font_path
