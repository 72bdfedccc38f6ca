"""The document camera kind (高拍仪): a camera index, or a video or image file standing in for one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ..options import Check, Kind, Options, Text

if TYPE_CHECKING:
    from .capture import Camera


class DocCamera(Options):
    """Document camera 高拍仪 (source: camera index or a video/image file)."""

    source: Text = "0"
    width: int | None = Field(default=None, ge=16, le=10000)
    height: int | None = Field(default=None, ge=16, le=10000)


def open_camera(options: Options) -> Camera:
    from .capture import Camera

    assert isinstance(options, DocCamera)
    return Camera(options.source, width=options.width, height=options.height)


def probe_camera(options: Options) -> list[Check]:
    from ..errors import DeviceError
    from .document import find_document

    try:
        cam = open_camera(options)
    except DeviceError as exc:
        return [Check("open", False, exc.message, exc.fix or "")]
    checks = [Check("open", True, str(options.source))]  # type: ignore[attr-defined]
    try:
        frame = cam.read()
    except DeviceError as exc:
        return [*checks, Check("frame", False, exc.message, exc.fix or "")]
    finally:
        cam.close()
    h, w = frame.shape[:2]
    found = find_document(frame)
    return [*checks, Check("frame", True, f"{w}×{h}"),
            Check("document", True, "page found" if found is not None else "no page in view (that is fine)")]


KIND = Kind("camera", "document camera", {"doc-camera": DocCamera}, open=open_camera, probe=probe_camera)
