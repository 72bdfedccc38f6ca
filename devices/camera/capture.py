"""Frames from a camera index (/dev/videoN), a video file, or a still image (served again on every read).

OpenCV prints its own warnings to stderr when a camera is missing (three backends, each with a C++ source line);
a technician reading `hallctl device probe` needs our one line with the fix instead, so they are silenced.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from ..errors import DeviceError

IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


class Camera:
    def __init__(self, source: int | str, *, width: int | None = None, height: int | None = None) -> None:
        self.source = source
        self._size = (width, height)
        self._still: np.ndarray | None = None
        self._cap: cv2.VideoCapture | None = None
        if isinstance(source, str) and not source.isdigit():
            path = Path(source)
            if not path.exists():
                raise DeviceError(f"{source}: no such file", "give a camera index (0) or an existing file")
            if path.suffix.lower() in IMAGE_EXT:
                self._still = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if self._still is None:
                    raise DeviceError(f"{source}: not an image OpenCV can read")
                return
            self._cap = cv2.VideoCapture(str(path))
        else:
            index = int(source)
            if sys.platform.startswith("linux") and not os.path.exists(f"/dev/video{index}"):
                raise DeviceError(f"no camera {index}: /dev/video{index} does not exist",
                                  "check the camera's USB cable; `ls /dev/video*` lists the cameras attached")
            self._cap = cv2.VideoCapture(index)
            if width and height:
                self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if not self._cap.isOpened():
            raise DeviceError(f"camera {source} cannot be opened",
                              "check the USB cable; is the user in group video? (ls -l /dev/video*)")

    def read(self) -> np.ndarray:
        if self._still is not None:
            return self._still.copy()
        assert self._cap is not None
        ok, frame = self._cap.read()
        if not ok:
            if isinstance(self.source, str) and not self.source.isdigit():  # a file: loop, like a camera
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = self._cap.read()
            if not ok:
                raise DeviceError(f"camera {self.source}: no frame", "the camera may be in use by another program")
        return frame

    def flush(self, frames: int = 5) -> None:
        """Drop the frames the driver buffered: a scan that starts now must not see what was in front of the
        camera before (the previous visitor's phone)."""
        if self._cap is not None:
            for _ in range(frames):
                if not self._cap.grab():
                    break

    def reopen(self) -> None:
        """Open the same source again after a failure (a camera unplugged and plugged back)."""
        self.close()
        self.__init__(self.source, width=self._size[0], height=self._size[1])  # type: ignore[misc]

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
