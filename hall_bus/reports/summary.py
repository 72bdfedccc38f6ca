"""Adding case rows up per service, group, window, helper and period, in memory that does not grow with cases.

Waits are kept as histograms of whole seconds, so p50/p90 are exact nearest-rank percentiles (the definition of
`hall_bus.stats.percentile`: a wait that really occurred) to the second, for a day or for a year alike.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hall_bus.domain.commands import FOLLOW_UP_LEVELS, RATING_LEVELS
from hall_bus.domain.hours import KIND_NAMES as HOURS_KIND_NAMES
from hall_bus.reports.cases import Case, Consultation, FollowUp

SATISFIED = frozenset({"非常满意", "满意", "基本满意"})  # 满意率 counts these three, as 好差评 does
HOME_VISIT = 0  # the window key of a case served at the visitor's home (上门办): no counter
ATTENTION_LIMIT = 300  # cases listed one by one in the PDF; the XLSX has them all
BY_CHOICES = ("day", "week", "month")


def satisfaction_rate(ratings: Mapping[str, int]) -> float | None:
    """满意率: 非常满意, 满意 and 基本满意 of all ratings, level → count; None when nothing was rated. One function
    for every table that shows it (by service, by period, by rating channel), so they cannot disagree."""
    rated = sum(ratings.values())
    return sum(n for level, n in ratings.items() if level in SATISFIED) / rated if rated else None


def hist_percentile(hist: Counter[int], q: float) -> float:
    """Nearest rank over a histogram; NaN when empty (as `hall_bus.stats.percentile`)."""
    n = sum(hist.values())
    if n == 0:
        return math.nan
    rank = max(1, math.ceil(q / 100 * n))
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return float(value)
    return math.nan  # unreachable


@dataclass(slots=True)
class Tally:
    cases: int = 0
    served: int = 0  # ticket_finished, whatever the outcome
    no_show: int = 0
    unfinished: int = 0  # still waiting or expired at the rollover
    materials_missing: int = 0
    refused: int = 0
    concluded: int = 0  # done or refused: on_time is a fact for these
    on_time: int = 0
    waits: Counter[int] = field(default_factory=Counter)
    ratings: Counter[str] = field(default_factory=Counter)
    claim_waits: Counter[int] = field(default_factory=Counter)  # help request to the first claim
    handovers: int = 0
    escalated: int = 0
    followups: int = 0
    followups_open: int = 0
    followups_overdue: int = 0
    consultations: int = 0
    consultations_overdue: int = 0

    def add(self, c: Case) -> None:
        add_case((self,), c)

    def wait_min(self, q: float) -> float | None:
        v = hist_percentile(self.waits, q)
        return None if math.isnan(v) else round(v / 60, 1)

    def claim_min(self, q: float) -> float | None:
        v = hist_percentile(self.claim_waits, q)
        return None if math.isnan(v) else round(v / 60, 1)

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.concluded if self.concluded else None

    @property
    def satisfaction_rate(self) -> float | None:
        return satisfaction_rate(self.ratings)

    @property
    def bad_ratings(self) -> int:
        return sum(n for level, n in self.ratings.items() if level in FOLLOW_UP_LEVELS)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases, "served": self.served, "no_show": self.no_show, "unfinished": self.unfinished,
            "materials_missing": self.materials_missing, "refused": self.refused,
            "wait_p50_min": self.wait_min(50), "wait_p90_min": self.wait_min(90),
            "concluded": self.concluded, "on_time": self.on_time, "on_time_rate": self.on_time_rate,
            "ratings": {level: self.ratings.get(level, 0) for level in RATING_LEVELS}, "rated": self.rated,
            "satisfaction_rate": self.satisfaction_rate, "followups": self.followups,
            "followups_open": self.followups_open, "followups_overdue": self.followups_overdue,
            "consultations": self.consultations, "consultations_overdue": self.consultations_overdue,
            "claim_p50_min": self.claim_min(50), "claim_p90_min": self.claim_min(90),
            "handovers": self.handovers, "escalated": self.escalated,
        }


def add_case(tallies: Sequence[Tally], c: Case) -> None:
    """`Tally.add` for each of `tallies` (a case counts in 4–6: the total, its service, group, window, helpers and
    period). The case is looked at once, not once per tally: 600,000 cases a year."""
    for t in tallies:
        t.cases += 1
    status = c.status
    if status == "finished":
        outcome, on_time = c.outcome, c.on_time
        wait = None if c.wait_s is None else round(c.wait_s)
        for t in tallies:
            t.served += 1
            if outcome == "materials_missing":
                t.materials_missing += 1
            elif outcome == "refused":
                t.refused += 1
            if on_time is not None:
                t.concluded += 1
                t.on_time += on_time
            if wait is not None:
                t.waits[wait] += 1
    elif status == "no_show":
        for t in tallies:
            t.no_show += 1
    else:
        for t in tallies:
            t.unfinished += 1
    if rating := c.rating:
        for t in tallies:
            t.ratings[rating] += 1
    if c.escalated:
        for t in tallies:
            t.escalated += 1


def extended_figures(served: Mapping[str, int], accepted: Mapping[str, int],
                     configured: Sequence[str]) -> list[tuple[str, str, int, int]]:
    """(kind, its name, tickets served, cases accepted) per kind of extended session (延时/错时服务): the kinds the
    hall has now, with zeros (a supervisor asked to show the lunch service sees it was used, or not), then any
    kind found only in the ledger (a session since removed from [hours] still counts for its days)."""
    kinds = list(dict.fromkeys(configured))
    kinds += sorted(k for k in {*served, *accepted} if k not in kinds)
    return [(k, HOURS_KIND_NAMES.get(k, k), served.get(k, 0), accepted.get(k, 0)) for k in kinds]


def period_of(day: str, by: str) -> str:
    """The --by bucket of a hall day: the day, its ISO week (the Monday's date) or its month."""
    if by == "day":
        return day
    if by == "month":
        return day[:7]
    d = date.fromisoformat(day)
    return date.fromordinal(d.toordinal() - d.weekday()).isoformat()


def auto_by(first: date, last: date) -> str:
    """A chart of at most about 30 bars: days for a month, weeks for half a year, months beyond."""
    days = (last - first).days + 1
    return "day" if days <= 31 else "week" if days <= 183 else "month"


def followup_is_open(f: FollowUp) -> bool:
    return not f.closed


def followup_is_overdue(f: FollowUp, as_of: datetime) -> bool:
    """Not closed by its due time: still open past it, or closed after it."""
    if not f.due:
        return False
    due = datetime.fromisoformat(f.due)
    return (datetime.fromisoformat(f.closed) if f.closed else as_of) > due


def consultation_is_overdue(q: Consultation, as_of: datetime) -> bool:
    """Went overdue (the engine said so), or is unanswered past its due time, or was answered after it."""
    if q.overdue:
        return True
    if not q.due:
        return False
    due = datetime.fromisoformat(q.due)
    return (datetime.fromisoformat(q.answered) if q.answered else as_of) > due


class Summary:
    def __init__(self, by: str, first: date | None = None, last: date | None = None) -> None:
        self.by = by
        self.first, self.last = first, last  # the report's range, when known: its empty days are rows too
        self.total = Tally()
        self.service: defaultdict[str, Tally] = defaultdict(Tally)
        self.group: defaultdict[str, Tally] = defaultdict(Tally)
        self.window: defaultdict[int, Tally] = defaultdict(Tally)
        self.helper: defaultdict[str, Tally] = defaultdict(Tally)
        self.period: defaultdict[str, Tally] = defaultdict(Tally)
        self.arrivals_by_hour = [0] * 24
        self.attention: list[Case] = []  # not on time, refused, rated badly, escalated: the first ATTENTION_LIMIT
        self.attention_total = 0
        self.first_day: str | None = None
        self.last_day: str | None = None
        self.extended_served: Counter[str] = Counter()  # 延时/错时服务: tickets served, by session kind
        self._periods: dict[str, str] = {}  # hall day → its period: a year has 300 days and 600,000 cases

    def _period(self, day: str) -> str:
        if (period := self._periods.get(day)) is None:
            period = self._periods[day] = period_of(day, self.by)
        return period

    def add(self, c: Case) -> None:
        tallies = [self.total, self.service[c.service], self.group[c.group], self.period[self._period(c.day)]]
        window = c.counter if c.counter is not None else HOME_VISIT if c.status == "finished" else None
        if window is not None:
            tallies.append(self.window[window])
        for h in c.helpers:
            tallies.append(self.helper[h])
        add_case(tallies, c)
        if c.helpers and c.claim_wait_s is not None:
            wait = round(c.claim_wait_s)
            self.helper[c.helpers[0]].claim_waits[wait] += 1  # who answered the request
            self.group[c.group].claim_waits[wait] += 1
            self.total.claim_waits[wait] += 1
        for ho in c.handovers:
            self.helper[ho.split("→", 1)[0]].handovers += 1
        self.arrivals_by_hour[c.hour] += 1
        if c.session_kind and c.status == "finished":
            self.extended_served[c.session_kind] += 1
        if self.first_day is None:
            self.first_day = c.day
        self.last_day = c.day
        if c.on_time is False or c.outcome == "refused" or c.rating in FOLLOW_UP_LEVELS or c.escalated:
            self.attention_total += 1
            if len(self.attention) < ATTENTION_LIMIT:
                self.attention.append(c)

    def periods(self, first: date | None = None, last: date | None = None) -> list[tuple[str, Tally]]:
        """Every period of the range in order, one without cases as an empty tally (a day the hall was shut is a
        row of zeros, not a gap). The range: the one given, else the summary's, else the first to the last case."""
        lo = first or self.first or (date.fromisoformat(self.first_day) if self.first_day else None)
        hi = last or self.last or (date.fromisoformat(self.last_day) if self.last_day else None)
        keys = set(self.period)
        if lo is not None and hi is not None:
            keys.update(period_of((lo + timedelta(days=i)).isoformat(), self.by)
                        for i in range((hi - lo).days + 1))
        return [(k, self.period[k] if k in self.period else Tally()) for k in sorted(keys)]

    def add_all(self, cases: Iterable[Case]) -> None:
        for c in cases:
            self.add(c)

    def finish(self, followups: Iterable[FollowUp], consultations: Iterable[Consultation],
               as_of: datetime) -> None:
        """Follow-ups and consultations are counted once their status at `as_of` is known (after the pass)."""
        for f in followups:
            is_open, late = followup_is_open(f), followup_is_overdue(f, as_of)
            tallies = [self.total, self.service[f.service], self.group[f.group], self.period[period_of(f.day,
                                                                                                       self.by)]]
            tallies += [self.helper[h] for h in f.helpers]
            window = f.counter if f.counter is not None else HOME_VISIT
            tallies.append(self.window[window])
            for t in tallies:
                t.followups += 1
                t.followups_open += is_open
                t.followups_overdue += late and is_open
        for q in consultations:
            late = consultation_is_overdue(q, as_of)
            tallies = [self.total, self.helper[q.helper], self.period[period_of(q.day, self.by)]]
            if q.service:
                tallies.append(self.service[q.service])
            for t in tallies:
                t.consultations += 1
                t.consultations_overdue += late
