"""A simulated hall day, run through the real queue engine, to size counters and helpers.

The hall manager's question is "with K windows and H helpers open, how long do people wait, and how many
cases finish within the promised time?". The simulation generates visitors with a morning peak and the
configured service and group mix, lets counters call, recall, serve and finish, lets helpers claim help requests
(首问负责) and stay with the visitors they accompany, and reports per service and per group.

With a service catalogue, a share of the finished visits are applications accepted as cases (办件), carried on
over the following days' runs — 补正, steps, 办结, 出件, 归档, ratings — with complaints and tablet records
beside them (hall_bus/sim/casesim.py), so a simulated week's 台账 holds every kind of case and record.
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
from hall_bus.domain import commands as c
from hall_bus.domain.engine import CommandRejected, QueueEngine
from hall_bus.domain.state import HallState
from hall_bus.sim.casesim import CaseWork
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
HOME_VISIT_TRAVEL_MINUTES = 30  # 上门办: each way; the helper leaves this long before the appointment
STAYS_WITH_VISITOR = frozenset({"accompany", "delegate", "wheelchair_push"})
DRAIN_UNTIL = time(19, 0)  # counters serve everyone holding a ticket, but not all night

Submit = Callable[[c.Cmd], dict[str, Any]]


def engine_submitter(engine: QueueEngine, sink: list[dict[str, Any]]) -> Submit:
    """Submit straight to an in-memory engine (no ledger): the day runs in a fraction of a second."""

    def submit(cmd: c.Cmd | dict[str, Any]) -> dict[str, Any]:
        if isinstance(cmd, dict):  # a scenario line or a test's hand-made command
            cmd = c.parse_command(cmd)
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
    cases: bool = True  # with a catalogue: applications accepted as cases, complaints, tablet records


@dataclass(order=True)
class _Job:
    at: float
    seq: int
    kind: str = field(compare=False)
    arg: Any = field(compare=False, default=None)


class DaySimulation:
    def __init__(self, config: HallConfig, plan: DayPlan, clock: ManualClock, submit: Submit,
                 state: Callable[[], HallState] | None = None) -> None:
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
        self.idle_helpers: list[str] = [f"helper-{i + 1:02d}" for i in range(plan.helpers)]
        self.help_queue: list[tuple[int, float, str, str]] = []  # (priority, since, help_id, ticket)
        self.help_of_ticket: dict[str, str] = {}
        self.helper_of_ticket: dict[str, tuple[str, float]] = {}  # ticket -> (helper, since)
        self.absent: set[str] = set()
        self.ended: set[str] = set()  # tickets finished or gone (no-show): their help requests need nobody
        self.group_of: dict[str, str] = {}
        self.service_of: dict[str, str] = {}
        self.home_visits: dict[str, tuple[float, str]] = {}  # help id -> (appointment s since midnight, service)
        self.busy_s: dict[str, float] = defaultdict(float)
        self.helper_busy: dict[str, list[tuple[float, float]]] = {h: [] for h in self.idle_helpers}
        self.unknown_rejections: list[str] = []
        # cases draw from their own random stream: the visitors of a seed stay the same with or without a catalogue
        self.cases = CaseWork(config, plan.day, random.Random(f"cases-{plan.seed}-{plan.day}"), self._send,
                              lambda at, fn: self._at(at, "call", fn), state)

    # ------------------------------------------------------------------ scheduling

    def _at(self, seconds: float, kind: str, arg: Any = None) -> None:
        self._n += 1
        heapq.heappush(self.jobs, _Job(seconds, self._n, kind, arg))

    def _secs(self, t: time) -> float:
        return t.hour * 3600 + t.minute * 60 + t.second

    def _send(self, now: float, cmd: c.Cmd) -> dict[str, Any]:
        self.clock.set(self.base + timedelta(seconds=now))
        answer = self.submit(cmd)
        if not answer["ok"] and answer["code"] not in ("queue_empty",):
            self.unknown_rejections.append(f"{cmd.op}: {answer['message']}")
        return answer

    def _plan_arrivals(self) -> None:
        for t, service, group in plan_arrivals(self.cfg, self.plan.visitors, self.rng):
            self._at(t, "arrive", (service, group))

    def _on_call(self, now: float, fn: Callable[[float], None]) -> None:
        fn(now)

    def run(self) -> None:
        self._plan_arrivals()
        opening = self._secs(self.plan.open_at)
        if self.plan.cases:
            self.cases.plan_day(opening)
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
        for helper, since in self.helper_of_ticket.values():  # still with a visitor when the day was cut off
            self.helper_busy[helper].append((since, end))

    # ------------------------------------------------------------------ visitors

    def _on_arrive(self, now: float, arg: tuple[str, str]) -> None:
        service, group = arg
        appt_s = appointment_at = None
        if self.cfg.groups[group].appointment:
            appt_s = max(now + 3600, 14 * 3600) + self.rng.uniform(0, 2 * 3600)
            appointment_at = self.base + timedelta(seconds=appt_s)
        answer = self._send(now, c.Issue(service=service, group=group, node="kiosk-1",  # type: ignore[arg-type]
                                         appointment_at=appointment_at))
        if not answer["ok"]:
            return
        ticket = answer["result"]["ticket"]
        self.group_of[ticket] = group
        self.service_of[ticket] = service
        if self.rng.random() < NO_SHOW_RATE and appt_s is None:
            self.absent.add(ticket)
        help_id = answer["result"].get("help_id")
        if help_id:
            self.help_of_ticket[ticket] = help_id
            if appt_s is not None:
                self.home_visits[help_id] = (appt_s, service)
                self._at(appt_s - HOME_VISIT_TRAVEL_MINUTES * 60, "wake_helpers")
                return
            prio = 0 if self.cfg.groups[group].green_channel else 1
            heapq.heappush(self.help_queue, (prio, now, help_id, ticket))
            self._wake_helpers(now)
        self._wake_counters(now)  # an assistance ticket queues at once; its helper joins when one is free

    def _wake_counters(self, now: float) -> None:
        for number in sorted(self.idle_counters):
            self._at(now, "counter_free", number)
        self.idle_counters.clear()

    # ------------------------------------------------------------------ counters

    def _on_counter_free(self, now: float, number: int) -> None:
        answer = self._send(now, c.CounterOp(op="call_next", counter=number))
        if not answer["ok"]:
            self.idle_counters.add(number)
            return
        ticket = answer["result"]["ticket"]
        if ticket in self.absent:
            self._at(now + RECALL_GAP_S, "recall", (number, ticket))
            self.busy_s[str(number)] += RECALL_GAP_S
            return
        self._at(now + WALK_S, "start", (number, ticket))
        avg = self.cfg.services_by_name[answer["result"]["service"]].avg_minutes
        duration = max(60.0, self.rng.gammavariate(4.0, avg * 60 / 4.0))
        self.busy_s[str(number)] += WALK_S + duration
        self._at(now + WALK_S + duration, "finish", (number, ticket))

    def _on_start(self, now: float, arg: tuple[int, str]) -> None:
        number, ticket = arg
        self._send(now, c.AtWindow(op="start", counter=number, ticket=ticket))

    def _on_rate(self, now: float, arg: tuple[str, int]) -> None:
        ticket, level = arg
        self._send(now, c.Rate(ticket=ticket, level=level))

    def _on_recall(self, now: float, arg: tuple[int, str]) -> None:
        number, ticket = arg
        answer = self._send(now, c.AtWindow(op="recall", counter=number, ticket=ticket))
        if answer["ok"] and answer["result"].get("no_show"):
            ticket = answer["result"]["ticket"]
            self.ended.add(ticket)
            self._release_helper(now, ticket)  # the visitor left; the helper with them is free again
            self._at(now, "counter_free", number)
        elif answer["ok"]:
            self.busy_s[str(number)] += RECALL_GAP_S
            self._at(now + RECALL_GAP_S, "recall", (number, ticket))

    def _on_finish(self, now: float, arg: tuple[int, str]) -> None:
        number, ticket = arg
        r = self.rng.random()
        if r < REFUSED_RATE:
            cmd = c.Finish(counter=number, ticket=ticket, outcome="refused", reason="不符合受理条件")
        elif r < REFUSED_RATE + MATERIALS_MISSING_RATE:
            cmd = c.Finish(counter=number, ticket=ticket, outcome="materials_missing", materials=["身份证复印件"])
        else:
            cmd = c.Finish(counter=number, ticket=ticket)
        done = self._send(now, cmd)["ok"] and cmd.outcome == "done"
        self.ended.add(ticket)
        if done and self.plan.cases:
            self.cases.after_visit(now + 1, number, ticket, self.service_of[ticket])
        if self.rng.random() < RATING_RATE:
            level = self.rng.choices([5, 4, 3, 2, 1], [70, 20, 6, 3, 1])[0]  # 5 = 非常满意
            self._at(now + 5, "rate", (ticket, level))
        self._release_helper(now, ticket)
        self._at(now + 10, "counter_free", number)

    def _release_helper(self, now: float, ticket: str) -> None:
        held = self.helper_of_ticket.pop(ticket, None)
        if held is not None:
            helper, since = held
            self.helper_busy[helper].append((since, now + 60))
            self._send(now, c.FinishHelp(help_id=self.help_of_ticket[ticket], helper=helper))
            self._at(now + 60, "helper_free", helper)

    # ------------------------------------------------------------------ helpers

    def _wake_helpers(self, now: float) -> None:
        for h in self.idle_helpers:
            self._at(now, "helper_free", h)
        self.idle_helpers.clear()

    def _on_wake_helpers(self, now: float, _: Any) -> None:
        self._wake_helpers(now)

    def _on_helper_free(self, now: float, helper: str) -> None:
        """A free helper first leaves for a home visit that is due, else takes the oldest open request (the
        green channel first) whose visitor is still in the hall."""
        due = [hid for hid, (appt, _) in self.home_visits.items() if appt - HOME_VISIT_TRAVEL_MINUTES * 60 <= now]
        if due:
            help_id = min(due, key=lambda h: self.home_visits[h][0])
            appt, service = self.home_visits.pop(help_id)
            self._send(now, c.ClaimHelp(help_id=help_id, helper=helper))
            avg = self.cfg.services_by_name[service].avg_minutes
            served_until = max(now + HOME_VISIT_TRAVEL_MINUTES * 60, appt) + max(
                600.0, self.rng.gammavariate(4.0, avg * 60 / 4.0))
            back = served_until + HOME_VISIT_TRAVEL_MINUTES * 60
            self.helper_busy[helper].append((now, back))
            self._at(served_until, "visit_done", (helper, help_id, back))
            return
        while self.help_queue and self.help_queue[0][3] in self.ended:
            heapq.heappop(self.help_queue)  # served (or gone) before anyone could come: the request lapsed
        if not self.help_queue:
            self.idle_helpers.append(helper)
            return
        _, _, help_id, ticket = heapq.heappop(self.help_queue)
        answer = self._send(now, c.ClaimHelp(help_id=help_id, helper=helper))
        if not answer["ok"]:
            self._at(now, "helper_free", helper)
            return
        if self.group_of.get(ticket) in STAYS_WITH_VISITOR:
            self.helper_of_ticket[ticket] = (helper, now)  # with the visitor until the case ends
        else:
            self.helper_busy[helper].append((now, now + GUIDE_MINUTES * 60))
            self._at(now + GUIDE_MINUTES * 60, "guide_done", (helper, help_id))

    def _on_guide_done(self, now: float, arg: tuple[str, str]) -> None:
        helper, help_id = arg
        self._send(now, c.FinishHelp(help_id=help_id, helper=helper))
        self._on_helper_free(now, helper)

    def _on_visit_done(self, now: float, arg: tuple[str, str, float]) -> None:
        helper, help_id, back = arg
        self._send(now, c.FinishHelp(help_id=help_id, helper=helper))
        self._at(back, "helper_free", helper)


# ---------------------------------------------------------------------- report


@dataclass
class Row:
    issued: int = 0
    served: int = 0
    no_shows: int = 0
    unserved: int = 0
    concluded: int = 0  # finished with a decision (done or refused); materials_missing is not concluded
    on_time: int = 0
    waits: list[float] = field(default_factory=list)  # ticket (or appointment) to first call
    helper_waits: list[float] = field(default_factory=list)  # help request to a claim (or to the case's end)
    helps_unclaimed: int = 0  # requests whose case ended before any helper came

    def as_dict(self) -> dict[str, Any]:
        def minutes(v: float) -> float | None:
            return None if math.isnan(v) else round(v / 60, 1)

        return {
            "issued": self.issued, "served": self.served, "no_shows": self.no_shows, "unserved": self.unserved,
            "wait_p50_min": minutes(percentile(self.waits, 50)),
            "wait_p90_min": minutes(percentile(self.waits, 90)),
            "wait_max_min": minutes(max(self.waits) if self.waits else math.nan),
            "helper_wait_p50_min": minutes(percentile(self.helper_waits, 50)),
            "helper_wait_p90_min": minutes(percentile(self.helper_waits, 90)),
            "helps_unclaimed": self.helps_unclaimed,
            "concluded": self.concluded, "on_time": self.on_time,
            "on_time_pct": round(self.on_time * 100 / self.concluded, 1) if self.concluded else None,
        }


def summarise(events: list[dict[str, Any]]) -> dict[str, dict[str, Row]]:
    """Per service and per group, from the event stream alone (what the ledger would say)."""
    by_service: dict[str, Row] = defaultdict(Row)
    by_group: dict[str, Row] = defaultdict(Row)
    kind: dict[str, tuple[str, str]] = {}
    requested: dict[str, tuple[float, str]] = {}  # help id -> (time, group)
    booked: set[str] = set()
    open_tickets: set[str] = set()
    for ev in events:
        d = ev["data"]
        t = ev["type"]
        if t in ("ticket_finished", "ticket_no_show") and f"H-{d['ticket']}" in requested:
            since, group = requested.pop(f"H-{d['ticket']}")  # the case ended before any helper came
            by_group[group].helper_waits.append(datetime.fromisoformat(ev["at"]).timestamp() - since)
            by_group[group].helps_unclaimed += 1
        if t == "ticket_issued":
            kind[d["ticket"]] = (d["service"], d["group"])
            if d["appointment_at"]:
                booked.add(d["ticket"])
            open_tickets.add(d["ticket"])
            for row in (by_service[d["service"]], by_group[d["group"]]):
                row.issued += 1
        elif t == "group_changed":
            service, _ = kind[d["ticket"]]
            kind[d["ticket"]] = (service, d["group"])
        elif t == "help_requested" and d["ticket"] not in booked:  # a booked visit's helper comes on the day
            requested[d["help_id"]] = (datetime.fromisoformat(ev["at"]).timestamp(), d["group"])
        elif t == "help_claimed" and d["help_id"] in requested:
            since, group = requested.pop(d["help_id"])
            by_group[group].helper_waits.append(datetime.fromisoformat(ev["at"]).timestamp() - since)
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
                if d["on_time"] is not None:
                    row.concluded += 1
                    row.on_time += bool(d["on_time"])
                if d["wait_s"] is not None:
                    row.waits.append(d["wait_s"])
    for tid in open_tickets:
        service, group = kind[tid]
        by_service[service].unserved += 1
        by_group[group].unserved += 1
    return {"service": dict(by_service), "group": dict(by_group)}


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def saturated_spans(intervals: dict[str, list[tuple[float, float]]], start: float, end: float,
                    step: float = 300.0, min_span: float = 1800.0) -> list[tuple[float, float]]:
    """Stretches of at least `min_span` in which every helper was busy, sampled every `step` seconds."""
    helpers = len(intervals)
    if helpers == 0:
        return []
    spans: list[tuple[float, float]] = []
    run_start: float | None = None
    t = start
    while t <= end:
        busy = sum(any(a <= t < b for a, b in ivs) for ivs in intervals.values())
        if busy >= helpers and run_start is None:
            run_start = t
        elif busy < helpers and run_start is not None:
            if t - run_start >= min_span:
                spans.append((run_start, t))
            run_start = None
        t += step
    if run_start is not None and end - run_start >= min_span:
        spans.append((run_start, end))
    return spans


def bottlenecks(cfg: HallConfig, plan: DayPlan, open_counters: list[int], tables: dict[str, dict[str, Row]],
                counter_busy: dict[str, float], helper_intervals: dict[str, list[tuple[float, float]]],
                events: list[dict[str, Any]], opening: float, closing: float) -> list[str]:
    """What a hall manager should change, in words, worst first."""
    from hall_bus.domain.calling import routes_of_counter  # the windows' routing rule, not a copy of it

    notes: list[str] = []
    open_set = set(open_counters)
    for service in cfg.services:
        dept = [c.number for c in cfg.counters if c.number in open_set and service.name in c.services
                and "dept" in routes_of_counter(cfg, c)]
        own_zone = [n for n in dept if cfg.zones_by_id[cfg.counters_by_number[n].zone].kind == "department"]
        waiting = tables["service"].get(service.name, Row()).issued
        if not dept:
            could = ", ".join(str(c.number) for c in cfg.counters if service.name in c.services)
            notes.append(f"no open window serves {service.name}: its {waiting} visitors cannot be called; "
                         f"open one of windows {could}")
        elif not own_zone:
            notes.append(f"only the assistance windows {', '.join(map(str, dept))} serve {service.name} today "
                         "(no department window open for it)")
    helped = sum(1 for e in events if e["type"] == "help_requested")
    if helped and plan.helpers == 0:
        notes.append(f"no helpers on the floor: {helped} help requests were never claimed")
    for a, b in saturated_spans(helper_intervals, opening, closing):
        notes.append(f"helpers 100% busy {_clock(a)}–{_clock(b)}: help requests queue for a helper; "
                     "add helpers for these hours")
    escalated = sum(1 for e in events if e["type"] == "help_escalated")
    if escalated:
        notes.append(f"{escalated} of {helped} help requests were not claimed in time (over "
                     f"{cfg.hall.help_escalate_minutes:g} min, or a home visit at its hour) and were escalated "
                     "to the greeters and the supervisor")
    for name, row in sorted(tables["service"].items(), key=lambda kv: -percentile(kv[1].waits, 50)
                            if kv[1].waits else 0):
        p50 = percentile(row.waits, 50) / 60 if row.waits else 0.0
        if p50 < 15:
            break
        windows = [c.number for c in cfg.counters if c.number in open_set and name in c.services]
        load = ", ".join(f"{n} {counter_busy.get(str(n), 0):.0f}%" for n in windows)
        notes.append(f"{name} waits p50 {p50:.0f} min; its windows ({load} busy) need help: open another "
                     f"window that serves it or raise its weight")
    for key, label in (("group", "group"), ("service", "service")):
        for name, row in tables[key].items():
            if row.concluded >= 5 and row.on_time / row.concluded < 0.9:
                shown = cfg.groups[name].label if key == "group" else name
                notes.append(f"{shown} ({label}) finished on time only {row.on_time * 100 // row.concluded}% "
                             f"of {row.concluded} concluded cases")
    return notes


@dataclass
class DayReport:
    plan: DayPlan
    counters_open: list[int]
    tables: dict[str, dict[str, Row]]
    counter_busy: dict[str, float]
    helper_busy: dict[str, float]
    events: int
    bottlenecks: list[str]
    problems: list[str]  # commands the engine refused that the simulation did not expect (a bug somewhere)

    def as_dict(self) -> dict[str, Any]:
        return {
            "visitors": self.plan.visitors, "counters_open": self.counters_open, "helpers": self.plan.helpers,
            "seed": self.plan.seed, "day": self.plan.day.isoformat(), "events": self.events,
            "by_service": {k: v.as_dict() for k, v in self.tables["service"].items()},
            "by_group": {k: v.as_dict() for k, v in self.tables["group"].items()},
            "counter_busy_pct": self.counter_busy, "helper_busy_pct": self.helper_busy,
            "bottlenecks": self.bottlenecks, "problems": self.problems,
        }


def run_day(config: HallConfig, plan: DayPlan, submit: Submit | None = None,
            clock: ManualClock | None = None, sink: list[dict[str, Any]] | None = None,
            state: Callable[[], HallState] | None = None) -> DayReport:
    """One day through the engine (or `submit`); `state` is the hall state the submitter changes, so cases
    accepted on earlier days (the same ledger) are carried on today."""
    clock = clock or ManualClock(datetime.combine(plan.day, plan.open_at, config.hall.tz), config.hall.tz)
    events: list[dict[str, Any]] = [] if sink is None else sink
    engine: QueueEngine | None = None
    if submit is None:
        engine = QueueEngine(config, clock)
        submit = engine_submitter(engine, events)
        state = state or (lambda: engine.state)  # type: ignore[union-attr]
    sim = DaySimulation(config, plan, clock, submit, state)
    sim.run()
    opening = sim._secs(plan.open_at)
    closing = sim._secs(plan.close_at)
    span = max(1.0, closing - opening)
    counter_busy = {k: round(min(100.0, v / span * 100), 1) for k, v in sorted(sim.busy_s.items(),
                                                                               key=lambda kv: int(kv[0]))}
    helper_busy = {h: round(min(100.0, sum(min(b, closing) - max(a, opening) for a, b in ivs
                                           if b > opening and a < closing) / span * 100), 1)
                   for h, ivs in sorted(sim.helper_busy.items())}
    tables = summarise(events)
    notes = bottlenecks(config, plan, sim.open_counters, tables, counter_busy, sim.helper_busy, events,
                        opening, closing)
    return DayReport(plan, sim.open_counters, tables, counter_busy, helper_busy, len(events), notes,
                     sorted(set(sim.unknown_rejections))[:20])
