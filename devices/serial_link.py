"""A byte link over pyserial: real ports, pseudo-terminals and pyserial URLs (loop://, socket://host:port).

Shared by every serial device (ID card readers, printers on RS-232, keypads) so each reads with the same timeout
rules and reports open failures with a fix.
"""

from __future__ import annotations

import time

import serial

from .errors import DeviceError, explain_os_error


class SerialLink:
    def __init__(self, port: str, baudrate: int = 115200, *, timeout: float = 0.05) -> None:
        self.port = port
        try:
            self.ser = serial.serial_for_url(port, baudrate=baudrate, bytesize=8, parity="N", stopbits=1,
                                             timeout=timeout, write_timeout=2.0)
        except serial.SerialException as exc:
            cause = exc.__context__ if isinstance(exc.__context__, OSError) else exc
            raise explain_os_error(port, cause) from None  # type: ignore[arg-type]
        except OSError as exc:
            raise explain_os_error(port, exc) from None
        except ValueError as exc:
            raise DeviceError(f"{port}: {exc}", "check the port name and the baud rate") from None

    def write(self, data: bytes) -> None:
        try:
            self.ser.write(data)
            self.ser.flush()
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"{self.port}: write failed: {exc}", "check the cable and the power") from None

    def read(self, max_bytes: int, timeout: float) -> bytes:
        """Whatever arrives within `timeout` (at least one byte unless it times out), up to max_bytes."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                waiting = self.ser.in_waiting
                data = self.ser.read(min(max_bytes, max(1, waiting)))
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"{self.port}: read failed: {exc}", "check the cable and the power") from None
            if data or time.monotonic() >= deadline:
                return data

    def reset_input(self) -> None:
        self.ser.reset_input_buffer()

    def close(self) -> None:
        self.ser.close()
