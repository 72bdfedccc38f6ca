"""The kiosk guide's search per keystroke over a county-sized catalogue, beside a bare substring scan of the same
names in the same run.

Run: .venv/bin/python benchmarks/bench_guide.py [--items 2000] [--rounds 20] [--tiny]

The 2,000 items are the example catalogue's items with their names varied (「（变更）」, 「（跨省通办）」 …) and
codes made unique; their keywords are kept. Each query is typed character by character — Chinese, full pinyin,
initials, a many-reading reading — and every prefix is one keystroke: GuideIndex.search(prefix, limit=20). The
bare baseline is `[n for n in names if prefix in n]`, the least any search of the names must do (it finds no
pinyin, ranks nothing). A keystroke that finds nothing where the full query should find something ends the run.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

from _common import BenchmarkFailed, figure, figures, parse_args

from hall_bus.catalogue.load import load_catalogue
from hall_bus.catalogue.model import Bundle, Catalogue
from hall_bus.catalogue.search import GuideIndex, char_readings
from hall_bus.stats import percentile

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "catalogue.example.toml"
VARIANTS = ["", "（变更）", "（注销）", "（延续）", "（补证）", "（换证）", "（网上申请）", "（窗口申请）", "（个人）",
            "（单位）", "（县内）", "（跨省通办）", "（省内通办）", "（首次）", "（告知承诺制）", "（容缺受理）",
            "（镇级代收）", "（村级代办）", "（预约上门）", "（特殊群体）", "（老年人）", "（残疾人）", "（外籍人员）",
            "（港澳台居民）", "（退役军人）", "（农村居民）", "（城镇居民）", "（新设）", "（迁入）", "（迁出）",
            "（补正）", "（撤回）", "（查询）", "（证明开具）", "（资格确认）", "（待遇调整）", "（信息变更）",
            "（暂停）", "（恢复）", "（终止）"]
QUERIES = ["医保报销", "社会保障卡", "居民身份证", "公积金提取", "不动产", "结婚登记", "营业执照",
           "yibaobaoxiao", "shebaoka", "gongjijintiqu", "jiehundengji", "chongdaxiangmu", "zhongdaxiangmu",
           "chongducanjiren", "ybbx", "sfz", "gjjtq", "sbk", "hukouqianyi", "tuixiu"]


def county(items: int) -> Catalogue:
    """`items` items made from the example's, each name varied by a suffix, each code unique."""
    base = load_catalogue(EXAMPLE)
    made = []
    for n in range(items):
        src = base.items[n % len(base.items)]
        suffix = VARIANTS[(n // len(base.items)) % len(VARIANTS)]
        round_ = n // (len(base.items) * len(VARIANTS))
        made.append(src.model_copy(update={"code": f"{src.code}-{n:05d}",
                                           "name": src.name + suffix + (f"（{round_}）" if round_ else "")}))
    bundles = [Bundle(code=f"B-{n:04d}", name=b.name, items=[made[0].code, made[1].code], life_event=b.life_event)
               for n, b in enumerate(base.bundles)]
    return Catalogue(county=base.county, items=made, bundles=bundles)


def keystrokes(queries: list[str]) -> list[str]:
    return [q[:n] for q in queries for n in range(1, len(q) + 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=20, help="times each query is typed")
    args = parse_args(ap, items=200, rounds=1)

    cat = county(args.items)
    char_readings("中")  # pypinyin's dictionaries load once per process, not per index
    t0 = time.perf_counter()
    index = GuideIndex(cat)
    build = time.perf_counter() - t0
    tracemalloc.start()  # a second build, measured for its size (tracemalloc slows it down)
    sized = GuideIndex(cat)
    index_mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    del sized
    names = [i.name for i in cat.items] + [b.name for b in cat.bundles]
    keys = keystrokes(QUERIES)

    for q in QUERIES:  # the measurement is of a search that works
        if not index.search(q):
            raise BenchmarkFailed(f"{q!r} finds nothing among {len(index)} entries")

    search_ms: list[float] = []
    bare_ms: list[float] = []
    hits = 0
    for _ in range(args.rounds):
        for k in keys:
            t = time.perf_counter()
            found = index.search(k, limit=20)
            search_ms.append((time.perf_counter() - t) * 1000)
            hits += len(found)
            t = time.perf_counter()
            bare = [n for n in names if k in n]
            bare_ms.append((time.perf_counter() - t) * 1000)
            if k in names[0] and not bare:
                raise BenchmarkFailed(f"the bare scan missed {k!r}")
    search_ms = figures(search_ms, "guide search per keystroke")
    bare_ms = figures(bare_ms, "bare substring scan")
    p99, base99 = percentile(search_ms, 99), percentile(bare_ms, 99)
    print(f"catalogue: {len(index)} entries ({args.items} items), index built in {figure(build, 'build'):.2f} s, "
          f"{figure(index_mb, 'index size'):.1f} MB (tracemalloc; pypinyin's own dictionaries not counted)")
    print(f"keystrokes: {len(keys)} per round × {args.rounds} rounds, {hits / len(search_ms):.1f} hits each on average")
    print(f"guide search per keystroke: p50 {percentile(search_ms, 50):.3f} ms, p99 {p99:.3f} ms, "
          f"max {max(search_ms):.3f} ms (target p99 ≤ 5 ms)")
    print(f"bare substring scan of the names: p50 {percentile(bare_ms, 50):.3f} ms, p99 {base99:.3f} ms")
    print(f"ratio search p99 / bare p99: {figure(p99 / base99, 'ratio'):.1f}")


if __name__ == "__main__":
    main()
