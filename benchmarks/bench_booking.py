"""Booking figures: hold + confirm with many clients at once, beside the bare transaction floor of the same store.

Run: .venv/bin/python benchmarks/bench_booking.py [--clients 100] [--per-client 20] [--tiny]

Ours: the hall server (`hallctl server`, CURVE on, its SQLite ledger fsync'd) in its own process, and
`--clients` phone-page nodes (role web) in this one, each booking `--per-client` visits one after another, all
clients at once: a booking is a hold and a confirm, two commands, each decided by the engine and written in one
ledger transaction. The floor: the same two decisions as bare SQLite transactions in the same store's settings
(WAL, synchronous=FULL), from as many threads — BEGIN IMMEDIATE, count the slot's places, insert; then update —
which is what any booking store must at least do to decide capacity in one place. Every booking is checked
against the ledger afterwards: none lost, no slot over its capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from _common import BenchmarkFailed, figures, parse_args, stop
from bench_bus import EXAMPLE, ROOT, free_port

from hall_bus.config import load_config
from hall_bus.domain.booking import open_slots
from hall_bus.domain.commands import ConfirmBooking, HoldBooking
from hall_bus.domain.state import HallState
from hall_bus.stats import percentile
from hall_bus.store.ledger import Ledger
from hall_bus.wire.client import HallClient
from hall_bus.wire.keys import KeyStore

ITEMS = ("GG-379901-YBJ-001", "GG-379901-RSJ-001")  # 医保 and 人社: the example's largest slots


def hall_file(clients: int, cmd_port: int, ev_port: int) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    catalogue = EXAMPLE.parent / "catalogue.example.toml"
    text = text.replace('catalogue = "catalogue.example.toml"', f'catalogue = "{catalogue}"')
    text = text.replace("command_port = 5555", f"command_port = {cmd_port}")
    text = text.replace("event_port = 5556", f"event_port = {ev_port}")
    nodes = "".join(f'\n[[nodes]]\nid = "web-{n:03d}"\nrole = "web"\n' for n in range(clients))
    return text + nodes


def slots(cfg_path: Path) -> list[tuple[str, datetime]]:
    """(item, start) of every slot open now over the horizon, as the phone page lists them."""
    cfg = load_config(cfg_path)
    now = datetime.now(cfg.hall.tz)
    st = HallState()
    out: list[tuple[str, datetime]] = []
    for n in range(cfg.booking.horizon_days + 1):
        day = now.date() + timedelta(days=n)
        for item in ITEMS:
            it = cfg.catalogue.by_code[item]  # type: ignore[union-attr]
            out += [(item, s.start) for s, left in open_slots(cfg, st, it, "normal", day, now) if left > 0]
    if not out:
        raise BenchmarkFailed("no open slot over the horizon")
    return out


def phone(n: int) -> str:
    return f"139{n:08d}"


# ---------------------------------------------------------------------- the floor


def _store(db_path: Path) -> None:
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE bookings (code TEXT PRIMARY KEY, slot INTEGER, phone TEXT, status TEXT)")
    db.execute("CREATE INDEX bookings_slot ON bookings (slot)")
    db.commit()
    db.close()


def _hold_confirm(con: sqlite3.Connection, code: str, slot: int, tel: str) -> None:
    """The least any store does to decide a place in one place: count the slot and insert in one transaction
    that takes the write lock first, then confirm."""
    con.execute("BEGIN IMMEDIATE")
    (taken,) = con.execute("SELECT count(*) FROM bookings WHERE slot = ? AND status != 'cancelled'",
                           (slot,)).fetchone()
    if taken < 1000:
        con.execute("INSERT INTO bookings VALUES (?, ?, ?, 'held')", (code, slot, tel))
    con.execute("COMMIT")
    con.execute("BEGIN IMMEDIATE")
    con.execute("UPDATE bookings SET status = 'booked' WHERE code = ?", (code,))
    con.execute("COMMIT")


def floor_connections(db_path: Path, clients: int, per_client: int) -> list[float]:
    """Bare SQLite, one connection per client: SQLite's own write lock decides who goes next."""
    _store(db_path)
    times: list[float] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        con = sqlite3.connect(db_path, isolation_level=None, timeout=60)
        con.execute("PRAGMA synchronous=FULL")
        mine = []
        for j in range(per_client):
            t0 = time.monotonic()
            _hold_confirm(con, f"B{c:03d}-{j:03d}", (c * per_client + j) % 200, phone(c * 1000 + j))
            mine.append(time.monotonic() - t0)
        con.close()
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def floor_one_writer(db_path: Path, clients: int, per_client: int) -> list[float]:
    """Bare SQLite behind one writer, as the hall server is: clients queue, the writer runs the transactions in
    turn. Latency is the wait in the queue plus the two transactions."""
    _store(db_path)
    jobs: queue.Queue[tuple[str, int, str, threading.Event] | None] = queue.Queue()

    def writer() -> None:
        con = sqlite3.connect(db_path, isolation_level=None)
        con.execute("PRAGMA synchronous=FULL")
        while (job := jobs.get()) is not None:
            code, slot, tel, done = job
            _hold_confirm(con, code, slot, tel)
            done.set()
        con.close()

    times: list[float] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        mine = []
        for j in range(per_client):
            done = threading.Event()
            t0 = time.monotonic()
            jobs.put((f"B{c:03d}-{j:03d}", (c * per_client + j) % 200, phone(c * 1000 + j), done))
            done.wait()
            mine.append(time.monotonic() - t0)
        with lock:
            times.extend(mine)

    w = threading.Thread(target=writer)
    w.start()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    jobs.put(None)
    w.join()
    return times


# ---------------------------------------------------------------------- ours


async def ours(cfg_path: Path, keys: Path, clients: int, per_client: int,
               open_: list[tuple[str, datetime]]) -> tuple[list[float], dict[str, int]]:
    cfg = load_config(cfg_path)
    nodes = [HallClient.for_node(cfg, f"web-{n:03d}", keys_dir=str(keys), subscribe=False, mirror=False)
             for n in range(clients)]
    await asyncio.gather(*(c.start(timeout=60) for c in nodes))
    times: list[float] = []
    refused: dict[str, int] = {}

    async def client(c: int, node: HallClient) -> None:
        for j in range(per_client):
            k = c * per_client + j
            item, start = open_[k % len(open_)]
            t0 = time.monotonic()
            held = await node.send(HoldBooking(item=item, start=start, phone=phone(k), name="张秀英"), timeout=10)
            if not held["ok"]:
                refused[held["code"]] = refused.get(held["code"], 0) + 1
                continue
            code = held["result"]["code"]
            done = await node.send(ConfirmBooking(code=code, phone_tail=phone(k)[-4:]), timeout=10)
            if not done["ok"]:
                raise BenchmarkFailed(f"confirm of {code} refused: {done}")
            times.append(time.monotonic() - t0)

    await asyncio.gather(*(client(c, node) for c, node in enumerate(nodes)))
    await asyncio.gather(*(c.close() for c in nodes))
    return times, refused


def check_ledger(data: Path, booked: int) -> None:
    """Every confirmed booking is in the ledger once, and no slot holds more than its capacity."""
    cfg = load_config(EXAMPLE)
    ledger = Ledger(data)
    confirmed = [e["data"]["code"] for e in ledger.events() if e["type"] == "booking_confirmed"]
    held = {e["data"]["code"]: e["data"]["slot"] for e in ledger.events() if e["type"] == "booking_held"}
    ledger.close()
    if len(confirmed) != booked or len(set(confirmed)) != booked:
        raise BenchmarkFailed(f"{booked} bookings answered, {len(set(confirmed))} in the ledger")
    per_slot: dict[str, int] = {}
    for code in confirmed:
        per_slot[held[code]] = per_slot.get(held[code], 0) + 1
    from hall_bus.domain.slots import window_capacity

    cap = max(window_capacity(cfg, cfg.catalogue.by_code[i].service) for i in ITEMS)  # type: ignore[union-attr]
    if max(per_slot.values(), default=0) > cap:
        raise BenchmarkFailed(f"a slot holds {max(per_slot.values())} bookings, over its capacity {cap}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--per-client", type=int, default=20)
    # the phone page's booking on a busy morning: 100 people pressing 确认 at once, 20 times over
    args = parse_args(ap, clients=5, per_client=3)
    with tempfile.TemporaryDirectory(prefix="bench-booking-", dir=ROOT) as tmpdir:
        tmp = Path(tmpdir)
        bare = figures(floor_one_writer(tmp / "floor-1.sqlite3", args.clients, args.per_client), "floor")
        contended = figures(floor_connections(tmp / "floor-n.sqlite3", args.clients, args.per_client), "floor n")
        cmd_port, ev_port = free_port(), free_port()
        cfg_path = tmp / "hall.toml"
        cfg_path.write_text(hall_file(args.clients, cmd_port, ev_port), encoding="utf-8")
        keys = KeyStore(tmp / "keys")
        keys.init()
        for n in range(args.clients):
            keys.add(f"web-{n:03d}")
        open_ = slots(cfg_path)
        server = subprocess.Popen([sys.executable, "-m", "hall_bus.cli", "server", "--config", str(cfg_path),
                                   "--data", str(tmp / "data"), "--keys", str(keys.dir)],
                                  stderr=subprocess.PIPE, text=True)
        try:
            assert server.stderr is not None
            while "commands on" not in server.stderr.readline():
                if server.poll() is not None:
                    raise BenchmarkFailed("server failed to start")
            threading.Thread(target=server.stderr.read, daemon=True).start()
            t0 = time.monotonic()
            times, refused = asyncio.run(ours(cfg_path, keys.dir, args.clients, args.per_client, open_))
            wall = time.monotonic() - t0
        finally:
            stop(server)
        check_ledger(tmp / "data", len(times))
    ours_t = figures(times, "bookings")
    ms = 1000
    f50, f99 = percentile(bare, 50) * ms, percentile(bare, 99) * ms
    o50, o99 = percentile(ours_t, 50) * ms, percentile(ours_t, 99) * ms
    print(f"clients: {args.clients} at once, {args.per_client} bookings each (hold + confirm), "
          f"{len(open_)} open slots over the horizon")
    print(f"floor, bare SQLite hold + confirm, one writer: p50 {f50:.1f} ms  p99 {f99:.1f} ms  "
          f"({len(bare)} bookings)")
    print(f"floor, bare SQLite hold + confirm, a connection each: p50 {percentile(contended, 50) * ms:.1f} ms  "
          f"p99 {percentile(contended, 99) * ms:.1f} ms")
    print(f"ours, hold + confirm over the bus: p50 {o50:.1f} ms  p99 {o99:.1f} ms  ({len(ours_t)} booked, "
          f"{sum(refused.values())} refused {refused or ''}, {len(ours_t) / wall:.0f} bookings/s)")
    print(f"ratio p99 ours / floor: {o99 / f99:.2f}")


if __name__ == "__main__":
    main()
