"""The county dashboard on a real PostgreSQL, filled the way the hub fills it, and looked at in a real Chromium.

Why this way: the numbers a county supervisor acts on must be the events' own, so the JSON is checked against a
count made here from the same events, by a different route (Python over the shipped events, not SQL). What the
page looks like is checked where it is seen — Debian's headless Chromium at the office screen's 1920×1080 and a
small TV's 1280×720 — for what a person needs: every site there, the silent one said in words, text big enough
and dark-on-light enough to read from across a room, nothing cut off, and no applicant's name or number
anywhere. The screenshots go to build/screens/ to be looked at.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from starlette.applications import Starlette

from hall_bus.config import HallConfig
from hall_bus.county import board
from hall_bus.county.dashboard import DashboardServer, bind, make_app, url_of
from hall_bus.county.hub import CountyHub
from hall_bus.county.ingest import Shipped, store_batch
from hall_bus.county.schema import migrate
from hall_bus.county.sites import County, load_county
from hall_bus.errors import UserError
from hall_bus.wire.keys import KeyStore
from tests import county_data as cd
from tests.browser_helpers import OVERFLOWS, TEXT_STYLES, chromium_session, viewport, wait_for
from tests.conftest import ROOT

pytestmark = pytest.mark.pg

SCREENS = ROOT / "build" / "screens"
SATISFIED = {"非常满意", "满意", "基本满意"}
# 县 → each 镇 with its 村 → 合作点
TREE = ["PA", "PAT01", "PAT01V01", "PAT01V02", "PAT01V03", "PAT02", "PAT02V01", "PAT02V02", "PAT02V03", "PAT03",
        "PAT03V01", "PAT03V02", "PAP01", "PAP02"]
WAIT = 20.0  # seconds a browser condition may take (the page refreshes itself every 5)


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def centre(cfg: HallConfig, tmp_path_factory: pytest.TempPathFactory) -> list[Shipped]:
    """The county centre's simulated day, as its ledger ships it (made once: it is read, never changed)."""
    return cd.simulate_day(cfg, tmp_path_factory.mktemp("centre"))


@pytest.fixture
def county(pg_dsn: str, centre: list[Shipped]) -> dict[str, list[Shipped]]:
    return cd.fill(pg_dsn, centre)


@contextmanager
def serving(app: Starlette) -> Iterator[tuple[str, DashboardServer]]:
    """The app on a port of its own, in a thread with its own event loop, stopped however the test went."""
    server = DashboardServer(uvicorn.Config(app, log_config=None, log_level="warning", access_log=False,
                                            lifespan="on", timeout_graceful_shutdown=2), bind("127.0.0.1:0"))
    url = url_of(server.sock)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_for("the dashboard to start", lambda: server.started or not thread.is_alive())
    try:
        yield url, server
    finally:
        server.should_exit = True
        thread.join(10)


def get(url: str) -> tuple[int, str, Message]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers


def dashboard(dsn: str, **kw: Any) -> Starlette:
    return make_app(dsn, county_name="平安县", now=lambda: cd.NOW, **kw)


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    yield from chromium_session("--window-size=1920,1080")


# ---------------------------------------------------------------------- counting here, in Python


def expected(per_site: dict[str, list[Shipped]]) -> dict[str, Any]:
    """Today's figures per site from the shipped events themselves (not through the database)."""
    start = datetime.combine(cd.NOW.date(), datetime.min.time(), cd.TZ)
    end = start + timedelta(days=1)
    sites: dict[str, Counter[str]] = {}
    for site, events in per_site.items():
        c: Counter[str] = Counter()
        registered: set[str] = set()
        closed: set[str] = set()
        for e in events:
            data = orjson.loads(e.data)
            if e.type == "complaint_registered":
                registered.add(data["complaint_id"])
            elif e.type == "complaint_closed":
                closed.add(data["complaint_id"])
            if not start <= datetime.fromisoformat(e.at) < end:
                continue
            if e.type == "ticket_issued":
                c["visits"] += 1
            elif e.type == "case_accepted":
                c["accepted"] += 1
            elif e.type == "case_concluded":
                c["concluded"] += 1
                c["on_time"] += data["on_time"] is True
            elif e.type in ("rating_recorded", "case_rated"):
                c["rated"] += 1
                c["satisfied"] += data["level"] in SATISFIED
        c["complaints_open"] = len(registered - closed)
        sites[site] = c
    levels: dict[str, Counter[str]] = defaultdict(Counter)
    for site, c in sites.items():
        levels[cd.LEVELS[site]].update(c)
        levels["all"].update(c)
    return {"sites": sites, "levels": levels}


def same(figures: dict[str, Any], counted: Counter[str]) -> None:
    for key in ("visits", "accepted", "concluded", "on_time", "rated", "satisfied", "complaints_open"):
        assert figures[key] == counted[key], key
    rate = counted["on_time"] / counted["concluded"] if counted["concluded"] else None
    assert figures["on_time_rate"] == pytest.approx(rate)
    rate = counted["satisfied"] / counted["rated"] if counted["rated"] else None
    assert figures["satisfaction_rate"] == pytest.approx(rate)


# ---------------------------------------------------------------------- the numbers


def test_the_json_numbers_are_the_events_counted_again(pg_dsn: str, county: dict[str, list[Shipped]]) -> None:
    status = {"batches": 7, "events": 1500, "escalations": 1, "endpoint": "tcp://127.0.0.1:5590",
              "sites": {"PA": {"batches": 7, "events": 1500, "refused": 1, "last_seen_s": 0.5,
                               "last_error": f"malformed batch: {cd.APPLICANT}"}}}
    with serving(dashboard(pg_dsn, hub_status=lambda: status)) as (url, _):
        status, text, headers = get(url + "api/state")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    state = orjson.loads(text)
    want = expected(county)
    assert want["levels"]["all"]["visits"] > 200  # the simulated day and the other sites' mornings
    assert want["levels"]["county"]["concluded"] > 10 and want["levels"]["all"]["rated"] > 50
    same(state["figures"]["county"], want["levels"]["all"])
    for level in ("county", "town", "village", "partner"):
        same(state["figures"]["levels"][level], want["levels"][level])
    rows = {s["code"]: s for s in state["sites"]}
    assert list(rows) == TREE
    for code, *_ in cd.SITES:
        same(rows[code]["figures"], want["sites"].get(code, Counter()))
        assert rows[code]["backlog"] == cd.BACKLOG.get(code, 0)
        assert rows[code]["connected"] is (code not in (cd.SILENT, cd.NEVER, cd.OFFLINE))
        assert rows[code]["silent"] is (code in (cd.SILENT, cd.NEVER)), code
        last = max((datetime.fromisoformat(e.at) for e in county.get(code, [])), default=None)
        assert rows[code]["last_event_at"] == (last.isoformat() if last else None)
    assert rows[cd.SILENT]["silent_hours"] == 30.0 and rows[cd.NEVER]["never"] is True
    assert {c: r["inbox"] for c, r in rows.items() if r["inbox"]} == {cd.SILENT: 1}  # H3 waits for it
    handovers = [(h["case"], h["from_site"], h["to_site"], h["state"], h["late"]) for h in state["handovers"]]
    assert handovers == [
        ("PAT01V01-20261122-0001", "PAT01V01", "PAT01", "escalated", True),
        ("PAT02V02-20261123-0001", "PAT02V02", "PAT02", "waiting", False),
        ("PAT03V01-20261123-0001", "PAT03V01", "PAT03", "declined", False),
        ("PAP01-20261123-0001", "PAP01", "PAT01", "received", False),
        ("PAT01V03-20261123-0001", "PAT01V03", "PAT01", "working", False),  # handed on to the county: its work
        ("PAT01V03-20261123-0001", "PAT01", "PA", "waiting", False),
        ("PAT01-20261123-0001", "PAT01", "PA", "working", False),
    ]
    assert [h["delivered"] for h in state["handovers"]] == [True, False, True, True, True, True, True]
    assert state["totals"] == {"sites": 14, "connected": 11, "offline": 3, "silent": 2,
                               "backlog": sum(cd.BACKLOG.values()), "handovers_open": 7, "handovers_late": 1}
    assert state["hub"]["batches"] == 7 and state["hub"]["sites"]["PA"]["refused"] == 1  # not its error's words
    assert state["county"] == "平安县" and state["day"] == "2026-11-23"
    leaked = {v for v in cd.personal_values(county) if v in text}
    assert cd.APPLICANT in cd.personal_values(county) and not leaked


def test_todays_figures_are_read_through_the_type_and_time_index(pg_dsn: str) -> None:
    """Plans on an empty table prefer a scan; with scans priced out, a query the index can serve uses it."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        migrate(conn, cd.SITES)
        conn.execute("SET enable_seqscan = off")
        start = cd.NOW.replace(hour=0, minute=0)
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN " + board.TODAY_SQL, {"types": list(board.TODAY_TYPES), "rated": list(board.RATED),
                                           "satisfied": list(board.SATISFIED), "start": start,
                                           "end": start + timedelta(days=1)}))
        assert "events_type_at" in plan
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + board.COMPLAINTS_SQL))
        assert "events_type_at" in plan


# ---------------------------------------------------------------------- the page, in Chromium

def look(driver: WebDriver, url: str, width: int, height: int, name: str) -> list[dict[str, Any]]:
    """The page at one screen size: loaded, nothing spilling sideways, text big and contrasting, saved as PNG."""
    viewport(driver, width, height)
    driver.get(url)
    WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "tr.site"))
    assert driver.execute_script(OVERFLOWS) == []
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width
    styles = driver.execute_script(TEXT_STYLES)
    small = [s for s in styles if s["size"] < 18]
    faint = [s for s in styles if s["ratio"] < 4.5]
    assert not small, small[:5]
    assert not faint, faint[:5]
    SCREENS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SCREENS / f"{name}-{width}x{height}.png"))
    return styles


def test_the_page_in_chromium(pg_dsn: str, county: dict[str, list[Shipped]], chromium: WebDriver) -> None:
    with serving(dashboard(pg_dsn)) as (url, server):
        styles = look(chromium, url, 1920, 1080, "county-dashboard")
        # The office screen and the wall TV show it all: no scrolling at 1920×1080.
        assert chromium.execute_script("return document.documentElement.scrollHeight") <= 1080
        rows = {r.get_attribute("data-code"): r for r in chromium.find_elements(By.CSS_SELECTOR, "tr.site")}
        assert list(rows) == TREE
        for code, name, _level, _parent in cd.SITES:
            assert name in rows[code].text
        assert "已 30 小时无数据" in rows[cd.SILENT].text and "离线 自 11-22 12:45" in rows[cd.SILENT].text
        assert "从未收到数据" in rows[cd.NEVER].text and "从未连接" in rows[cd.NEVER].text
        assert "离线 自 16:45" in rows[cd.OFFLINE].text and "已" not in rows[cd.OFFLINE].text
        assert "在线" in rows["PA"].text and "200" in rows["PA"].text
        marker = [s for s in styles if s["cls"] == "silent-word"]
        assert marker and all(s["ratio"] >= 4.5 for s in marker)
        body = [s for s in styles if s["cls"] == "site-name"]
        assert body and min(s["size"] for s in body) >= 18 and min(s["ratio"] for s in body) >= 4.5
        handovers = {r.get_attribute("data-id"): r.text for r in chromium.find_elements(By.CSS_SELECTOR, "tr.handover")}
        chain = "PAT01V03-20261123-0001"
        onward = handovers[cd.hid(chain, "PA", 2)]
        assert "城关镇便民服务中心" in onward and "平安县政务服务中心" in onward and "待接收" in onward
        assert "办理中" in handovers[cd.hid(chain, "PAT01")]
        late = chromium.find_element(By.CSS_SELECTOR, "tr.handover.late").text
        assert "超时已督办" in late and "东关村便民服务站" in late
        # Seven open, room for six: the one left out is one being worked on, and the page says so.
        assert len(handovers) == 6 and cd.hid("PAT01-20261123-0001", "PA") not in handovers
        assert "另有 1 件未列出（办理中 1）" in chromium.find_element(By.CSS_SELECTOR, ".handovers").text
        source = chromium.page_source
        assert cd.APPLICANT not in source and cd.ID_NUMBER not in source and cd.COMPLAINANT not in source
        assert not {v for v in cd.personal_values(county) if v in source}

        # It refreshes itself: a ticket issued at 城关镇 appears without a reload.
        cell = 'tr.site[data-code="PAT01"] td:last-child'
        before = int(chromium.find_element(By.CSS_SELECTOR, cell).text)
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            last = conn.execute("SELECT high_water FROM county.sites WHERE code = 'PAT01'").fetchone()[0]
            more = cd.shipped([("ticket_issued", cd.NOW - timedelta(minutes=1), {"ticket": "20261123-B001"})],
                              last + 1)
            store_batch(conn, "PAT01", more, accept_hours=24, levels=cd.LEVELS, outgoing=lambda t, d: None)
        WebDriverWait(chromium, WAIT).until(
            lambda d: d.find_element(By.CSS_SELECTOR, cell).text == str(before + 1), "the page never refreshed")

        look(chromium, url, 1280, 720, "county-dashboard")
        server.should_exit = True
        # The hub gone: the last figures stay, under words saying how old they are.
        WebDriverWait(chromium, WAIT).until(lambda d: d.find_element(By.ID, "stale").is_displayed())
        assert "连接中断" in chromium.find_element(By.ID, "stale").text
        assert chromium.find_elements(By.CSS_SELECTOR, "tr.site")
        banner = [s for s in chromium.execute_script(TEXT_STYLES) if s["cls"] == "stale"]
        assert banner and banner[0]["size"] >= 18 and banner[0]["ratio"] >= 4.5
        chromium.save_screenshot(str(SCREENS / "county-dashboard-stale-1280x720.png"))


# ---------------------------------------------------------------------- the database down


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_database_that_is_down_gives_a_page_that_says_so(chromium: WebDriver) -> None:
    dsn = f"host=127.0.0.1 port={closed_port()} dbname=county user=hub password=not-shown connect_timeout=2"
    with serving(make_app(dsn, county_name="平安县")) as (url, _):
        status, html, headers = get(url)
        assert status == 503 and headers.get("Retry-After") == "5"
        assert "县级数据库暂时连不上" in html and "自动回来" in html
        assert "Traceback" not in html and "not-shown" not in html
        status, text, _ = get(url + "api/state")
        assert status == 503 and orjson.loads(text)["error"] == "database_unavailable"
        assert get(url + "healthz")[0] == 503
        viewport(chromium, 1280, 720)
        chromium.get(url)
        WebDriverWait(chromium, WAIT).until(lambda d: "县级数据库暂时连不上" in d.find_element(By.TAG_NAME, "h2").text)
        styles = chromium.execute_script(TEXT_STYLES)
        assert styles and all(s["size"] >= 18 and s["ratio"] >= 4.5 for s in styles), styles
        SCREENS.mkdir(parents=True, exist_ok=True)
        chromium.save_screenshot(str(SCREENS / "county-dashboard-down-1280x720.png"))


def test_the_page_comes_back_when_the_database_does(pg_dsn: str) -> None:
    """A county database the hub has not set up yet, then set up: the same dashboard answers, no restart."""
    with serving(dashboard(pg_dsn)) as (url, _):
        assert get(url)[0] == 503  # no county schema yet
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            migrate(conn, cd.SITES)
        status, html, _ = get(url)
        assert status == 200 and "河口镇便民服务中心" in html and "从未收到数据" in html
        assert get(url + "healthz")[0] == 200


# ---------------------------------------------------------------------- served by the hub


def county_file(dashboard_at: str) -> County:
    """The example county file with the dashboard on another address (port 0, which the file itself refuses:
    the hub takes whatever port is free and says which)."""
    county = load_county(ROOT / "config" / "county.example.toml")
    return county.model_copy(update={"hub": county.hub.model_copy(update={"dashboard": dashboard_at})})


def test_the_hub_serves_the_dashboard_on_its_own_port(pg_dsn: str, tmp_path: Path) -> None:
    KeyStore(tmp_path / "keys").init()

    async def scenario() -> None:
        hub = CountyHub(county_file("127.0.0.1:0"), pg_dsn, tmp_path / "keys", endpoint="tcp://127.0.0.1:*")
        stop = asyncio.Event()
        running = asyncio.create_task(hub.run(stop))
        await asyncio.wait_for(hub.ready.wait(), 30)
        url = hub.dashboard_url
        assert url is not None and not url.endswith(":0/")
        status, text, _ = await asyncio.to_thread(get, url + "api/state")
        assert status == 200
        state = orjson.loads(text)
        assert state["hub"]["batches"] == 0 and state["totals"]["sites"] == 14 and state["totals"]["silent"] == 14
        status, html, _ = await asyncio.to_thread(get, url)
        assert status == 200 and "平安县" in html and "县级枢纽本次运行" in html
        stop.set()
        await asyncio.wait_for(running, 30)
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        with socket.socket() as s:  # nobody listens there any more (its closed connections may linger)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            s.listen()

    asyncio.run(scenario())


def test_a_taken_dashboard_port_stops_the_hub_with_one_line(pg_dsn: str, tmp_path: Path) -> None:
    KeyStore(tmp_path / "keys").init()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        hub = CountyHub(county_file(address), pg_dsn, tmp_path / "keys", endpoint="tcp://127.0.0.1:*")
        with pytest.raises(UserError, match=f"cannot serve the dashboard on {address}.*dashboard in the county"):
            asyncio.run(hub.run(asyncio.Event()))
        assert hub.conn is not None and hub.conn.closed
