"""Reading what a visitor typed: the form body, and each field checked with words that say how to fix it.

The page posts plain HTML forms (application/x-www-form-urlencoded, no JavaScript needed), read here with the
standard library rather than a multipart parser the page has no use for. A body too large, or of another kind,
reads as empty, and each missing field then says what to fill in.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from urllib.parse import parse_qs

from starlette.requests import Request

MAX_BODY = 8 * 1024
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
TAIL = re.compile(r"^[0-9]{4}$")
CODE = re.compile(r"^[0-9A-Za-z]{2,12}-[0-9]{8}-[0-9]{3,5}$")
RID = re.compile(r"^[0-9a-f]{32}$")
DIGIT_FOLD = str.maketrans("０１２３４５６７８９　", "0123456789 ")  # a phone keyboard's full-width digits


class BadInput(ValueError):
    """A field a visitor must fix; the message is the sentence the page shows."""


async def read_form(request: Request) -> dict[str, str]:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


def digits(text: str) -> str:
    return re.sub(r"[\s\-]", "", text.translate(DIGIT_FOLD))


def mobile(text: str) -> str:
    phone = digits(text)
    if not MOBILE.match(phone):
        raise BadInput("请填写 11 位手机号（1 开头），预约提醒会发到这个号码。")
    return phone


def name(text: str) -> str:
    value = " ".join(text.split())
    if not value:
        raise BadInput("请填写来办事的人的姓名。")
    if len(value) > 20:
        raise BadInput("姓名太长了，请只填姓名。")
    return value


def tail(text: str) -> str:
    value = digits(text)
    if not TAIL.match(value):
        raise BadInput("请填写手机号的最后 4 位数字。")
    return value


def code(text: str) -> str:
    value = text.strip().upper().translate(DIGIT_FOLD).replace(" ", "")
    if not CODE.match(value):
        raise BadInput("预约号不对，请照着预约成功页面或短信上的预约号填写，例如 PA-20261124-001。")
    return value


def start_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput("时间不对，请重新选择时间。") from None
    if when.tzinfo is None:
        raise BadInput("时间不对，请重新选择时间。")
    return when


def request_id(text: str) -> str:
    """The id the form was rendered with (a second post of the same form is the same act), or a new one."""
    return text if RID.match(text) else uuid.uuid4().hex


def new_request_id() -> str:
    return uuid.uuid4().hex
