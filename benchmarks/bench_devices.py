"""Device figures: ID card read round trip, ticket bytes ready, document detection on an 8-megapixel frame.

Run: .venv/bin/python benchmarks/bench_devices.py [--reads 200] [--tickets 200] [--frames 20] [--tiny]
Each figure has its bare baseline beside it, measured in the same run: a 1,295-byte echo over the same pty
(what the serial link alone costs), and an OpenCV grey conversion of the same frame (what touching every
pixel once costs). Prints figures; a card not read, a page not found or an echo that never comes back ends the
run with a non-zero exit.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import threading
import time
import tty
from datetime import datetime

import cv2
from _common import BenchmarkFailed, figures, parse_args

from devices.camera.document import find_document, straighten
from devices.camera.simulator import document_photo
from devices.idcard.protocol import encode_response
from devices.idcard.reader import IdCardReader
from devices.idcard.simulator import IdCardSimulator, load_cards
from devices.link import SerialLink
from devices.printer.encoder import encode
from devices.printer.profile import get_profile
from devices.printer.ticket import Ticket, layout
from hall_bus.stats import percentile


def ms(values: list[float]) -> str:
    values = sorted(figures(values, "timing"))
    return (f"p50 {statistics.median(values) * 1000:7.3f} ms   p99 {percentile(values, 99) * 1000:7.3f}"
            f" ms   max {values[-1] * 1000:7.3f} ms")


def bench_idcard(n: int = 200) -> None:
    from pathlib import Path

    cards = load_cards(Path(__file__).resolve().parent.parent / "assets" / "idcard" / "cards.example.json")
    with IdCardSimulator(cards) as sim:
        sim.insert(0)
        reader = IdCardReader(SerialLink(sim.path, 115200), timeout=2)
        reader.read()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            card = reader.read()
            times.append(time.perf_counter() - t)
            if card is None:
                raise BenchmarkFailed("ID card: the inserted card was not read")
        reader.close()
    print(f"ID card find+select+read (3 exchanges, 1,295-byte answer) over a pty: {ms(times)}")

    # Baseline: the same link, one 1,295-byte answer to one 10-byte request, no protocol work at all.
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    answer = encode_response(0x90, bytes(1288 - 4))
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            if select.select([master], [], [], 0.05)[0]:
                os.read(master, 64)
                os.write(master, answer)

    th = threading.Thread(target=echo, daemon=True)
    th.start()
    link = SerialLink(os.ttyname(slave), 115200)
    base = []
    for _ in range(n):
        t = time.perf_counter()
        link.write(b"\xaa" * 10)
        got = b""
        while len(got) < len(answer):
            chunk = link.read(4096, 1.0)
            if not chunk:
                raise BenchmarkFailed(f"pty echo: {len(got)} of {len(answer)} bytes came back")
            got += chunk
        base.append(time.perf_counter() - t)
    stop.set()
    th.join()
    link.close()
    os.close(master)
    os.close(slave)
    print(f"  baseline: bare 10-byte request → 1,295-byte answer on a pty:        {ms(base)}")
    print("  (a real reader at 115200 baud needs ≥ 112 ms just to send 1,295 bytes; the card's own read is"
          " ~0.5-1 s)")


def bench_ticket(n: int = 200) -> None:
    t = Ticket(hall="平安县政务服务中心", number="E007", service="医保", group_label="陪同办",
               ticket_id="20261123-E007", issued_at=datetime(2026, 11, 23, 9, 5), ahead=3, wait_min=18,
               name="张秀英", window_hint="请到帮办代办专区等候")
    for profile in ("xprinter-80", "generic-80"):
        p = get_profile(profile)
        encode(layout(t), p)  # warm the font and QR caches as a running kiosk has them
        times = []
        size = 0
        for _ in range(n):
            start = time.perf_counter()
            size = len(encode(layout(t), p))
            times.append(time.perf_counter() - start)
        qr = "native QR" if p.native_qr else "raster QR"
        print(f"ticket layout+encode, {profile} ({qr}, {size:,} bytes): {ms(times)}   target < 30 ms")
    base = []
    for _ in range(n):
        start = time.perf_counter()
        ("平安县政务服务中心 E007 医保 陪同办 前面还有 3 人" * 4).encode("gb18030")
        base.append(time.perf_counter() - start)
    print(f"  baseline: GB18030-encode the ticket's text alone:                     {ms(base)}")


def bench_detect(n: int = 20) -> None:
    cv2.setNumThreads(1)  # the target is per core
    photo, truth = document_photo(3264, 2448, seed=3)
    times, errors, warp = [], [], []
    for _ in range(n):
        start = time.perf_counter()
        corners = find_document(photo)
        times.append(time.perf_counter() - start)
        if corners is None:
            raise BenchmarkFailed("document detection found no page")
        errors.append(float(abs(corners - truth).max()))
        start = time.perf_counter()
        straighten(photo, corners)
        warp.append(time.perf_counter() - start)
    base = []
    for _ in range(n):
        start = time.perf_counter()
        cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
        base.append(time.perf_counter() - start)
    print(f"document detection on 3264×2448 (one thread): {ms(times)}   target < 150 ms;"
          f" corner error ≤ {max(errors):.2f} px")
    print(f"  straighten to the page at full resolution:  {ms(warp)}")
    print(f"  baseline: grey conversion of the same frame: {ms(base)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=200, help="ID card reads, and pty echoes")
    ap.add_argument("--tickets", type=int, default=200, help="tickets laid out and encoded per profile")
    ap.add_argument("--frames", type=int, default=20, help="8-megapixel frames searched for the page")
    args = parse_args(ap, reads=5, tickets=5, frames=2)
    bench_idcard(args.reads)
    bench_ticket(args.tickets)
    bench_detect(args.frames)


if __name__ == "__main__":
    main()
