"""What a printer model can do, so the encoder never sends a command the printer would print as garbage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrinterProfile:
    name: str
    width_dots: int = 576  # 80 mm paper at 203 dpi; 384 for 58 mm
    native_qr: bool = False  # GS ( k; otherwise the QR code is sent as a raster image
    chinese_mode: bool = True  # needs FS & before double-byte text (most Chinese-market printers)
    gb18030_4byte: bool = False  # the font has the 4-byte GB18030 plane; if not, such characters go as images
    status: bool = True  # answers DLE EOT

    @property
    def columns(self) -> int:
        """Half-width characters per line in font A (12 dots wide)."""
        return self.width_dots // 12


PROFILES: dict[str, PrinterProfile] = {
    "generic-80": PrinterProfile("generic-80"),
    "generic-58": PrinterProfile("generic-58", width_dots=384),
    "xprinter-80": PrinterProfile("xprinter-80", native_qr=True),
    "epson-tm-t88-cn": PrinterProfile("epson-tm-t88-cn", native_qr=True),
    "gb18030-full": PrinterProfile("gb18030-full", native_qr=True, gb18030_4byte=True),
}


def get_profile(name: str) -> PrinterProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown printer profile {name!r}; known: {', '.join(PROFILES)}") from None
