"""The `[sms]` table of the hall file, and the gateway it makes.

The AccessKey secret is never written in the hall file: hall files are copied between halls, pasted into
tickets and kept in git. The table names a file holding only the secret, readable by the server's user alone
(mode 0600), and `make_gateway` refuses one that others can read, as ssh refuses a private key.
"""

from __future__ import annotations

import stat
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hall_bus.errors import ConfigError

if TYPE_CHECKING:
    from hall_bus.sms.gateway import SmsGateway

# Alibaba's endpoint lives here, not in the adapter: the hall's config loads these settings, and the adapter
# (urllib, the log masking) is imported only by the server that sends (make_gateway).
DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"

_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TemplateCodes(_Strict):
    """The provider's code of each of our templates (the console's 模板CODE, e.g. SMS_123456789)."""

    reminder: str = Field(pattern=r"^SMS_\d+$")
    confirmed: str = Field(pattern=r"^SMS_\d+$")
    cancelled: str = Field(pattern=r"^SMS_\d+$")


class SmsSettings(_Strict):
    adapter: Literal["simulator", "aliyun"] = "simulator"
    # The approved 签名, without 【】; the provider puts it in front of every message.
    sign_name: str = Field(min_length=2, max_length=20)
    endpoint: str = DEFAULT_ENDPOINT
    region: str = Field(default="cn-hangzhou", pattern=r"^[a-z]+(-[a-z0-9]+)+$")
    access_key_id: str | None = Field(default=None, min_length=1)
    secret_file: Path | None = None  # relative to the hall file's folder
    templates: TemplateCodes | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    send_at: time = time(18, 0)  # reminders for tomorrow go out from this time today (hall's time zone)

    @field_validator("sign_name")
    @classmethod
    def _plain_sign(cls, value: str) -> str:
        if value != value.strip() or any(c in value for c in "【】[]"):
            raise ValueError(f"write the sign name as approved, without 【】 or spaces around it (got {value!r})")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        """HTTPS to the provider; plain HTTP only to this machine (a test's or a demo's stand-in provider)."""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {value!r} (Alibaba's is {DEFAULT_ENDPOINT})")
        if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
            raise ValueError(f"the SMS provider is reached over https, not http: {value!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"the endpoint takes no query or fragment: {value!r}")
        return value

    @model_validator(mode="after")
    def _aliyun_complete(self) -> SmsSettings:
        if self.adapter == "aliyun":
            missing = [k for k in ("access_key_id", "secret_file", "templates") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"adapter = \"aliyun\" needs {', '.join(missing)} (the secret goes in a 0600 file "
                                 "named by secret_file, never in this file)")
        return self


def read_secret(path: Path) -> str:
    """The AccessKey secret, from a file only its owner may read. Raises ConfigError naming the file and the fix."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: sms.secret_file: no such file (write the AccessKey secret into it, "
                          f"then chmod 600 {path})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: sms.secret_file: cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: sms.secret_file: not a regular file")
    if info.st_mode & 0o077:
        raise ConfigError(f"{path}: sms.secret_file: readable by others (mode {stat.S_IMODE(info.st_mode):04o}); "
                          f"run chmod 600 {path}")
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: sms.secret_file: cannot read: {exc}") from None
    if not secret or any(c.isspace() for c in secret):
        raise ConfigError(f"{path}: sms.secret_file: the file should hold the AccessKey secret alone, on one line")
    return secret


def make_gateway(settings: SmsSettings, base: Path | None = None) -> SmsGateway:
    """The gateway the settings name; `base` is the hall file's folder, which a relative secret_file is under."""
    from hall_bus.sms.aliyun import AliyunSms
    from hall_bus.sms.simulator import SimulatedSms

    if settings.adapter == "simulator":
        return SimulatedSms(sign_name=settings.sign_name)
    assert settings.secret_file is not None and settings.access_key_id is not None and settings.templates
    secret_path = settings.secret_file if base is None else base / settings.secret_file
    codes = settings.templates.model_dump()
    return AliyunSms(access_key_id=settings.access_key_id, access_key_secret=read_secret(secret_path),
                     sign_name=settings.sign_name, template_codes=codes, endpoint=settings.endpoint,
                     region=settings.region, timeout_seconds=settings.timeout_seconds)
