"""How bytes reach a SAM reader: a serial port (most readers, also over USB-serial) or USB bulk endpoints."""

from __future__ import annotations

from typing import Protocol

from ..errors import DeviceError


class ByteLink(Protocol):
    def write(self, data: bytes) -> None: ...
    def read(self, max_bytes: int, timeout: float) -> bytes: ...
    def reset_input(self) -> None: ...
    def close(self) -> None: ...


class UsbBulkLink:
    """Readers with a native USB interface (seen: 0400:C35A). The request goes to the OUT endpoint 0x02; the
    answer's header arrives on 0x81 and the rest on 0x85. Untested here: no such reader is attached to CI."""

    def __init__(self, vid: int, pid: int, *, ep_out: int = 0x02, ep_head: int = 0x81, ep_body: int = 0x85) -> None:
        import usb.core

        try:
            dev = usb.core.find(idVendor=vid, idProduct=pid)
        except usb.core.NoBackendError:
            raise DeviceError("no USB backend", "install libusb-1.0-0 (apt-get install libusb-1.0-0)") from None
        if dev is None:
            raise DeviceError(f"no USB reader {vid:04x}:{pid:04x}", "check the cable; `hallctl device list` shows "
                              "attached USB devices")
        try:
            if dev.is_kernel_driver_active(0):
                dev.detach_kernel_driver(0)
            dev.set_configuration()
        except usb.core.USBError as exc:
            if exc.errno == 13:
                raise DeviceError(f"permission denied on USB {vid:04x}:{pid:04x}",
                                  "add a udev rule granting the kiosk user access to this VID:PID") from None
            raise DeviceError(f"USB {vid:04x}:{pid:04x}: {exc}") from None
        self.dev, self.ep_out, self.ep_head, self.ep_body = dev, ep_out, ep_head, ep_body
        self._head_next = True

    def write(self, data: bytes) -> None:
        self.dev.write(self.ep_out, data, timeout=2000)
        self._head_next = True

    def read(self, max_bytes: int, timeout: float) -> bytes:
        import usb.core

        ep = self.ep_head if self._head_next else self.ep_body
        try:
            data = bytes(self.dev.read(ep, max(64, max_bytes), timeout=max(1, int(timeout * 1000))))
        except usb.core.USBTimeoutError:
            return b""
        self._head_next = False  # after the header, the rest of the answer comes on the body endpoint
        return data

    def reset_input(self) -> None:
        self._head_next = True

    def close(self) -> None:
        import usb.util

        usb.util.dispose_resources(self.dev)
