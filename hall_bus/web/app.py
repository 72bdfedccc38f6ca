"""The citizen's phone page (预约, 我的预约, 排队进度, 办件进度 and 评价): server-rendered HTML from a hall bus node.

Why a bus node and not a database reader: bookings live in the site's hall server, which decides each one in a
single command (fifty people pressing 「确认」 on the last place get one booking). The page reads the node's
mirror of the hall state (masked by the bus: it never holds a whole name or phone) and acts only by sending
command models (HoldBooking, ConfirmBooking …) as role `web`; the server forces channel "phone" and no staff.

How it stays honest with an older visitor on a phone:
- every page works without JavaScript; one tiny script refreshes the queue position every REFRESH_SECONDS;
- every form that acts is Post/Redirect/Get and carries the request id it was rendered with, so a reload or a
  double tap is the same act (the server answers a known id from its ledger) and never books twice;
- every refusal is a sentence from words.py; bad input says how to fix it; an unreachable hall server is a 503
  page with the hotline, and reading pages show the last known state under 「数据可能不是最新」;
- anything about one person (a booking, a rating) asks for the phone's last four digits first, and wrong tries
  are limited (limits.py); a ticket's page needs the token printed in its QR, and an unknown ticket and a wrong
  token get the same page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from devices.privacy import mask_phone
from hall_bus.catalogue.model import Item
from hall_bus.config import HallConfig
from hall_bus.domain import commands as c
from hall_bus.domain import state as s
from hall_bus.domain.state import HallState
from hall_bus.web import forms
from hall_bus.web import views as v
from hall_bus.web import words as w
from hall_bus.web.limits import Guard, Limits
from hall_bus.web.proofs import Proof, Proofs
from hall_bus.web.qr import qr_data_uri
from hall_bus.wire.client import BusError, BusTimeout

log = logging.getLogger("hall.web")

REFRESH_SECONDS = 10
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY"}
SEND_TIMEOUT = 1.0  # seconds per try; with SEND_RETRIES a command gives up within five seconds, not eleven
SEND_RETRIES = 4
MIRROR_WAIT = 3.0  # seconds the page waits for its mirror to show what a command just did


class Bus(Protocol):
    """What the page needs of its hall bus client (HallClient has it all; a test may fake it)."""

    state: HallState | None
    seq: int
    connected: asyncio.Event

    @property
    def synced(self) -> bool: ...

    async def send(self, command: Any, *, timeout: float = ..., retries: int = ...) -> dict[str, Any]: ...


class Offline(Exception):
    """The hall server cannot be reached now: the page says so (503) with the hotline."""


class Refused(Exception):
    """A page of words instead of what was asked (a refusal, a lock, a bad address), with its status."""

    def __init__(self, status: int, title: str, words: str, actions: list[tuple[str, str]] | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(words)
        self.status, self.title, self.words, self.actions, self.retry_after = status, title, words, actions, \
            retry_after


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("hall_bus.web", "templates"),
                             autoescape=jinja2.select_autoescape(("html",), default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(STALE=w.STALE, WHO=w.WHO, WHO_SHORT=w.WHO_SHORT, LEVELS=c.RATING_LEVELS,
                       REFRESH_SECONDS=REFRESH_SECONDS)
    return env


class PhonePage:
    """The page's routes over one bus client. `now` is the hall's time (a test passes its manual clock's);
    `guard` and `proofs` hold what the page counts and remembers, in memory."""

    def __init__(self, cfg: HallConfig, bus: Bus, *, now: Callable[[], datetime] | None = None,
                 guard: Guard | None = None, proofs: Proofs | None = None) -> None:
        self.cfg = cfg
        self.bus = bus
        self.now = now or (lambda: datetime.now(UTC))
        self.guard = guard or Guard(Limits())
        self.proofs = proofs or Proofs()
        self.env = _environment()
        self.hotline = cfg.booking.hotline

    # ------------------------------------------------------------------ rendering

    def html(self, template: str, status: int = 200, headers: dict[str, str] | None = None,
             **context: Any) -> Response:
        context.setdefault("stale", False)
        page = self.env.get_template(template).render(hall_name=self.cfg.hall.name, hotline=self.hotline,
                                                  site_code=self.cfg.hall.site_code, **context)
        return HTMLResponse(page, status_code=status, headers={**NO_STORE, **(headers or {})})

    def words_page(self, status: int, title: str, words: str, actions: list[tuple[str, str]] | None = None,
                   kind: str = "error", headers: dict[str, str] | None = None) -> Response:
        return self.html("message.html", status, headers, title=title, words=words, actions=actions or [],
                         kind=kind)

    @staticmethod
    def see(url: str) -> Response:
        return RedirectResponse(url, status_code=303, headers=NO_STORE)

    # ------------------------------------------------------------------ the hall

    def reading(self) -> tuple[HallState, bool]:
        """The mirror to read and whether it may be stale; Offline when there is none at all."""
        st = self.bus.state
        if st is None:
            raise Offline
        return st, not self.bus.synced

    def live(self) -> HallState:
        """The mirror, current: booking needs the hall as it is now (places change by the minute)."""
        st = self.bus.state
        if st is None or not self.bus.synced:
            raise Offline
        return st

    async def act(self, command: c.Cmd) -> dict[str, Any]:
        """Send a command; the answer once the mirror shows what it did. Offline when the hall does not answer."""
        if not self.bus.connected.is_set():
            raise Offline
        try:
            answer = await self.bus.send(command, timeout=SEND_TIMEOUT, retries=SEND_RETRIES)
        except (BusTimeout, BusError) as exc:
            log.warning("phone page: %s not sent: %s", command.op, type(exc).__name__)
            raise Offline from None
        if answer.get("ok"):
            seq = int(answer.get("seq") or 0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(MIRROR_WAIT):
                    while self.bus.seq < seq:
                        await asyncio.sleep(0.02)
        return answer

    def local_now(self) -> datetime:
        return self.now().astimezone(self.cfg.hall.tz)

    # ------------------------------------------------------------------ limits

    @staticmethod
    def client_ip(request: Request) -> str:
        return request.client.host if request.client else "?"

    def count_lookup(self, request: Request) -> None:
        wait = self.guard.lookup.take(self.client_ip(request))
        if wait:
            raise Refused(429, "请稍后再试", w.TOO_MANY.format(minutes=self.guard.limits.lookup.minutes),
                          retry_after=int(wait) + 1)

    def tail_locked(self, key: str) -> None:
        wait = self.guard.tail.blocked(key)
        if wait:
            raise Refused(429, "请稍后再试", w.TOO_MANY_TRIES.format(minutes=self.guard.limits.tail.minutes,
                                                                    hotline=self.hotline or "大厅电话"),
                          retry_after=int(wait) + 1)

    def wrong_tail(self, key: str) -> str:
        """Count a wrong try; the words to show (locked once the tries are used up)."""
        self.guard.tail.hit(key)
        self.tail_locked(key)
        return w.BAD_TAIL.format(left=self.guard.tail.left(key))

    # ------------------------------------------------------------------ 首页

    async def home(self, request: Request) -> Response:
        return self.html("home.html", o=v.opening(self.cfg, self.now()))

    async def health(self, request: Request) -> Response:
        synced = self.bus.synced
        return JSONResponse({"ok": synced, "synced": synced, "seq": self.bus.seq}, status_code=200 if synced
                            else 503, headers=NO_STORE)

    # ------------------------------------------------------------------ 预约

    def item(self, request: Request) -> Item:
        found = v.bookable_item(self.cfg, request.path_params["item"])
        if found is None:
            raise Refused(404, "没有这项业务", w.refusal("not_bookable"), [("重新选择事项", "/book")])
        return found

    async def items(self, request: Request) -> Response:
        q = request.query_params.get("q", "")[:40]
        return self.html("items.html", q=q, groups=v.items_by_department(self.cfg, q))

    @staticmethod
    def group_of(text: str | None) -> str | None:
        return text if text in v.GROUPS else None

    async def choose(self, request: Request) -> Response:
        """Who is coming, then the day, then the time: one choice a page."""
        item = self.item(request)
        group = self.group_of(request.query_params.get("group"))
        if group is None:
            return self.html("who.html", item=item)
        st = self.live()
        now = self.now()
        day = _day(request.query_params.get("day"))
        base = f"/book/{item.code}?group={group}"
        if day is None:
            return self.html("days.html", heading="选哪一天", item=item, group=group, base=base,
                             days=v.day_choices(self.cfg, st, item, group, now), back=f"/book/{item.code}")
        return self.html("slots.html", heading="选几点", item=item, group=group, day_label=v.day_words(day),
                         slots=v.slot_choices(self.cfg, st, item, group, day, now),
                         base=f"/book/{item.code}/form?group={group}&", back=base)

    async def form(self, request: Request) -> Response:
        item = self.item(request)
        self.live()
        group = self.group_of(request.query_params.get("group")) or "normal"
        try:
            start = forms.start_time(request.query_params.get("start", ""))
        except forms.BadInput as exc:
            raise Refused(400, "请重新选择时间", str(exc), [("重新选择时间", f"/book/{item.code}?group={group}")]) \
                from None
        return self.form_page(item, group, start, "", "", "", forms.new_request_id())

    def form_page(self, item: Item, group: str, start: datetime, name: str, phone: str, error: str,
                  rid: str, status: int = 200) -> Response:
        day = start.astimezone(self.cfg.hall.tz).date()
        return self.html("form.html", status, item=item, group=group, start=start.isoformat(), name=name,
                         phone=phone, error=error, rid=rid, slot=v.slot_words(self.cfg, start, item),
                         back=f"/book/{item.code}?group={group}&day={day.isoformat()}")

    async def hold(self, request: Request) -> Response:
        item = self.item(request)
        data = await forms.read_form(request)
        group = self.group_of(data.get("group")) or "normal"
        rid = forms.request_id(data.get("rid", ""))
        try:
            start = forms.start_time(data.get("start", ""))
        except forms.BadInput as exc:
            raise Refused(400, "请重新选择时间", str(exc), [("重新选择时间", f"/book/{item.code}?group={group}")]) \
                from None
        try:
            name, phone = forms.name(data.get("name", "")), forms.mobile(data.get("phone", ""))
        except forms.BadInput as exc:
            return self.form_page(item, group, start, data.get("name", "")[:20], data.get("phone", "")[:13],
                                  str(exc), rid, status=400)
        wait = self.guard.hold.take(self.client_ip(request))
        if wait:
            raise Refused(429, "请稍后再试", w.TOO_MANY.format(minutes=self.guard.limits.hold.minutes),
                          retry_after=int(wait) + 1)
        answer = await self.act(c.HoldBooking(item=item.code, start=start, group=group, channel="phone",
                                              phone=phone, name=name, request_id=rid))
        day = start.astimezone(self.cfg.hall.tz).date().isoformat()
        if not answer.get("ok"):
            code = answer.get("code", "")
            log.info("phone page: hold of %s at %s for %s refused: %s", item.code, start.isoformat(),
                     mask_phone(phone), code)
            again = [("换一个时间", f"/book/{item.code}?group={group}&day={day}"),
                     ("换一天", f"/book/{item.code}?group={group}")]
            if code == "already_booked":
                again = [("查看我的预约", "/b")]
            raise Refused(409, "没有约上", w.refusal(code), again)
        booking = answer["result"]["code"]
        log.info("phone page: %s held for %s", booking, mask_phone(phone))
        return self.see(f"/b/{booking}/{self.proofs.issue(booking, phone[-4:])}")

    # ------------------------------------------------------------------ 我的预约

    async def lookup_form(self, request: Request) -> Response:
        code = request.path_params.get("code")
        if code is not None:
            try:
                code = forms.code(code)
            except forms.BadInput:
                code = None
        return self.html("lookup.html", code=code, typed_code="", error="")

    async def lookup(self, request: Request) -> Response:
        """The code and its last four digits: right → the booking's own address; wrong → counted, in words."""
        data = await forms.read_form(request)
        fixed = request.path_params.get("code")
        typed = (fixed or data.get("code", ""))[:30]
        self.count_lookup(request)
        try:
            code = forms.code(typed)
        except forms.BadInput as exc:
            return self.html("lookup.html", 400, code=None, typed_code=typed, error=str(exc))
        shown = code if fixed else None
        try:
            tail = forms.tail(data.get("tail", ""))
        except forms.BadInput as exc:
            return self.html("lookup.html", 400, code=shown, typed_code=typed, error=str(exc))
        key = f"b:{code}"
        self.tail_locked(key)
        st, _ = self.reading()
        b = st.bookings.get(code)
        if b is None or not v.tail_matches(b.phone, tail):
            return self.html("lookup.html", 403, code=shown, typed_code=typed, error=self.wrong_tail(key))
        return self.see(f"/b/{code}/{self.proofs.issue(code, tail)}")

    def proven(self, request: Request) -> tuple[str, Proof]:
        code = request.path_params["code"]
        proof = self.proofs.get(code, request.path_params["key"])
        if proof is None:
            raise Refused(403, "请再验证一次", "为了保护您的信息，请再填一次手机号后 4 位。",
                          [("填写后 4 位", f"/b/{code}")], )
        return code, proof

    def booking_of(self, st: HallState, code: str) -> s.Booking:
        b = st.bookings.get(code)
        if b is None:
            raise Refused(404, "没有查到预约", w.refusal("unknown_booking"), [("重新查询", "/b")])
        return b

    async def booking(self, request: Request) -> Response:
        code, _ = self.proven(request)
        st, stale = self.reading()
        b = self.booking_of(st, code)
        view = v.booking_view(self.cfg, b, self.now())
        here = f"/b/{code}/{request.path_params['key']}"
        if b.status == s.HELD:
            if view["hold_over"]:
                raise Refused(410, "确认超时", w.refusal("hold_expired"),
                              [("重新选择时间", f"/book/{b.item}?group={b.group}")])
            return self.html("confirm.html", b=view, here=here, rid=forms.new_request_id(), stale=stale)
        return self.html("booking.html", b=view, here=here, stale=stale, done="done" in request.query_params,
                         moved="moved" in request.query_params, qr=qr_data_uri(b.qr) if b.qr else "",
                         late_minutes=int(self.cfg.hall.appointment_late_minutes))

    async def confirm(self, request: Request) -> Response:
        code, proof = self.proven(request)
        data = await forms.read_form(request)
        answer = await self.act(c.ConfirmBooking(code=code, phone_tail=proof.tail,
                                                 request_id=forms.request_id(data.get("rid", ""))))
        here = f"/b/{code}/{request.path_params['key']}"
        if not answer.get("ok"):
            raise Refused(409, "没有约上", w.refusal(answer.get("code", "")), [("重新选择时间", "/book")])
        log.info("phone page: %s confirmed", code)
        return self.see(f"{here}?done=1")

    async def cancel_page(self, request: Request) -> Response:
        code, _ = self.proven(request)
        st, stale = self.reading()
        b = self.booking_of(st, code)
        here = f"/b/{code}/{request.path_params['key']}"
        if b.status not in (s.HELD, s.BOOKED):
            return self.see(here)
        return self.html("cancel.html", b=v.booking_view(self.cfg, b, self.now()), here=here,
                         rid=forms.new_request_id(), stale=stale)

    async def cancel(self, request: Request) -> Response:
        code, proof = self.proven(request)
        data = await forms.read_form(request)
        answer = await self.act(c.CancelBooking(code=code, phone_tail=proof.tail, reason="手机页面取消",
                                                request_id=forms.request_id(data.get("rid", ""))))
        here = f"/b/{code}/{request.path_params['key']}"
        if not answer.get("ok"):
            raise Refused(409, "没有取消", w.refusal(answer.get("code", "")), [("返回我的预约", here)])
        log.info("phone page: %s cancelled", code)
        return self.see(here)

    async def move_page(self, request: Request) -> Response:
        """改约: the day, the time, then a page to confirm the change (the booking stays until it is made)."""
        code, _ = self.proven(request)
        st = self.live()
        b = self.booking_of(st, code)
        here = f"/b/{code}/{request.path_params['key']}"
        item = v.bookable_item(self.cfg, b.item)
        if b.status != s.BOOKED or item is None:
            return self.see(here)
        now = self.now()
        view = v.booking_view(self.cfg, b, now)
        start_text = request.query_params.get("start")
        if start_text:
            try:
                start = forms.start_time(start_text)
            except forms.BadInput as exc:
                raise Refused(400, "请重新选择时间", str(exc), [("重新选择时间", f"{here}/move")]) from None
            return self.html("move_confirm.html", b=view, here=here, start=start.isoformat(),
                             slot=v.slot_words(self.cfg, start, item), rid=forms.new_request_id())
        day = _day(request.query_params.get("day"))
        if day is None:
            return self.html("days.html", heading="改到哪一天", item=item, group=b.group, base=f"{here}/move?",
                             days=v.day_choices(self.cfg, st, item, b.group, now), back=here)
        return self.html("slots.html", heading="改到几点", item=item, group=b.group, day_label=v.day_words(day),
                         slots=v.slot_choices(self.cfg, st, item, b.group, day, now), base=f"{here}/move?",
                         back=f"{here}/move")

    async def move(self, request: Request) -> Response:
        code, proof = self.proven(request)
        data = await forms.read_form(request)
        here = f"/b/{code}/{request.path_params['key']}"
        try:
            start = forms.start_time(data.get("start", ""))
        except forms.BadInput as exc:
            raise Refused(400, "请重新选择时间", str(exc), [("重新选择时间", f"{here}/move")]) from None
        answer = await self.act(c.RescheduleBooking(code=code, start=start, phone_tail=proof.tail,
                                                    request_id=forms.request_id(data.get("rid", ""))))
        if not answer.get("ok"):
            raise Refused(409, "没有改成", w.refusal(answer.get("code", "")),
                          [("换一个时间", f"{here}/move"), ("返回我的预约", here)])
        log.info("phone page: %s moved", code)
        return self.see(f"{here}?moved=1")

    # ------------------------------------------------------------------ 排队进度

    async def ticket(self, request: Request) -> Response:
        part = request.query_params.get("part") == "live"
        if not part:
            self.count_lookup(request)
        st, stale = self.reading()
        t = v.find_ticket(st, request.path_params["ref"])
        if t is None:
            if part:
                self.count_lookup(request)
            raise Refused(404, "没有查到这张号", w.NOT_FOUND_TICKET)
        view = v.ticket_view(self.cfg, st, t, self.now())
        return self.html("_queue_live.html" if part else "queue.html", t=view, stale=stale)

    # ------------------------------------------------------------------ 办件进度 and 评价

    async def case_lookup(self, request: Request) -> Response:
        number = request.query_params.get("number", "").strip().upper()[:40]
        if not c_number_ok(number):
            example = f"{self.cfg.hall.site_code}-20261123-0001"
            raise Refused(400, "办件编号不对", f"请照着回执上的办件编号填写，例如 {example}。", [("重新填写", "/")])
        return self.see(f"/c/{number}")

    async def case(self, request: Request, *, error: str = "", status: int = 200) -> Response:
        number = request.path_params["number"]
        if request.method == "GET":
            self.count_lookup(request)
        st, stale = self.reading()
        found = v.case_view(self.cfg, st, number) if c_number_ok(number) else None
        if found is None:
            raise Refused(404, "没有查到办件", w.NOT_FOUND_CASE.format(number=number[:40]))
        rated = request.query_params.get("rated")
        rated_words = ""
        if rated == "bad":
            rated_words = w.RATING_FOLLOW_UP.format(days=self.cfg.calendar.followup_days)
        elif rated == "good":
            rated_words = w.RATING_THANKS
        return self.html("case.html", status, p=found, rated_words=rated_words, error=error,
                         rid=forms.new_request_id(), stale=stale)

    async def rate(self, request: Request) -> Response:
        number = request.path_params["number"]
        data = await forms.read_form(request)
        level = data.get("level", "")
        if level not in c.RATING_LEVELS:
            return await self.case(request, error="请点一个满意程度。", status=400)
        try:
            tail = forms.tail(data.get("tail", ""))
        except forms.BadInput as exc:
            return await self.case(request, error=str(exc), status=400)
        key = f"c:{number}"
        self.tail_locked(key)
        st, _ = self.reading()
        k = st.cases.get(number)
        if k is None or not v.tail_matches(k.phone, tail):
            return await self.case(request, error=self.wrong_tail(key), status=403)
        answer = await self.act(c.RateCase(case=number, level=level, comment=data.get("comment", "")[:500].strip(),
                                           channel="phone", phone_tail=tail,
                                           request_id=forms.request_id(data.get("rid", ""))))
        if not answer.get("ok"):
            code = answer.get("code", "")
            if code == "unknown_case":
                return await self.case(request, error=self.wrong_tail(key), status=403)
            raise Refused(409, "没有评上", w.refusal(code), [("返回办件进度", f"/c/{number}")])
        log.info("phone page: case %s rated %s", number, level)
        return self.see(f"/c/{number}?rated={'bad' if level in c.FOLLOW_UP_LEVELS else 'good'}")

    # ------------------------------------------------------------------ errors

    async def offline(self, request: Request, exc: Exception) -> Response:
        return self.words_page(503, "暂时连不上", w.offline(self.hotline), [],
                               headers={"Retry-After": "30"})

    async def refused(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return self.words_page(exc.status, exc.title, exc.words, exc.actions, headers=headers)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 405:
            return self.words_page(405, "请从页面上的按钮进入", w.NOT_FOUND_PAGE)
        return self.words_page(status, "没有这个页面", w.NOT_FOUND_PAGE)

    async def failed(self, request: Request, exc: Exception) -> Response:
        """A bug must not show a traceback to a citizen: words, and the details in the node's log."""
        log.error("phone page: %s %s failed", request.method, request.url.path, exc_info=exc)
        return self.words_page(500, "出了点问题", w.BROKEN.format(hotline=self.hotline or "大厅电话"))

    # ------------------------------------------------------------------ the app

    def app(self) -> Starlette:
        r = Route
        routes = [
            r("/", self.home), r("/healthz", self.health),
            r("/book", self.items), r("/book/{item}", self.choose), r("/book/{item}", self.hold, methods=["POST"]),
            r("/book/{item}/form", self.form),
            r("/b", self.lookup_form), r("/b", self.lookup, methods=["POST"]),
            r("/b/{code}", self.lookup_form), r("/b/{code}", self.lookup, methods=["POST"]),
            r("/b/{code}/{key}", self.booking), r("/b/{code}/{key}/confirm", self.confirm, methods=["POST"]),
            r("/b/{code}/{key}/cancel", self.cancel_page), r("/b/{code}/{key}/cancel", self.cancel, methods=["POST"]),
            r("/b/{code}/{key}/move", self.move_page), r("/b/{code}/{key}/move", self.move, methods=["POST"]),
            r("/t/{ref}", self.ticket),
            r("/c", self.case_lookup), r("/c/{number}", self.case), r("/c/{number}/rate", self.rate, methods=["POST"]),
        ]
        handlers: dict[Any, Any] = {Offline: self.offline, Refused: self.refused, 404: self.not_found,
                                    405: self.not_found, Exception: self.failed}
        return Starlette(routes=routes, exception_handlers=handlers)


def c_number_ok(number: str) -> bool:
    return bool(re.match(c.CASE_NUMBER, number))


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def make_app(cfg: HallConfig, bus: Bus, **kw: Any) -> Starlette:
    """The phone page for this hall over this bus client (see PhonePage for the keyword arguments)."""
    return PhonePage(cfg, bus, **kw).app()
