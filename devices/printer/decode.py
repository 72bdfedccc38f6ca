"""Reading ESC/POS bytes back into what the paper shows: text lines (GB18030), QR contents, raster images.

Used by the printer simulator's transcript, the tests (the ticket we encode is decoded and compared) and the
diagnostics CLI. Covers the commands our encoder and python-escpos send; any other ESC/GS command is assumed
to take one parameter byte and reported in `unknown`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image


@dataclass
class Printed:
    lines: list[tuple[str, int]] = field(default_factory=list)  # (text, magnification)
    qr_native: list[str] = field(default_factory=list)
    images: list[Image.Image] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # "text:…", "qr:…", "image:N" in paper order
    cuts: int = 0
    chinese_mode_used: bool = False
    status_queries: list[int] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def text(self) -> list[str]:
        return [t for t, _ in self.lines]


ONE_PARAM_ESC = set(b"!-2345=?EGJMRSTVaditp{")  # ESC x n (a few take none, handled below)


def decode(data: bytes) -> Printed:
    out = Printed()
    buf = bytearray()
    size = 1
    i = 0
    n = len(data)

    def flush() -> None:
        text = bytes(buf).decode("gb18030", errors="replace")
        out.lines.append((text, size))
        out.order.append(f"text:{text}")
        buf.clear()

    while i < n:
        b = data[i]
        if b == 0x0A:
            flush()
            i += 1
        elif b == 0x1B and i + 1 < n:
            cmd = data[i + 1]
            if cmd == 0x40:  # ESC @
                i += 2
            elif cmd == 0x21 and i + 2 < n:  # ESC ! n
                mode = data[i + 2]
                size = 2 if mode & 0x30 else 1
                i += 3
            elif cmd == 0x64 or cmd in ONE_PARAM_ESC:  # ESC d n: feed n lines
                i += 3
            else:
                out.unknown.append(f"ESC {cmd:02X}")
                i += 3
        elif b == 0x1D and i + 1 < n:
            cmd = data[i + 1]
            if cmd == 0x21:  # GS ! n
                mode = data[i + 2]
                size = max((mode >> 4) + 1, (mode & 0x0F) + 1)
                i += 3
            elif cmd == 0x28 and data[i + 2] == 0x6B:  # GS ( k pL pH cn fn …
                length = data[i + 3] + data[i + 4] * 256
                body = data[i + 5 : i + 5 + length]
                if body[:2] == b"\x31\x50":  # store QR data: cn=49 fn=80 m=48 data
                    content = body[3:].decode("utf-8", errors="replace")
                    out.qr_native.append(content)
                    out.order.append(f"qr:{content}")
                i += 5 + length
            elif cmd == 0x76 and data[i + 2] == 0x30:  # GS v 0 m xL xH yL yH data
                xb = data[i + 4] + data[i + 5] * 256
                yd = data[i + 6] + data[i + 7] * 256
                raster = data[i + 8 : i + 8 + xb * yd]
                img = Image.frombytes("1", (xb * 8, yd), bytes(x ^ 0xFF for x in raster))
                out.images.append(img)
                out.order.append(f"image:{len(out.images) - 1}")
                i += 8 + xb * yd
            elif cmd == 0x56:  # GS V m [n]
                out.cuts += 1
                i += 4 if data[i + 2] in (0x41, 0x42, 65, 66) else 3
            else:
                out.unknown.append(f"GS {cmd:02X}")
                i += 3
        elif b == 0x1C and i + 1 < n:  # FS & / FS .
            if data[i + 1] == 0x26:
                out.chinese_mode_used = True
            i += 2
        elif b == 0x10 and i + 2 < n and data[i + 1] == 0x04:  # DLE EOT n
            out.status_queries.append(data[i + 2])
            i += 3
        else:
            buf.append(b)
            i += 1
    if buf:
        flush()
    return out
