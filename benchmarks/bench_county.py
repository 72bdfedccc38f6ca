"""The county hub at a county's year: every site's events into PostgreSQL, beside a bare COPY of the same rows.

Run: .venv/bin/python benchmarks/bench_county.py [--weeks 50] [--towns 15] [--villages 300] [--tiny]
Prints figures; a measurement that fails, loses an event or stores one twice ends the run with a non-zero exit.

The county-year: the county hall at 2,000 visits a day, 15 towns at 200 and 300 villages at 5, for 50 weeks of
5 working days. Each kind of site is one template week simulated through the real engine with the example hall
configuration (only the visitors differ), copied on week by week with its dates and record serials moved on
(benchmarks/_hall_weeks.py, as bench_report.py does for one hall) and its case numbers given the site's code
(PA, PAT01 … PAT15, PAT01V001 …). The rows are streamed to one file in the order the sites ship them — day by
day, every site sending a batch of 500 (the link's default) whenever it has that many waiting, in turns — so
neither the generation nor any measurement holds the year in memory.

What is measured, each in a fresh process (its peak RSS is its own), against the same server in the same run:

- the floor: a bare COPY of the same rows (site, seq, type, at, data) into a plain table of the same columns
  and types (jsonb) and primary key — in the same batches, one transaction each, and in large transactions;
- ours: `store_batch` per batch, as the hub calls it (contiguity check, the site's role under row-level
  security, the hand-over bookkeeping, the site's mark moved);
- the wire: a real CountyHub in its own process and real CountyLinks reading real ledgers, over ZeroMQ with
  CURVE on 127.0.0.1 — one site alone (what a batch's round trip adds to store_batch, in turns with the same
  batches without the wire), every site at once, and then the quiet county: every link level and polling every
  2 s (the link's default), which is what the hub does all day;
- catch-up: the county hall after days offline (the hub holding its whole year), the link bringing it level;
- the county report for the year (`build_county_report`, XLSX + PDF), beside a bare read of the tables it
  reads, in the database ours filled.

The throwaway PostgreSQL cluster is started by the script, durable as in production (fsync, synchronous_commit
and full_page_writes on; the rest PostgreSQL's defaults), and stopped at the end, also when a step fails.
Each figure is printed with the machine's load average, and the disk's flush time is measured before and after:
other processes share this machine and its disk, and every batch waits for one flush at its commit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any
from unittest import mock

from _common import BenchmarkFailed, figure, parse_args, peak_rss_mb
from _hall_weeks import CONFIG, FIRST, ROOT, Row, copier, day_opened, template_days

COUNTY_FILE = ROOT / "config" / "county.example.toml"
WEEK = 5  # working days a week; the template week is Monday to Friday, each copy a calendar week later
TEMPLATE_CODE = "PA"  # the example hall's site_code, which begins the template's case numbers
BULK_ROWS = 50_000  # rows a transaction in the large-transaction floor
ACCEPT_HOURS = 24.0
LEVEL_TIMEOUT_S = 1800.0  # a wire run that has not brought the hub level by then has failed


# --------------------------------------------------------------------------------------------------- the county

@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    level: str  # county, town, village
    parent: str | None


def county_sites(towns: int, villages: int) -> list[SiteSpec]:
    """The county hall, its towns, and the villages shared out among the towns in turn (PAT01V001 …)."""
    sites = [SiteSpec("PA", "平安县政务服务中心", "county", None)]
    sites += [SiteSpec(f"PAT{t:02d}", f"第{t}镇便民服务中心", "town", "PA") for t in range(1, towns + 1)]
    per_town: dict[int, int] = {}
    for v in range(villages):
        t = v % towns + 1
        per_town[t] = per_town.get(t, 0) + 1
        sites.append(SiteSpec(f"PAT{t:02d}V{per_town[t]:03d}", f"第{t}镇第{per_town[t]}村便民服务站", "village",
                              f"PAT{t:02d}"))
    return sites


def county_model(sites: list[dict[str, Any]], endpoint: str | None = None) -> Any:
    """The county file's model with these sites (the example's [county] and [hub] otherwise), as the hub and the
    report take it."""
    from hall_bus.county.sites import County, Site, load_county

    base = load_county(COUNTY_FILE)
    hub = base.hub if endpoint is None else base.hub.model_copy(update={"bind": endpoint})
    return County(county=base.county, hub=hub, sites=[Site(**s) for s in sites])


def working_day(k: int) -> date:
    """The k-th working day of the year (0-based): five a week from FIRST, a Monday."""
    return FIRST + timedelta(days=7 * (k // WEEK) + k % WEEK)


# --------------------------------------------------------------------------------------------------- the year

def _copy_text(value: str) -> str:
    """A value in COPY's text format. JSON escapes every control character, so only its backslashes need
    doubling; a type or a time holds none."""
    return value.replace("\\", "\\\\") if "\\" in value else value


def _uncopy_text(value: str) -> str:
    return value.replace("\\\\", "\\") if "\\" in value else value


@dataclass
class Year:
    """Where the generated rows are and what they hold."""

    ship: Path  # COPY text lines "site seq type at data", in the order the sites ship them
    schedule: Path  # JSON [[site index, rows, bytes], …]: the batches, in that order
    events: int
    by_level: dict[str, int]
    batches: int
    last_seq: dict[str, int]  # each site's last seq in the year
    catchup: Path  # the county hall's days offline after the year, COPY text lines
    catchup_ledger: Path  # the same rows in a hall ledger, as the county hall's link reads them
    catchup_events: int
    wire_ledgers: Path  # one hall ledger per site holding its first --wire-days days: what the links read
    wire_events: dict[str, int]
    seconds: float


class _LedgerFill:
    """A hall ledger written quickly (the fill is set-up, not measured): a copy of an empty ledger the server's
    own code made (schema and meta), then rows without a flush per transaction."""

    def __init__(self, data: Path, empty: Path) -> None:
        data.mkdir(parents=True)
        shutil.copyfile(empty / "ledger.sqlite3", data / "ledger.sqlite3")
        self.db = sqlite3.connect(data / "ledger.sqlite3", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")

    @staticmethod
    def empty(directory: Path) -> Path:
        """An empty ledger, as the hall server makes one, to copy for every site."""
        from hall_bus.config import load_config
        from hall_bus.store.ledger import Ledger

        ledger = Ledger(directory, hall_name=load_config(CONFIG).hall.name)
        ledger.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ledger.close()
        return directory

    def add(self, rows: list[tuple[int, str, str, str]]) -> None:
        from hall_bus.store.ledger import EVENT_VERSION

        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, NULL, ?)",
                            [(seq, EVENT_VERSION, kind, at, data) for seq, kind, at, data in rows])
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()


def _shifted_week(block: list[list[Row]], week: int) -> list[list[tuple[str, str, str]]]:
    """The template week as week `week`'s rows: dates moved on, serials tagged, data in COPY text already."""
    shift_at, shift_data = copier(7 * week, f"-{week:03d}")
    return [[(kind, shift_at(at), _copy_text(shift_data(text))) for kind, at, text in day] for day in block]


def _site_day(code: str, day: date, rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """One site's day: its day_opened, then the template's events with the site's code in its case numbers."""
    kind, at, text = day_opened(day, day - timedelta(days=1 if day.weekday() else 3))
    opened = (kind, at, _copy_text(text))
    if code == TEMPLATE_CODE:
        return [opened, *rows]
    old, new = f'"{TEMPLATE_CODE}-2026', f'"{code}-2026'
    return [opened, *((k, a, d.replace(old, new) if old in d else d) for k, a, d in rows)]


def make_year(tmp: Path, sites: list[SiteSpec], templates: dict[str, list[list[Row]]], weeks: int, batch: int,
              wire_days: int, offline_days: int) -> Year:
    """Streams the county-year to disk in shipping order; bounded by one day of every site's rows."""
    start = time.perf_counter()
    empty = _LedgerFill.empty(tmp / "empty-ledger")
    ship_path, schedule_path = tmp / "ship.copy", tmp / "schedule.json"
    seq = {s.code: 0 for s in sites}
    pending: list[list[str]] = [[] for _ in sites]
    schedule: list[tuple[int, int, int]] = []
    by_level = dict.fromkeys(("county", "town", "village"), 0)
    wire_dir = tmp / "wire"
    wire = {s.code: _LedgerFill(wire_dir / s.code, empty) for s in sites} if wire_days else {}
    wire_events = dict.fromkeys(wire, 0)

    def ship(out: IO[bytes], i: int, lines: list[str]) -> None:
        data = "".join(lines).encode()
        out.write(data)
        schedule.append((i, len(lines), len(data)))

    days = weeks * WEEK
    with ship_path.open("wb", buffering=1 << 20) as out:
        for week in range(weeks):
            shifted = {level: _shifted_week(block, week) for level, block in templates.items()}
            for j in range(WEEK):
                k = week * WEEK + j
                day = working_day(k)
                for i, site in enumerate(sites):
                    rows = _site_day(site.code, day, shifted[site.level][j])
                    first = seq[site.code] + 1
                    seq[site.code] += len(rows)
                    by_level[site.level] += len(rows)
                    pending[i].extend(f"{site.code}\t{n}\t{kind}\t{at}\t{data}\n"
                                      for n, (kind, at, data) in enumerate(rows, first))
                    if k < wire_days:
                        wire[site.code].add([(n, kind, at, _uncopy_text(data))
                                             for n, (kind, at, data) in enumerate(rows, first)])
                        wire_events[site.code] += len(rows)
                ready = True
                while ready:  # in turns: each site with a full batch waiting sends one, round after round
                    ready = False
                    for i, lines in enumerate(pending):
                        if len(lines) >= batch:
                            ship(out, i, lines[:batch])
                            del lines[:batch]
                            ready = True
        for i, lines in enumerate(pending):  # the year's last events: each site sends what is left
            while lines:
                ship(out, i, lines[:batch])
                del lines[:batch]
    for fill in wire.values():
        fill.close()
    schedule_path.write_text(json.dumps(schedule))

    # The county hall's days offline after the year: its ledger goes on, the hub holds the year. The ledger file
    # holds only those days (their sequence numbers go on from the year's): the link reads a range of sequence
    # numbers, which the year before them would not make slower.
    hall = sites[0]
    catchup_path, catchup_ledger = tmp / "catchup.copy", tmp / "catchup-ledger"
    fill = _LedgerFill(catchup_ledger, empty)
    catchup_events = 0
    with catchup_path.open("wb") as out:
        for k in range(days, days + offline_days):
            week, j = divmod(k, WEEK)
            rows = _site_day(hall.code, working_day(k), _shifted_week(templates[hall.level], week)[j])
            first = seq[hall.code] + catchup_events + 1
            out.write("".join(f"{hall.code}\t{n}\t{kind}\t{at}\t{data}\n"
                              for n, (kind, at, data) in enumerate(rows, first)).encode())
            fill.add([(n, kind, at, _uncopy_text(data)) for n, (kind, at, data) in enumerate(rows, first)])
            catchup_events += len(rows)
    fill.close()
    return Year(ship=ship_path, schedule=schedule_path, events=sum(by_level.values()), by_level=by_level,
                batches=len(schedule), last_seq=seq, catchup=catchup_path, catchup_ledger=catchup_ledger,
                catchup_events=catchup_events, wire_ledgers=wire_dir, wire_events=wire_events,
                seconds=time.perf_counter() - start)


def batches(ship: Path, schedule: Path, codes: list[str]) -> Iterator[tuple[str, int, bytes]]:
    """(site, rows, COPY text) of each batch, in shipping order, read from the file as they are needed."""
    with ship.open("rb", buffering=1 << 20) as f:
        for i, n, size in json.loads(schedule.read_text()):
            yield codes[i], n, f.read(size)


def shipped(chunk: bytes) -> list[Any]:
    """A batch's rows as the hub hands them to store_batch (the site's ledger's JSON text, unparsed)."""
    from hall_bus.county.ingest import Shipped

    out = []
    for line in chunk.decode().split("\n")[:-1]:
        _site, seq, kind, at, data = line.split("\t")
        out.append(Shipped(int(seq), kind, at, _uncopy_text(data)))
    return out


# --------------------------------------------------------------------------------------------------- the server

def backend_cpu_s(conn: Any) -> float:
    """CPU seconds (user + system) of this connection's server process so far: /proc/<pid>/stat, which root
    may read though the server runs as postgres. Splits a run's wall time into client, server and waiting."""
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


FLOOR_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    site text NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    at timestamptz NOT NULL,
    data jsonb NOT NULL,
    PRIMARY KEY (site, seq)
)"""


def floor_child(p: dict[str, Any]) -> dict[str, Any]:
    """The floor: the same rows COPYed into a plain table — in the hub's batches (a transaction each) or, with
    `bulk`, in transactions of BULK_ROWS rows."""
    import psycopg

    codes = p["codes"]
    with psycopg.connect(p["dsn"], autocommit=True) as conn:
        conn.execute(FLOOR_TABLE.format(name=p["table"]))
        conn.execute("CHECKPOINT")
        cpu0, server0 = client_cpu_s(), backend_cpu_s(conn)
        start = time.perf_counter()
        rows = transactions = 0
        copy_sql = f"COPY {p['table']} (site, seq, type, at, data) FROM STDIN"
        cur = conn.cursor()
        if p["bulk"]:
            source = batches(Path(p["ship"]), Path(p["schedule"]), codes)
            done = False
            while not done:
                with conn.transaction(), cur.copy(copy_sql) as copy:
                    in_tx = 0
                    for _site, n, chunk in source:
                        copy.write(chunk)
                        in_tx += n
                        if in_tx >= BULK_ROWS:
                            break
                    else:
                        done = True
                rows += in_tx
                transactions += 1
        else:
            for _site, n, chunk in batches(Path(p["ship"]), Path(p["schedule"]), codes):
                with conn.transaction(), cur.copy(copy_sql) as copy:
                    copy.write(chunk)
                rows += n
                transactions += 1
        seconds = time.perf_counter() - start
        cpu, server = client_cpu_s() - cpu0, backend_cpu_s(conn) - server0
        held = conn.execute(f"SELECT count(*) FROM {p['table']}").fetchone()[0]
    return {"rows": rows, "held": held, "transactions": transactions, "seconds": seconds, "client_cpu_s": cpu,
            "server_cpu_s": server, "peak_rss_mb": peak_rss_mb()}


def ours_child(p: dict[str, Any]) -> dict[str, Any]:
    """The hub's database path: store_batch per batch, on one autocommit connection as the hub holds it."""
    import psycopg

    from hall_bus.county.ingest import store_batch

    codes, levels = p["codes"], p["levels"]
    with psycopg.connect(p["dsn"], autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        cpu0, server0 = client_cpu_s(), backend_cpu_s(conn)
        start = time.perf_counter()
        in_store = 0.0
        stored = calls = 0
        for site, n, chunk in batches(Path(p["ship"]), Path(p["schedule"]), codes):
            events = shipped(chunk)
            t = time.perf_counter()
            result = store_batch(conn, site, events, accept_hours=ACCEPT_HOURS, levels=levels)
            in_store += time.perf_counter() - t
            if result.stored != n or result.gap:
                raise BenchmarkFailed(f"store_batch {site} {events[0].seq}–{events[-1].seq}: stored "
                                      f"{result.stored} of {n}, gap {result.gap}")
            stored += n
            calls += 1
        seconds = time.perf_counter() - start
        cpu, server = client_cpu_s() - cpu0, backend_cpu_s(conn) - server0
        held = conn.execute("SELECT count(*) FROM county.events").fetchone()[0]
        marks = conn.execute("SELECT sum(high_water) FROM county.sites").fetchone()[0]
    return {"rows": stored, "held": held, "marks": int(marks or 0), "transactions": calls, "seconds": seconds,
            "store_s": in_store, "client_cpu_s": cpu, "server_cpu_s": server, "peak_rss_mb": peak_rss_mb()}


def direct_child(p: dict[str, Any]) -> dict[str, Any]:
    """One site's ledger through the hub's database calls without the wire, batch after batch: store_batch, then
    the delivery poll the hub makes after every batch (pending_deliveries), each timed on its own."""
    import psycopg

    from hall_bus.county.ingest import Shipped, pending_deliveries, store_batch
    from hall_bus.store.ledger import Ledger

    ledger = Ledger(p["ledger"])
    store_ms: list[float] = []
    poll_ms: list[float] = []
    with psycopg.connect(p["dsn"], autocommit=True) as conn:
        hw = 0
        while hw < ledger.last_seq:
            events = [Shipped(seq, kind, at, data.decode()) for seq, _v, kind, at, data
                      in ledger.raw_events(hw, min(ledger.last_seq, hw + p["batch"]))]
            t0 = time.perf_counter()
            result = store_batch(conn, p["site"], events, accept_hours=ACCEPT_HOURS, levels=p["levels"])
            t1 = time.perf_counter()
            pending_deliveries(conn, p["site"], 0, ledger.last_seq)
            poll_ms.append((time.perf_counter() - t1) * 1e3)
            store_ms.append((t1 - t0) * 1e3)
            if result.stored != len(events):
                raise BenchmarkFailed(f"store_batch {p['site']}: stored {result.stored} of {len(events)}")
            hw = result.high_water
    ledger.close()
    return {"rows": hw, "store_ms": store_ms, "poll_ms": poll_ms, "peak_rss_mb": peak_rss_mb()}


def hub_child(p: dict[str, Any]) -> None:
    """A real CountyHub in this process. It says its endpoint on stdout once it listens; then each line on stdin
    is answered with what it has done so far (answers, events stored, seconds busy with a batch, CPU), and at
    "stop" it stops and adds its peak RSS."""
    import logging

    from hall_bus.county.hub import CountyHub

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    async def run() -> None:
        hub = CountyHub(county_model(p["sites"]), p["dsn"], p["keys"], endpoint="tcp://127.0.0.1:*",
                        dashboard=False)
        busy = 0.0
        handle = hub._handle

        def timed(site: str, frame: bytes) -> Any:  # the hub's whole work on one message, database included
            nonlocal busy
            t = time.perf_counter()
            try:
                return handle(site, frame)
            finally:
                busy += time.perf_counter() - t

        hub._handle = timed  # type: ignore[method-assign]
        stop = asyncio.Event()
        task = asyncio.create_task(hub.run(stop))
        ready = asyncio.create_task(hub.ready.wait())
        await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # its exception, if it could not start
        print(json.dumps({"endpoint": hub.endpoint}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            said = {"answers": hub.stats.batches, "events": hub.stats.events, "busy_s": busy, "cpu_s": client_cpu_s(),
                    "refused": sum(link.refused for link in hub.links.values()), "at": time.perf_counter()}
            if line in ("stop", ""):
                break
            print(json.dumps(said), flush=True)
        stop.set()
        await task
        print(json.dumps({**said, "peak_rss_mb": peak_rss_mb()}), flush=True)

    asyncio.run(run())


class Hub:
    """The hub's process, from the bench's side."""

    def __init__(self, dsn: str, sites: list[dict[str, Any]], keys: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--child", "hub"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"dsn": dsn, "sites": sites, "keys": str(keys)}) + "\n")
        self.proc.stdin.flush()
        line = self._line()
        if not line:
            self.proc.wait()
            raise BenchmarkFailed(f"the hub did not start (exit {self.proc.returncode}; its stderr above)")
        self.endpoint: str = json.loads(line)["endpoint"]

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def mark(self) -> dict[str, Any]:
        """What the hub has done so far."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("mark\n")
        self.proc.stdin.flush()
        line = self._line()
        if not line:
            raise BenchmarkFailed(f"the hub ended (exit {self.proc.wait()})")
        return json.loads(line)

    def stop(self) -> dict[str, Any]:
        out, _ = self.proc.communicate("stop\n", timeout=120)
        if self.proc.returncode != 0:
            raise BenchmarkFailed(f"the hub ended with exit {self.proc.returncode}")
        said = json.loads(out.strip().splitlines()[-1])
        if said["refused"]:
            raise BenchmarkFailed(f"the hub refused {said['refused']} batches (its log above)")
        return said

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class WireRun:
    seconds: float  # until the hub held every event of every ledger
    round_trips_ms: list[float]  # each batch with events, from the link's send to its answer
    late: int  # requests the hub did not answer within the link's answer_seconds (the link then reconnects)
    idle: dict[str, float] | None  # the hub's work while every link was level and polling


def ship_over_wire(hub: Hub, keys: Path, ledgers: dict[str, Path], batch: int, idle_s: float = 0.0) -> WireRun:
    """Real CountyLinks, one per site, each reading its site's ledger as the hall server does, until the hub
    holds every event of every ledger; then, with `idle_s`, the links left polling that long, as a quiet
    county's sites do all day, and what that costs the hub."""
    from hall_bus.config import CountyLinkSettings
    from hall_bus.county.link import CountyLink
    from hall_bus.store.ledger import Ledger

    host, port = hub.endpoint.removeprefix("tcp://").rsplit(":", 1)
    settings = CountyLinkSettings(hub_host=host, hub_port=int(port), batch_max=batch)
    opened = {code: Ledger(path) for code, path in ledgers.items()}

    def reader(ledger: Ledger) -> Any:
        def read(after: int, limit: int) -> list[tuple[int, str, str, str]]:  # as HallServer._county_link's
            return [(seq, kind, at, data.decode()) for seq, _v, kind, at, data
                    in ledger.raw_events(after, min(ledger.last_seq, after + limit))]
        return read

    async def nothing_to_apply(command: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    round_trips: list[float] = []
    late = 0

    def timed(link: CountyLink) -> CountyLink:
        ask = link._ask

        async def asked(ctx: Any, ship: Any) -> Any:  # the link's one request and its answer
            nonlocal late
            t = time.perf_counter()
            answer = await ask(ctx, ship)
            if answer is None:
                late += 1
            elif ship.events:
                round_trips.append((time.perf_counter() - t) * 1e3)
            return answer

        link._ask = asked  # type: ignore[method-assign]
        return link

    async def run() -> WireRun:
        links = [timed(CountyLink(settings, code, keys.parent, ledgers[code], read_events=reader(ledger),
                                  last_seq=lambda ledger=ledger: ledger.last_seq, apply=nothing_to_apply))
                 for code, ledger in opened.items()]
        start = time.perf_counter()
        tasks = [asyncio.create_task(link.run()) for link in links]
        try:
            while True:
                behind = [link for link in links if link.state.high_water != opened[link.site].last_seq]
                if not behind:
                    break
                if time.perf_counter() - start > LEVEL_TIMEOUT_S:
                    raise BenchmarkFailed(f"{len(behind)} links not level after {LEVEL_TIMEOUT_S:.0f} s, e.g. "
                                          f"{behind[0].site}: {behind[0].status()}")
                for task in tasks:
                    if task.done():
                        task.result()
                await asyncio.sleep(0.01)
            seconds = time.perf_counter() - start
            idle = None
            if idle_s > 0:
                await asyncio.sleep(settings.poll_seconds)  # every link into its quiet rhythm
                before = await asyncio.to_thread(hub.mark)
                await asyncio.sleep(idle_s)
                after = await asyncio.to_thread(hub.mark)
                wall = after["at"] - before["at"]
                idle = {"seconds": wall, "answers": after["answers"] - before["answers"],
                        "busy_s": after["busy_s"] - before["busy_s"], "cpu_s": after["cpu_s"] - before["cpu_s"],
                        "events": after["events"] - before["events"]}
            return WireRun(seconds, round_trips, late, idle)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    quiet = logging.getLogger("county.link")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "no answer from the hub" is counted (WireRun.late), not printed per link
    try:
        return asyncio.run(run())
    finally:
        quiet.setLevel(level)
        for ledger in opened.values():
            ledger.close()


def report_child(p: dict[str, Any]) -> dict[str, Any]:
    """The county report (hallctl county report's own call), XLSX and PDF, for the year."""
    from hall_bus.county.report import build_county_report

    outs = [Path(o) for o in p["outs"]]
    start = time.perf_counter()
    done = build_county_report(p["dsn"], county_model(p["sites"]), date.fromisoformat(p["start"]),
                               date.fromisoformat(p["end"]), outs)
    return {"seconds": time.perf_counter() - start, "figures_s": done["figures_seconds"],
            "write_s": done["write_seconds"], "rows_read": done["rows_read"], "sites": done["sites"],
            "peak_rss_mb": peak_rss_mb(), "sizes_mb": [o.stat().st_size / 1e6 for o in outs]}


def report_floor_child(p: dict[str, Any]) -> dict[str, Any]:
    """The report's floor: every row of the narrow tables it reads (projections.TABLES) fetched, nothing else."""
    import psycopg
    from psycopg import sql

    from hall_bus.county.projections import TABLES

    rows = 0
    start = time.perf_counter()
    with psycopg.connect(p["dsn"]) as conn:
        for table in TABLES:
            with conn.cursor(name=f"floor_{table}") as cur:  # server-side: streamed, as a report would
                cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier("county", table)))
                while batch := cur.fetchmany(10_000):
                    rows += len(batch)
    return {"rows": rows, "seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb()}


def county_report_step(dsn: str, sites: list[dict[str, Any]], start: date, end: date, tmp: Path
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The county report for the year, XLSX + PDF, in a fresh process (time and peak RSS: target ≤ 60 s, bounded
    memory), and its floor in another: the bare read of the tables it reads."""
    floor = _child("report_floor", {"dsn": dsn})
    outs = [str(tmp / "county.xlsx"), str(tmp / "county.pdf")]
    report = _child("report", {"dsn": dsn, "sites": sites, "start": start.isoformat(), "end": end.isoformat(),
                               "outs": outs})
    return floor, report


CHILDREN = {"floor": floor_child, "ours": ours_child, "direct": direct_child, "report": report_child,
            "report_floor": report_floor_child}


def _child(mode: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A measurement in a fresh process; its failure (with its stderr) is this run's failure."""
    out = subprocess.run([sys.executable, __file__, "--child", mode], input=json.dumps(payload) + "\n",
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise BenchmarkFailed(f"{mode}: exit {out.returncode}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


# --------------------------------------------------------------------------------------------------- the run

def load() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def per_s(rows: int, seconds: float, what: str) -> float:
    """Events a second, or the run ends: a figure from no time at all was not measured."""
    return figure(rows / seconds if seconds > 0 else float("nan"), what)


def split(r: dict[str, Any]) -> str:
    """Where a run's wall time went: this client's CPU, its server process's CPU, and the rest (waiting for the
    disk's flush at commit, the network, the other CPU's work)."""
    wait = max(0.0, r["seconds"] - r["client_cpu_s"] - r["server_cpu_s"])
    return (f"client CPU {r['client_cpu_s']:.1f} s, server CPU {r['server_cpu_s']:.1f} s, "
            f"waiting {wait:.1f} s")


def flush_ms(directory: Path, times: int = 50) -> float:
    """The median time of one 8 kB write flushed to this disk (fdatasync, as PostgreSQL's commit): every batch
    commits, so this is what a batch costs at least. Measured in the run because other processes share the
    disk and move it."""
    path = directory / "flush-probe"
    samples = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(times):
            os.pwrite(fd, os.urandom(8192), 0)
            t = time.perf_counter()
            os.fdatasync(fd)
            samples.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        path.unlink()
    return figure(sorted(samples)[len(samples) // 2] * 1e3, "flush probe")


def make_keys(keys: Path, sites: list[SiteSpec]) -> None:
    """The hub's pair and one enrolled pair per site, in the layout both sides read (`<keys>/` is the hub's,
    its parent the sites' key directory with `county/` in it)."""
    from hall_bus.county.hub import key_name
    from hall_bus.wire.keys import KeyStore

    store = KeyStore(keys)
    with mock.patch.object(os, "fsync", lambda fd: None):  # set-up: 4 flushes a key would be minutes for 316
        store.init()
        for s in sites:
            store.add(key_name(s.code))


@dataclass
class Run:
    """What the steps share: the county, its year on disk, the server and the hubs to stop at the end."""

    args: argparse.Namespace
    sites: list[SiteSpec]
    year: Year
    tmp: Path
    cluster: Any
    hubs: list[Hub]

    @property
    def codes(self) -> list[str]:
        return [s.code for s in self.sites]

    @property
    def levels(self) -> dict[str, str]:
        return {s.code: s.level for s in self.sites}

    @property
    def site_rows(self) -> list[dict[str, Any]]:
        return [{"code": s.code, "name": s.name, "level": s.level, "parent": s.parent} for s in self.sites]

    def hub(self, db: str) -> Hub:
        hub = Hub(self.cluster.dsn(db), self.site_rows, self.tmp / "keys" / "county")
        self.hubs.append(hub)
        return hub

    def fresh_db(self, db: str) -> str:
        """A new database with the county's schema and sites; its DSN."""
        from hall_bus.county.pgcluster import create_database
        from hall_bus.county.schema import migrate

        create_database(self.cluster, db)
        with contextlib.closing(_connect(self.cluster.dsn(db))) as conn:
            migrate(conn, [(s.code, s.name, s.level, s.parent) for s in self.sites])
        return str(self.cluster.dsn(db))

    def ship(self, copy_file: Path, schedule: Path) -> dict[str, Any]:
        return {"ship": str(copy_file), "schedule": str(schedule), "codes": self.codes}


def step_year(run: Run) -> None:
    """The floor and ours over the whole year, each in a fresh process; the large-transaction floor last."""
    year, cluster = run.year, run.cluster
    common = run.ship(year.ship, year.schedule)
    floor = _child("floor", {**common, "dsn": cluster.dsn("floor"), "table": "floor_events", "bulk": False})
    _check_rows("floor", floor, year.events)
    floor_rate = per_s(year.events, floor["seconds"], "floor")
    print(f"floor, COPY in the hub's batches, a transaction each: {floor_rate:9,.0f} events/s  "
          f"{floor['seconds']:7.1f} s, {floor['transactions']:,} transactions ({split(floor)})   {load()}")

    ours = _child("ours", {**common, "dsn": cluster.dsn("county"), "levels": run.levels})
    _check_rows("ours", ours, year.events)
    if ours["marks"] != year.events:
        raise BenchmarkFailed(f"ours: the sites' marks add up to {ours['marks']:,}, not {year.events:,}")
    ours_rate = per_s(year.events, ours["seconds"], "ours")
    print(f"ours, store_batch per batch, the sites in turns:      {ours_rate:9,.0f} events/s  "
          f"{ours['seconds']:7.1f} s ({ours['store_s']:.1f} s in store_batch; {split(ours)})   "
          f"peak RSS {ours['peak_rss_mb']:.0f} MB   {load()}")

    bulk = _child("floor", {**common, "dsn": cluster.dsn("floor"), "table": "floor_bulk", "bulk": True})
    _check_rows("floor, bulk", bulk, year.events)
    bulk_rate = per_s(year.events, bulk["seconds"], "floor, bulk")
    print(f"floor, COPY in transactions of {BULK_ROWS:,} rows:       {bulk_rate:9,.0f} events/s  "
          f"{bulk['seconds']:7.1f} s, {bulk['transactions']:,} transactions ({split(bulk)})   {load()}")
    print(f"ratio ours / floor: {ours_rate / floor_rate:.2f} x the same batches, {ours_rate / bulk_rate:.2f} x "
          "large transactions (target ≥ 0.3 x)")


def step_wire(run: Run) -> None:
    """The county hall alone — a batch over the wire beside the same batch's database calls without it, in turns
    (the medians: other processes share the disk's flushes) — then every site at once and the quiet county
    polling after."""
    year, args = run.year, run.args
    hall = run.sites[0].code
    one = {hall: year.wire_ledgers / hall}
    store_ms: list[float] = []
    poll_ms: list[float] = []
    wire_ms: list[float] = []
    for rep in range(args.repeats):
        direct = _child("direct", {"dsn": run.fresh_db(f"wire_direct_{rep}"), "ledger": str(one[hall]),
                                   "site": hall, "batch": args.batch, "levels": run.levels})
        store_ms += direct["store_ms"]
        poll_ms += direct["poll_ms"]
        run.fresh_db(f"wire_one_{rep}")
        hub = run.hub(f"wire_one_{rep}")
        wire = ship_over_wire(hub, run.tmp / "keys" / "county", one, args.batch)
        said = hub.stop()
        if said["events"] != year.wire_events[hall]:
            raise BenchmarkFailed(f"wire, one site: the hub stored {said['events']} of {year.wire_events[hall]}")
        wire_ms += wire.round_trips_ms
    store, poll, trip = (figure(statistics.median(v), what) for v, what in (
        (store_ms, "store_batch a batch"), (poll_ms, "delivery poll a batch"), (wire_ms, "a batch over the wire")))
    print(f"wire, the county hall alone, {year.wire_events[hall]:,} events in batches of {args.batch}, "
          f"{args.repeats} runs of each, medians: {trip:.1f} ms a batch over the wire; without it {store:.1f} ms "
          f"store_batch + {poll:.1f} ms the hub's delivery poll; the wire's own {trip - store - poll:+.1f} ms "
          f"(link, JSON, CURVE, ZeroMQ, the hub's parse)   {load()}")

    from hall_bus.config import CountyLinkSettings

    run.fresh_db("wire_all")
    hub = run.hub("wire_all")
    total = sum(year.wire_events.values())
    wire = ship_over_wire(hub, run.tmp / "keys" / "county", {c: year.wire_ledgers / c for c in run.codes},
                          args.batch, idle_s=args.idle_seconds)
    said = hub.stop()
    if said["events"] != total:
        raise BenchmarkFailed(f"wire, every site: the hub stored {said['events']} of {total}")
    trips = sorted(wire.round_trips_ms)
    print(f"wire, every site at once ({len(run.sites)} links, their first {args.wire_days} days), {total:,} events: "
          f"{per_s(total, wire.seconds, 'wire, every site'):,.0f} events/s, {wire.seconds:.1f} s; a batch's round "
          f"trip median {statistics.median(trips):,.0f} ms, max {trips[-1]:,.0f} ms (the hub takes one at a time); "
          f"{wire.late} requests not answered within the link's {CountyLinkSettings().answer_seconds:.0f} s, sent "
          f"again; hub peak RSS {said['peak_rss_mb']:.0f} MB   {load()}")
    if wire.idle is not None:
        idle = wire.idle
        polls = per_s(idle["answers"], idle["seconds"], "idle polls")
        each = idle["busy_s"] / max(idle["answers"], 1) * 1e3
        print(f"quiet county, {len(run.sites)} links level and polling: {polls:.0f} answers/s, the hub busy "
              f"{idle['busy_s'] / idle['seconds']:.0%} of the time ({each:.1f} ms an answer), hub CPU "
              f"{idle['cpu_s'] / idle['seconds']:.0%}   {load()}")


def step_catchup(run: Run) -> None:
    """The county hall back after its days offline, into the database that holds the year; the floor for the
    same rows COPYed after the floor's year. In turns, the rows taken out again between runs; the medians."""
    year, cluster, args = run.year, run.cluster, run.args
    hall = run.sites[0].code
    last = year.last_seq[hall]
    schedule = run.tmp / "catchup.json"
    schedule.write_text(json.dumps(_schedule_of(year.catchup, args.batch)))
    ours: list[float] = []
    floors: dict[str, list[float]] = {"same batches": [], "one transaction": []}
    peak = 0.0
    for rep in range(args.repeats):
        if rep:
            with contextlib.closing(_connect(cluster.dsn("county"))) as conn, conn.transaction():
                conn.execute("DELETE FROM county.events WHERE site = %s AND seq > %s", (hall, last))
                conn.execute("UPDATE county.sites SET high_water = %s WHERE code = %s", (last, hall))
            with contextlib.closing(_connect(cluster.dsn("floor"))) as conn:
                for table in ("floor_events", "floor_bulk"):
                    conn.execute(f"DELETE FROM {table} WHERE site = %s AND seq > %s", (hall, last))
        hub = run.hub("county")
        wire = ship_over_wire(hub, run.tmp / "keys" / "county", {hall: year.catchup_ledger}, args.batch)
        said = hub.stop()
        if said["events"] != year.catchup_events:
            raise BenchmarkFailed(f"catch-up: the hub stored {said['events']} of {year.catchup_events}")
        ours.append(wire.seconds)
        peak = max(peak, said["peak_rss_mb"])
        for (name, times), table in zip(floors.items(), ("floor_events", "floor_bulk"), strict=True):
            r = _child("floor", {**run.ship(year.catchup, schedule), "dsn": cluster.dsn("floor"), "table": table,
                                 "bulk": name == "one transaction"})
            if r["rows"] != year.catchup_events or r["held"] != year.events + year.catchup_events:
                raise BenchmarkFailed(f"catch-up floor, {name}: {r['rows']} rows copied, {r['held']} held")
            times.append(r["seconds"])
    seconds = figure(statistics.median(ours), "catch-up")
    floor = {name: figure(statistics.median(times), f"catch-up floor, {name}") for name, times in floors.items()}
    print(f"catch-up, the county hall after {args.offline_days} days offline, {year.catchup_events:,} events, "
          f"medians of {args.repeats}: {seconds:.2f} s over the wire "
          f"({per_s(year.catchup_events, seconds, 'catch-up'):,.0f} events/s); floor "
          + ", ".join(f"{s:.2f} s ({name})" for name, s in floor.items())
          + "; ratio " + " / ".join(f"{s / seconds:.2f} x" for s in floor.values())
          + f"; hub peak RSS {peak:.0f} MB   {load()}")


def step_report(run: Run) -> None:
    """The county report for the year's working days, from the database ours filled (the report's tables are
    kept by store_batch, in the same transaction as the events)."""
    days = run.args.weeks * WEEK
    floor, r = county_report_step(run.cluster.dsn("county"), run.site_rows, working_day(0), working_day(days - 1),
                                  run.tmp)
    if not floor["rows"] or not r["rows_read"] or not all(r["sizes_mb"]):
        raise BenchmarkFailed(f"county report: {floor['rows']} rows in its tables, {r['rows_read']} read, "
                              f"outputs {r['sizes_mb']} MB")
    print(f"bare read of the report's tables, every row fetched: {figure(floor['seconds'], 'report floor'):.2f} s, "
          f"{floor['rows']:,} rows   peak RSS {floor['peak_rss_mb']:.0f} MB   {load()}")
    writes = ", ".join(f"{suffix} {s:.1f} s" for suffix, s in r["write_s"].items())
    print(f"county report, XLSX + PDF, the year: {figure(r['seconds'], 'county report'):.1f} s (figures "
          f"{r['figures_s']:.1f} s, {writes}; {r['sites']} sites, {r['rows_read']:,} rows read; "
          f"{' + '.join(f'{m:.1f}' for m in r['sizes_mb'])} MB)   ratio {r['seconds'] / floor['seconds']:.1f} x the "
          f"bare read   peak RSS {r['peak_rss_mb']:.0f} MB   (target ≤ 60 s, bounded memory)   {load()}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--county-visitors", type=int, default=2000)
    ap.add_argument("--towns", type=int, default=15)
    ap.add_argument("--town-visitors", type=int, default=200)
    ap.add_argument("--villages", type=int, default=300)
    ap.add_argument("--village-visitors", type=int, default=5)
    ap.add_argument("--weeks", type=int, default=50, help="weeks of 5 working days")
    ap.add_argument("--batch", type=int, default=500, help="events a batch (the link's batch_max)")
    ap.add_argument("--wire-days", type=int, default=5, help="working days every site ships over the wire")
    ap.add_argument("--idle-seconds", type=float, default=20.0, help="how long the quiet county is watched")
    ap.add_argument("--offline-days", type=int, default=7, help="working days the county hall was offline")
    ap.add_argument("--repeats", type=int, default=3, help="runs of the one-site wire and the catch-up (medians)")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # its parameters on stdin: a DSN's password is no argument
    args = parse_args(ap, county_visitors=40, towns=2, town_visitors=10, villages=4, village_visitors=2, weeks=2,
                      wire_days=2, offline_days=2, batch=50, idle_seconds=1.0, repeats=1)
    if args.child:
        mode, payload = args.child, json.loads(sys.stdin.readline())
        if mode == "hub":
            hub_child(payload)
        else:
            print(json.dumps(CHILDREN[mode](payload)))
        return

    from hall_bus.county.pgcluster import create_database, start_cluster, stop_cluster

    sites = county_sites(args.towns, args.villages)
    with tempfile.TemporaryDirectory(prefix="bench-county-") as tmpdir:
        tmp = Path(tmpdir)
        t = time.perf_counter()
        templates = {"county": template_days(args.county_visitors, WEEK),
                     "town": template_days(args.town_visitors, WEEK),
                     "village": template_days(args.village_visitors, WEEK)}
        simulated = time.perf_counter() - t
        year = make_year(tmp, sites, templates, args.weeks, args.batch, min(args.wire_days, args.weeks * WEEK),
                         args.offline_days)
        make_keys(tmp / "keys" / "county", sites)
        print(f"county-year: {len(sites)} sites (the county hall at {args.county_visitors:,} visits a day, "
              f"{args.towns} towns at {args.town_visitors:,}, {args.villages} villages at {args.village_visitors:,}), "
              f"{args.weeks * WEEK} working days")
        print(f"events: {year.events:,} (county hall {year.by_level['county']:,}, towns {year.by_level['town']:,}, "
              f"villages {year.by_level['village']:,}) in {year.batches:,} batches of ≤ {args.batch}, "
              f"{year.ship.stat().st_size / 1e6:,.0f} MB as COPY text; templates simulated in {simulated:.1f} s, "
              f"the year written in {year.seconds:.1f} s")

        pg_root = Path(tempfile.mkdtemp(prefix="bench-county-pg-"))  # not under root's 0700 dirs: postgres runs it
        run = Run(args, sites, year, tmp, None, [])
        try:
            run.cluster = cluster = start_cluster(pg_root, durable=True)
            with contextlib.closing(_connect(cluster.dsn())) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
                pg = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', "
                                       "'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_wal_size', "
                                       "'wal_sync_method')").fetchall())
            print(f"PostgreSQL {version.split()[0]} on 127.0.0.1, durable as in production: fsync {pg['fsync']}, "
                  f"synchronous_commit {pg['synchronous_commit']}, full_page_writes {pg['full_page_writes']} "
                  f"({pg['wal_sync_method']}); shared_buffers {int(pg['shared_buffers']) * 8 // 1024} MB, "
                  f"max_wal_size {pg['max_wal_size']} MB; the rest PostgreSQL's defaults")
            print(f"disk flush (8 kB fdatasync), before: median {flush_ms(pg_root):.1f} ms   {load()}")
            create_database(cluster, "floor")
            run.fresh_db("county")
            step_year(run)
            step_wire(run)
            step_catchup(run)
            step_report(run)
            print(f"disk flush (8 kB fdatasync), after: median {flush_ms(pg_root):.1f} ms   {load()}")
        finally:
            for hub in run.hubs:
                hub.kill()
            with contextlib.suppress(Exception):
                stop_cluster(pg_root)
            shutil.rmtree(pg_root, ignore_errors=True)


def _connect(dsn: str) -> Any:
    import psycopg

    return psycopg.connect(dsn, autocommit=True)


def _check_rows(name: str, r: dict[str, Any], events: int) -> None:
    """Every event stored once: as many rows sent as made, and as many held as sent."""
    if r["rows"] != events or r["held"] != events:
        raise BenchmarkFailed(f"{name}: {r['rows']:,} rows sent, {r['held']:,} held, of {events:,}")


def _schedule_of(copy_file: Path, batch: int) -> list[tuple[int, int, int]]:
    """The batches of a file of the county hall's rows (site index 0): rows and bytes of each."""
    out = []
    with copy_file.open("rb") as f:
        while lines := [line for _, line in zip(range(batch), f, strict=False)]:
            out.append((0, len(lines), sum(len(line) for line in lines)))
    return out


if __name__ == "__main__":
    main()
