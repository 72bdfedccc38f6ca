"""The demo's bookings ahead: what a hall has in its book the evening before — a caller booked by a helper on the
tablet (电话预约), a citizen on the phone page, and a 上门办 for someone who cannot come, with the two helpers
its needs call for. Each goes through the bus as the real channels send it, so the demo's ledger, reminders
and phone page see ordinary bookings.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from devices.privacy import mask_address, mask_name, mask_phone
from hall_bus.config import HallConfig
from hall_bus.domain import commands as c
from hall_bus.domain.booking import open_slots
from hall_bus.domain.state import HallState
from hall_bus.errors import UserError
from hall_bus.wire.client import HallClient

if TYPE_CHECKING:
    from hall_bus.web.node import WebNode

# (item, group, channel, name, phone, address, needs): the book the demo fills
BOOK: tuple[tuple[str, str, str, str, str, str, tuple[str, ...]], ...] = (
    ("QR-379901-MZJ-011", "normal", "hotline", "刘建国", "13803791234", "", ()),
    ("GG-379901-RSJ-001", "accompany", "phone", "张秀英", "13937905678", "", ()),
    ("GF-379901-MZJ-001", "home_visit", "hotline", "王桂兰", "15003792468", "平安县城关镇建设路12号院3单元2楼",
     ("轮椅", "听力不好")),
)
HOME_HELPERS = ["xm01", "wf02"]


def first_open(cfg: HallConfig, item: str, group: str, after: datetime) -> datetime | None:
    """The earliest slot with a place, from the next working day on (a demo run at night still books ahead)."""
    assert cfg.catalogue is not None
    it = cfg.catalogue.by_code[item]
    for n in range(1, cfg.booking.horizon_days + 1):
        day: date = (after + timedelta(days=n)).date()
        free = [s.start for s, left in open_slots(cfg, HallState(), it, group, day, after) if left > 0]
        if free:
            return free[0]
    return None


async def book_ahead(cfg: HallConfig, greeter: HallClient, web: HallClient, out: TextIO) -> list[str]:
    """Book the demo's visits; print one line each (masked, as on any screen). Returns the booking codes."""
    if cfg.catalogue is None:
        return []
    now = datetime.now(cfg.hall.tz)
    codes: list[str] = []
    print("预约 · bookings ahead (the evening before: reminders go out by SMS at "
          f"{cfg.sms.send_at:%H:%M})" if cfg.sms else "预约 · bookings ahead", file=out, flush=True)
    for item, group, channel, name, phone, address, needs in BOOK:
        start = first_open(cfg, item, group, now)
        if start is None:
            print(f"  {item}: no open slot in the next {cfg.booking.horizon_days} days", file=out, flush=True)
            continue
        client = web if channel == "phone" else greeter
        held = await client.send(c.HoldBooking(item=item, start=start, group=group, channel=channel, phone=phone,
                                               name=name, address=address, needs=list(needs)))
        if not held["ok"]:
            print(f"  {item}: {held['message']}", file=out, flush=True)
            continue
        code = held["result"]["code"]
        done = await client.send(c.ConfirmBooking(code=code, phone_tail=phone[-4:]))
        if not done["ok"]:
            print(f"  {code}: {done['message']}", file=out, flush=True)
            continue
        codes.append(code)
        how = {"hotline": "电话预约 (helper's tablet)", "phone": "手机页 (phone page)"}[channel]
        line = f"  {code}  {start:%m-%d %H:%M}  {held['result']['item']}  {how}  {mask_name(name)} {mask_phone(phone)}"
        if group == "home_visit":
            sent = await greeter.send(c.AssignHomeVisit(code=code, helpers=HOME_HELPERS, travel_minutes=25))
            who = "、".join(HOME_HELPERS) if sent["ok"] else sent["message"]
            line += (f"\n      上门办 home visit at {mask_address(address)} ({'、'.join(needs)}): helpers {who}, "
                     "25 min road")
        print(line, file=out, flush=True)
    return codes


class PhonePage:
    """The demo's phone page, served on the port `[booking] phone_url` names (the tickets' QR codes point there)."""

    def __init__(self, node: WebNode) -> None:
        self.node = node
        self.task = asyncio.create_task(node.serve())

    async def close(self) -> None:
        self.node.close()
        await asyncio.gather(self.task, return_exceptions=True)


def start_phone_page(cfg: HallConfig, client: HallClient, codes: list[str], out: TextIO) -> PhonePage | None:
    """Serve the phone page and print its address and each booking's own page (the last four digits of the
    phone open it). A taken port is said in one line; the demo goes on without the page."""
    from hall_bus.web.node import WebNode

    url = urlsplit(cfg.booking.phone_url or "http://127.0.0.1:8088")
    try:
        node = WebNode(cfg, client, bind="127.0.0.1", port=url.port or 8088)
    except UserError as exc:
        print(f"手机页 phone page not started: {exc}", file=out, flush=True)
        return None
    base = node.url.rstrip("/")
    print(f"手机页 phone page: {base}/  (the tickets' QR codes open their queue position there)", file=out,
          flush=True)
    for code in codes:
        print(f"  {base}/b/{code}", file=out, flush=True)
    return PhonePage(node)
