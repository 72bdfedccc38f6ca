"""Calling policy: who a window may call, who it calls next, and how long a waiting visitor should expect.

Pure functions of the configuration and the state. `call_next` and the estimate printed on the ticket use the
same order, so the number of people a ticket says are ahead is the number the windows will call first.
"""

from __future__ import annotations

import math

from hall_bus.config import HallConfig
from hall_bus.domain.state import HallState, Ticket


def order_key(t: Ticket) -> tuple[int, float]:
    """Calling class and time: green channel, sent to the front or to a window, appointment, walk-in."""
    if t.green:
        return (0, t.queue_ts)
    if t.front or t.target_counter is not None:
        return (1, t.queue_ts)
    if t.appointment_ts is not None:
        return (2, t.appointment_ts)
    return (3, t.queue_ts)


def eligible(cfg: HallConfig, t: Ticket, number: int) -> bool:
    if t.target_counter is not None:
        return t.target_counter == number
    cc = cfg.counters_by_number[number]
    if t.service not in cc.services:
        return False
    if t.zone is None:
        return cfg.zones_by_id[cc.zone].kind == "department"
    return t.zone == cc.zone


def counters_for(cfg: HallConfig, t: Ticket) -> list[int]:
    return [n for n in cfg.counters_by_number if eligible(cfg, t, n)]


def select(cfg: HallConfig, state: HallState, number: int, now_ts: float) -> Ticket | None:
    """Green channel, then tickets sent to the front, then due appointments, then the weighted queues.

    Within the weighted part only each service's oldest ticket competes, scored by weight × time waited, so
    a low-weight service still rises with time; past `starvation_minutes` the oldest head is taken outright.
    """
    weights = cfg.counters_by_number[number].services
    grace = cfg.hall.appointment_grace_minutes * 60
    best: tuple[tuple[int, float], Ticket] | None = None
    heads: dict[str, Ticket] = {}
    tickets = state.tickets
    for tid in state.waiting:
        t = tickets[tid]
        if not eligible(cfg, t, number):
            continue
        key = order_key(t)
        if key[0] == 3:  # a walk-in: only each service's oldest competes below
            head = heads.get(t.service)
            if head is None or t.queue_ts < head.queue_ts:
                heads[t.service] = t
            continue
        if key[0] == 2 and key[1] - grace > now_ts:
            continue  # an appointment not due yet
        if best is None or key < best[0]:
            best = (key, t)
    if best is not None:
        return best[1]
    if not heads:
        return None
    bound = cfg.hall.starvation_minutes * 60
    starving = [h for h in heads.values() if now_ts - h.queue_ts >= bound]
    if starving:
        return min(starving, key=lambda h: h.queue_ts)
    return max(heads.values(),
               key=lambda h: (weights.get(h.service, 1.0) * (now_ts - h.queue_ts + 1.0), -h.queue_ts))


def average_minutes(cfg: HallConfig, state: HallState, service: str) -> float:
    recent = state.durations.get(service)
    if recent:
        return sum(recent) / len(recent) / 60.0
    return cfg.services_by_name[service].avg_minutes


def estimate(cfg: HallConfig, state: HallState, ticket_id: str) -> tuple[int, int]:
    """(people ahead, estimated wait in minutes) for a waiting ticket; what the ticket and kiosk show."""
    t = state.tickets[ticket_id]
    key = order_key(t)
    ahead = 0
    before_me = True  # equal keys (issued in the same millisecond) keep issue order
    for other_id in state.waiting:
        if other_id == ticket_id:
            before_me = False
            continue
        o = state.tickets[other_id]
        if o.service == t.service and o.zone == t.zone:
            other = order_key(o)
            if other < key or (before_me and other == key):
                ahead += 1
    eligible_now = counters_for(cfg, t)
    open_now = [n for n in eligible_now if state.counters[n].status != "closed"] or eligible_now
    avg = average_minutes(cfg, state, t.service)
    minutes = math.ceil(ahead * avg / max(len(open_now), 1)) if ahead else 0
    return ahead, minutes
