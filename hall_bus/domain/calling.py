"""Calling policy: who a window may call, who it calls next, and how long a waiting visitor should expect.

Pure functions of the configuration and the state. `call_next` and the estimate printed on the ticket read the
same order (queue_index.order_key), so the people a ticket says are ahead are the people called first.

The order at a window:
1. green channel (推着办), oldest first;
2. tickets sent to the front, or to this very window (a transfer);
3. appointments from `appointment_grace_minutes` before their time;
4. any queued ticket that has waited `starvation_minutes` or longer, oldest first;
5. priority groups (陪同办, 代理办, 引导办 in the example), higher priority first, then first come;
6. walk-ins: each service's oldest competes, scored by the window's weight for the service × time waited.
An assistance-zone window that serves walk-ins when free goes through 1–6 for its own zone's tickets first, and
only when none waits, through 1–6 for the department queue.
The starvation bound (4) overrides priority groups and weights, not 1–3: those are single visitors who must be
seen now, and their number is bounded (the green channel's share, one front per transfer, booked slots).
"""

from __future__ import annotations

import math

from hall_bus.config import Counter, HallConfig
from hall_bus.domain.queue_index import APPOINTMENT, DEPT, FRONT, PRIORITY, WALK_IN, Key, Lane, routes_of
from hall_bus.domain.state import HallState, Ticket


def routes_of_counter(cfg: HallConfig, counter: Counter) -> tuple[str, ...]:
    """The routes a window calls from, in order: its own, then (an assistance window that serves walk-ins when
    free) the department queue."""
    zone = cfg.zones_by_id[counter.zone]
    if zone.kind == "department":
        return (DEPT,)
    return (counter.zone, DEPT) if zone.serves_walk_ins_when_free else (counter.zone,)


def eligible(cfg: HallConfig, t: Ticket, number: int) -> bool:
    if t.target_counter is not None:
        return t.target_counter == number
    cc = cfg.counters_by_number[number]
    return t.service in cc.services and any(r in routes_of(t) for r in routes_of_counter(cfg, cc))


def counters_for(cfg: HallConfig, t: Ticket, *, own_route_only: bool = False) -> list[int]:
    """Windows that may call this ticket; with `own_route_only`, not the assistance windows that only take it
    when they have nobody of their own (they are no full window for the estimate)."""
    if own_route_only and t.target_counter is None:
        routes = routes_of(t)
        return [n for n, cc in cfg.counters_by_number.items()
                if t.service in cc.services and routes_of_counter(cfg, cc)[0] in routes]
    return [n for n in cfg.counters_by_number if eligible(cfg, t, n)]


def select(cfg: HallConfig, state: HallState, number: int, now_ts: float) -> Ticket | None:
    """The ticket this window calls next, or None; see the module docstring for the order."""
    counter = cfg.counters_by_number[number]
    for i, route in enumerate(routes_of_counter(cfg, counter)):
        found = _select_on(cfg, state, number, counter, route, now_ts, targeted=i == 0)
        if found is not None:
            return found
    return None


def _select_on(cfg: HallConfig, state: HallState, number: int, counter: Counter, route: str, now_ts: float,
               *, targeted: bool) -> Ticket | None:
    weights = counter.services
    lanes: list[tuple[str, Lane]] = []
    for service in weights:
        lane = state.index.lane(service, route)
        if lane is not None and lane.by_key:
            lanes.append((service, lane))
    best: Key | None = None
    sent_here = state.index.targeted.get(number) if targeted else None
    if sent_here is not None and sent_here.by_key:
        best = sent_here.by_key[0]
    grace = cfg.hall.appointment_grace_minutes * 60
    for _, lane in lanes:
        head = lane.by_key[0]
        if head[0] <= FRONT:
            candidate: Key | None = head
        else:
            candidate = lane.first_of(APPOINTMENT)
            if candidate is not None and candidate[2] - grace > now_ts:
                candidate = None  # the earliest appointment is not due yet, so none on this lane is
        if candidate is not None and (best is None or candidate < best):
            best = candidate
    if best is not None:
        return state.tickets[best[4]]

    bound = cfg.hall.starvation_minutes * 60
    oldest: tuple[float, Key] | None = None
    for _, lane in lanes:
        head_by_time = lane.oldest_queued()
        if head_by_time is not None and (oldest is None or head_by_time < oldest):
            oldest = head_by_time
    if oldest is None:
        return None
    if now_ts - oldest[0] >= bound:
        return state.tickets[oldest[1][4]]

    priority: Key | None = None
    for _, lane in lanes:
        candidate = lane.first_of(PRIORITY)
        if candidate is not None and (priority is None or candidate < priority):
            priority = candidate
    if priority is not None:
        return state.tickets[priority[4]]

    scored: tuple[float, float, Key] | None = None
    for service, lane in lanes:
        head = lane.first_of(WALK_IN)
        if head is None:
            continue
        score = (weights.get(service, 1.0) * (now_ts - head[2] + 1.0), -head[2], head)
        if scored is None or score[:2] > scored[:2]:
            scored = score
    return state.tickets[scored[2][4]] if scored is not None else None


def average_minutes(cfg: HallConfig, state: HallState, service: str) -> float:
    recent = state.durations.get(service)
    if recent:
        return sum(recent) / len(recent) / 60.0
    return cfg.services_by_name[service].avg_minutes


def estimate(cfg: HallConfig, state: HallState, ticket_id: str, now_ts: float) -> tuple[int, int]:
    """(people ahead, estimated wait in minutes) for a waiting ticket; what the ticket and kiosk show.

    Ahead counts every waiting ticket of the same service that the calling order puts first on this ticket's
    main route: the green channel, fronts, appointments due now, priority groups (helped visitors included) and
    older walk-ins.
    """
    t = state.tickets[ticket_id]
    ahead = state.index.ahead_of(t, now_ts + cfg.hall.appointment_grace_minutes * 60)
    eligible_now = counters_for(cfg, t, own_route_only=True) or counters_for(cfg, t)
    open_now = [n for n in eligible_now if state.counters[n].status != "closed"] or eligible_now
    avg = average_minutes(cfg, state, t.service)
    minutes = math.ceil(ahead * avg / max(len(open_now), 1)) if ahead else 0
    return ahead, minutes
