"""A simulated hall day, run through the real queue engine, to size counters and helpers.

The hall manager's question is "with K windows and H helpers open, how long do people wait, and how many
cases finish within the promised time?". The simulation generates visitors with a morning peak and the
configured service and group mix, lets counters call, recall, serve and finish, lets helpers claim help requests
(首问负责) and stay with the visitors they accompany, and reports per service and per group.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig
from hall_bus.domain.commands import parse_command
from hall_bus.domain.engine import CommandRejected, QueueEngine
from hall_bus.stats import percentile

# Share of the day's arrivals in each opening hour: a morning peak, a lunch dip, a smaller afternoon peak.
HOURLY_PROFILE: dict[int, float] = {9: 0.20, 10: 0.18, 11: 0.12, 12: 0.04, 13: 0.08, 14: 0.14, 15: 0.14, 16: 0.10}
NO_SHOW_RATE = 0.04  # visitors who leave before they are called
MATERIALS_MISSING_RATE = 0.10
REFUSED_RATE = 0.02
RATING_RATE = 0.7
RECALL_GAP_S = 30
WALK_S = 40  # from the call to the visitor sitting down at the window
GUIDE_MINUTES = 4  # 引导办: the helper walks the visitor to the right zone and fills forms with them
HOME_VISIT_MINUTES = 90  # 上门办 including travel
STAYS_WITH_VISITOR = frozenset({"accompany", "delegate", "wheelchair_push"})
DRAIN_UNTIL = time(19, 0)  # counters serve everyone holding a ticket, but not all night

Submit = Callable[[dict[str, Any]], dict[str, Any]]


def engine_submitter(engine: QueueEngine, sink: list[dict[str, Any]]) -> Submit:
    """Submit straight to an in-memory engine (no ledger): the day runs in a fraction of a second."""

    def submit(raw: dict[str, Any]) -> dict[str, Any]:
        cmd = parse_command(raw)
        try:
            events, result = engine.execute(cmd)
        except CommandRejected as exc:
            sink.extend(exc.events)
            return {"ok": False, "code": exc.code, "message": exc.message, "events": exc.events}
        sink.extend(events)
        return {"ok": True, "result": result, "events": events}

    return submit


def plan_arrivals(cfg: HallConfig, visitors: int, rng: random.Random) -> list[tuple[float, str, str]]:
    """(seconds since midnight, service, group) for each visitor, in arrival order, following HOURLY_PROFILE."""
    hours = list(HOURLY_PROFILE)
    weights = list(HOURLY_PROFILE.values())
    services = [s.name for s in cfg.services]
    s_weights = [s.share for s in cfg.services]
    groups = list(cfg.groups)
    g_weights = [cfg.groups[g].share for g in groups]
    out = []
    for _ in range(visitors):
        hour = rng.choices(hours, weights)[0]
        t = hour * 3600 + rng.uniform(0, 3600)
        out.append((t, rng.choices(services, s_weights)[0], rng.choices(groups, g_weights)[0]))
    return sorted(out)


@dataclass
class DayPlan:
    visitors: int = 600
    counters_open: int | None = None  # None: every configured counter
    helpers: int = 6
    seed: int = 1
    day: date = date(2026, 11, 23)
    open_at: time = time(9, 0)
    close_at: time = time(17, 0)


@dataclass(order=True)
class _Job:
    at: float
    seq: int
    kind: str = field(compare=False)
    arg: Any = field(compare=False, default=None)


class DaySimulation:
    def __init__(self, config: HallConfig, plan: DayPlan, clock: ManualClock, submit: Submit) -> None:
        self.cfg = config
        self.plan = plan
        self.clock = clock
        self.submit = submit
        self.rng = random.Random(plan.seed)
        self.tz = config.hall.tz
        self.base = datetime.combine(plan.day, time(0, 0), self.tz)
        self.jobs: list[_Job] = []
        self._n = 0
        numbers = [c.number for c in config.counters]
        k = len(numbers) if plan.counters_open is None else max(0, min(plan.counters_open, len(numbers)))
        self.open_counters = numbers[:k]
        self.idle_counters: set[int] = set()
        self.idle_helpers: list[str] = [f"helper-{i + 1}" for i in range(plan.helpers)]
        self.help_queue: list[tuple[int, float, str]] = []  # (priority, since, help_id)
        self.help_of_ticket: dict[str, str] = {}
        self.helper_of_ticket: dict[str, str] = {}
        self.absent: set[str] = set()
        self.group_of: dict[str, str] = {}
        self.home_visits: dict[str, float] = {}  # help id -> appointment time (s since midnight)
        self.busy_s: dict[str, float] = defaultdict(float)
        self.helper_busy_s: dict[str, float] = defaultdict(float)
        self.unknown_rejections: list[str] = []

    # ------------------------------------------------------------------ scheduling

    def _at(self, seconds: float, kind: str, arg: Any = None) -> None:
        self._n += 1
        heapq.heappush(self.jobs, _Job(seconds, self._n, kind, arg))

    def _secs(self, t: time) -> float:
        return t.hour * 3600 + t.minute * 60 + t.second

    def _send(self, now: float, cmd: dict[str, Any]) -> dict[str, Any]:
        self.clock.set(self.base + timedelta(seconds=now))
        answer = self.submit(cmd)
        if not answer["ok"] and answer["code"] not in ("queue_empty",):
            self.unknown_rejections.append(f"{cmd['op']}: {answer['message']}")
        return answer

    def _plan_arrivals(self) -> None:
        for t, service, group in plan_arrivals(self.cfg, self.plan.visitors, self.rng):
            self._at(t, "arrive", (service, group))

    def run(self) -> None:
        self._plan_arrivals()
        opening = self._secs(self.plan.open_at)
        for number in self.open_counters:
            self._at(opening, "counter_free", number)
        for h in list(self.idle_helpers):
            self._at(opening, "helper_free", h)
        self.idle_helpers.clear()
        end = self._secs(DRAIN_UNTIL)
        while self.jobs:
            job = heapq.heappop(self.jobs)
            if job.at > end:
                break
            getattr(self, f"_on_{job.kind}")(job.at, job.arg)
        for helper in self.helper_of_ticket.values():  # still with a visitor when the day was cut off
            self.helper_busy_s[helper] += end

    # ------------------------------------------------------------------ visitors

    def _on_arrive(self, now: float, arg: tuple[str, str]) -> None:
        service, group = arg
        cmd: dict[str, Any] = {"op": "issue", "service": service, "group": group, "node": "kiosk-1"}
        appt_s = None
        if self.cfg.groups[group].appointment:
            appt_s = max(now + 3600, 14 * 3600) + self.rng.uniform(0, 2 * 3600)
            cmd["appointment_at"] = (self.base + timedelta(seconds=appt_s)).isoformat()
        answer = self._send(now, cmd)
        if not answer["ok"]:
            return
        ticket = answer["result"]["ticket"]
        self.group_of[ticket] = group
        if self.rng.random() < NO_SHOW_RATE:
            self.absent.add(ticket)
        help_id = answer["result"].get("help_id")
        if help_id:
            self.help_of_ticket[ticket] = help_id
            if appt_s is not None:
                self.home_visits[help_id] = appt_s
                self._at(appt_s - 1800, "wake_helpers")
            else:
                prio = 0 if self.cfg.groups[group].green_channel else 1
                heapq.heappush(self.help_queue, (prio, now, help_id))
                self._wake_helpers(now)
        else:
            self._wake_counters(now)

    def _wake_counters(self, now: float) -> None:
        for number in sorted(self.idle_counters):
            self._at(now, "counter_free", number)
        self.idle_counters.clear()

    # ------------------------------------------------------------------ counters

    def _on_counter_free(self, now: float, number: int) -> None:
        answer = self._send(now, {"op": "call_next", "counter": number})
        if not answer["ok"]:
            self.idle_counters.add(number)
            return
        ticket = answer["result"]["ticket"]
        if ticket in self.absent:
            self._at(now + RECALL_GAP_S, "recall", number)
            self.busy_s[str(number)] += RECALL_GAP_S
            return
        self._send(now + WALK_S, {"op": "start", "counter": number})
        avg = self.cfg.services_by_name[answer["result"]["service"]].avg_minutes
        duration = max(60.0, self.rng.gammavariate(4.0, avg * 60 / 4.0))
        self.busy_s[str(number)] += WALK_S + duration
        self._at(now + WALK_S + duration, "finish", (number, ticket))

    def _on_recall(self, now: float, number: int) -> None:
        answer = self._send(now, {"op": "recall", "counter": number})
        if answer["ok"] and answer["result"].get("no_show"):
            self._at(now, "counter_free", number)
        elif answer["ok"]:
            self.busy_s[str(number)] += RECALL_GAP_S
            self._at(now + RECALL_GAP_S, "recall", number)

    def _on_finish(self, now: float, arg: tuple[int, str]) -> None:
        number, ticket = arg
        r = self.rng.random()
        cmd: dict[str, Any] = {"op": "finish", "counter": number}
        if r < REFUSED_RATE:
            cmd.update(outcome="refused", reason="不符合受理条件")
        elif r < REFUSED_RATE + MATERIALS_MISSING_RATE:
            cmd.update(outcome="materials_missing", materials=["身份证复印件"])
        self._send(now, cmd)
        if self.rng.random() < RATING_RATE:
            level = self.rng.choices([1, 2, 3, 4, 5], [70, 20, 6, 3, 1])[0]
            self._send(now + 5, {"op": "rate", "ticket": ticket, "level": level})
        helper = self.helper_of_ticket.pop(ticket, None)
        if helper is not None:
            self.helper_busy_s[helper] += now
            self._send(now, {"op": "finish_help", "help_id": self.help_of_ticket[ticket], "helper": helper})
            self._at(now + 60, "helper_free", helper)
        self._at(now + 10, "counter_free", number)

    # ------------------------------------------------------------------ helpers

    def _wake_helpers(self, now: float) -> None:
        for h in self.idle_helpers:
            self._at(now, "helper_free", h)
        self.idle_helpers.clear()

    def _on_wake_helpers(self, now: float, _: Any) -> None:
        self._wake_helpers(now)

    def _on_helper_free(self, now: float, helper: str) -> None:
        due = [hid for hid, appt in self.home_visits.items() if appt - 1800 <= now]
        if due:
            help_id = min(due, key=self.home_visits.__getitem__)
            del self.home_visits[help_id]
            self._send(now, {"op": "claim_help", "help_id": help_id, "helper": helper})
            self.helper_busy_s[helper] += HOME_VISIT_MINUTES * 60
            self._at(now + HOME_VISIT_MINUTES * 60, "visit_done", (helper, help_id))
            return
        if not self.help_queue:
            self.idle_helpers.append(helper)
            return
        _, _, help_id = heapq.heappop(self.help_queue)
        answer = self._send(now, {"op": "claim_help", "help_id": help_id, "helper": helper})
        if not answer["ok"]:
            self._at(now, "helper_free", helper)
            return
        ticket = help_id[2:]
        self._wake_counters(now)
        if self.group_of.get(ticket) in STAYS_WITH_VISITOR:
            self.helper_of_ticket[ticket] = helper
            self.helper_busy_s[helper] -= now  # settled when the case finishes (see _on_finish)
        else:
            self.helper_busy_s[helper] += GUIDE_MINUTES * 60
            self._at(now + GUIDE_MINUTES * 60, "guide_done", (helper, help_id))

    def _on_guide_done(self, now: float, arg: tuple[str, str]) -> None:
        helper, help_id = arg
        self._send(now, {"op": "finish_help", "help_id": help_id, "helper": helper})
        self._on_helper_free(now, helper)

    def _on_visit_done(self, now: float, arg: tuple[str, str]) -> None:
        helper, help_id = arg
        self._send(now, {"op": "finish_help", "help_id": help_id, "helper": helper})
        self._on_helper_free(now, helper)


# ---------------------------------------------------------------------- report


@dataclass
class Row:
    issued: int = 0
    served: int = 0
    no_shows: int = 0
    unserved: int = 0
    on_time: int = 0
    waits: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def minutes(v: float) -> float | None:
            return None if math.isnan(v) else round(v / 60, 1)

        return {
            "issued": self.issued, "served": self.served, "no_shows": self.no_shows, "unserved": self.unserved,
            "wait_p50_min": minutes(percentile(self.waits, 50)),
            "wait_p90_min": minutes(percentile(self.waits, 90)),
            "wait_max_min": minutes(max(self.waits) if self.waits else math.nan),
            "on_time": self.on_time,
        }


def summarise(events: list[dict[str, Any]]) -> dict[str, dict[str, Row]]:
    """Per service and per group, from the event stream alone (what the ledger would say)."""
    by_service: dict[str, Row] = defaultdict(Row)
    by_group: dict[str, Row] = defaultdict(Row)
    kind: dict[str, tuple[str, str]] = {}
    open_tickets: set[str] = set()
    for ev in events:
        d = ev["data"]
        t = ev["type"]
        if t == "ticket_issued":
            kind[d["ticket"]] = (d["service"], d["group"])
            open_tickets.add(d["ticket"])
            for row in (by_service[d["service"]], by_group[d["group"]]):
                row.issued += 1
        elif t == "ticket_no_show":
            service, group = kind[d["ticket"]]
            for row in (by_service[service], by_group[group]):
                row.no_shows += 1
            open_tickets.discard(d["ticket"])
        elif t == "ticket_requeued":
            service, group = kind[d["ticket"]]
            for row in (by_service[service], by_group[group]):
                row.no_shows -= 1
            open_tickets.add(d["ticket"])
        elif t == "ticket_finished":
            _, group = kind[d["ticket"]]
            open_tickets.discard(d["ticket"])
            for row in (by_service[d["service"]], by_group[group]):
                row.served += 1
                row.on_time += bool(d["on_time"])
                if d["wait_s"] is not None:
                    row.waits.append(d["wait_s"])
    for tid in open_tickets:
        service, group = kind[tid]
        by_service[service].unserved += 1
        by_group[group].unserved += 1
    return {"service": dict(by_service), "group": dict(by_group)}


@dataclass
class DayReport:
    plan: DayPlan
    counters_open: list[int]
    tables: dict[str, dict[str, Row]]
    counter_busy: dict[str, float]
    helper_busy: dict[str, float]
    events: int
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "visitors": self.plan.visitors, "counters_open": self.counters_open, "helpers": self.plan.helpers,
            "seed": self.plan.seed, "events": self.events,
            "by_service": {k: v.as_dict() for k, v in self.tables["service"].items()},
            "by_group": {k: v.as_dict() for k, v in self.tables["group"].items()},
            "counter_busy_pct": self.counter_busy, "helper_busy_pct": self.helper_busy,
            "problems": self.problems,
        }


def run_day(config: HallConfig, plan: DayPlan, submit: Submit | None = None,
            clock: ManualClock | None = None, sink: list[dict[str, Any]] | None = None) -> DayReport:
    clock = clock or ManualClock(datetime.combine(plan.day, plan.open_at, config.hall.tz), config.hall.tz)
    events: list[dict[str, Any]] = [] if sink is None else sink
    engine: QueueEngine | None = None
    if submit is None:
        engine = QueueEngine(config, clock)
        submit = engine_submitter(engine, events)
    sim = DaySimulation(config, plan, clock, submit)
    sim.run()
    opening = sim._secs(plan.open_at)
    closing = sim._secs(plan.close_at)
    span = max(1.0, closing - opening)
    counter_busy = {k: round(min(100.0, v / span * 100), 1) for k, v in sorted(sim.busy_s.items(),
                                                                               key=lambda kv: int(kv[0]))}
    helper_busy = {k: round(min(100.0, v / span * 100), 1) for k, v in sorted(sim.helper_busy_s.items())}
    return DayReport(plan, sim.open_counters, summarise(events), counter_busy, helper_busy, len(events),
                     sorted(set(sim.unknown_rejections))[:20])
