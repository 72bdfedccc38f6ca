"""The live county dashboard: one web page, served by the hub, for the county's supervisors and a wall TV.

Routes: `/` the page (server-rendered, complete without JavaScript), `/?part=live` the page's changing part,
`/api/state` the same numbers as JSON, `/healthz` whether the dashboard reaches the database.

How it refreshes, and why that way: a small script fetches `/?part=live` every REFRESH_SECONDS and swaps that
fragment in. One renderer (the templates) serves the first paint and every refresh, so the page and its
updates cannot disagree, and no second renderer in JavaScript has to be kept in step with it. Unlike a meta
refresh it keeps the scroll position of a supervisor reading a long list, it does not flash on the wall TV, and
when the hub itself is unreachable it keeps the last figures on screen under a banner saying since when they are
stale (a reloading page would give way to the browser's error page, which never comes back by itself). Without
JavaScript a `<noscript>` meta refresh reloads the whole page instead.

The database is read with one shared async connection (the page is read by a few screens every five seconds; a
pool would be idle), opened lazily and opened again after a failure, so a database that is down, or restarted,
costs one page that says so — HTTP 503 with words — and never a traceback. The page never shows personal data:
board.py reads only named, impersonal JSON fields of the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import jinja2
import psycopg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from hall_bus.county.board import LEVEL_NAMES, LEVELS, Board, SiteRow, read_board, stamp
from hall_bus.county.progress import read_progress
from hall_bus.http_serve import PageServer, bind, url_of

if TYPE_CHECKING:
    from hall_bus.county.hub import CountyHub

log = logging.getLogger("county.dashboard")

REFRESH_SECONDS = 5
CONNECT_TIMEOUT = 3  # seconds: a database that does not answer gives the 503 page quickly, not a hung screen
STATEMENT_TIMEOUT_MS = 5000
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
WEEKDAYS = "一二三四五六日"


class DatabaseDown(Exception):
    """The county database could not be read; the message is one line for the page."""


class _Reader:
    """One async connection, opened when first needed and dropped on any failure; reads take turns."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: psycopg.AsyncConnection[Any] | None = None
        self.lock = asyncio.Lock()

    async def _open(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                                     application_name="county-dashboard")
        await conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        return conn

    async def read(self, **kw: Any) -> Board:
        return await self.run(read_board, **kw)

    async def run(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
        """fn(connection, *args, **kw) on the shared connection, with the one retry and the words below."""
        async with self.lock:
            # A connection that was open before may have been cut while idle (the server restarted): one more
            # try on a new one before the page says the database is down.
            for attempt in (1, 2):
                reused = self.conn is not None
                try:
                    if self.conn is None:
                        self.conn = await self._open()
                    return await fn(self.conn, *args, **kw)
                except psycopg.Error as exc:
                    await self.close()
                    if isinstance(exc, psycopg.OperationalError) and reused and attempt == 1:
                        continue
                    if not isinstance(exc, psycopg.OperationalError):
                        log.error("county dashboard: the database refused a read: %s", exc)
                    raise DatabaseDown(_first_line(exc)) from None
            raise AssertionError("unreachable")

    async def ping(self) -> None:
        async with self.lock:
            try:
                if self.conn is None:
                    self.conn = await self._open()
                await self.conn.execute("SELECT 1")
            except psycopg.Error as exc:
                await self.close()
                raise DatabaseDown(_first_line(exc)) from None

    async def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


# ---------------------------------------------------------------------- words and numbers on the page


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("hall_bus.county", "templates"),
                             autoescape=jinja2.select_autoescape(("html",), default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = pct
    env.globals.update(LEVEL_NAMES=LEVEL_NAMES, LEVELS=LEVELS, REFRESH_SECONDS=REFRESH_SECONDS)
    return env


def pct(rate: float | None) -> str:
    """93.3% — or a dash when nothing was concluded or rated today (0% would be a false alarm)."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


def when(t: datetime | None, today: date) -> str:
    """A time as a supervisor reads it: 14:05 today, 11-22 14:05 this year, 2025-11-22 14:05 before."""
    if t is None:
        return "—"
    if t.date() == today:
        return f"{t:%H:%M}"
    return f"{t:%m-%d %H:%M}" if t.year == today.year else f"{t:%Y-%m-%d %H:%M}"


def silent_words(site: SiteRow) -> str:
    """The words beside a site that stands out (never colour alone): how long nothing has come from it."""
    if site.never:
        return "从未收到数据"
    hours = site.silent_hours or 0.0
    return f"已 {int(hours)} 小时无数据" if hours < 72 else f"已 {int(hours // 24)} 天无数据"


def link_words(site: SiteRow, today: date) -> str:
    if site.connected:
        return "在线"
    return f"离线 自 {when(site.last_seen, today)}" if site.last_seen is not None else "从未连接"


HUB_COUNTS = ("batches", "events", "escalations")
LINK_COUNTS = ("batches", "events", "refused", "last_seen_s")


def hub_summary(status: dict[str, Any]) -> dict[str, Any]:
    """The running hub's counters, and nothing else of its status: its error texts are for its log, where a
    refused batch's words may quote what a site sent."""
    sites = status.get("sites") or {}
    return {**{k: status.get(k, 0) for k in HUB_COUNTS},
            "sites": {code: {k: link.get(k) for k in LINK_COUNTS} for code, link in sites.items()}}


# ---------------------------------------------------------------------- the app


def make_app(dsn: str, *, county_name: str, timezone: str = "Asia/Shanghai", silent_hours: float = 24,
             connected_seconds: float = 60, hub_status: Callable[[], dict[str, Any]] | None = None,
             now: Callable[[], datetime] | None = None) -> Starlette:
    """The dashboard for the county database at `dsn`. `now` is for tests (a fixed day); `hub_status` adds the
    running hub's own counters (CountyHub.status) to the page and the JSON."""
    tz = ZoneInfo(timezone)
    clock = now or (lambda: datetime.now(UTC))
    reader = _Reader(dsn)
    env = _environment()

    async def board() -> Board:
        return await reader.read(now=stamp(clock()), tz=tz, silent_hours=silent_hours,
                                 connected_seconds=connected_seconds)

    def hub() -> dict[str, Any] | None:
        if hub_status is None:
            return None
        try:
            return hub_summary(hub_status())
        except Exception:  # the hub's counters are a footnote; never the reason the page fails
            log.exception("county dashboard: hub status")
            return None

    def render(name: str, **context: Any) -> str:
        return env.get_template(name).render(county_name=county_name, **context)

    async def page(request: Request) -> Response:
        part = request.query_params.get("part") == "live"
        try:
            b = await board()
        except DatabaseDown as exc:
            asof = stamp(clock()).astimezone(tz)
            html = render("_down.html" if part else "down.html", problem=str(exc), asof=asof)
            return HTMLResponse(html, status_code=503, headers={**NO_STORE, "Retry-After": str(REFRESH_SECONDS)})
        today = b.now.date()
        context = {"b": b, "hub": hub(), "when": lambda t: when(t, today), "silent_words": silent_words,
                   "link_words": lambda s: link_words(s, today), "weekday": WEEKDAYS[b.now.weekday()]}
        return HTMLResponse(render("_live.html" if part else "board.html", **context), headers=NO_STORE)

    async def state(request: Request) -> Response:
        try:
            b = await board()
        except DatabaseDown as exc:
            return JSONResponse({"ok": False, "error": "database_unavailable", "message": str(exc)},
                                status_code=503, headers=NO_STORE)
        return JSONResponse({"ok": True, "county": county_name, "timezone": timezone, **b.as_dict(),
                             "hub": hub()}, headers=NO_STORE)

    async def case(request: Request) -> Response:
        """The receipt's QR leads here (the case number is all it holds): where the case is, wherever that is."""
        number = request.path_params["number"]
        try:
            found = await reader.run(read_progress, number, tz)
        except DatabaseDown as exc:
            return HTMLResponse(render("down.html", problem=str(exc), asof=stamp(clock()).astimezone(tz)),
                                status_code=503, headers=NO_STORE)
        if request.url.path.startswith("/api/"):
            body = found.as_dict() if found else {"case": number, "found": False}
            return JSONResponse(body, status_code=200 if found else 404, headers=NO_STORE)
        return HTMLResponse(render("case.html", p=found, number=number), status_code=200 if found else 404,
                            headers=NO_STORE)

    async def healthz(request: Request) -> Response:
        try:
            await reader.ping()
        except DatabaseDown as exc:
            return JSONResponse({"ok": False, "database": str(exc)}, status_code=503, headers=NO_STORE)
        return JSONResponse({"ok": True, "database": "ok"}, headers=NO_STORE)

    async def failed(request: Request, exc: Exception) -> Response:
        """A bug must not show a traceback on the wall: words, and the details in the hub's log."""
        log.error("county dashboard: %s %s failed", request.method, request.url.path, exc_info=exc)
        return HTMLResponse(render("error.html"), status_code=500, headers=NO_STORE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await reader.close()

    return Starlette(routes=[Route("/", page), Route("/api/state", state), Route("/healthz", healthz),
                             Route("/case/{number}", case), Route("/api/case/{number}", case)],
                     exception_handlers={Exception: failed}, lifespan=lifespan)


# ---------------------------------------------------------------------- served by the hub


DashboardServer = PageServer  # the name the hub's tests know it by


async def serve_dashboard(hub: CountyHub) -> tuple[uvicorn.Server, str]:
    """The dashboard for a running hub, on the county file's `[hub] dashboard` address: the server (not yet
    serving: the hub runs `server.serve()` as a task and sets `should_exit` to stop it) and its URL. Quiet:
    uvicorn logs warnings only, and no access log (a wall TV asks every five seconds)."""
    county = hub.county
    settings = county.hub
    sock = bind(settings.dashboard)
    app = make_app(hub.dsn, county_name=county.county.name, timezone=county.county.timezone,
                   silent_hours=settings.silent_hours, hub_status=hub.status)
    # log_config=None: uvicorn's loggers go to the hub's logging as it is set up, not to a config of uvicorn's.
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="on",
                            server_header=False, timeout_graceful_shutdown=2, ws="none")
    return PageServer(config, sock), url_of(sock)
