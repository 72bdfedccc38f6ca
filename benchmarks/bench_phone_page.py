"""How soon the phone page paints on a phone: first paint and first contentful paint in headless Chromium at
390×844, for the home page, a booking day's times and a ticket's queue page, each beside a bare static HTML page
of the same size served by the same uvicorn in the same run (the floor: what the network, the server and the
browser cost with no template, no hall state and no style).

Run: .venv/bin/python benchmarks/bench_phone_page.py [--runs 15] [--tiny]

The page reads an in-memory hall state here (an engine with a day's bookings and a queue), not a hall server:
what is measured is the page's own rendering and the browser's paint; the bus is measured in bench_bus.py.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from starlette.requests import Request
from starlette.responses import HTMLResponse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BenchmarkFailed, figure, parse_args

from hall_bus.clock import ManualClock
from hall_bus.config import load_config
from hall_bus.domain.commands import parse_command
from hall_bus.domain.engine import QueueEngine
from hall_bus.http_serve import PageServer, bind, url_of
from hall_bus.web.app import make_app

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
MARRIAGE = "QR-379901-MZJ-011"
PAINTS = """
var out = {};
performance.getEntriesByType("paint").forEach(function (e) { out[e.name] = e.startTime; });
return out;
"""


class MemoryBus:
    """The page's view of a hall: an engine's state, always current (no bus in between)."""

    def __init__(self, engine: QueueEngine) -> None:
        self.engine = engine
        self.seq = 0
        self.connected = asyncio.Event()
        self.connected.set()
        self.synced = True

    @property
    def state(self) -> Any:
        return self.engine.state

    async def send(self, command: Any, **kw: Any) -> dict[str, Any]:
        raise BenchmarkFailed("the benchmark only reads pages")


def hall() -> tuple[Any, ManualClock, QueueEngine, str]:
    """The example hall on Monday 09:00 with a queue of twenty and a few bookings: the pages have content."""
    cfg = load_config(ROOT / "config" / "hall.example.toml")
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), TZ)
    engine = QueueEngine(cfg, clock, booking_key=b"b" * 32)
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
    for n in range(6):
        held = engine.execute(parse_command({
            "op": "hold_booking", "item": MARRIAGE, "start": (tuesday + timedelta(minutes=30 * (n % 3))).isoformat(),
            "phone": f"1381234{n:04d}", "name": "张三", "channel": "phone"}))[1]
        engine.execute(parse_command({"op": "confirm_booking", "code": held["code"]}))
    last: dict[str, Any] = {}
    for _ in range(20):
        last = engine.execute(parse_command({"op": "issue", "service": "企业开办"}))[1]
    return cfg, clock, engine, f"{last['ticket']}.{last['token']}"


def bare_page(size: int) -> str:
    """A static page of `size` bytes: the same head a phone needs, then plain text."""
    head = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width, initial-scale=1"><title>bare</title></head><body><p>')
    tail = "</p></body></html>"
    filler = "平安县政务服务中心" * (size // 27 + 1)
    text = head + filler + tail
    while len(text.encode()) > size and filler:
        filler = filler[:-1]
        text = head + filler + tail
    return text


def serve(app: Any) -> tuple[str, PageServer, threading.Thread]:
    server = PageServer(uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="off"),
                        bind("127.0.0.1:0", what="bench: page"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise BenchmarkFailed("the page server did not start")
        time.sleep(0.01)
    return url_of(server.sock).rstrip("/"), server, thread


def browser() -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=zh-CN", "--window-size=390,844",
                "--disable-gpu"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True})
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    return driver


def paints(driver: webdriver.Chrome, url: str) -> tuple[float, float]:
    """(first paint, first contentful paint) in ms from navigation start, for a fresh load of `url`."""
    driver.get("about:blank")
    driver.get(url)
    deadline = time.monotonic() + 10
    while True:
        got = driver.execute_script(PAINTS)
        if "first-contentful-paint" in got and "first-paint" in got:
            return got["first-paint"], got["first-contentful-paint"]
        if time.monotonic() > deadline:
            raise BenchmarkFailed(f"{url}: Chromium reported no paint ({got})")
        time.sleep(0.01)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="loads of each page (the median is printed)")
    args = parse_args(ap, runs=1)
    cfg, clock, engine, ticket = hall()
    app = make_app(cfg, MemoryBus(engine), now=clock.now)
    pages = {"home (/)": "/", "book times (/book/…)": f"/book/{MARRIAGE}?group=normal&day=2026-11-24",
             "queue (/t/…)": f"/t/{ticket}"}
    url, server, thread = serve(app)
    import urllib.request

    sizes: dict[str, int] = {}
    for name, path in pages.items():
        with urllib.request.urlopen(url + path, timeout=10) as r:
            if r.status != 200:
                raise BenchmarkFailed(f"{path}: HTTP {r.status}")
            sizes[name] = len(r.read())
        bare = bare_page(sizes[name])

        async def bare_route(request: Request, html: str = bare) -> HTMLResponse:
            return HTMLResponse(html)

        app.add_route(f"/bare/{len(sizes)}", bare_route)
    driver = browser()
    rows = []
    try:
        paints(driver, url + "/")  # the browser's own first start is not the page's
        for i, (name, path) in enumerate(pages.items(), 1):
            ours = [paints(driver, url + path) for _ in range(args.runs)]
            floor = [paints(driver, f"{url}/bare/{i}") for _ in range(args.runs)]
            fp = figure(statistics.median(x[0] for x in ours), f"{name} first paint")
            fcp = figure(statistics.median(x[1] for x in ours), f"{name} first contentful paint")
            bare_fcp = figure(statistics.median(x[1] for x in floor), f"{name} bare first contentful paint")
            rows.append((name, sizes[name], fp, fcp, bare_fcp))
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(10)
    print(f"phone page at 390×844 (DPR 3), headless Chromium, median of {args.runs} loads; ms from navigation start")
    for name, size, fp, fcp, bare_fcp in rows:
        ratio = figure(fcp / bare_fcp, f"{name} ratio") if bare_fcp > 0 else figure(1.0, name)
        print(f"first paint, {name:<22} {size / 1024:6.1f} KiB   FP {fp:7.1f}   FCP {fcp:7.1f}   "
              f"bare same size FCP {bare_fcp:7.1f}   ratio page / bare FCP {ratio:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
