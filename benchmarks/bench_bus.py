"""Hall bus figures: call→board latency under load, beside the bare ZeroMQ + fsync floor, with loss checks.

Run: .venv/bin/python benchmarks/bench_bus.py [--seconds 30] [--counters 200] [--kiosks 20] [--rate 100] [--tiny]

Three processes, so no one's event loop distorts another's timings: the hall server (`hallctl server`, CURVE on),
a load process (the counter and kiosk clients), and this process (the call board, which timestamps each call
it receives). Both clients use CLOCK_MONOTONIC, which is system-wide on Linux, so t(board) - t(counter sent)
is a true latency. Prints figures; a child that fails, a call with no latency, or a lost, duplicated or skipped
ticket or event ends the run with a non-zero exit (the figures are printed first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import zmq
import zmq.auth
from _common import BenchmarkFailed, figure, figures, parse_args, stop
from zmq.auth.thread import ThreadAuthenticator

from hall_bus.config import load_config
from hall_bus.domain.commands import AddStaff, CounterOp, Finish, Issue, SignIn
from hall_bus.domain.staff import hash_pin
from hall_bus.stats import percentile
from hall_bus.store.ledger import Ledger
from hall_bus.wire.client import HallClient
from hall_bus.wire.keys import KeyStore

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "hall.example.toml"
SERVICES = ["企业开办", "投资项目", "综合受理", "人社", "医保", "公安", "税务", "住房公积金", "婚姻登记", "司法",
            "不动产"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def big_hall(counters: int, kiosks: int, cmd_port: int, ev_port: int) -> str:
    """The example hall's rules with `counters` windows that all serve every service, and one node each."""
    # no catalogue: its items name the example's windows, and these are others
    text = EXAMPLE.read_text(encoding="utf-8").replace('catalogue = "catalogue.example.toml"', "")
    text = text.replace("command_port = 5555", f"command_port = {cmd_port}")
    text = text.replace("event_port = 5556", f"event_port = {ev_port}")
    head = text[: text.index("[[counters]]")]
    groups = text[text.index("# ---- 帮办代办分组"): text.index("# ---- 节点")]
    every = ", ".join(f'"{s}" = 1' for s in SERVICES)
    parts = [head]
    for n in range(1, counters + 1):
        zone = "assist" if n == 1 else "social"
        parts.append(f'[[counters]]\nnumber = {n}\nzone = "{zone}"\nservices = {{ {every} }}\n\n')
    parts.append(groups)
    for n in range(1, counters + 1):
        parts.append(f'[[nodes]]\nid = "counter-{n}"\nrole = "counter"\ncounter = {n}\n\n')
    for k in range(1, kiosks + 1):
        parts.append(f'[[nodes]]\nid = "kiosk-{k}"\nrole = "kiosk"\n\n')
    parts.append('[[nodes]]\nid = "board-1"\nrole = "board"\n\n[[nodes]]\nid = "admin"\nrole = "admin"\n')
    return "".join(parts)


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------------- the floor


def floor_round_trips(n: int, tmp: Path) -> list[float]:
    """Bare pyzmq DEALER/ROUTER with CURVE, the ROUTER doing one fsync'd SQLite insert+commit per message."""
    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    server_pub, server_sec = zmq.curve_keypair()
    client_pub, client_sec = zmq.curve_keypair()
    router = ctx.socket(zmq.ROUTER)
    router.curve_server, router.curve_secretkey, router.curve_publickey = True, server_sec, server_pub
    port = router.bind_to_random_port("tcp://127.0.0.1")
    db = sqlite3.connect(tmp / "floor.sqlite3", isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT)")

    def serve() -> None:
        for _ in range(n):
            ident, body = router.recv_multipart()
            db.execute("BEGIN")
            db.execute("INSERT INTO events (body) VALUES (?)", (body.decode(),))
            db.execute("COMMIT")
            router.send_multipart([ident, body])

    t = threading.Thread(target=serve)
    t.start()
    dealer = ctx.socket(zmq.DEALER)
    dealer.curve_secretkey, dealer.curve_publickey, dealer.curve_serverkey = client_sec, client_pub, server_pub
    dealer.connect(f"tcp://127.0.0.1:{port}")
    body = json.dumps({"op": "call_next", "counter": 5, "request_id": "x" * 32}).encode()
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        dealer.send(body)
        dealer.recv()
        out.append(time.monotonic() - t0)
    t.join()
    for s in (dealer, router):
        s.close(linger=0)
    auth.stop()
    ctx.term()
    db.close()
    return out


# ---------------------------------------------------------------------- load process


async def load(args: argparse.Namespace) -> None:
    import zmq.asyncio

    cfg = load_config(args.config)
    ctx = zmq.asyncio.Context()
    calls: list[tuple[str, float]] = []  # (ticket, t sent)
    issued: list[str] = []
    rng = random.Random(1)

    def client(node: str) -> HallClient:
        return HallClient.for_node(cfg, node, keys_dir=args.keys, subscribe=False, mirror=False,
                                   context=ctx)

    counters = [client(f"counter-{n}") for n in range(1, args.counters + 1)]
    kiosks = [client(f"kiosk-{k}") for k in range(1, args.kiosks + 1)]
    await asyncio.gather(*(c.start(timeout=60) for c in [*counters, *kiosks]))
    # Every tenth window is a counter panel with a clerk signed in (the rest are keypads, which sign nobody
    # in): the server checks and stamps the person on their commands, as in a real hall.
    admin = client("admin")
    await admin.start(timeout=60)
    pin_hash = hash_pin("2468")  # one hash for all: scrypt is slow on purpose, and not what is measured here
    panels = counters[::10]
    for c in panels:
        answer = await admin.send(AddStaff(staff=f"clerk-{c.node}", name="窗口", duties=["clerk"], pin_hash=pin_hash))
        if not answer["ok"]:
            raise BenchmarkFailed(f"roster: {answer}")
    for c in panels:
        answer = await c.send(SignIn(staff=f"clerk-{c.node}", pin="2468"), timeout=5.0)
        if not answer["ok"]:
            raise BenchmarkFailed(f"{c.node}: sign-in refused: {answer}")
    await admin.close()
    print("ready", flush=True)
    go = float(sys.stdin.readline())  # the orchestrator says when (monotonic), after the board is listening
    await asyncio.sleep(max(0.0, go - time.monotonic()))
    stop_at = time.monotonic() + args.seconds

    async def kiosk(c: HallClient, k: int) -> None:
        gap = args.kiosks / args.rate
        await asyncio.sleep(gap * k / args.kiosks)
        next_at = time.monotonic()
        i = 0
        while time.monotonic() < stop_at:
            answer = await c.send(Issue(service=SERVICES[(k + i) % len(SERVICES)], group="normal"))
            if not answer["ok"]:
                raise BenchmarkFailed(f"kiosk-{k}: issue refused: {answer}")
            issued.append(answer["result"]["ticket"])
            i += 1
            next_at += gap
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def counter(c: HallClient, n: int) -> None:
        await asyncio.sleep(rng.uniform(0, 1))
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            answer = await c.send(CounterOp(op="call_next", counter=n))
            if not answer["ok"]:
                await asyncio.sleep(rng.uniform(0.2, 0.6))
                continue
            ticket = answer["result"]["ticket"]
            calls.append((ticket, t0))
            await asyncio.sleep(rng.uniform(0.5, 2.5))  # serving
            answer = await c.send(Finish(counter=n, ticket=ticket))
            if not answer["ok"]:
                raise BenchmarkFailed(f"counter-{n}: finish refused: {answer}")

    await asyncio.gather(*(kiosk(c, k) for k, c in enumerate(kiosks)),
                         *(counter(c, n) for n, c in enumerate(counters, start=1)))
    await asyncio.gather(*(c.close() for c in [*counters, *kiosks]))
    ctx.term()
    Path(args.out).write_text(json.dumps({"calls": calls, "issued": issued}))


# ---------------------------------------------------------------------- orchestrator


async def board(cfg_path: Path, keys: Path, seconds: float, load_proc: subprocess.Popen[str]) -> dict[str, Any]:
    cfg = load_config(cfg_path)
    received: dict[str, float] = {}
    seqs: list[int] = []
    dup_calls = 0

    def on_event(ev: dict[str, Any]) -> None:
        nonlocal dup_calls
        seqs.append(ev["seq"])
        if ev["type"] == "ticket_called":
            t = ev["data"]["ticket"]
            if t in received:
                dup_calls += 1
            received[t] = time.monotonic()

    b = HallClient.for_node(cfg, "board-1", keys_dir=str(keys), on_event=on_event, mirror=False)
    await b.start(timeout=60)
    start_seq = b.seq
    assert load_proc.stdin is not None
    load_proc.stdin.write(f"{time.monotonic() + 0.5}\n")
    load_proc.stdin.flush()
    # the load is over when its process has written its figures and ended; then every event the server
    # numbered must reach the board (a bound, not a pause: a board that lags or loses events fails the run)
    deadline = time.monotonic() + seconds + 120
    while load_proc.poll() is None:
        if time.monotonic() > deadline:
            raise BenchmarkFailed("the load process did not finish")
        await asyncio.sleep(0.05)
    if load_proc.returncode != 0:
        raise BenchmarkFailed(f"the load process failed (exit {load_proc.returncode})")
    admin = HallClient.for_node(cfg, "admin", keys_dir=str(keys), subscribe=False, mirror=False)
    await admin.start(timeout=30)
    status = await admin.status()
    server_stats = status["stats"]
    await admin.close()
    deadline = time.monotonic() + 10
    while b.seq < status["seq"]:
        if time.monotonic() > deadline:
            raise BenchmarkFailed(f"the board stopped at event {b.seq} of {status['seq']}")
        await asyncio.sleep(0.01)
    result = {"server": server_stats, "received": received, "seqs": seqs, "start_seq": start_seq,
              "resyncs": b.resyncs - 1, "dup_calls": dup_calls, "last_seq": b.seq}
    await b.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--counters", type=int, default=200)
    ap.add_argument("--kiosks", type=int, default=20)
    ap.add_argument("--rate", type=float, default=100, help="tickets per second over all kiosks")
    ap.add_argument("--floor", type=int, default=3000, help="bare round trips measured before the load")
    ap.add_argument("--load", action="store_true")
    ap.add_argument("--config")
    ap.add_argument("--keys")
    ap.add_argument("--out")
    args = parse_args(ap, seconds=2, counters=4, kiosks=2, rate=10, floor=100)
    if args.load:
        asyncio.run(load(args))
        return

    with tempfile.TemporaryDirectory(prefix="bench-bus-", dir=ROOT) as tmpdir:
        tmp = Path(tmpdir)
        floor = floor_round_trips(args.floor, tmp)
        cmd_port, ev_port = free_port(), free_port()
        cfg_path = tmp / "hall.toml"
        cfg_path.write_text(big_hall(args.counters, args.kiosks, cmd_port, ev_port), encoding="utf-8")
        keys = KeyStore(tmp / "keys")
        keys.init()
        for n in range(1, args.counters + 1):
            keys.add(f"counter-{n}")
        for k in range(1, args.kiosks + 1):
            keys.add(f"kiosk-{k}")
        keys.add("board-1")
        keys.add("admin")
        profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
        server = subprocess.Popen([sys.executable, *profile, "-m", "hall_bus.cli", "server", "--config", str(cfg_path),
                                   "--data", str(tmp / "data"), "--keys", str(keys.dir)],
                                  stderr=subprocess.PIPE, text=True)
        load_proc: subprocess.Popen[str] | None = None
        try:
            assert server.stderr is not None
            while "commands on" not in server.stderr.readline():
                if server.poll() is not None:
                    raise BenchmarkFailed("server failed to start")
            threading.Thread(target=server.stderr.read, daemon=True).start()  # keep draining its log
            out = tmp / "load.json"
            load_proc = subprocess.Popen([sys.executable, __file__, "--load", "--config", str(cfg_path), "--keys",
                                          str(keys.dir), "--out", str(out), "--seconds", str(args.seconds),
                                          "--counters", str(args.counters), "--kiosks", str(args.kiosks), "--rate",
                                          str(args.rate)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert load_proc.stdout is not None
            if load_proc.stdout.readline().strip() != "ready":
                raise BenchmarkFailed("load process failed")
            b = asyncio.run(board(cfg_path, keys.dir, args.seconds, load_proc))
            server_rss = figure(vm_hwm_mb(server.pid), "server peak RSS")
        finally:
            stop(load_proc, server)
        data = json.loads(out.read_text())
        ledger = Ledger(tmp / "data")
        ledger_events = list(ledger.events())
        ledger.close()

    latencies = figures((b["received"][t] - t0 for t, t0 in data["calls"] if t in b["received"]), "call→board")
    floor = figures(floor, "floor")
    missing_calls = sum(1 for t, _ in data["calls"] if t not in b["received"])
    expected = list(range(b["start_seq"] + 1, b["last_seq"] + 1))
    seqs = b["seqs"]
    issued_ledger = [e["data"]["ticket"] for e in ledger_events if e["type"] == "ticket_issued"]
    called_ledger = [e["data"]["ticket"] for e in ledger_events if e["type"] == "ticket_called"]
    ms = 1000
    f50, f99 = percentile(floor, 50) * ms, percentile(floor, 99) * ms
    p50, p99 = percentile(latencies, 50) * ms, percentile(latencies, 99) * ms
    print(f"load: {args.counters} counters, {args.kiosks} kiosks, {args.rate:.0f} tickets/s for {args.seconds:.0f} s;"
          f" CURVE on")
    print(f"floor (DEALER/ROUTER + CURVE + fsync'd SQLite commit): p50 {f50:.2f} ms  p99 {f99:.2f} ms  "
          f"max {max(floor) * ms:.2f} ms  ({len(floor)} round trips)")
    print(f"call→board under load:  p50 {p50:.2f} ms  p99 {p99:.2f} ms  max {max(latencies) * ms:.2f} ms  "
          f"({len(latencies)} calls)   target p99 < 20 ms")
    print(f"ratio p99 / floor p99: {p99 / f99:.1f}   (target <= 10)")
    print(f"tickets acknowledged {len(data['issued'])}, in ledger {len(issued_ledger)}, "
          f"distinct {len(set(issued_ledger))}")
    print(f"calls acknowledged {len(data['calls'])}, seen on the board {len(latencies)}, missing {missing_calls}, "
          f"ticket called twice {len(called_ledger) - len(set(called_ledger))}")
    print(f"board events: received {len(seqs)}, expected {len(expected)}, duplicates {len(seqs) - len(set(seqs))}, "
          f"gaps {len(set(expected) - set(seqs))}, resyncs {b['resyncs']}")
    st = b["server"]
    print(f"server: {st['messages']} messages in {st['batches']} batches; handling a batch p50 "
          f"{st['batch_ms_p50']:.2f} ms, p99 {st['batch_ms_p99']:.2f} ms (receive → ledger fsync → publish → reply)")
    print(f"server peak RSS: {server_rss:.0f} MB")
    problems = {
        "acknowledged tickets not in the ledger": len(set(data["issued"]) - set(issued_ledger)),
        "tickets in the ledger twice": len(issued_ledger) - len(set(issued_ledger)),
        "acknowledged calls the board never saw": missing_calls,
        "tickets called twice": len(called_ledger) - len(set(called_ledger)) + b["dup_calls"],
        "duplicate board events": len(seqs) - len(set(seqs)),
        "board event gaps": len(set(expected) - set(seqs)),
    }
    if any(problems.values()):
        raise BenchmarkFailed("; ".join(f"{what}: {count}" for what, count in problems.items() if count))


if __name__ == "__main__":
    main()
