"""A county ledger to look at: the 平安县 example's 14 sites, a simulated day at the county centre, a handful of
events at the other sites, hand-overs in every state, one site silent for 30 hours and one never seen.

Why through `migrate` and `store_batch`: the dashboard must read what the hub really writes (its columns, its
hand-over timings, its deliveries), not rows a test made up in the shape it expects. Only what the hub learns
from a site's calls rather than from its events (when it last called, how far its own ledger is) is set by
hand, relative to the test's fixed "now".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg

from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig
from hall_bus.county.ingest import Shipped, escalate_late, store_batch
from hall_bus.county.schema import migrate
from hall_bus.sim.daysim import DayPlan, run_day
from hall_bus.store.core import HallCore
from hall_bus.store.ledger import Ledger

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 18, 45, tzinfo=TZ)  # the evening of the simulated day
ACCEPT_HOURS = 24.0

SITES: list[tuple[str, str, str, str | None]] = [
    ("PA", "平安县政务服务中心", "county", None),
    ("PAT01", "城关镇便民服务中心", "town", "PA"),
    ("PAT02", "河口镇便民服务中心", "town", "PA"),
    ("PAT03", "石门乡便民服务中心", "town", "PA"),
    ("PAT01V01", "东关村便民服务站", "village", "PAT01"),
    ("PAT01V02", "西关村便民服务站", "village", "PAT01"),
    ("PAT01V03", "南园社区便民服务站", "village", "PAT01"),
    ("PAT02V01", "河口村便民服务站", "village", "PAT02"),
    ("PAT02V02", "柳树湾村便民服务站", "village", "PAT02"),
    ("PAT02V03", "新渡村便民服务站", "village", "PAT02"),
    ("PAT03V01", "石门村便民服务站", "village", "PAT03"),
    ("PAT03V02", "上坪村便民服务站", "village", "PAT03"),
    ("PAP01", "平安农商银行城关支行", "partner", "PAT01"),
    ("PAP02", "河口镇邮政支局", "partner", "PAT02"),
]
LEVELS = {code: level for code, _, level, _ in SITES}
NAMES = {code: name for code, name, _, _ in SITES}
SILENT = "PAT02"  # last event and last call 30 hours ago
NEVER = "PAT03V02"  # enrolled, never called
OFFLINE = "PAP02"  # called two hours ago: offline, not silent
BACKLOG = {"PAT01V01": 12, SILENT: 40}  # events the site holds that the county does not
# Personal data put in the events on purpose: none of it may appear on the page or in the JSON.
APPLICANT, ID_NUMBER, PHONE = "欧阳明华", "110105198802173316", "13912345678"
COMPLAINANT, COMPLAINANT_PHONE = "司马光明", "13800138000"
PERSONAL_KEYS = ("applicant", "id_number", "phone", "name", "complainant", "principal", "contact", "collector",
                 "collector_id")


def at(day_offset: int, hh: int, mm: int) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ) + timedelta(days=day_offset)


def simulate_day(cfg: HallConfig, data: Path, visitors: int = 200) -> list[Shipped]:
    """The county centre's day, as `hallctl simulate --day` makes it, read back from its ledger as it ships."""
    plan = DayPlan(visitors=visitors, helpers=6, seed=3, day=NOW.date())
    clock = ManualClock(datetime.combine(plan.day, plan.open_at, cfg.hall.tz), cfg.hall.tz)
    core = HallCore(cfg, data, clock)
    sink: list[dict[str, Any]] = []

    def submit(cmd: Any) -> dict[str, Any]:
        answer = core.submit(cmd)
        sink.extend(answer.get("events", []))
        return answer

    try:
        run_day(cfg, plan, submit=submit, clock=clock, sink=sink, state=lambda: core.state)
    finally:
        core.close()
    ledger = Ledger(data)
    try:
        return [Shipped(seq, kind, when, data.decode()) for seq, _v, kind, when, data in ledger.raw_events()]
    finally:
        ledger.close()


def hid(case: str, to: str, n: int = 1) -> str:
    return f"{case}>{to}#{n}"


def _case(site: str, day_offset: int, n: int) -> str:
    return f"{site}-{at(day_offset, 0, 0):%Y%m%d}-{n:04d}"


@dataclass
class Plan:
    """Each site's events as (type, at, data), in the order its ledger would hold them."""

    events: dict[str, list[tuple[str, datetime, dict[str, Any]]]] = field(default_factory=dict)

    def add(self, site: str, kind: str, when: datetime, **data: Any) -> None:
        self.events.setdefault(site, []).append((kind, when, data))

    def hand_over(self, case: str, src: str, dst: str, sent: datetime, n: int = 1) -> str:
        h = hid(case, dst, n)
        self.add(src, "case_handed_over", sent, handover_id=h, case=case, to_site=dst, from_site=src, hop=1,
                 reason="需上级审批", applicant=APPLICANT, id_number=ID_NUMBER, phone=PHONE)
        return h


def _tickets(plan: Plan, site: str, when: datetime, n: int) -> None:
    for i in range(n):
        plan.add(site, "ticket_issued", when + timedelta(minutes=7 * i), ticket=f"{when:%Y%m%d}-A{i + 1:03d}",
                 number=f"A{i + 1:03d}", service="综合受理")


def site_plan() -> Plan:
    """The other thirteen sites' events, and the hand-overs between them (H1–H5, H8, H9 open; H6, H7 over)."""
    p = Plan()
    for code, _name, _level, _parent in SITES:
        if code in ("PA", NEVER):
            continue
        if code == SILENT:
            _tickets(p, code, at(-2, 9, 0), 3)
            p.add(code, "ticket_issued", NOW - timedelta(hours=30), ticket="20261122-A009", number="A009",
                  service="综合受理")
            continue
        _tickets(p, code, at(-1, 9, 0), 2)  # yesterday's: not today's figures
        if code == OFFLINE:
            _tickets(p, code, at(0, 9, 0), 3)
            p.add(code, "ticket_finished", NOW - timedelta(hours=2, minutes=10), ticket="20261123-A003")
            continue
        _tickets(p, code, at(0, 8, 40), 2 + sum(map(ord, code)) % 5)
    town = "PAT01"
    p.add(town, "case_accepted", at(0, 9, 30), case=_case(town, 0, 1), item="GF-379901-MZJ-003", case_kind="promised",
          applicant=APPLICANT, id_number=ID_NUMBER, phone=PHONE, owner="cg01", due=at(14, 17, 30).isoformat())
    p.add(town, "case_accepted", at(0, 10, 5), case=_case(town, 0, 2), item="GG-379901-YBJ-001", case_kind="immediate",
          applicant="皇甫秋云", id_number="379901199001011234", phone="13700001111", owner="cg01",
          due=at(0, 17, 30).isoformat())
    p.add(town, "case_concluded", at(0, 10, 40), case=_case(town, 0, 2), decision="approved", on_time=True)
    p.add(town, "case_concluded", at(0, 11, 0), case=_case(town, -9, 4), decision="approved", on_time=False)
    p.add(town, "rating_recorded", at(0, 10, 45), ticket="20261123-A001", level="满意")
    p.add(town, "case_rated", at(0, 11, 5), case=_case(town, 0, 2), level="不满意", followup_id="FU-000001")
    p.add(town, "complaint_registered", at(0, 11, 20), complaint_id="CP-000001", channel="hotline",
          complainant=COMPLAINANT, phone=COMPLAINANT_PHONE, text="窗口排队太久")
    p.add(town, "complaint_registered", at(-1, 15, 0), complaint_id="CP-000000", channel="window",
          complainant="令狐冲远", phone="13600002222", text="材料清单不清楚")
    p.add(town, "complaint_closed", at(0, 9, 10), complaint_id="CP-000000", reply="已当面解释")
    p.add(town, "consultation_opened", at(0, 9, 15), consultation_id="CS-000001", name="诸葛青云",
          contact="13500003333")
    p.add("PAP01", "rating_recorded", at(0, 11, 50), ticket="20261123-A002", level="非常满意")

    # H1 village → town, sent yesterday, received, never accepted: late, escalated by the hub.
    h1 = p.hand_over(_case("PAT01V01", -1, 1), "PAT01V01", "PAT01", at(-1, 9, 10))
    p.add("PAT01", "handover_received", at(-1, 9, 12), handover_id=h1, case=_case("PAT01V01", -1, 1))
    # H3 village → the silent town: not delivered, not yet due.
    p.hand_over(_case("PAT02V02", 0, 1), "PAT02V02", SILENT, at(0, 9, 0))
    # H5 village → town, declined this morning: 已退回 for the rest of the day.
    h5 = p.hand_over(_case("PAT03V01", 0, 1), "PAT03V01", "PAT03", at(0, 9, 30))
    p.add("PAT03", "handover_received", at(0, 9, 31), handover_id=h5, case=_case("PAT03V01", 0, 1))
    p.add("PAT03", "handover_declined", at(0, 10, 0), handover_id=h5, case=_case("PAT03V01", 0, 1),
          from_site="PAT03V01", reason="不属本级事权")
    # H4 partner → town: received and accepted, not started: 已接收.
    h4 = p.hand_over(_case("PAP01", 0, 1), "PAP01", "PAT01", at(0, 11, 30))
    p.add("PAT01", "handover_received", at(0, 11, 31), handover_id=h4, case=_case("PAP01", 0, 1))
    p.add("PAT01", "handover_accepted", at(0, 11, 40), handover_id=h4, case=_case("PAP01", 0, 1))
    # H8 village → town, accepted and handed on to the county centre (H9, in its inbox): 办理中 and 待接收.
    chain = _case("PAT01V03", 0, 1)
    h8 = p.hand_over(chain, "PAT01V03", town, at(0, 11, 45))
    p.add(town, "handover_received", at(0, 11, 46), handover_id=h8, case=chain)
    p.add(town, "handover_accepted", at(0, 11, 55), handover_id=h8, case=chain)
    p.hand_over(chain, town, "PA", at(0, 12, 30), n=2)
    # H2 town → county centre: accepted and worked on there (PA's events below): 办理中.
    p.hand_over(_case(town, 0, 1), town, "PA", at(0, 17, 50))
    # H6: over (the result went back and arrived); H7: declined the day before yesterday.
    h6 = p.hand_over(_case("PAT01V02", -3, 1), "PAT01V02", "PAT01", at(-3, 10, 0))
    p.add("PAT01", "handover_received", at(-3, 10, 1), handover_id=h6, case=_case("PAT01V02", -3, 1))
    p.add("PAT01", "handover_accepted", at(-3, 10, 30), handover_id=h6, case=_case("PAT01V02", -3, 1))
    p.add("PAT01", "case_result_returned", at(-2, 16, 0), handover_id=h6, case=_case("PAT01V02", -3, 1),
          from_site="PAT01V02")
    p.add("PAT01V02", "handover_result_received", at(-2, 16, 2), handover_id=h6, case=_case("PAT01V02", -3, 1))
    h7 = p.hand_over(_case("PAT03V01", -2, 1), "PAT03V01", "PAT03", at(-2, 9, 0))
    p.add("PAT03", "handover_declined", at(-2, 9, 40), handover_id=h7, case=_case("PAT03V01", -2, 1),
          from_site="PAT03V01", reason="材料不全")
    for events in p.events.values():
        events.sort(key=lambda e: e[1])
    return p


def county_centre_extra(after: datetime) -> list[tuple[str, datetime, dict[str, Any]]]:
    """H9's reception, and H2's reception, acceptance and first step at the county centre, after its simulated
    day's last event."""
    case, chain = _case("PAT01", 0, 1), _case("PAT01V03", 0, 1)
    h2 = hid(case, "PA")
    t = max(after, at(0, 18, 38))
    return [("handover_received", t + timedelta(seconds=30), {"handover_id": hid(chain, "PA", 2), "case": chain}),
            ("handover_received", t + timedelta(minutes=1), {"handover_id": h2, "case": case}),
            ("handover_accepted", t + timedelta(minutes=2), {"handover_id": h2, "case": case}),
            ("case_step_assigned", t + timedelta(minutes=3), {"case": case, "step": 1, "by": "ln03"})]


def outgoing(kind: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """What travels, as the hall's handover module says: the case to its new site, a refusal or a result back."""
    if kind == "case_handed_over":
        return data["to_site"], {"kind": kind, "case": data["case"]}
    if kind in ("handover_declined", "case_result_returned"):
        return data["from_site"], {"kind": kind, "case": data["case"]}
    return None


def shipped(events: Iterable[tuple[str, datetime, dict[str, Any]]], first_seq: int = 1) -> list[Shipped]:
    return [Shipped(first_seq + i, kind, when.isoformat(timespec="milliseconds"), orjson.dumps(data).decode())
            for i, (kind, when, data) in enumerate(events)]


def fill(dsn: str, centre: list[Shipped]) -> dict[str, list[Shipped]]:
    """The county database as the hub would have it at NOW; every site's shipped events, for counting."""
    plan = site_plan()
    last = datetime.fromisoformat(centre[-1].at)
    per_site = {"PA": centre + shipped(county_centre_extra(last), centre[-1].seq + 1)}
    per_site |= {site: shipped(events) for site, events in plan.events.items()}
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn, SITES)
        for site, batch in batches(per_site):
            stored = store_batch(conn, site, batch, accept_hours=ACCEPT_HOURS, levels=LEVELS, outgoing=outgoing)
            assert (stored.stored, stored.gap) == (len(batch), False), f"{site}: {stored}"
        escalate_late(conn, NOW)  # H1 is past its accept-by: the hub's escalation marks it
        _calls(conn)
    return per_site


def batches(per_site: dict[str, list[Shipped]], most: int = 500) -> Iterator[tuple[str, list[Shipped]]]:
    """The sites' events in the order they happened across the county, each site's run of them one batch: a
    hand-over reaches the hub before the receiving site can say it received it, as it does for real."""
    merged = sorted(((datetime.fromisoformat(e.at), site, e) for site, events in per_site.items() for e in events),
                    key=lambda x: (x[0], x[2].seq))
    for site, run in groupby(merged, key=lambda x: x[1]):
        events = [e for _when, _site, e in run]
        for i in range(0, len(events), most):
            yield site, events[i:i + most]


def _calls(conn: psycopg.Connection) -> None:
    """What the sites' calls told the hub: when each last called, its own last sequence, what it fetched."""
    with conn.cursor() as cur:
        for code, *_ in SITES:
            if code == NEVER:
                continue
            seen = {SILENT: NOW - timedelta(hours=30), OFFLINE: NOW - timedelta(hours=2)}.get(
                code, NOW - timedelta(seconds=4))
            cur.execute("UPDATE county.sites SET last_seen = %s, site_seq = high_water + %s, inbox_acked = "
                        "CASE WHEN %s THEN inbox_acked ELSE (SELECT coalesce(max(id), 0) FROM county.deliveries "
                        "WHERE to_site = %s) END WHERE code = %s",
                        (seen, BACKLOG.get(code, 0), code == SILENT, code, code))


def personal_values(per_site: dict[str, list[Shipped]]) -> set[str]:
    """Every name, ID number and phone number in the events (two characters or more)."""
    found: set[str] = set()
    for events in per_site.values():
        for e in events:
            data = orjson.loads(e.data)
            found |= {str(data[k]) for k in PERSONAL_KEYS if isinstance(data.get(k), str) and len(data[k]) >= 2}
    return found
