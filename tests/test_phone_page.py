"""The citizen's phone page end to end: a real hall server and a real web node (its bus client and uvicorn in one
loop, on 127.0.0.1), driven over HTTP and in Debian's headless Chromium at a phone's 390×844.

Why this way: what matters to the visitor is only seen whole — the booking a kiosk turns into exactly one ticket,
the last place going once under fifty thumbs, the words shown when the hall is unreachable, and text an older
person can read on a small screen. Each browser page is measured (no sideways scroll, text ≥ 18 px, targets
≥ 48 px, contrast ≥ 4.5:1 from computed colours) and saved to docs/screens/ to be looked at.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import io
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pyzbar import pyzbar
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig
from hall_bus.domain import state as s
from hall_bus.domain.commands import (
    AcceptCase,
    CallTicket,
    ConcludeCase,
    CounterOp,
    Issue,
    StartCase,
)
from hall_bus.nodes.appointment import parse
from hall_bus.web import words as w
from hall_bus.web.limits import Guard, Limits
from hall_bus.web.node import WebNode
from hall_bus.wire.client import HallClient

from .browser_helpers import OVERFLOWS, TEXT_STYLES, chromium_session, wait_for
from .bus_helpers import NODES, Hall, roster_commands, running_hall
from .conftest import ROOT, TZ

SCREENS = ROOT / "docs" / "screens"
MARRIAGE = "QR-379901-MZJ-011"  # 婚姻登记: 3 places a slot, none kept for groups
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)  # the clock starts Monday 2026-11-23 09:00
PHONE = "13812345678"
NAME = "张秀英"
WAIT = 20.0  # seconds a browser condition may take (the queue page refreshes itself every 10)
PHONE_SIZE = (390, 844)


# ---------------------------------------------------------------------- a hall with its phone page, in a thread


class PhoneHall:
    """A hall server, its web node and the other nodes' clients in one asyncio loop on a thread of its own, so
    the test (and Selenium) stay synchronous; `run` sends a coroutine into that loop and waits for it."""

    def __init__(self, cfg: HallConfig, tmp: Path, clock: ManualClock, limits: Limits | None = None) -> None:
        self.cfg, self.tmp, self.clock, self.limits = cfg, tmp, clock, limits
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.failed: BaseException | None = None
        self.hall: Hall
        self.web: HallClient
        self.url = ""

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        async with running_hall(self.cfg, self.tmp, (*NODES, "phone-web"), clock=self.clock) as hall:
            self.hall = hall
            self.web = await hall.started("phone-web", config=self.cfg)
            node = WebNode(self.cfg, self.web, port=0, now=self.clock.now, guard=Guard(self.limits or Limits()))
            self.url = node.url.rstrip("/")
            serving = asyncio.create_task(node.serve())
            while not node.server.started:
                await asyncio.sleep(0.01)
            self.ready.set()
            await self._done.wait()
            node.close()
            await asyncio.wait_for(serving, 10)

    def _thread(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # shown by __enter__ or __exit__, never lost in the thread
            self.failed = exc
            self.ready.set()

    def __enter__(self) -> PhoneHall:
        self.thread = threading.Thread(target=self._thread, daemon=True)
        self.thread.start()
        assert self.ready.wait(30), "the hall and its phone page did not start"
        if self.failed:
            raise self.failed
        return self

    def __exit__(self, *exc: object) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._done.set)
        self.thread.join(30)
        if self.failed and not exc[0]:
            raise self.failed

    def run(self, make: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 20) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(timeout)

    @property
    def state(self) -> s.HallState:
        return self.hall.server.core.state

    def client(self, node: str) -> HallClient:
        return self.run(lambda: self.hall.started(node, subscribe=False))

    def send(self, client: HallClient, command: Any) -> dict[str, Any]:
        answer = self.run(lambda: client.send(command))
        assert answer["ok"], answer
        return answer["result"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), TZ)


@pytest.fixture
def phone(cfg: HallConfig, tmp_path: Path, clock: ManualClock) -> Iterator[PhoneHall]:
    with PhoneHall(cfg, tmp_path, clock) as hall:
        yield hall


# ---------------------------------------------------------------------- HTTP without a browser


class Page:
    def __init__(self, status: int, url: str, text: str, headers: Any) -> None:
        self.status, self.url, self.text, self.headers = status, url, text, headers


def http(url: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Page:
    """GET, or POST a form; redirects followed (Post/Redirect/Get), error pages returned, not raised."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={
        **({"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return Page(r.status, r.geturl(), r.read().decode(), r.headers)
    except urllib.error.HTTPError as exc:
        return Page(exc.code, url, exc.read().decode(), exc.headers)


def form_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


def hold(ph: PhoneHall, at: datetime = TUESDAY_10, phone: str = PHONE, name: str = NAME, rid: str | None = None,
         headers: dict[str, str] | None = None) -> Page:
    form = http(f"{ph.url}/book/{MARRIAGE}/form?group=normal&start={urllib.parse.quote(at.isoformat())}")
    assert form.status == 200, form.text
    data = {"group": "normal", "start": at.isoformat(), "name": name, "phone": phone,
            "rid": rid or form_value(form.text, "rid")}
    return http(f"{ph.url}/book/{MARRIAGE}", data, headers)


def book(ph: PhoneHall, **kw: Any) -> tuple[str, str]:
    """Hold and confirm over HTTP: (the booking code, its page's address)."""
    held = hold(ph, **kw)
    assert held.status == 200 and "请在" in held.text, held.text
    done = http(f"{held.url}/confirm", {"rid": form_value(held.text, "rid")})
    assert done.status == 200 and "预约成功" in done.text, done.text
    code = re.search(r"/b/([^/]+)/", done.url)
    assert code
    return code.group(1), done.url.split("?")[0]


# ---------------------------------------------------------------------- the browser at phone size


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    for driver in chromium_session("--window-size=390,844"):
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PHONE_SIZE[0], "height": PHONE_SIZE[1], "deviceScaleFactor": 2, "mobile": True})
        yield driver


TARGETS = """
return Array.prototype.filter.call(document.querySelectorAll("a, button, input, textarea, select"), function (el) {
  var r = el.getBoundingClientRect();
  return el.type !== "hidden" && r.width > 0 && r.height < 48;
}).map(function (el) { return el.outerHTML.slice(0, 80); });
"""


def look(driver: WebDriver, name: str | None = None) -> None:
    """The page as an older visitor's phone shows it: no sideways scrolling, text ≥ 18 px with contrast ≥ 4.5:1,
    every target ≥ 48 px tall; saved whole as docs/screens/phone-NAME.png."""
    assert driver.execute_script("return [innerWidth, innerHeight]") == list(PHONE_SIZE)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_SIZE[0]
    assert driver.execute_script(OVERFLOWS) == []
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    styles = driver.execute_script(TEXT_STYLES)
    assert styles
    assert not [x for x in styles if x["size"] < 18], [x for x in styles if x["size"] < 18][:5]
    assert not [x for x in styles if x["ratio"] < 4.5], [x for x in styles if x["ratio"] < 4.5][:5]
    body = [x for x in styles if x["cls"] == "" and x["size"] >= 20]
    assert body and min(x["ratio"] for x in body) >= 7, "body text under 7:1"
    assert driver.execute_script(TARGETS) == []
    page = driver.page_source
    assert NAME not in page and PHONE not in page and "Traceback" not in page
    if name:
        SCREENS.mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": PHONE_SIZE[0],
                                                    "height": max(height, PHONE_SIZE[1]), "scale": 1}})
        (SCREENS / f"phone-{name}.png").write_bytes(base64.b64decode(shot["data"]))


def click(driver: WebDriver, css: str) -> None:
    driver.find_element(By.CSS_SELECTOR, css).click()


def shown(driver: WebDriver, words: str) -> None:
    WebDriverWait(driver, WAIT, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: words in d.find_element(By.TAG_NAME, "body").text, f"the page never said {words!r}")


def qr_text(driver: WebDriver) -> str:
    """The QR image of the page, read as a scanner reads it."""
    src = driver.find_element(By.CSS_SELECTOR, ".qr img").get_attribute("src") or ""
    assert src.startswith("data:image/png;base64,")
    found = pyzbar.decode(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))))
    assert len(found) == 1
    return found[0].data.decode()


# ---------------------------------------------------------------------- (a) book, and the kiosk reads it


@pytest.mark.slow
def test_book_in_the_browser_and_the_kiosk_gives_one_ticket(phone: PhoneHall, browser: WebDriver) -> None:
    d = browser
    d.get(phone.url + "/")
    shown(d, "预约办事")
    assert "平安县政务服务中心" in d.page_source and "午间延时" in d.page_source
    look(d, "home")
    click(d, 'a[href="/book"]')
    shown(d, "预约办什么事")
    look(d, "book-items")
    click(d, f'a[href="/book/{MARRIAGE}"]')
    shown(d, "谁来大厅办")
    look(d)
    click(d, f'a[href="/book/{MARRIAGE}?group=normal"]')
    shown(d, "请选哪一天来")
    assert "休息" in d.find_element(By.TAG_NAME, "body").text  # the Saturday afternoon and Sunday are shown shut
    look(d, "book-days")
    click(d, 'a[href$="day=2026-11-24"]')
    shown(d, "请选几点来")
    assert "午间延时" in d.find_element(By.TAG_NAME, "body").text  # the extended session says which
    look(d, "book-slots")
    click(d, 'a[href*="start=2026-11-24T10%3A00%3A00%2B08%3A00"]')
    shown(d, "填写来办事的人")
    d.find_element(By.ID, "phone").send_keys("1381234")  # too short: told how to fix it
    d.find_element(By.ID, "name").send_keys(NAME)
    click(d, "button[type=submit]")
    shown(d, "请填写 11 位手机号")
    phone_box = d.find_element(By.ID, "phone")
    phone_box.clear()
    phone_box.send_keys(PHONE)
    click(d, "button[type=submit]")
    shown(d, "请在 10 分钟内确认")
    assert "张**" in d.page_source and "138****5678" in d.page_source
    look(d, "book-confirm")
    click(d, "form button.btn")
    shown(d, "预约成功")
    look(d, "book-done")
    code = d.find_element(By.CSS_SELECTOR, ".code").text
    text = qr_text(d)
    assert "扫这个码取号" in d.page_source and "内地居民结婚登记" in d.page_source
    d.refresh()  # a reload of the done page is a GET: still one booking
    shown(d, "预约成功")
    booked = [b for b in phone.state.bookings.values() if b.status == s.BOOKED]
    assert [b.code for b in booked] == [code] and booked[0].start_ts == TUESDAY_10.timestamp()

    phone.clock.set(TUESDAY_10 - timedelta(minutes=5))
    appt = parse(text, phone.cfg, phone.clock.now())
    assert appt.ref == code and appt.sig
    kiosk = phone.client("kiosk-1")
    issue = Issue(service=appt.service, appointment_at=appt.at, appointment_ref=appt.ref, appointment_sig=appt.sig)
    ticket = phone.send(kiosk, issue)
    again = phone.run(lambda: kiosk.send(issue))
    assert again["ok"] is False and again["code"] == "appointment_used"
    assert [t.id for t in phone.state.tickets.values() if t.appointment_ref == code] == [ticket["ticket"]]
    assert phone.state.bookings[code].status == s.CHECKED_IN


# ---------------------------------------------------------------------- (b) 我的预约: move, then cancel


@pytest.mark.slow
def test_move_and_cancel_from_my_booking(phone: PhoneHall, browser: WebDriver) -> None:
    code, _ = book(phone)
    d = browser
    d.get(phone.url + "/b")
    shown(d, "我的预约")
    d.find_element(By.ID, "code").send_keys(code)
    d.find_element(By.ID, "tail").send_keys("0000")
    click(d, "button[type=submit]")
    shown(d, "还可以再试 4 次")
    look(d, "lookup")
    d.find_element(By.ID, "code").clear()
    d.find_element(By.ID, "code").send_keys(code.lower())
    d.find_element(By.ID, "tail").send_keys("5678")
    click(d, "button[type=submit]")
    shown(d, "扫这个码取号")
    look(d, "my-booking")
    assert qr_text(d).startswith("HALLAPPT/1;ref=" + code)
    click(d, 'a[href$="/move"]')
    shown(d, "改到哪一天")
    click(d, 'a[href$="day=2026-11-25"]')
    shown(d, "改到几点")
    click(d, 'a[href*="start=2026-11-25T14%3A00"]')
    shown(d, "改到这个时间吗")
    look(d)
    click(d, "form button.btn")
    shown(d, "改约成功")
    b = phone.state.bookings[code]
    assert (b.status, b.start_ts) == (s.BOOKED, datetime(2026, 11, 25, 14, 0, tzinfo=TZ).timestamp())
    assert parse(qr_text(d), phone.cfg, datetime(2026, 11, 25, 14, 0, tzinfo=TZ)).at.hour == 14
    click(d, 'a[href$="/cancel"]')
    shown(d, "确定要取消这个预约吗")
    look(d, "cancel")
    click(d, "button.danger")
    shown(d, "已取消")
    assert phone.state.bookings[code].status == s.BOOKING_CANCELLED
    assert not d.find_elements(By.CSS_SELECTOR, 'a[href$="/cancel"]')


# ---------------------------------------------------------------------- (c) the ticket's QR: queue, then called


@pytest.mark.slow
def test_the_queue_page_follows_the_ticket_until_it_is_called(phone: PhoneHall, browser: WebDriver) -> None:
    kiosk = phone.client("kiosk-1")
    for _ in range(2):
        phone.send(kiosk, Issue(service="企业开办"))
    mine = phone.send(kiosk, Issue(service="企业开办"))
    assert mine.get("token"), "the server gives a ticket token"
    ref = f"{mine['ticket']}.{mine['token']}"
    d = browser
    d.get(f"{phone.url}/t/{ref}")
    shown(d, "前面还有 2 人，预计")
    look(d, "queue")
    wrong = http(f"{phone.url}/t/{mine['ticket']}.{'0' * len(mine['token'])}")
    unknown = http(f"{phone.url}/t/20261123-Z999.{mine['token']}")
    assert wrong.status == unknown.status == 404 and wrong.text == unknown.text  # no oracle
    counter = phone.client("counter-5")
    phone.send(counter, CounterOp(op="open_counter", counter=5))
    phone.send(counter, CallTicket(counter=5, ticket=mine["ticket"]))
    shown(d, "请到 5 号窗口")  # the page refreshed itself
    assert d.current_url.endswith(ref)
    look(d, "called")


# ---------------------------------------------------------------------- (d) 办件进度 and a bad rating


def concluded_case(ph: PhoneHall) -> str:
    admin = ph.client("admin")
    for command in roster_commands():
        ph.send(admin, command)
    case = ph.send(admin, AcceptCase(item=MARRIAGE, applicant=NAME, phone=PHONE, counter=1, by="李娜"))["case"]
    ph.send(admin, StartCase(case=case, by="李娜"))
    ph.send(admin, ConcludeCase(case=case, decision="approved", by="李娜"))
    return case


@pytest.mark.slow
def test_a_bad_rating_opens_a_follow_up_and_a_second_is_refused(phone: PhoneHall, browser: WebDriver) -> None:
    case = concluded_case(phone)
    d = browser
    d.get(phone.url + "/")
    d.find_element(By.ID, "number").send_keys(case)
    click(d, "form.card button")
    shown(d, "办理经过")
    assert "已办结" in d.find_element(By.TAG_NAME, "body").text and "李娜" not in d.page_source
    look(d, "case")
    d.find_element(By.ID, "tail").send_keys("1111")
    click(d, 'button[value="满意"]')
    shown(d, "还可以再试 4 次")
    d.find_element(By.ID, "tail").send_keys("5678")
    d.find_element(By.ID, "comment").send_keys("等得太久")
    d.execute_script("document.getElementById('rate').scrollIntoView()")
    look(d, "rate")
    click(d, 'button[value="非常不满意"]')
    shown(d, f"督办员会在 {phone.cfg.calendar.followup_days} 个工作日内")
    look(d, "rated")
    assert phone.state.cases[case].rating == "非常不满意"
    follow = [f for f in phone.state.followups.values() if f.case == case]
    assert len(follow) == 1 and follow[0].level == "非常不满意"
    again = http(f"{phone.url}/c/{case}/rate", {"tail": "5678", "level": "满意", "rid": "f" * 32})
    assert again.status == 409 and w.refusal("already_rated") in again.text
    assert phone.state.cases[case].rating == "非常不满意"


# ---------------------------------------------------------------------- (e) fifty thumbs on the last place


@pytest.mark.slow
def test_fifty_at_once_for_the_last_place_get_one_booking(phone: PhoneHall) -> None:
    for n in range(2):
        book(phone, phone=f"1391234{n:04d}")
    slot = f"婚姻登记@{int(TUESDAY_10.timestamp())}"
    start = threading.Barrier(50)

    def one(n: int) -> Page:
        form = http(f"{phone.url}/book/{MARRIAGE}/form?group=normal&start={urllib.parse.quote(TUESDAY_10.isoformat())}")
        start.wait(30)
        held = http(f"{phone.url}/book/{MARRIAGE}", {
            "group": "normal", "start": TUESDAY_10.isoformat(), "name": f"访客{n}", "phone": f"1370000{n:04d}",
            "rid": form_value(form.text, "rid")}, {"X-Forwarded-For": f"10.0.{n // 200}.{n % 200 + 1}"})
        if held.status != 200:
            return held
        return http(f"{held.url}/confirm", {"rid": form_value(held.text, "rid")})

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        pages = list(pool.map(one, range(50)))
    won = [p for p in pages if p.status == 200 and "预约成功" in p.text]
    full = [p for p in pages if p.status == 409 and w.refusal("slot_full") in p.text]
    assert len(won) == 1 and len(full) == 49, [(p.status, p.text[-300:]) for p in pages if p not in won + full][:2]
    assert all("已约满" in p.text and "Traceback" not in p.text for p in full)
    mine = [b for b in phone.state.bookings.values() if b.phone.startswith("1370000")]
    assert len(mine) == 1 and mine[0].status == s.BOOKED and mine[0].slot == slot
    assert sum(phone.state.slot_taken[slot].values()) == 3


def test_a_form_posted_twice_holds_one_place(phone: PhoneHall) -> None:
    form = http(f"{phone.url}/book/{MARRIAGE}/form?group=normal&start={urllib.parse.quote(TUESDAY_10.isoformat())}")
    rid = form_value(form.text, "rid")
    first, second = hold(phone, rid=rid), hold(phone, rid=rid)
    assert first.status == second.status == 200
    assert first.url.split("/")[4] == second.url.split("/")[4]  # the same booking code
    assert len(phone.state.bookings) == 1


# ---------------------------------------------------------------------- (f) guessing the last four digits


def test_five_wrong_last_four_lock_the_code(phone: PhoneHall) -> None:
    code, _ = book(phone)
    for left in (4, 3, 2, 1):
        page = http(f"{phone.url}/b/{code}", {"tail": f"{left:04d}"})
        assert page.status == 403 and f"还可以再试 {left} 次" in page.text
    page = http(f"{phone.url}/b/{code}", {"tail": "9999"})
    assert page.status == 429 and "错误次数太多，请 15 分钟后再试" in page.text and "0379-6512345" in page.text
    page = http(f"{phone.url}/b/{code}", {"tail": "5678"})  # even the right digits wait out the lock
    assert page.status == 429 and page.headers["Retry-After"]
    unknown = http(f"{phone.url}/b/PA-20261124-099", {"tail": "5678"})
    assert unknown.status == 403 and "号码或手机号后四位不对" in unknown.text  # as a wrong tail: no oracle
    bad = http(f"{phone.url}/b", {"code": "不是预约号", "tail": "5678"})
    assert bad.status == 400 and "预约号不对" in bad.text


# ---------------------------------------------------------------------- (g) the hall server down


@pytest.mark.slow
def test_with_the_hall_server_down_the_page_says_so(phone: PhoneHall, browser: WebDriver) -> None:
    kiosk = phone.client("kiosk-1")
    mine = phone.send(kiosk, Issue(service="企业开办"))
    code, page_url = book(phone)
    form = http(f"{phone.url}/book/{MARRIAGE}/form?group=normal&start={urllib.parse.quote(TUESDAY_10.isoformat())}")
    rid = form_value(form.text, "rid")
    assert phone.hall.stop is not None
    phone.loop.call_soon_threadsafe(phone.hall.stop.set)  # type: ignore[union-attr]
    wait_for("the web node to notice", lambda: not phone.web.connected.is_set(), 15)
    offline = w.offline("0379-6512345")
    for page in (http(f"{phone.url}/book/{MARRIAGE}?group=normal"),
                 http(f"{phone.url}/book/{MARRIAGE}", {"group": "normal", "start": TUESDAY_10.isoformat(),
                                                       "name": NAME, "phone": PHONE, "rid": rid}),
                 http(f"{page_url}/cancel", {"rid": "a" * 32})):
        assert page.status == 503 and offline in page.text and "Traceback" not in page.text
        assert page.headers["Retry-After"]
    queue = http(f"{phone.url}/t/{mine['ticket']}.{mine['token']}")
    assert queue.status == 200 and w.STALE in queue.text and "马上就到您了" in queue.text
    mybooking = http(page_url)
    assert mybooking.status == 200 and w.STALE in mybooking.text and code in mybooking.text
    assert http(phone.url + "/healthz").status == 503
    browser.get(f"{phone.url}/book/{MARRIAGE}?group=normal")
    shown(browser, "暂时连不上大厅的系统")
    look(browser, "offline")
