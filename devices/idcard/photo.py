"""The plug-in point for the card photo. The 1,024-byte WLT image needs a vendor library to decode (no open
decoder is known), so we keep the bytes and let an installed plug-in turn them into an image.

A plug-in is a callable `bytes -> bytes` (WLT in, BMP or PNG out) either registered at run time with
`register_photo_decoder`, or published by a package under the entry-point group `hall_kiosk.photo_decoders`
(for example a wrapper around the vendor's libwlt.so).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points

PhotoDecoder = Callable[[bytes], bytes]
ENTRY_POINT_GROUP = "hall_kiosk.photo_decoders"
log = logging.getLogger(__name__)
_registered: list[PhotoDecoder] = []


def register_photo_decoder(decoder: PhotoDecoder) -> None:
    _registered.append(decoder)


def _installed() -> list[PhotoDecoder]:
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found.append(ep.load())
        except Exception as exc:  # a broken plug-in must not stop the kiosk reading cards
            log.warning("photo decoder plug-in %s failed to load: %s", ep.name, exc)
    return found


def decode_photo(wlt: bytes) -> bytes | None:
    """The photo as image bytes, or None when no decoder is installed or every decoder failed."""
    for decoder in [*_registered, *_installed()]:
        try:
            return decoder(wlt)
        except Exception as exc:
            log.warning("photo decoder %r failed: %s", decoder, exc)
    return None
