"""Hall core figures: engine speed, durable throughput against bare SQLite, 1M-event replay, peak memory.

Run: .venv/bin/python benchmarks/bench_core.py [--events 1000000] [--batch 32] [--tiny]
Prints figures. The bare baselines run in the same process on the same disk, so the ratios mean something even on
a noisy machine: replay is timed beside the bare read-and-decode of the same events, in the same child process.
A refused command, a replay that does not give back the same state, or a figure that is not a number ends the
run with a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import orjson
from _common import BenchmarkFailed, figure, parse_args, peak_rss_mb

from hall_bus.clock import ManualClock
from hall_bus.config import load_config
from hall_bus.domain.commands import parse_command
from hall_bus.domain.engine import CommandRejected, QueueEngine
from hall_bus.sim.daysim import DayPlan, engine_submitter, run_day
from hall_bus.store.core import HallCore, replay
from hall_bus.store.ledger import Entry, Ledger

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "hall.example.toml"


def command_mix(cfg, n: int, *, batch: int = 1, backlog: int = 200) -> list[dict]:  # type: ignore[no-untyped-def]
    """A busy hall in steady state: `backlog` people waiting, then issue, call and finish in turn.

    A finish names the visitor at the window, as every finish must; which one that is comes from a dry run on a
    scratch engine with the clock moving as the timed run moves it (0.5 s every `batch` commands): the engine is
    pure, so the timed run calls the same visitors."""
    services = ["医保", "人社", "公安", "不动产", "综合受理", "税务"]
    counters = {"医保": 10, "人社": 8, "公安": 12, "不动产": 17, "综合受理": 6, "税务": 15}
    out: list[dict] = [{"op": "issue", "service": services[i % len(services)]} for i in range(backlog)]
    i = 0
    while len(out) < n:
        s = services[i % len(services)]
        out.append({"op": "issue", "service": s})
        out.append({"op": "call_next", "counter": counters[s]})
        out.append({"op": "finish", "counter": counters[s]})
        i += 1
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=cfg.hall.tz), cfg.hall.tz)
    scratch = QueueEngine(cfg, clock)
    named = []
    for k, cmd in enumerate(out[:n]):
        if k % batch == 0:
            clock.advance(0.5)
        if cmd["op"] == "finish":
            cmd = {**cmd, "ticket": scratch.state.counters[cmd["counter"]].current}
        scratch.execute(parse_command(cmd))
        named.append(cmd)
    return named


def bench_engine(cfg, n: int) -> float:  # type: ignore[no-untyped-def]
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=cfg.hall.tz), cfg.hall.tz)
    engine = QueueEngine(cfg, clock)
    cmds = [parse_command(c) for c in command_mix(cfg, n)]
    start = time.perf_counter()
    for cmd in cmds:
        clock.advance(0.5)
        engine.execute(cmd)  # the mix is built so nothing is refused: a refusal is a broken benchmark
    return n / (time.perf_counter() - start)


def bench_by_queue_length(cfg, backlog: int, n: int = 2000) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Microseconds per `issue` and per `call_next` with `backlog` people already waiting, a realistic mix of
    services and groups (assisted ones included), every window open. Both should not grow with the queue."""
    import random

    rng = random.Random(1)
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=cfg.hall.tz), cfg.hall.tz)
    engine = QueueEngine(cfg, clock)
    services = [s.name for s in cfg.services]
    groups = [g for g, rule in cfg.groups.items() if not rule.appointment]
    weights = [cfg.groups[g].share for g in groups]

    def issue() -> dict:
        return {"op": "issue", "service": rng.choice(services), "group": rng.choices(groups, weights)[0]}

    for _ in range(backlog):
        clock.advance(0.01)
        engine.execute(parse_command(issue()))
    for c in cfg.counters:
        engine.execute(parse_command({"op": "open_counter", "counter": c.number}))
    issues = [parse_command(issue()) for _ in range(n)]
    start = time.perf_counter()
    for cmd in issues:
        clock.advance(0.01)
        engine.execute(cmd)
    issue_us = (time.perf_counter() - start) / n * 1e6
    numbers = [c.number for c in cfg.counters]
    calls = [parse_command({"op": "call_next", "counter": numbers[i % len(numbers)]}) for i in range(n)]
    call_s = 0.0
    called = 0
    for call in calls:
        clock.advance(0.01)
        t0 = time.perf_counter()
        try:
            engine.execute(call)
        except CommandRejected as exc:  # a window with nobody of its services or groups waiting: timed too
            if exc.code != "queue_empty":
                raise
            call_s += time.perf_counter() - t0
            continue
        call_s += time.perf_counter() - t0
        called += 1
        at_window = engine.state.counters[call.counter].current  # the one just called, as a keypad names it
        engine.execute(parse_command({"op": "finish", "counter": call.counter, "ticket": at_window}))
    if called < n * 0.9:
        raise BenchmarkFailed(f"queue of {backlog}: only {called} of {n} call_next found someone")
    return issue_us, call_s / n * 1e6


def bench_durable(cfg, n: int, batch: int, tmp: Path) -> float:  # type: ignore[no-untyped-def]
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=cfg.hall.tz), cfg.hall.tz)
    core = HallCore(cfg, tmp / "durable", clock)
    cmds = command_mix(cfg, n, batch=batch)
    answers = []
    start = time.perf_counter()
    for i in range(0, n, batch):
        clock.advance(0.5)
        answers += core.submit_batch([{**c, "request_id": f"bench-{i + j}"} for j, c in enumerate(cmds[i:i + batch])])
    rate = n / (time.perf_counter() - start)
    core.close()
    refused = [a for a in answers if not a.get("ok")]
    if len(answers) != n or refused:
        raise BenchmarkFailed(f"durable: {len(answers)} answers to {n} commands, {len(refused)} refused "
                              f"({refused[:1]})")
    return rate


def bench_bare_sqlite(n: int, batch: int, tmp: Path, row_bytes: int) -> float:
    """The floor: the same journal mode and fsync policy, one JSON row per command, `batch` rows per commit."""
    db = sqlite3.connect(tmp / f"bare-{batch}.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    body = json.dumps({"x": "y" * max(1, row_bytes - 10)})
    start = time.perf_counter()
    seq = 0
    for _ in range(0, n, batch):
        db.execute("BEGIN")
        rows = []
        for _ in range(batch):
            seq += 1
            rows.append((seq, body))
        db.executemany("INSERT INTO events VALUES (?, ?)", rows)
        db.execute("COMMIT")
    rate = n / (time.perf_counter() - start)
    db.close()
    return rate


def fill_ledger(cfg, data: Path, target: int) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Simulated hall days, one after the other, written to a ledger until it holds `target` events."""
    ledger = Ledger(data, hall_name=cfg.hall.name)
    day = date(2026, 1, 5)
    clock = ManualClock(datetime.combine(day, datetime.min.time(), cfg.hall.tz), cfg.hall.tz)
    engine = QueueEngine(cfg, clock)
    written = 0
    start = time.perf_counter()
    seed = 0
    while written < target:
        sink: list[dict] = []
        seed += 1
        run_day(cfg, DayPlan(day=day, seed=seed), submit=engine_submitter(engine, sink), clock=clock)
        sink = sink[: target - written]
        ledger.append([Entry(None, sink, {})])
        written += len(sink)
        day += timedelta(days=1)
    ledger.close()
    return written, time.perf_counter() - start


READERS = {  # how a bare reader fetches the same rows; each decodes every event's data with orjson
    "as_replay": "as replay reads (cursor iterated, data as bytes)",
    "text": "cursor iterated, data as text",
    "fetchmany": "fetchmany(4096), data as text (bench_report's floor)",
}


def bare_read(data: str, how: str) -> tuple[int, float]:
    """The floor of any replay: every event row read and its data decoded, nothing applied; `how` is a key of
    READERS (replay's own way is the fastest, so the strictest floor)."""
    db = sqlite3.connect(Path(data, "ledger.sqlite3").resolve().as_uri() + "?mode=ro", uri=True)
    loads = orjson.loads
    n = 0
    column = "CAST(data AS BLOB)" if how == "as_replay" else "data"
    start = time.perf_counter()
    cur = db.execute(f"SELECT seq, v, type, at, {column} FROM events ORDER BY seq")
    if how == "fetchmany":
        while rows := cur.fetchmany(4096):
            for row in rows:
                loads(row[4])
            n += len(rows)
    else:
        for row in cur:
            loads(row[4])
            n += 1
    elapsed = time.perf_counter() - start
    db.close()
    return n, elapsed


def replay_child(data: str, rounds: int) -> None:
    """Runs in a fresh process so its peak RSS is the replay's alone. The bare reads and the replay take turns,
    `rounds` times, and the fastest of each counts: all see the same page cache, and a moment of load on a shared
    machine does not land on one figure only."""
    cfg = load_config(CONFIG)
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=cfg.hall.tz), cfg.hall.tz)
    bare: dict[str, list[float]] = {how: [] for how in READERS}
    full: list[float] = []
    full_cpu: list[float] = []
    for _ in range(rounds):
        for how, times in bare.items():
            n, seconds = bare_read(data, how)
            times.append(seconds)
        ledger = Ledger(data)
        engine = QueueEngine(cfg, clock)
        start = time.perf_counter()
        cpu = time.process_time()
        replayed = replay(engine, ledger)
        full_cpu.append(time.process_time() - cpu)
        full.append(time.perf_counter() - start)
        ledger.close()
        if replayed != n:
            raise BenchmarkFailed(f"replay applied {replayed} events, the bare read found {n}")
    state = engine.state.to_dict()
    ledger = Ledger(data)
    ledger.save_snapshot(engine.state.seq, "bench", state)
    ledger.close()
    start = time.perf_counter()
    core = HallCore(cfg, data, clock)
    from_snapshot = time.perf_counter() - start
    same = core.state.to_dict() == state
    core.close()
    if not same:
        raise BenchmarkFailed("the state restored from the snapshot is not the replayed state")
    print(json.dumps({"events": replayed, "full_replay_s": min(full), "full_replay_cpu_s": min(full_cpu),
                      "bare_s": {how: min(times) for how, times in bare.items()},
                      "restart_from_snapshot_s": from_snapshot, "same_state": same, "peak_rss_mb": peak_rss_mb()}))


def child(*args: str) -> dict:
    """Runs this script in a fresh process; its failure (with its stderr) is this run's failure."""
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise BenchmarkFailed(f"{' '.join(args)}: exit {out.returncode}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000, help="ledger events to replay")
    ap.add_argument("--commands", type=int, default=20_000, help="durable commands through the ledger")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--engine-commands", type=int, default=100_000, help="commands through the engine in memory")
    ap.add_argument("--backlogs", type=int, nargs=2, default=[300, 5000], help="a short and a long queue")
    ap.add_argument("--per-backlog", type=int, default=2000, help="issues and calls timed at each queue length")
    ap.add_argument("--rounds", type=int, default=2, help="replays, each after the bare reads; the fastest counts")
    ap.add_argument("--replay-child")
    args = parse_args(ap, events=5000, commands=320, engine_commands=2000, backlogs=[30, 300], per_backlog=200,
                      rounds=1)
    if args.replay_child:
        replay_child(args.replay_child, args.rounds)
        return
    cfg = load_config(CONFIG)
    with tempfile.TemporaryDirectory(prefix="bench-core-", dir=ROOT) as tmpdir:
        tmp = Path(tmpdir)
        engine_rate = figure(bench_engine(cfg, args.engine_commands), "engine")
        print(f"engine, in memory:            {engine_rate:>10,.0f} commands/s")
        few, many = args.backlogs
        small, large = bench_by_queue_length(cfg, few, args.per_backlog), bench_by_queue_length(cfg, many,
                                                                                                 args.per_backlog)
        print(f"issue     with {few:5,} / {many:5,} waiting: {small[0]:7.1f} / {large[0]:7.1f} µs   "
              f"ratio {figure(large[0] / small[0], 'issue ratio'):.2f} (target <= 1.5)")
        print(f"call_next with {few:5,} / {many:5,} waiting: {small[1]:7.1f} / {large[1]:7.1f} µs   "
              f"ratio {figure(large[1] / small[1], 'call_next ratio'):.2f} (target <= 1.5)")
        n = args.commands
        durable = bench_durable(cfg, n, args.batch, tmp)
        # ~ the size of one event row as the ledger stores it
        bare = bench_bare_sqlite(n, args.batch, tmp, row_bytes=250)
        bare_one = bench_bare_sqlite(min(n, 2000), 1, tmp, row_bytes=250)
        print(f"durable via ledger (batch {args.batch}): {durable:>10,.0f} commands/s")
        print(f"bare SQLite, batch {args.batch}:        {bare:>10,.0f} rows/s  (WAL, synchronous=FULL)")
        print(f"bare SQLite, commit per row:  {bare_one:>10,.0f} rows/s")
        print(f"ratio durable / bare per-row: {figure(durable / bare_one, 'durable ratio'):>10.2f}   (target >= 0.5)")
        print(f"ratio durable / bare batched: {durable / bare:>10.2f}   (engine + validation bound)")
        data = tmp / "replay"
        written, fill_s = fill_ledger(cfg, data, args.events)
        print(f"ledger filled with {written:,} events of simulated days in {fill_s:.1f} s")
        r = child("--replay-child", str(data), "--rounds", str(args.rounds))
        full = figure(r["full_replay_s"], "full replay")
        print(f"full replay of {r['events']:,} events:  {full:>8.2f} s   (target <= 5 s and <= 1.5 x bare; "
              f"{r['full_replay_cpu_s']:.2f} s CPU; fastest of {args.rounds})")
        for how, label in READERS.items():
            bare_s = figure(r["bare_s"][how], f"bare read, {how}")
            print(f"  bare read + decode, {label + ':':<54} {bare_s:6.2f} s   replay / bare {full / bare_s:.2f}")
        print(f"restart from snapshot:        {r['restart_from_snapshot_s']:>8.3f} s   same state: {r['same_state']}")
        print(f"peak RSS of the replaying process: {r['peak_rss_mb']:.0f} MB   (target < 150 MB)")
        print(f"peak RSS of this process:     {peak_rss_mb():>8.0f} MB")


if __name__ == "__main__":
    main()
