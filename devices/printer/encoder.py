"""Ticket layout → ESC/POS bytes for one printer profile, with python-escpos doing the command encoding.

Chinese text goes as GB18030 after FS & (Chinese mode) where the profile needs it. A line with a character the
printer's font lacks (outside GBK on most printers) is drawn with our own fonts and sent as a raster image,
so it never prints as garbage. The QR code is native (GS ( k) only where the profile says the printer has it.
"""

from __future__ import annotations

import qrcode
from escpos.printer import Dummy
from PIL import Image

from ..fonts import render_line
from .profile import PrinterProfile
from .ticket import QR, Cut, Line, Op, Rule

FS_CHINESE_ON = b"\x1c\x26"
FS_CHINESE_OFF = b"\x1c\x2e"
ESC_INIT = b"\x1b\x40"
DOT_HEIGHT_FONT_A = 24


def printable_natively(text: str, profile: PrinterProfile) -> bool:
    """True if every character is in the printer's font: ASCII, or GBK (2-byte GB18030), or 4-byte if it has it."""
    for ch in text:
        if ord(ch) < 0x80:
            continue
        try:
            raw = ch.encode("gb18030")
        except UnicodeEncodeError:
            return False
        if len(raw) == 4 and not profile.gb18030_4byte:
            return False
    return True


def qr_image(content: str, module: int, width: int) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module, border=2)
    code.add_data(content.encode("utf-8"))
    code.make(fit=True)
    img = code.make_image(fill_color="black", back_color="white").get_image().convert("1")
    return centred(img, width)


def centred(img: Image.Image, width: int) -> Image.Image:
    if img.width >= width:
        return img.crop((0, 0, width, img.height))
    canvas = Image.new("1", (width, img.height), 1)
    canvas.paste(img, ((width - img.width) // 2, 0))
    return canvas


def _dummy(width_dots: int) -> Dummy:
    """python-escpos's in-memory printer, told the paper width (else it prints a warning on every image)."""
    p = Dummy()
    data = dict(p.profile.profile_data)
    data["media"] = {**data.get("media", {}), "width": {"pixels": width_dots}}
    p.profile.profile_data = data  # on the instance: the class-level dict is shared by every printer
    return p


def encode(ops: list[Op], profile: PrinterProfile) -> bytes:
    p = _dummy(profile.width_dots)
    p._raw(ESC_INIT)
    chinese = False
    for op in ops:
        if isinstance(op, Line):
            size = max(1, min(8, op.size))
            if printable_natively(op.text, profile):
                p.set(align=op.align, bold=op.bold, custom_size=size > 1, width=size, height=size,
                      normal_textsize=size == 1)
                needs_cn = any(ord(ch) >= 0x80 for ch in op.text)
                if needs_cn and profile.chinese_mode and not chinese:
                    p._raw(FS_CHINESE_ON)
                    chinese = True
                p._raw(op.text.encode("gb18030") + b"\n")
            else:
                img = render_line(op.text, DOT_HEIGHT_FONT_A * size, profile.width_dots, op.align)
                p.set(align="left", normal_textsize=True)
                p.image(img, impl="bitImageRaster")
        elif isinstance(op, QR):
            p.set(align="center", normal_textsize=True)
            if profile.native_qr:
                p.qr(op.content, size=op.size, native=True)
            else:
                p.image(qr_image(op.content, op.size, profile.width_dots), impl="bitImageRaster")
        elif isinstance(op, Rule):
            p.set(align="left", normal_textsize=True)
            p._raw(b"-" * profile.columns + b"\n")
        elif isinstance(op, Cut):
            if chinese:
                p._raw(FS_CHINESE_OFF)
                chinese = False
            p._raw(b"\n\n\n")
            p.cut()
    return bytes(p.output)
