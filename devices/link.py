"""Byte links: how bytes reach a device (serial port, USB bulk endpoints, TCP, a file), shared by every kind.

Like python-escpos's `_raw`/`_read`, every difference between transports lives here, so drivers speak one
interface and never ask which transport they hold. Three rules every link keeps:

- Opening is lazy and repeatable. A link that failed, or was closed, opens again on its next use: a printer
  unplugged between two tickets prints the third once it is back, without restarting the kiosk.
- Every failure becomes a `DeviceError` that names the device and the fix to try; nothing else escapes, so a
  kiosk never dies because of a cable.
- `duplex` says whether the device can answer at all (a file cannot); drivers use it instead of type checks.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import time
from pathlib import Path
from typing import Any, Protocol

from .errors import DeviceError, explain_os_error

CABLE_FIX = "check the cable and the power; `hallctl device list` shows what is attached"


class ByteLink(Protocol):
    duplex: bool

    @property
    def where(self) -> str: ...
    def open(self) -> None: ...
    def write(self, data: bytes) -> None: ...
    def read(self, max_bytes: int, timeout: float) -> bytes: ...
    def reset_input(self) -> None: ...
    def close(self) -> None: ...


def usb_id(vid: int, pid: int) -> str:
    """USB ids as `lsusb` and the maker's label show them (0416:5011), so the technician can compare."""
    return f"{vid:04x}:{pid:04x}"


class _Lazy:
    """Open on first use, drop the handle after a failure so the next use opens again."""

    duplex = True
    _handle: Any = None

    @property
    def where(self) -> str:
        raise NotImplementedError

    @property
    def is_open(self) -> bool:
        return self._handle is not None

    def _connect(self) -> Any:
        raise NotImplementedError

    def _release(self, handle: Any) -> None:
        handle.close()

    def open(self) -> None:
        if self._handle is None:
            self._handle = self._connect()

    def _ensure(self) -> Any:
        self.open()
        return self._handle

    def _failed(self, what: str, exc: BaseException, fix: str = CABLE_FIX) -> DeviceError:
        """Forget the handle (the next use reopens) and describe the failure."""
        self.close()
        return DeviceError(f"{self.where}: {what} failed ({exc})", fix)

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(Exception):  # a handle whose device vanished cannot always close cleanly
                self._release(handle)


class SerialLink(_Lazy):
    """pyserial: real ports, pseudo-terminals and pyserial URLs (loop://, socket://127.0.0.1:PORT).

    `exclusive` takes pyserial's advisory lock (flock LOCK_EX | LOCK_NB on the open port; it works on ptys too) so
    a second process that also asks for it is refused with `in_use_fix` instead of silently sharing the port.
    Only a bus with several devices and one owner needs it (the keypad line: two owners would split its bytes
    and both poll); a printer or ID reader keeps the old behaviour so a technician's tool can still open it.
    """

    def __init__(self, port: str, baudrate: int = 115200, *, timeout: float = 0.05, write_timeout: float = 2.0,
                 exclusive: bool = False, in_use_fix: str | None = None) -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.write_timeout = write_timeout
        self.exclusive = exclusive
        self.in_use_fix = in_use_fix or f"another process holds the port; stop it (fuser -v {port} shows which)"

    @property
    def where(self) -> str:
        return self.port

    def _connect(self) -> Any:
        import serial

        extra: dict[str, Any] = {"exclusive": True} if self.exclusive else {}
        try:
            return serial.serial_for_url(self.port, baudrate=self.baudrate, bytesize=8, parity="N", stopbits=1,
                                         timeout=self.timeout, write_timeout=self.write_timeout, **extra)
        except serial.SerialException as exc:
            if self.exclusive and getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise DeviceError(f"{self.port} is in use by another process (it holds the port's lock)",
                                  self.in_use_fix) from None
            cause = exc.__context__ if isinstance(exc.__context__, OSError) else exc
            raise explain_os_error(self.port, cause) from None  # type: ignore[arg-type]
        except OSError as exc:
            raise explain_os_error(self.port, exc) from None
        except ValueError as exc:
            raise DeviceError(f"{self.port}: {exc}", "check the port name and the baud rate") from None

    def write(self, data: bytes) -> None:
        ser = self._ensure()
        try:
            ser.write(data)
            ser.flush()
        except Exception as exc:  # SerialException, OSError, termios.error: a port that went away
            raise self._failed("write", exc) from None

    def read(self, max_bytes: int, timeout: float) -> bytes:
        """Whatever arrives within `timeout` (at least one byte unless it times out), up to max_bytes."""
        ser = self._ensure()
        deadline = time.monotonic() + timeout
        while True:
            try:
                waiting = ser.in_waiting
                data = ser.read(min(max_bytes, max(1, waiting)))
            except Exception as exc:
                raise self._failed("read", exc) from None
            if data or time.monotonic() >= deadline:
                return bytes(data)

    def reset_input(self) -> None:
        ser = self._ensure()
        try:
            ser.reset_input_buffer()
        except Exception as exc:  # termios.error is not an OSError
            raise self._failed("reset", exc) from None


class TcpLink(_Lazy):
    """A raw TCP stream (printers on port 9100, serial servers). The connect timeout is short: a kiosk waits
    for a visitor, not for an address that does not answer."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 3.0, write_timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _connect(self) -> Any:
        try:
            return socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except ConnectionRefusedError:
            raise DeviceError(f"{self.where} refused the connection",
                              f"is the device switched on and listening on port {self.port}?") from None
        except TimeoutError:
            raise DeviceError(f"{self.where} did not answer within {self.connect_timeout:.0f} s",
                              "check the device's power, its IP address and the network cable") from None
        except socket.gaierror as exc:
            raise DeviceError(f"{self.host}: unknown host ({exc.strerror})", "check the host name or IP address"
                              ) from None
        except OSError as exc:
            raise DeviceError(f"{self.where}: cannot connect ({exc.strerror or exc})",
                              "check the device's IP address and the network") from None

    def write(self, data: bytes) -> None:
        sock = self._ensure()
        try:
            sock.settimeout(self.write_timeout)
            sock.sendall(data)
        except OSError as exc:
            raise self._failed("send", exc, "the connection dropped: check the device's power and network") from None

    def read(self, max_bytes: int, timeout: float) -> bytes:
        sock = self._ensure()
        try:
            ready, _, _ = select.select([sock], [], [], max(0.0, timeout))
            if not ready:
                return b""
            data = sock.recv(max_bytes)
        except OSError as exc:
            raise self._failed("receive", exc) from None
        if not data:  # the device closed the connection
            self.close()
            raise DeviceError(f"{self.where} closed the connection", "check the device's power and network")
        return data

    def reset_input(self) -> None:
        sock = self._ensure()
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while select.select([sock], [], [], 0)[0]:
                if not sock.recv(4096):
                    self.close()
                    return


class FileLink(_Lazy):
    """Bytes appended to a file (or a character device such as /dev/usb/lp0). A file never answers."""

    duplex = False

    def __init__(self, path: str) -> None:
        self.path = path

    @property
    def where(self) -> str:
        return self.path

    def _connect(self) -> Any:
        parent = Path(self.path).parent
        if not parent.is_dir():
            raise DeviceError(f"{self.path}: the directory {parent} does not exist",
                              f"create it (mkdir -p {parent}) or set another path")
        try:
            return open(self.path, "ab", buffering=0)
        except OSError as exc:
            raise explain_os_error(self.path, exc) from None

    def write(self, data: bytes) -> None:
        f = self._ensure()
        try:
            f.write(data)
        except OSError as exc:
            raise self._failed("write", exc, "check the disk space and the file's permissions") from None

    def read(self, max_bytes: int, timeout: float) -> bytes:
        return b""

    def reset_input(self) -> None:
        pass


class UsbBulkLink(_Lazy):
    """A device's bulk endpoints through pyusb. After each write the answer is read from `ep_in[0]`, and any
    further reads from `ep_in[-1]` (SAM readers 0400:C35A send the header on 0x81 and the rest on 0x85; a
    printer has one IN endpoint). Not tried on hardware here: no USB device is attached to CI."""

    def __init__(self, vid: int, pid: int, *, ep_out: int, ep_in: tuple[int, ...], timeout_ms: int = 2000,
                 what: str = "USB device") -> None:
        self.vid, self.pid = vid, pid
        self.ep_out, self.ep_in = ep_out, ep_in
        self.timeout_ms = timeout_ms
        self.what = what
        self._first_in = True

    @property
    def where(self) -> str:
        return f"USB {usb_id(self.vid, self.pid)}"

    def _connect(self) -> Any:
        try:
            import usb.core
        except ImportError:
            raise DeviceError("pyusb is not installed", "pip install pyusb") from None
        try:
            dev = usb.core.find(idVendor=self.vid, idProduct=self.pid)
        except usb.core.NoBackendError:
            raise DeviceError("no USB backend", "install libusb-1.0-0 (apt-get install libusb-1.0-0)") from None
        except usb.core.USBError as exc:
            raise DeviceError(f"cannot list USB devices: {exc}", "check the permissions on /dev/bus/usb") from None
        if dev is None:
            raise DeviceError(f"no {self.what} {usb_id(self.vid, self.pid)} on USB",
                              "check the cable and the power; `hallctl device list` shows the USB devices attached")
        try:
            with contextlib.suppress(NotImplementedError):
                if dev.is_kernel_driver_active(0):
                    dev.detach_kernel_driver(0)
            dev.set_configuration()
        except usb.core.USBError as exc:
            if exc.errno == 13:
                raise DeviceError(f"permission denied on USB {usb_id(self.vid, self.pid)}",
                                  "add a udev rule giving the kiosk user this VID:PID, then replug") from None
            raise DeviceError(f"USB {usb_id(self.vid, self.pid)}: {exc}", "replug the device") from None
        return dev

    def _release(self, handle: Any) -> None:
        import usb.util

        usb.util.dispose_resources(handle)

    def write(self, data: bytes) -> None:
        dev = self._ensure()
        try:
            dev.write(self.ep_out, data, timeout=self.timeout_ms)
        except Exception as exc:  # usb.core.USBError: unplugged, stalled, timed out
            raise self._failed("write", exc) from None
        self._first_in = True

    def read(self, max_bytes: int, timeout: float) -> bytes:
        import usb.core

        dev = self._ensure()
        ep = self.ep_in[0] if self._first_in else self.ep_in[-1]
        try:
            data = bytes(dev.read(ep, max(64, max_bytes), timeout=max(1, int(timeout * 1000))))
        except usb.core.USBTimeoutError:
            return b""
        except Exception as exc:
            raise self._failed("read", exc) from None
        self._first_in = False
        return data

    def reset_input(self) -> None:
        self._first_in = True
