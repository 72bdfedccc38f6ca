"""The cases (办件) of a simulated day: what happens to an application after the visit, over the days after it.

A finished visit is, for a share of visitors, an application accepted as a case for a catalogue item of the
ticket's service. What then happens to that case — concluded the same day (即办), days later (承诺件), step by
step across departments (重大事项), paused for 补正, late, refused, delivered at the window or by EMS, archived,
rated — is decided once per case from its case number (`Fate`), not from the day's random stream: each day of a
week is a separate run (`hallctl simulate --day` on the same data), so the day that concludes a case must
decide as the day that accepted it would have. Each morning the open cases in the hall state are looked at and
today's steps scheduled. Back-office work (start, steps, 办结, 归档) happens on working days of the hall
calendar; an applicant bringing missing materials or collecting a result comes on any day the hall is open.

Besides cases, a day has a few complaints handled through the 整改 workflow (some replied the same day, some
left open), and delegations and one-time notices recorded on a greeter's tablet with no ticket at all, some
delegations accepted as cases (代办) — so the week's 台账 shows every kind of record.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from hall_bus.domain import commands as c
from hall_bus.domain.casework import working_days_between
from hall_bus.domain.workdays import is_working_day

if TYPE_CHECKING:
    from hall_bus.catalogue.model import Item
    from hall_bus.config import HallConfig
    from hall_bus.domain.state import CaseRecord, HallState

CASE_RATE = 0.3  # finished visits that were an application accepted as a case
SUPPLEMENT_RATE = 0.15  # cases paused for 补正 (materials missing after acceptance)
MAJOR_CASE_RATE = 0.8  # a visit for a service with 重大事项 (投资项目) is nearly always an application
MAJOR_SHARE = 0.5  # and often the major one: a week has a few to follow through their steps
LATE_RATE = 0.08  # 承诺件 concluded a working day after their due date
REFUSED_RATE = 0.05
RATING_RATE = 0.6
COMPLAINTS_PER_DAY = 2
TABLET_RECORDS_PER_DAY = 3  # delegations and notices on a greeter's tablet, with no ticket
CLERK, TRACKER, SUPERVISOR, HELPER = "ln03", "zq04", "wf02", "xm01"  # the demo roster (sim/roster.py)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林"
GIVEN = ("秀英", "建国", "丽", "伟", "芳", "海燕", "志强", "桂兰", "明", "淑珍", "子涵", "国庆")
MISSING = ("户口簿原件", "结婚证复印件", "完税证明", "村委会证明", "近期免冠照片")
COMPLAINTS = ("窗口人员态度生硬", "等候时间过长", "材料要求前后不一致", "叫号屏显示错误", "办结后未及时通知领取")

Send = Callable[[float, c.Cmd], dict[str, Any]]
At = Callable[[float, Callable[[float], None]], None]


@dataclass(frozen=True)
class Fate:
    """What becomes of one case, decided from its number so every day's run agrees."""

    days: int  # working days from 受理 to 办结 (0: the same day), not counting a 补正 pause
    supplement: bool
    refused: bool
    delivery: str  # window | ems | elicence
    rating: int | None  # 5 = 非常满意 … 1 = 非常不满意; None: not rated
    minute: int  # minutes after opening the day's step happens


def fate(number: str, item: Item) -> Fate:
    rng = random.Random(hashlib.sha256(number.encode()).digest())
    limit = item.promised_limit.working_days
    if item.kind == "immediate" or limit == 0:
        days = 0
    elif item.kind == "major":
        days = len(item.steps)  # a joint approval: one department's step a working day, 办结 with the last
    elif rng.random() < LATE_RATE and limit <= 3:
        days = limit + 1
    else:
        days = rng.randint(1, min(limit, 3))
    return Fate(days=days, supplement=days > 0 and rng.random() < SUPPLEMENT_RATE,
                refused=rng.random() < REFUSED_RATE, delivery=rng.choices(["window", "ems", "elicence"], [6, 2, 2])[0],
                rating=rng.choices([5, 4, 3, 2, 1], [62, 24, 8, 4, 2])[0] if rng.random() < RATING_RATE else None,
                minute=rng.randint(30, 420))


def fake_id(rng: random.Random, born: date) -> str:
    """A made-up 居民身份证号码 of the right shape (with its check digit): the simulation has no real people."""
    body = f"379901{born:%Y%m%d}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


class CaseWork:
    """The case side of one simulated day, driven by DaySimulation's clock (`at`) and command path (`send`)."""

    def __init__(self, cfg: HallConfig, day: date, rng: random.Random, send: Send, at: At,
                 state: Callable[[], HallState] | None) -> None:
        self.cfg = cfg
        self.day = day
        self.rng = rng
        self.send = send
        self.at = at
        self.state = state
        self.tz = cfg.hall.tz
        self.base = datetime.combine(day, datetime.min.time(), self.tz)
        self.catalogue = cfg.catalogue
        self.working = is_working_day(day, cfg.calendar)
        self.items: dict[str, list[Item]] = {}
        if self.catalogue is not None:
            for item in self.catalogue.items:
                self.items.setdefault(item.service, []).append(item)

    @property
    def on(self) -> bool:
        return self.catalogue is not None

    def _person(self) -> tuple[str, str]:
        born = date(self.rng.randint(1940, 2000), self.rng.randint(1, 12), self.rng.randint(1, 28))
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN), fake_id(self.rng, born)

    # ------------------------------------------------------------------ a visit becomes a case

    def after_visit(self, now: float, counter: int, ticket: str, service: str) -> None:
        """The visit at `counter` ended done: some were an application, accepted there as a case."""
        items = self.items.get(service)
        major = [i for i in items or [] if i.kind == "major"]
        if not items or self.rng.random() >= (MAJOR_CASE_RATE if major else CASE_RATE):
            return
        item = self.rng.choice(major) if major and self.rng.random() < MAJOR_SHARE else self.rng.choice(items)
        applicant, id_number = self._person()
        cmd = c.AcceptCase(item=item.code, applicant=applicant, id_number=id_number, counter=counter, ticket=ticket,
                           by=CLERK)
        self.at(now, lambda t: self._accept(t, cmd, item))

    def _accept(self, now: float, cmd: c.AcceptCase, item: Item) -> None:
        """Every later step is scheduled on the day's clock: no command is sent ahead of it."""
        answer = self.send(now, cmd)
        if answer["ok"]:  # started a minute later
            number = answer["result"]["case"]
            self.at(now + 60, lambda t: self._begin(t, number, item))

    def _begin(self, now: float, number: str, item: Item) -> None:
        self.send(now, c.StartCase(case=number, by=CLERK))
        for i, _step in enumerate(item.steps, 1):
            self.send(now, c.AssignStep(case=number, step=i, tracker=TRACKER, by=CLERK))
        if fate(number, item).days == 0:  # 即办: concluded and handed over while the applicant waits
            self.at(now + 600, lambda t: self._conclude(t, number, item))

    # ------------------------------------------------------------------ the days after

    def plan_day(self, opening: float) -> None:
        """Every open case's step for today, at its own minute; complaints and tablet records for the day."""
        if not self.on:
            return
        st = self.state() if self.state is not None else None
        for k in list(st.cases.values()) if st is not None else []:
            if k.item not in self.catalogue.by_code:  # type: ignore[union-attr]
                continue
            item = self.catalogue.item(k.item)  # type: ignore[union-attr]
            f = fate(k.number, item)
            when = opening + f.minute * 60
            action = self._today(k, item, f)
            if action is not None:
                self.at(when, action)
        for i in range(COMPLAINTS_PER_DAY):
            if self.rng.random() < 0.6:
                self.at(opening + self.rng.uniform(1800, 6 * 3600), lambda t, i=i: self._complaint(t, i))
        for _ in range(TABLET_RECORDS_PER_DAY):
            self.at(opening + self.rng.uniform(600, 7 * 3600), self._tablet_record)

    def _accepted_day(self, k: CaseRecord) -> date:
        return datetime.fromtimestamp(k.accepted_ts, self.tz).date()

    def _today(self, k: CaseRecord, item: Item, f: Fate) -> Callable[[float], None] | None:
        since = self._accepted_day(k)
        if since >= self.day:
            return None  # accepted today: its first day is handled as it is accepted
        n = k.number
        if k.status == "supplement":
            assert k.paused_ts is not None
            paused = datetime.fromtimestamp(k.paused_ts, self.tz).date()
            if (self.day - paused).days >= 2:  # the applicant brings the materials two days later
                return lambda t: self._ok(t, c.ResumeCase(case=n, by=CLERK))
            return None
        if not self.working and k.status in ("accepted", "in_progress", "delivered"):
            return None  # back-office work waits for a working day
        worked = working_days_between(since, self.day, self.cfg.calendar) - k.paused_days
        if k.status == "accepted":
            return lambda t: self._ok(t, c.StartCase(case=n, by=CLERK))
        if k.status == "in_progress":
            if f.supplement and not k.notices and k.paused_days == 0:
                missing = [self.rng.choice(MISSING)]
                return lambda t: self._ok(t, c.RequestSupplement(case=n, missing=missing, by=CLERK))
            current = next((i for i, s in enumerate(k.steps, 1) if s.finished_ts is None), None)
            if current is not None:
                if worked >= current:
                    return lambda t: self._step(t, n, current, item)
                return None
            if worked >= f.days:
                return lambda t: self._conclude(t, n, item)
            return None
        if k.status == "concluded":
            return lambda t: self._deliver(t, n, item)
        if k.status == "delivered":
            return lambda t: self._archive(t, n, item)
        return None

    def _ok(self, now: float, cmd: c.Cmd) -> dict[str, Any]:
        return self.send(now, cmd)

    def _step(self, now: float, number: str, step: int, item: Item) -> None:
        """A department's step done; the last one's department concludes the case the same day."""
        answer = self.send(now, c.FinishStep(case=number, step=step, note="审查通过", by=TRACKER))
        if answer["ok"] and answer["result"]["next"] is None:
            self.at(now + 1800, lambda t: self._conclude(t, number, item))

    def _conclude(self, now: float, number: str, item: Item) -> None:
        f = fate(number, item)
        if f.refused:
            cmd = c.ConcludeCase(case=number, decision="refused", reason="申请材料不符合法定形式", by=CLERK)
        else:
            cmd = c.ConcludeCase(case=number, decision="approved", by=CLERK)
        if self.send(now, cmd)["ok"] and f.days == 0:
            self.at(now + 300, lambda t: self._deliver(t, number, item))

    def _deliver(self, now: float, number: str, item: Item) -> None:
        f = fate(number, item)
        if f.delivery == "ems" and f.days > 0:
            serial = int(hashlib.sha256(number.encode()).hexdigest()[:8], 16) % 10**9
            cmd = c.DeliverCase(case=number, how="ems", tracking=f"EA{serial:09d}CN", by=CLERK)
        elif f.delivery == "elicence" and f.days > 0:
            cmd = c.DeliverCase(case=number, how="elicence", link=f"https://zwfw.example.gov.cn/e/{number}",
                                by=CLERK)
        else:  # at the window, to the applicant whose ID card was checked
            st = self.state() if self.state is not None else None
            k = st.cases.get(number) if st is not None else None
            name, id_number = (k.applicant, k.id_number) if k is not None and k.id_number else self._person()
            cmd = c.DeliverCase(case=number, how="window", collector=name, collector_id=id_number, id_checked=True,
                                by=CLERK)
        if self.send(now, cmd)["ok"] and f.days == 0:
            self.at(now + 60, lambda t: self._archive(t, number, item))

    def _archive(self, now: float, number: str, item: Item) -> None:
        self.send(now, c.ArchiveCase(case=number, by=CLERK))
        rating = fate(number, item).rating
        if rating is not None:
            self.at(now + 120, lambda t: self._rate(t, number, rating))

    def _rate(self, now: float, number: str, rating: Any) -> None:
        """Every later step scheduled on the day's clock: a command is never sent ahead of it."""
        answer = self.send(now, c.RateCase(case=number, level=rating))
        fid = answer.get("result", {}).get("followup_id") if answer["ok"] else None
        if fid:  # a bad rating: the supervisor gives it an owner, who calls back and writes what was done
            self.at(now + 1800, lambda t: self.send(t, c.AssignFollowUp(followup_id=fid, owner=HELPER)))
            self.at(now + 3600, lambda t: self.send(t, c.RectifyFollowUp(followup_id=fid, by=HELPER,
                                                                          note="已电话回访，解释流程并致歉")))
            self.at(now + 5400, lambda t: self.send(t, c.CloseFollowUp(followup_id=fid, by=SUPERVISOR,
                                                                        note="回访核实，群众表示理解")))

    # ------------------------------------------------------------------ complaints and tablet records

    def _complaint(self, now: float, i: int) -> None:
        channel = self.rng.choice(["window", "hotline", "mailbox", "box", "online"])
        windows = [str(x.number) for x in self.cfg.counters]
        answer = self.send(now, c.RegisterComplaint(
            by=HELPER, channel=channel, subject_kind="window", subject=self.rng.choice(windows),  # type: ignore[arg-type]
            complainant=self.rng.choice(SURNAMES) + "先生" if channel != "box" else "",
            text=self.rng.choice(COMPLAINTS)))
        if not answer["ok"]:
            return
        cid = answer["result"]["complaint_id"]
        fate_n = self.rng.random()
        if fate_n < 0.3:
            return  # left open: it waits for its handler on the 督办 view
        self.at(now + 900, lambda t: self.send(t, c.AssignComplaint(complaint_id=cid, owner=CLERK)))
        self.at(now + 3600, lambda t: self.send(t, c.RectifyComplaint(complaint_id=cid, by=CLERK,
                                                                       note="已核实情况并整改")))
        if fate_n < 0.5:
            return  # rectified, the supervisor's reply still to come
        self.at(now + 5400, lambda t: self.send(t, c.ReplyComplaint(complaint_id=cid, by=SUPERVISOR,
                                                                     reply="已电话答复投诉人，对方满意")))

    def _tablet_record(self, now: float) -> None:
        """A greeter's tablet, no ticket: a delegation signed (some accepted as a case at once) or a notice."""
        service = self.rng.choice([s for s in self.cfg.services if s.name in self.items]).name
        if self.rng.random() < 0.5:
            self.send(now, c.IssueNotice(service=service, missing=[self.rng.choice(MISSING)], by=HELPER))
            return
        principal, id_number = self._person()
        digest = hashlib.sha256(f"{principal}{now}".encode()).hexdigest()
        page = c.Page(sha256=digest, file=f"delegation/{digest[:12]}.jpg")
        answer = self.send(now, c.RecordDelegation(helper=HELPER, principal=principal, services=[service],
                                                   pages=[page]))
        delegable = [i for i in self.items[service] if i.delegable]
        if not answer["ok"] or not delegable or self.rng.random() < 0.4:
            return
        item = self.rng.choice(delegable)
        accept = c.AcceptDelegation(delegation_id=answer["result"]["delegation_id"], item=item.code,
                                    id_number=id_number, by=HELPER)

        def accepted(t: float) -> None:
            case = self.send(t, accept)
            if case["ok"]:
                self.at(t + 60, lambda t2: self._begin(t2, case["result"]["case"], item))

        self.at(now + 300, accepted)

