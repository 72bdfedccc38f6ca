"""`hallctl bookings`: a day's 预约 as a table in the terminal, for the supervisor's morning check (who is
coming when, by which channel, what is still only held, who is going to whose home).

Read from the ledger like `hallctl report` (read-only, no server). Names and phones are masked unless
`--unmasked`, which needs the admin's key, exactly as the report's.
"""

from __future__ import annotations

import argparse
import unicodedata

from hall_bus.config import load_config

COLUMNS = (("时间", 12), ("预约号", 17), ("事项", 26), ("渠道", 7), ("状态", 24), ("姓名", 8))


def _pad(text: str, width: int) -> str:
    """Left-aligned in a terminal column: a Chinese character takes two columns; too long, it is cut."""
    out, used = "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > width - 1:
            out += "…"
            used += 1
            break
        out, used = out + ch, used + w
    return out + " " * max(1, width - used)


def _list(args: argparse.Namespace) -> int:
    from hall_bus.cli.report import check_admin, parse_day
    from hall_bus.domain import state as s
    from hall_bus.reports.booking_ledger import read_bookings
    from hall_bus.reports.bookings import BOOKING_CHANNELS, session_words, status_words
    from hall_bus.reports.labels import Labels

    day = parse_day(args.date, "--date")
    cfg = load_config(args.config)
    if args.unmasked:
        check_admin(cfg, args.keys, args.node)
    labels = Labels(cfg, masked=not args.unmasked)
    found = read_bookings(cfg, args.data, day, day)
    if not found.rows:
        print(f"{day}: no bookings")
        return 0
    print("".join(_pad(t, w) for t, w in COLUMNS) + "电话")
    for b in found.rows:
        when = f"{b.start[11:16]}-{b.end[11:16]}"
        item = b.item_name + ("（上门）" if b.home_visit else "") + (f"（{session_words(b)}）" if session_words(b)
                                                                     else "")
        status = status_words(b)
        if b.ticket:
            status += f" {b.ticket}"
        if b.home_visit and b.confirmed and b.status not in (s.BOOKING_CANCELLED, s.BOOKING_EXPIRED):
            status += " " + ("、".join(found.name_of(h) for h in b.helpers) if b.helpers else "未派人")
        cells = (when, b.code, item, BOOKING_CHANNELS.get(b.channel, b.channel), status, labels.name(b.name))
        print("".join(_pad(v, w) for v, (_, w) in zip(cells, COLUMNS, strict=True)) + labels.phone(b.phone))
    waiting = sum(b.status == s.BOOKED for b in found.rows)
    held = sum(b.status == s.HELD for b in found.rows)
    print(f"{len(found.rows)} bookings on {day}: {waiting} confirmed and not yet here, {held} only held")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bk = sub.add_parser("bookings", help="a day's bookings (预约) as a table, from the ledger")
    bk.add_argument("--config", required=True, help="hall TOML file")
    bk.add_argument("--data", required=True, help="the hall server's data directory (its ledger is read only)")
    bk.add_argument("--date", required=True, metavar="DATE", help="the day booked for, YYYY-MM-DD")
    bk.add_argument("--unmasked", action="store_true", help="show visitors' names and phones (admin key needed)")
    bk.add_argument("--keys", default="data/keys", help="key directory, for --unmasked (default data/keys)")
    bk.add_argument("--node", default="admin", help="the admin node whose key --unmasked checks (default admin)")
    bk.set_defaults(handler=_list)
