"""The supervisor's report at a busy hall's year: 300 hall days of 2,000 tickets and their 办件, beside the bare
read.

Run: .venv/bin/python benchmarks/bench_report.py [--days 300] [--visitors 2000] [--tiny]
Prints figures; a reading that fails or reads no cases ends the run with a non-zero exit.

The ledger is made quickly: one hall week of `--visitors` a day is simulated through the real engine — the visits
and the 办件 accepted at them, concluded, paused, delivered and archived over the week, with complaints and tablet
records — then its events are written again for each later week with every date (so the ticket ids and case
numbers) and the record serials moved on, in the ledger's own row format. The bare baseline reads the same rows
from the same file in the same run: every event fetched and its JSON decoded, which any report has to pay.
Each reading runs in a fresh process, so its peak RSS (VmHWM) is its own.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import orjson
from _common import BenchmarkFailed, figure, parse_args, peak_rss_mb
from _hall_weeks import CONFIG, FIRST, ROOT, copier, day_opened, template_days

from hall_bus.config import load_config
from hall_bus.store.ledger import EVENT_VERSION, Ledger


def fill(data: Path, days: int, visitors: int) -> tuple[int, int, int, float]:
    """Writes the ledger; returns (events, tickets, cases, seconds)."""
    cfg = load_config(CONFIG)
    start = time.perf_counter()
    block = template_days(visitors, days)
    Ledger(data, hall_name=cfg.hall.name).close()  # the schema and meta, as the server makes them
    db = sqlite3.connect(data / "ledger.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")  # the fill is set-up, not what is measured
    seq = tickets = cases = 0
    for b in range((days + len(block) - 1) // len(block)):
        shift_at, shift_data = copier(b * len(block), f"-{b:03d}")
        for j, day_events in enumerate(block):
            k = b * len(block) + j
            if k >= days:
                break
            day = FIRST + timedelta(days=k)
            kind, at, text = day_opened(day, None if k == 0 else day - timedelta(days=1))
            seq += 1
            rows = [(seq, EVENT_VERSION, kind, at, None, text)]
            for kind, at, text in day_events:
                seq += 1
                tickets += kind == "ticket_issued"
                cases += kind == "case_accepted"
                rows.append((seq, EVENT_VERSION, kind, shift_at(at), None, shift_data(text)))
            db.execute("BEGIN")
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return seq, tickets, cases, time.perf_counter() - start


def bare_child(data: str) -> None:
    """The floor: every event row fetched and decoded, nothing else."""
    db = sqlite3.connect(Path(data, "ledger.sqlite3").resolve().as_uri() + "?mode=ro", uri=True)
    start = time.perf_counter()
    n = 0
    loads = orjson.loads
    cur = db.execute("SELECT seq, type, at, data FROM events ORDER BY seq")
    while batch := cur.fetchmany(4096):
        for row in batch:
            loads(row[3])
        n += len(batch)
    decoded = time.perf_counter() - start
    start = time.perf_counter()
    cur = db.execute("SELECT seq, type, at, data FROM events ORDER BY seq")
    while cur.fetchmany(4096):
        pass
    fetched = time.perf_counter() - start
    print(json.dumps({"events": n, "read_decode_s": decoded, "fetch_only_s": fetched, "peak_rss_mb": peak_rss_mb()}))


def report_child(data: str, out: str, days: int) -> None:
    from hall_bus.reports import ReportRequest, build_report

    cfg = load_config(CONFIG)
    outs = [Path(p) for p in out.split(",")]
    last = FIRST + timedelta(days=days - 1)
    start = time.perf_counter()
    result = build_report(ReportRequest(cfg, Path(data), FIRST, last, outs))
    print(json.dumps({"cases": result.cases, "events_read": result.events_read,
                      "seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb(),
                      "sizes_mb": [p.stat().st_size / 1e6 for p in outs]}))


def _child(*args: str) -> dict:
    """A reading in a fresh process; its failure (with its stderr) is this run's failure."""
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise BenchmarkFailed(f"{args[0]}: exit {out.returncode}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=300)
    ap.add_argument("--visitors", type=int, default=2000)
    ap.add_argument("--bare-child")
    ap.add_argument("--report-child", nargs=3)
    args = parse_args(ap, days=2, visitors=60)
    if args.bare_child:
        bare_child(args.bare_child)
        return
    if args.report_child:
        report_child(args.report_child[0], args.report_child[1], int(args.report_child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="bench-report-", dir=ROOT) as tmpdir:
        tmp = Path(tmpdir)
        data = tmp / "data"
        events, tickets, cases, fill_s = fill(data, args.days, args.visitors)
        size = (data / "ledger.sqlite3").stat().st_size / 1e6
        print(f"ledger: {args.days} days, {tickets:,} tickets, {cases:,} 办件 cases, {events:,} events, "
              f"{size:,.0f} MB (made in {fill_s:.1f} s)")
        bare = _child("--bare-child", str(data))
        if bare["events"] != events:
            raise BenchmarkFailed(f"the bare read found {bare['events']} of {events} events")
        figure(bare["read_decode_s"], "bare read")
        print(f"bare read, every row fetched:          {bare['fetch_only_s']:7.2f} s")
        print(f"bare read, fetched + JSON decoded:     {bare['read_decode_s']:7.2f} s   peak RSS "
              f"{bare['peak_rss_mb']:.0f} MB")
        runs = (("xlsx + pdf", f"{tmp / 'year.xlsx'},{tmp / 'year.pdf'}"), ("pdf only", str(tmp / "only.pdf")),
                ("xlsx only", str(tmp / "only.xlsx")))
        for name, outs in runs:
            r = _child("--report-child", str(data), outs, str(args.days))
            if not r["cases"] or not all(r["sizes_mb"]):
                raise BenchmarkFailed(f"report {name}: {r['cases']} cases, sizes {r['sizes_mb']} MB")
            sizes = " + ".join(f"{s:.1f}" for s in r["sizes_mb"])
            print(f"report, {name:<10} {r['cases']:>9,} cases: {r['seconds']:7.2f} s   "
                  f"ratio {r['seconds'] / bare['read_decode_s']:.2f} x bare   peak RSS {r['peak_rss_mb']:.0f} MB   "
                  f"({sizes} MB; target < 30 s)")


if __name__ == "__main__":
    main()
