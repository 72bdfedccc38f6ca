"""The booking's QR as an image inside the page (a data: URI): no second request, nothing to cache, and it
works offline once the page is on the phone. Large modules and a wide quiet zone, because the kiosk's document
camera reads it off a phone screen held at arm's length, often with glare."""

from __future__ import annotations

import base64
import io

import qrcode


def qr_data_uri(text: str) -> str:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(text.encode("utf-8"))
    code.make(fit=True)
    img = code.make_image(fill_color="black", back_color="white").get_image().convert("1")
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
