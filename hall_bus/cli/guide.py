"""`hallctl guide search|show|events` — the kiosk's guide (数字政务指南针) from a terminal, on the hall's
catalogue — and `hallctl catalogue check FILE`, which validates a catalogue file like `hallctl config check`.

Both groups live here because they are one job (the catalogue as people read it); `hallctl config check` also
checks the catalogue its hall names, against the hall's services."""

from __future__ import annotations

import argparse
import difflib
import unicodedata

from hall_bus.catalogue.guide import SLIP_COLUMNS, bundle_lines, guide_lines, short_guide
from hall_bus.catalogue.load import load_catalogue
from hall_bus.catalogue.model import Catalogue
from hall_bus.catalogue.search import GuideIndex, life_events
from hall_bus.config import load_config
from hall_bus.errors import UserError


def _catalogue(args: argparse.Namespace) -> Catalogue:
    cfg = load_config(args.config)
    if cfg.catalogue is None:
        raise UserError(f"{args.config}: the hall names no catalogue; add catalogue = \"catalogue.toml\" to [hall]")
    return cfg.catalogue


def _pad(text: str, width: int) -> str:
    """Left-aligned in a terminal column: a Chinese character takes two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
    return text + " " * max(1, width - used)


def _search(args: argparse.Namespace) -> int:
    cat = _catalogue(args)
    query = " ".join(args.words)
    hits = GuideIndex(cat).search(query, limit=args.limit)
    if not hits:
        print(f"nothing in the catalogue matches {query!r}")
        return 1
    for hit in hits:
        if hit.kind == "bundle":
            bundle = next(b for b in cat.bundles if b.code == hit.code)
            cells = (hit.code, hit.name, f"一件事（{bundle.life_event}）", f"{len(bundle.items)} 个事项", "", "")
        else:
            item = cat.item(hit.code)
            visits = "网办" if item.visits == 0 else f"跑 {item.visits} 次"
            cells = (item.code, item.name, item.department, item.promised_limit.words(), item.fee.amount, visits)
        widths = (20, 36, 28, 14, 12)
        print("".join(_pad(c, w) for c, w in zip(cells, widths, strict=False)) + cells[-1])
    return 0


def _show(args: argparse.Namespace) -> int:
    cat = _catalogue(args)
    bundles = {b.code: b for b in cat.bundles}
    if args.code in bundles:
        lines = bundle_lines(cat, bundles[args.code])
    elif args.code in cat.by_code:
        item = cat.item(args.code)
        lines = short_guide(item, SLIP_COLUMNS[args.slip]) if args.slip else guide_lines(item)
    else:
        close = difflib.get_close_matches(args.code, [*cat.by_code, *bundles], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else " (hallctl guide search WORDS finds codes)"
        raise UserError(f"no catalogue item or bundle {args.code!r}{hint}")
    print("\n".join(lines))
    return 0


def _events(args: argparse.Namespace) -> int:
    cat = _catalogue(args)
    for event, bundles in life_events(cat).items():
        print(event)
        for b in bundles:
            names = "、".join(cat.item(c).name for c in b.items)
            print(f"  {b.code}  {b.name}：{names}")
    return 0


def _check(args: argparse.Namespace) -> int:
    hall = load_config(args.config) if args.config else None
    cat = load_catalogue(args.file, hall=hall)
    majors = sum(1 for i in cat.items if i.major)
    print(f"ok: {cat.county}: {len(cat.items)} items ({majors} 重大事项), {len(cat.bundles)} 一件事 bundles"
          + (f"; every item's service is one of {hall.hall.name}'s" if hall else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    guide = sub.add_parser("guide", help="the service guide (办事指南): search the catalogue, show an item")
    guide_sub = guide.add_subparsers(dest="guide_command", required=True, metavar="ACTION")
    search = guide_sub.add_parser("search", help="items and 一件事 matching words, pinyin or initials")
    search.add_argument("words", nargs="+", help="e.g. 社保卡, yibao, yi bao, yb")
    search.add_argument("--limit", type=int, default=20)
    show = guide_sub.add_parser("show", help="one item's guide (or a 一件事's merged materials)")
    show.add_argument("code", help="实施编码 or bundle code (from guide search)")
    show.add_argument("--slip", type=int, choices=sorted(SLIP_COLUMNS),
                      help="the short guide (简版指南) as printed on a 58 or 80 mm slip")
    events = guide_sub.add_parser("events", help="一件事 bundles by life event")
    for p in (search, show, events):
        p.add_argument("--config", required=True, help="the hall file; its [hall] catalogue is used")
    search.set_defaults(handler=_search)
    show.set_defaults(handler=_show)
    events.set_defaults(handler=_events)

    catalogue = sub.add_parser("catalogue", help="catalogue (事项目录) files")
    catalogue_sub = catalogue.add_subparsers(dest="catalogue_command", required=True, metavar="ACTION")
    check = catalogue_sub.add_parser("check", help="validate a catalogue file; prints ok or one line per error")
    check.add_argument("file")
    check.add_argument("--config", help="also check it against this hall's services and windows")
    check.set_defaults(handler=_check)
