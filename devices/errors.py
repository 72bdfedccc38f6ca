"""Errors a device raises, each with the fix a maintenance technician should try."""

from __future__ import annotations


class DeviceError(Exception):
    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} — try: {self.fix}" if self.fix else self.message


class DeviceTimeout(DeviceError):
    pass


def explain_os_error(port: str, exc: OSError) -> DeviceError:
    """Turn the errors serial ports really give into the fix a technician can apply."""
    text = str(exc)
    if "Permission denied" in text or getattr(exc, "errno", None) == 13:
        return DeviceError(f"permission denied on {port}",
                           "add the user to group dialout (sudo usermod -aG dialout $USER), then log in again")
    if "No such file" in text or "could not open port" in text or getattr(exc, "errno", None) == 2:
        return DeviceError(f"{port} does not exist",
                           "check the cable; `hallctl device list` shows the serial ports that are attached")
    if "busy" in text.lower() or getattr(exc, "errno", None) == 16:
        return DeviceError(f"{port} is busy", "another program holds the port; stop it (fuser -v " + port + ")")
    return DeviceError(f"{port}: {text}")
