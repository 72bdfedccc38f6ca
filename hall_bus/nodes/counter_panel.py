"""The counter panel (窗口软件叫号面板) without a UI toolkit: what one window's clerk sees, and the ops they send.

`PanelModel` reads the hall state the node mirrors (snapshot + pushed events), never its own answers, so the panel
shows the same hall as the keypad, the console and the display of that window, and a restart in the middle of a
case comes back to that case. The queue preview asks `calling.select` on a copy of the queue index: the numbers
shown as next are the ones 叫下一位 will call, by the same code. Which buttons are enabled follows the engine's own
preconditions (counters.ready_to_call, engine.current), so a tap the hall would refuse is not offered.

`CounterPanelNode` sends the window's ops over the bus with its counter number and returns the answers. Finishing
with missing materials also issues the one-time notice (一次性告知), printed at the node's `print_at` kiosk.

办件 (cases): the same split. `PanelModel` lists this window's open cases from the mirrored state (masked as the bus
sends them, masked again here so a screen never shows more), the catalogue items the window may accept and their
materials checklist; `CounterPanelNode` sends 受理, 补正, 恢复, 办结, 出件 and 归档 as their command models, each
naming its case, and turns the answers into the words the clerk and the applicant read.

延期 and 环节 (a 重大事项's departments' steps): the model offers 延期 only for a running case before its due date
(the hall refuses one after it) and previews the new due date by the hall's own working-day rule; it lists a case's
steps with their due dates, trackers and state, and the roster's 环节跟踪员 by name, so a clerk picks a person
rather than typing a staff id. The node sends delay_case, assign_step and finish_step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from devices.privacy import mask_id_number, mask_name, mask_phone
from hall_bus.catalogue.model import Item
from hall_bus.config import HallConfig
from hall_bus.domain import calling
from hall_bus.domain import commands as c
from hall_bus.domain import state as s
from hall_bus.domain.casework import DECISION_NAMES, DELIVERY_NAMES, KIND_NAMES, RUNNING, STATUS_NAMES
from hall_bus.domain.commands import RATING_LEVELS
from hall_bus.domain.state import HallState
from hall_bus.domain.workdays import add_working_days
from hall_bus.nodes.board import GROUP_MARKS
from hall_bus.wire.client import BusError, BusTimeout

log = logging.getLogger("hall.counter_panel")

PREVIEW = 5  # numbers shown as "next": what fits beside the current visitor on a 1280×720 panel
PREVIEW_TTL = 20.0  # seconds: the starvation bound and appointment grace move the order with time, not only events
# (level sent as 1..5 with 5 the best, as the rating pads do; the words; stars as a second, non-colour cue)
RATING_CHOICES: tuple[tuple[int, str, str], ...] = tuple(
    (5 - i, name, "★" * (5 - i) + "☆" * i) for i, name in enumerate(RATING_LEVELS))
POSITIONS = {"front": "排到最前", "end": "排到队尾", "original": "按原取号时间"}
OUTCOMES = {"done": "办结", "materials_missing": "缺材料（一次性告知）", "refused": "不予受理"}
REFUSE_REASONS = ("不符合受理条件", "不属于本窗口事项", "申请人未到场", "材料不真实")
STATUS_WORDS = {"closed": "未签到", "open": "开放", "paused": "暂停中"}

# Why a command was refused, in the clerk's words; the server's English message is the fallback.
REFUSALS = {
    "queue_empty": "没有人在等候本窗口",
    "counter_busy": "窗口还有人在办理：先办结、挂起或转办",
    "counter_paused": "窗口暂停中：先点「继续」",
    "counter_closed": "窗口未签到：先点「签到」",
    "already_called": "这个号已被叫过",
    "needs_helper": "这个号在等帮办员认领",
    "unknown_ticket": "没有这个号",
    "not_served_here": "本窗口不办理这个事项",
    "no_current_ticket": "窗口现在没有办事人",
    "bad_state": "现在不能这样操作",
    "bad_transfer": "不能转到同一个事项或窗口",
    "already_rated": "这件事已经评价过了（一事一评）",
    "not_finished": "还没办结，不能评价",
    "not_parked_here": "这个号没有挂在本窗口",
    "bus": "连不上大厅系统，请稍后再试",
    "invalid": "填写有误，请检查后再试",
    "unknown_case": "没有这个办件编号",
    "unknown_item": "事项目录里没有这个事项",
    "no_catalogue": "本大厅没有配置事项目录",
    "id_not_checked": "窗口领取须先核验领取人身份证，并填写领取人姓名",
    "bad_notice": "请至少选一项缺少的材料",
    "no_reason": "不予办理须写明理由",
    "no_person": "请先登录",
    "too_late": "已过承诺办结时间，不能再延期（延期须在到期前申请）",
    "no_delay_reason": "延期须写明理由",
    "unknown_step": "这个办件没有这个环节",
    "not_tracker": "只能指派名册上有「环节跟踪员」职责的人",
    "steps_open": "还有环节未办结：先在「环节…」里办结各环节，才能准予办结",
}


@dataclass(frozen=True)
class Visitor:
    """The case at the window now."""

    ticket: str
    number: str
    service: str
    group: str
    label: str
    mark: str
    status: str  # called | serving
    helper: str | None
    since_ts: float  # the latest call: how long this visitor has held the window
    recalls: int
    notes: tuple[str, ...]

    @property
    def group_words(self) -> str:
        return f"{self.mark} {self.label}".strip()

    @property
    def status_words(self) -> str:
        return "办理中" if self.status == s.SERVING else "已叫号，等候到窗" + (f"（重呼 {self.recalls} 次）"
                                                                       if self.recalls else "")

    def minutes(self, now_ts: float) -> int:
        return max(0, int((now_ts - self.since_ts) // 60))


@dataclass(frozen=True)
class Waiting:
    ticket: str
    number: str
    service: str
    label: str
    mark: str
    group: str

    @property
    def words(self) -> str:
        extra = f" {self.mark}{self.label}" if self.group != "normal" else ""
        return f"{self.number}  {self.service}{extra}"


@dataclass(frozen=True)
class Parked:
    ticket: str
    number: str
    service: str


@dataclass(frozen=True)
class Buttons:
    """Which taps the hall would accept now (the engine's preconditions, read from the mirrored state)."""

    open: bool = False
    close: bool = False
    pause: bool = False
    resume: bool = False
    call_next: bool = False
    call_ticket: bool = False
    recall: bool = False
    start: bool = False
    finish: bool = False
    no_show: bool = False
    transfer: bool = False
    park: bool = False
    resume_parked: bool = False
    rate: bool = False

    def as_dict(self) -> dict[str, bool]:
        return asdict(self)


@dataclass(frozen=True)
class PanelView:
    counter: int
    status: str  # closed | open | paused
    visitor: Visitor | None
    next_up: tuple[Waiting, ...]
    waiting: int  # callable at this window now
    waiting_by_service: tuple[tuple[str, int], ...]  # every waiting ticket of each service this window serves
    parked: tuple[Parked, ...]
    buttons: Buttons
    to_rate: str | None  # ticket id of the case just finished here, not yet rated
    to_rate_number: str = ""

    @property
    def status_words(self) -> str:
        return STATUS_WORDS.get(self.status, self.status)


EMPTY = PanelView(0, "closed", None, (), 0, (), (), Buttons(), None)


# ---------------------------------------------------------------------- 办件 rows and what may be done to them

ACTION_WORDS = {"supplement": "补正…", "resume": "材料已补齐", "conclude": "办结…", "deliver": "出件…",
                "archive": "归档", "delay": "延期…", "steps": "环节…"}
DECISION_CHOICES = {"approved": "准予", "refused": "不予"}
DELIVERY_CHOICES = {"window": "窗口领取", "ems": "邮寄（EMS）", "elicence": "电子证照"}
# 延期: the picker's working days, 1..DELAY_DAYS (the 行政许可法's own extension is ten working days; the hall takes
# up to 60 in one command, but a panel offering 60 buttons would invite a slip), and the reasons clerks give most
DELAY_DAYS = 10
DELAY_REASONS = ("需现场核查", "需征求相关部门意见", "申请人申请延期", "需专家评审")
TRACKER_DUTY = "tracker"  # 环节跟踪员 on the roster (commands.DUTY_NAMES)


def past_due(k: s.CaseRecord, now_ts: float) -> bool:
    """Past its due date by the hall's own test (casework.delay_case compares the due date with the time, not the
    sticky overdue mark: a case resumed after 补正 may be before its moved due date again)."""
    return k.due_ts < now_ts


def case_actions(k: s.CaseRecord, now_ts: float) -> tuple[str, ...]:
    """What the case's state lets the window do next (the domain's own preconditions), so a tap the hall would
    refuse is not offered. 办结 is offered on a just-accepted case too: the node starts it first. 延期 only while
    the clock runs and before the due date (the hall refuses it after); 环节 whenever the case has steps (the list
    is worth reading after the case is concluded too)."""
    acts = {"accepted": ("supplement", "conclude"), "in_progress": ("supplement", "conclude"),
            "supplement": ("resume",), "concluded": ("deliver",), "delivered": ("archive",)}.get(k.status, ())
    if k.status in RUNNING and not past_due(k, now_ts):
        acts += ("delay",)
    if k.steps:
        acts += ("steps",)
    return acts


def current_step(k: s.CaseRecord) -> int:
    """The step under way, 1-based (the steps run in order); 0 when there are none or all are finished."""
    return next((i for i, st in enumerate(k.steps, 1) if st.finished_ts is None), 0)


@dataclass(frozen=True)
class StepRow:
    """One department's step of a 重大事项 as the 环节 screen shows it: lateness in words, never colour alone."""

    step: int  # 1-based, as the hall numbers them
    department: str
    name: str
    due_words: str
    late: bool  # not finished and past its due date, or finished after it
    tracker: str  # staff id ("" none)
    tracker_name: str
    state: str  # done | current | waiting
    state_words: str
    can_assign: bool
    can_finish: bool

    @property
    def title(self) -> str:
        return f"环节{self.step} · {self.department} · {self.name}"

    @property
    def words(self) -> str:
        return "\n".join((self.title, f"截止：{self.due_words}",
                          f"跟踪员：{self.tracker_name}    {self.state_words}"))


@dataclass(frozen=True)
class CaseRow:
    """One case as the window's list and the case screen show it: personal data masked."""

    number: str
    item: str
    item_name: str
    kind_words: str
    applicant: str
    id_number: str
    phone: str
    status: str
    status_words: str
    due_words: str
    overdue: bool
    missing: tuple[str, ...]
    actions: tuple[str, ...]
    steps_words: str = ""  # a 重大事项: the step under way, or that all are finished
    delay_words: str = ""  # 延期 so far, or why none can be asked now

    @property
    def words(self) -> str:
        return f"{self.number}  {self.item_name}  {self.applicant}  {self.status_words}  {self.due_words}"

    @property
    def too_late_to_delay(self) -> bool:
        """Running and past its due date: the one reason a 延期 is refused that the screen must say at the button."""
        return self.overdue and self.status in RUNNING


class PanelModel:
    """One window's view of the mirrored hall. `take` sees each event for what the state does not keep (which case
    was just finished here, which visitor came back from a transfer or a park); `view` is a pure read."""

    def __init__(self, cfg: HallConfig, counter: int, *, preview: int = PREVIEW) -> None:
        if counter not in cfg.counters_by_number:
            raise ValueError(f"no counter number {counter} in the hall configuration")
        self.cfg = cfg
        self.counter = counter
        self.preview = preview
        self.services = list(cfg.counters_by_number[counter].services)
        self.to_rate: str | None = None
        self.to_rate_number = ""
        self._transferred: set[str] = set()
        self._resumed: set[str] = set()
        self._cache: tuple[tuple[int, int], tuple[tuple[Waiting, ...], int]] | None = None

    # ------------------------------------------------------------------ events (the bus client's on_event)

    def take(self, ev: dict[str, Any]) -> None:
        kind, d = ev["type"], ev.get("data", {})
        here = d.get("counter", d.get("from_counter")) == self.counter
        if kind == "ticket_transferred":
            self._transferred.add(d["ticket"])
        elif kind == "ticket_resumed" and here:
            self._resumed.add(d["ticket"])
        elif kind == "ticket_finished" and here:
            self.finished(d["ticket"], d.get("number", ""))
        elif kind == "ticket_called" and here:
            self.to_rate, self.to_rate_number = None, ""  # the next visitor is at the window
        elif kind == "rating_recorded" and d.get("ticket") == self.to_rate:
            self.to_rate, self.to_rate_number = None, ""  # rated once (一事一评)
        elif kind == "day_opened":
            self._transferred.clear()
            self._resumed.clear()
            self.to_rate, self.to_rate_number = None, ""

    def finished(self, ticket: str, number: str) -> None:
        """The case just finished here is the one the rating prompt rates (from the answer or the event)."""
        self.to_rate, self.to_rate_number = ticket, number

    def rated(self) -> None:
        self.to_rate, self.to_rate_number = None, ""

    # ------------------------------------------------------------------ the view

    def view(self, state: HallState | None, now_ts: float | None = None) -> PanelView:
        now = time.time() if now_ts is None else now_ts
        if state is None:
            return PanelView(self.counter, "closed", None, (), 0, (), (), Buttons(), None)
        c = state.counters.get(self.counter) or s.CounterState(self.counter)
        current = state.tickets.get(c.current) if c.current else None
        visitor = self._visitor(state, current) if current is not None else None
        next_up, callable_now = self._preview(state, now)
        parked = tuple(Parked(t.id, t.number, t.service) for tid in c.parked if (t := state.tickets.get(tid)))
        by_service = {name: 0 for name in self.services}
        for tid in state.waiting:
            t = state.tickets[tid]
            if t.service in by_service:
                by_service[t.service] += 1
        may_call = c.status != "paused" and not (c.status == "closed" and c.signed_in) and current is None
        at = current.status if current is not None else None
        buttons = Buttons(
            open=c.status == "closed",
            close=c.status != "closed" and current is None and not c.parked,
            pause=c.status == "open",
            resume=c.status == "paused",
            call_next=may_call and bool(next_up),
            call_ticket=may_call,
            recall=at == s.CALLED,
            start=at == s.CALLED,
            finish=at in (s.CALLED, s.SERVING),
            no_show=at == s.CALLED,
            transfer=at in (s.CALLED, s.SERVING),
            park=at in (s.CALLED, s.SERVING),
            resume_parked=may_call and bool(parked),
            rate=self._rateable(state),
        )
        return PanelView(self.counter, c.status, visitor, next_up, callable_now, tuple(by_service.items()), parked,
                         buttons, self.to_rate if buttons.rate else None,
                         self.to_rate_number if buttons.rate else "")

    def _rateable(self, state: HallState) -> bool:
        t = state.tickets.get(self.to_rate) if self.to_rate else None
        return t is not None and t.status == s.FINISHED and t.rating is None

    def _visitor(self, state: HallState, t: s.Ticket) -> Visitor:
        help_ = state.helps.get(t.help_id) if t.help_id else None
        helper = help_.helper if help_ is not None and help_.status == "claimed" else None
        notes = []
        service = self.cfg.services_by_name.get(t.service)
        if t.id in self._transferred or (service is not None and not t.number.startswith(service.prefix)):
            notes.append("转办而来")  # a service transfer keeps the first service's letter: it survives a resync
        if t.id in self._resumed:
            notes.append("挂起后恢复")
        if t.appointment_ts is not None:
            notes.append("预约")
        if t.seated:
            notes.append("坐等（帮办员代办）")
        return Visitor(t.id, t.number, t.service, t.group, self.label(t.group), GROUP_MARKS.get(t.group, ""),
                       t.status, helper, t.last_called_ts or t.called_ts or 0.0, t.recalls, tuple(notes))

    def _preview(self, state: HallState, now: float) -> tuple[tuple[Waiting, ...], int]:
        """The next numbers `call_next` would call here, in order, by `calling.select` itself: on a copy of the
        queue (the tickets shared, the index rebuilt), each pick taken out before the next is asked."""
        key = (state.seq, int(now // PREVIEW_TTL))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        eligible = [tid for tid in state.waiting if calling.eligible(self.cfg, state.tickets[tid], self.counter)]
        shadow = HallState(day=state.day, tickets=state.tickets, waiting=dict.fromkeys(eligible),
                           counters=state.counters)
        shadow.rebuild_index()
        picks: list[Waiting] = []
        while len(picks) < self.preview:
            t = calling.select(self.cfg, shadow, self.counter, now)
            if t is None:
                break
            picks.append(Waiting(t.id, t.number, t.service, self.label(t.group), GROUP_MARKS.get(t.group, ""),
                                 t.group))
            shadow.dequeue(t.id)
        result = (tuple(picks), len(eligible))
        self._cache = (key, result)
        return result

    # ------------------------------------------------------------------ what the dialogs offer

    def label(self, group: str) -> str:
        rule = self.cfg.groups.get(group)  # type: ignore[call-overload]  # a code from an older config
        return rule.label if rule is not None else group

    def materials(self, service: str) -> list[str]:
        """The service's materials list from the hall config: the toggles of the 缺材料 dialog."""
        found = self.cfg.services_by_name.get(service)
        return list(found.materials) if found is not None else []

    def transfer_services(self, current: str | None = None) -> list[str]:
        return [sv.name for sv in self.cfg.services if sv.name != current]

    def prefixes(self) -> list[str]:
        """The ticket letters of the services this window serves: the number pad's letter keys."""
        return list(dict.fromkeys(self.cfg.services_by_name[name].prefix for name in self.services))

    # ------------------------------------------------------------------ 办件 (cases)

    def items(self, service: str | None = None) -> list[Item]:
        """The catalogue items this window may accept: those of the visitor's service first (the likely one), then
        the rest of the window's services. An item's guide `windows` are where visitors are sent, not a limit: a
        window serving the service at all (an overflow 企业开办 visitor at 5) accepts its items too."""
        cat = self.cfg.catalogue
        if cat is None:
            return []
        order = ([service] if service in self.services else []) + [sv for sv in self.services if sv != service]
        rank = {sv: i for i, sv in enumerate(order)}
        here = [i for i in cat.items if i.service in rank]
        return sorted(here, key=lambda i: rank[i.service])  # stable: the catalogue's own order within a service

    def checklist(self, code: str) -> list[tuple[str, str]]:
        """The item's materials as (name, 必要/容缺): the 受理 screen's checklist and the 补正 screen's toggles."""
        cat = self.cfg.catalogue
        item = cat.by_code.get(code) if cat is not None else None
        if item is None:
            return []
        return [(m.name, "必要" if m.required else "容缺") for m in item.materials]

    def cases(self, state: HallState | None, now_ts: float | None = None) -> list[CaseRow]:
        """This window's cases not yet archived (accepted here, or continued by a visit to it), soonest due first;
        a late one says so in words (超期), not only in a colour."""
        if state is None:
            return []
        now = time.time() if now_ts is None else now_ts
        mine = [k for k in state.cases.values() if k.status != "archived" and self._ours(state, k)]
        return [self.row(k, now, state) for k in sorted(mine, key=lambda k: k.due_ts)]

    def _ours(self, state: HallState, k: s.CaseRecord) -> bool:
        if k.counter == self.counter:
            return True
        return any((t := state.tickets.get(tid)) is not None and t.counter == self.counter for tid in k.tickets)

    def row(self, k: s.CaseRecord, now_ts: float, state: HallState | None = None) -> CaseRow:
        tz = self.cfg.hall.tz
        due = datetime.fromtimestamp(k.due_ts, tz)
        late = k.status in ("accepted", "in_progress", "supplement", "handed_over") and past_due(k, now_ts)
        if k.status == "supplement":
            due_words = f"原定 {due:%m-%d %H:%M}（补正中，计时暂停）"
        elif k.status == "handed_over":  # 转办: still this window's promise, worked at another site
            due_words = f"{due:%m-%d %H:%M} 前（在 {k.out_to} 办理）"
        else:
            due_words = f"{due:%m-%d %H:%M} 前"
        if late:
            due_words = "已超期 · " + due_words
        status = STATUS_NAMES.get(k.status, k.status)
        if k.decision:
            status += f"（{DECISION_NAMES.get(k.decision, k.decision)}）"
        delay = [f"已延期 {k.delays} 个工作日"] if k.delays else []
        if k.status in RUNNING and late:
            delay.append("已过承诺办结时间，不能再延期（延期须在到期前申请）")
        return CaseRow(k.number, k.item, k.item_name, KIND_NAMES.get(k.kind, k.kind), mask_name(k.applicant),
                       mask_id_number(k.id_number) if k.id_number else "", mask_phone(k.phone) if k.phone else "",
                       k.status, status, due_words, late, tuple(k.missing), case_actions(k, now_ts),
                       self._steps_line(k, state), "；".join(delay))

    def _steps_line(self, k: s.CaseRecord, state: HallState | None) -> str:
        if not k.steps:
            return ""
        n = current_step(k)
        if n == 0:
            return f"{len(k.steps)} 个环节均已办结"
        st = k.steps[n - 1]
        who = self.staff_name(state, st.tracker) if st.tracker else "未指派跟踪员"
        return f"第 {n}/{len(k.steps)} 环节 {st.department}·{st.name}（{who}）"

    # ------------------------------------------------------------------ 延期 and 环节

    def delayed_due(self, k: s.CaseRecord, days: int) -> datetime:
        """The due date after a delay of `days` working days: the hall's own rule (casework.delay_case moves it by
        add_working_days on the hall's calendar), so the date shown before confirming is the one recorded."""
        return add_working_days(datetime.fromtimestamp(k.due_ts, self.cfg.hall.tz), days, self.cfg.calendar)

    def delay_preview(self, k: s.CaseRecord, days: int) -> str:
        """What 确认延期 will do, in words: the due date now and after (one line: it stays in view above the
        buttons on the smallest panel in large text; that unfinished steps move with it is said on the screen)."""
        now = datetime.fromtimestamp(k.due_ts, self.cfg.hall.tz)
        if days < 1:
            return f"现承诺办结：{now:%Y-%m-%d %H:%M} 前"
        return f"延期 {days} 个工作日：{now:%Y-%m-%d %H:%M} → {self.delayed_due(k, days):%Y-%m-%d %H:%M} 前"

    def trackers(self, state: HallState | None) -> list[tuple[str, str]]:
        """(staff id, name shown) of the roster's active 环节跟踪员, from the mirrored state: the tracker picker's
        choices. A name two people share is shown with the id, so the two buttons differ."""
        if state is None:
            return []
        found = [m for m in state.staff.values() if m.active and TRACKER_DUTY in m.duties]
        names = [m.name for m in found]
        return [(m.id, m.name if names.count(m.name) == 1 else f"{m.name}（{m.id}）") for m in found]

    @staticmethod
    def staff_name(state: HallState | None, staff: str) -> str:
        member = state.staff.get(staff) if state is not None else None
        return member.name if member is not None else staff

    def steps(self, state: HallState | None, k: s.CaseRecord, now_ts: float) -> list[StepRow]:
        """The case's steps in order: due date (late in words), tracker by name, finished or not, and what may be
        done to each now (assign while the case is open and the step unfinished; finish the step under way of a
        running case: the node starts a just-accepted case first)."""
        tz = self.cfg.hall.tz
        n = current_step(k)
        open_ = k.status in ("accepted", "in_progress", "supplement")
        rows = []
        for i, st in enumerate(k.steps, 1):
            due = datetime.fromtimestamp(st.due_ts, tz)
            if st.finished_ts is not None:
                late = st.finished_ts > st.due_ts
                state_ = "done"
                state_words = (f"✓ 已办结 {datetime.fromtimestamp(st.finished_ts, tz):%m-%d %H:%M}"
                               + ("（超期办结）" if late else "（按时）"))
                due_words = f"{due:%m-%d %H:%M} 前"
            else:
                late = open_ and st.due_ts < now_ts
                state_ = "current" if i == n else "waiting"
                state_words = ("办理中" if i == n and k.status == "in_progress" else
                               "补正中，计时暂停" if k.status == "supplement" else
                               "待开始（本件尚未开始办理）" if i == n and k.status == "accepted" else
                               "待办（前一环节办结后开始）" if open_ else STATUS_NAMES.get(k.status, k.status))
                due_words = ("已超期 · " if late else "") + f"{due:%m-%d %H:%M} 前"
            rows.append(StepRow(
                i, st.department, st.name, due_words, late, st.tracker or "",
                self.staff_name(state, st.tracker) if st.tracker else "未指派", state_, state_words,
                can_assign=open_ and st.finished_ts is None,
                can_finish=k.status in RUNNING and i == n))
        return rows

    def find_case(self, state: HallState | None, typed: str) -> s.CaseRecord | None:
        """A case number as typed or scanned (the receipt's QR holds it whole); the serial alone finds a case of
        this window when only one has it."""
        if state is None:
            return None
        key = typed.strip().upper()
        if not key:
            return None
        found = state.cases.get(key) or next((k for n, k in state.cases.items() if n.upper() == key), None)
        if found is not None or not key.isdigit():
            return found
        hits = [k for k in state.cases.values() if self._ours(state, k) and k.number.endswith(f"-{int(key):04d}")]
        return hits[0] if len(hits) == 1 else None


# ---------------------------------------------------------------------- the clerk's line for an answer


def _when(iso: Any) -> str:
    """A due date from an answer (ISO, with the hall's offset) as the clerk reads it."""
    try:
        return f"{datetime.fromisoformat(str(iso)):%Y-%m-%d %H:%M}"
    except ValueError:
        return str(iso or "")


def say(answer: dict[str, Any]) -> str:
    if not answer.get("ok"):
        code = answer.get("code", "")
        return "未成功：" + REFUSALS.get(code, str(answer.get("message", code)))
    r = answer.get("result", {})
    op = answer.get("op")
    number = r.get("number", "")
    if op in ("call_next", "call_ticket"):
        return f"已叫 {number}（{r.get('service', '')} · {r.get('label', '')}）"
    if op == "recall":
        return f"{number} 重呼三次未到，已过号" if r.get("no_show") else f"重呼 {number}（第 {r.get('count', 1)} 次）"
    words = {
        "start": f"开始办理 {number}", "no_show": f"{number} 已过号", "park": f"{number} 已挂起",
        "resume_parked": f"恢复办理 {number}", "transfer": f"{number} 已转办到 {r.get('service') or ''}"
        + (f"（{r['counter']} 号窗口）" if r.get("counter") else ""),
        "pause_counter": "窗口已暂停", "resume_counter": "窗口已继续叫号", "open_counter": "已签到",
        "close_counter": "已签退", "rate": f"谢谢您的评价：{r.get('level', '')}",
        "finish": f"{number} " + {"done": "办结", "materials_missing": "缺材料，已一次性告知",
                                  "refused": "不予受理"}.get(r.get("outcome", "done"), "办结"),
        "issue_notice": f"一次性告知单 {r.get('notice_id', '')}",
        "sign_in": f"{r.get('name', '')} 已登录".strip(), "sign_out": "已退出登录",
        "accept_case": f"已受理，办件编号 {r.get('case', '')}",
        "continue_case": f"本次来访已记入办件 {r.get('case', '')}",
        "start_case": f"办件 {r.get('case', '')} 开始办理",
        "request_supplement": f"办件 {r.get('case', '')} 已一次性告知补正，计时暂停",
        "resume_case": f"办件 {r.get('case', '')} 材料已补齐，恢复计时（暂停 {r.get('paused_days', 0)} 个工作日）",
        "conclude_case": f"办件 {r.get('case', '')} 已办结："
        + DECISION_NAMES.get(str(r.get("decision", "")), "") + ("" if r.get("on_time", True) else "（超期）"),
        "deliver_case": f"办件 {r.get('case', '')} 已出件：{DELIVERY_NAMES.get(str(r.get('how', '')), '')}",
        "archive_case": f"办件 {r.get('case', '')} 已归档",
        "delay_case": f"办件 {r.get('case', '')} 已延期，承诺办结改为 {_when(r.get('due'))} 前",
        "assign_step": f"办件 {r.get('case', '')} 环节{r.get('step', '')} 已指派跟踪员 {r.get('tracker', '')}",
        "finish_step": f"办件 {r.get('case', '')} 环节{r.get('step', '')} 已办结"
        + ("（超期）" if r.get("late") else "")
        + ("，下一环节开始" if r.get("next") else "，各环节均已办结，可办结本件"),
    }
    return words.get(str(op), f"{op} {number}".strip())


# ---------------------------------------------------------------------- the node


@dataclass
class FinishOutcome:
    answer: dict[str, Any]
    notice: dict[str, Any] | None = None  # the issue_notice answer, for materials_missing
    notice_text: str = ""
    words: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.answer.get("ok"))


@dataclass
class CaseOutcome:
    """A 受理 (or an opened case) and what the screens show of it: the number, kind and due date in big words and
    the receipt's lines."""

    answer: dict[str, Any]
    case: str = ""
    headline: str = ""
    receipt: list[str] | None = None
    receipt_where: str = ""
    words: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.answer.get("ok"))


@dataclass
class _Pending:
    service: str
    missing: list[str]
    ticket: str
    tries: int = 0


class CounterPanelNode:
    """The panel's side of the bus: ops sent as this window's own, answers returned and put in words. The state
    shown comes from the client's mirror (`client.state`), kept by pushed events."""

    def __init__(self, client: Any, cfg: HallConfig, node: str, *, model: PanelModel | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        found = next((n for n in cfg.nodes if n.id == node), None)
        if found is None or found.role != "counter" or found.counter is None:
            raise ValueError(f"{node} is not a counter node with a window number in the hall configuration")
        self.client = client
        self.cfg = cfg
        self.node = node
        self.counter = found.counter
        self.print_at = found.print_at
        self.model = model or PanelModel(cfg, self.counter)
        self.message = ""  # the last answer in the clerk's words
        self.notice_text = ""  # the last one-time notice issued here
        self.pending_notice: _Pending | None = None  # a notice the hall did not take: offered again
        self.on_change: Callable[[], None] | None = None
        self.clock = clock  # the panel's time (what is late, what may still be delayed); the hall has its own

    # ------------------------------------------------------------------ bus client callbacks

    def on_event(self, ev: dict[str, Any]) -> None:
        self.model.take(ev)
        self._changed()

    def on_resync(self) -> None:
        self._changed()

    def view(self, now_ts: float | None = None) -> PanelView:
        return self.model.view(getattr(self.client, "state", None), self.clock() if now_ts is None else now_ts)

    # ------------------------------------------------------------------ ops

    @property
    def person(self) -> str | None:
        """The clerk signed in on this panel, as the hall has it."""
        state = getattr(self.client, "state", None)
        return state.signed_in(self.node)[0] if state is not None else None

    @property
    def person_name(self) -> str:
        state = getattr(self.client, "state", None)
        return state.signed_in(self.node)[1] if state is not None else ""

    async def sign_in(self, staff: str, pin: str) -> dict[str, Any]:
        return await self.send("sign_in", staff=staff.strip(), pin=pin.strip())

    async def sign_out(self) -> dict[str, Any]:
        return await self.send("sign_out", reason="signed out")

    async def send(self, op: str, ticket: str | None = None, **fields: Any) -> dict[str, Any]:
        """One of this window's ops, built from its model. An op on the visitor names `ticket` — the one the
        dialog was opened for, or else the one the panel shows now — so a keypad's call a moment earlier never
        makes this panel act on the next visitor."""
        model = c.MODEL_FOR[op]
        if model.own_window and "counter" in model.model_fields:
            fields["counter"] = self.counter
        if model.acts_on == "ticket":
            shown = self.view().visitor
            ticket = ticket or fields.pop("ticket", None) or (shown.ticket if shown is not None else None)
            if ticket is None:
                answer = {"ok": False, "op": op, "code": "no_current_ticket", "message": "nobody at the window"}
                self.message = say(answer)
                self._changed()
                return answer
            fields["ticket"] = ticket
        elif ticket is not None and "ticket" in model.model_fields:
            fields["ticket"] = ticket
        try:
            answer = await self.client.send(c.build(model, op=op, **fields))
        except c.CommandInvalid as exc:
            answer = {"ok": False, "op": op, "code": "invalid", "message": str(exc)}
        except (BusTimeout, BusError) as exc:
            log.warning("counter %d: %s: %s", self.counter, op, exc)
            answer = {"ok": False, "op": op, "code": "bus", "message": str(exc)}
        answer.setdefault("op", op)
        self.message = say(answer)
        if not answer.get("ok"):
            log.info("counter %d: %s refused: %s", self.counter, op, answer.get("message", answer.get("code")))
        self._changed()
        return answer

    async def call_ticket(self, number: str) -> dict[str, Any]:
        return await self.send("call_ticket", ticket=number.strip().upper())

    async def transfer(self, to_service: str | None = None, position: str = "front",
                       to_counter: int | None = None, *, ticket: str | None = None) -> dict[str, Any]:
        return await self.send("transfer", ticket, position=position, to_service=to_service, to_counter=to_counter)

    async def resume_parked(self, ticket: str) -> dict[str, Any]:
        return await self.send("resume_parked", ticket)

    async def finish(self, outcome: str = "done", materials: list[str] | None = None,
                     reason: str = "", *, ticket: str | None = None) -> FinishOutcome:
        """Finish the case `ticket` (the one the finish dialog was opened for; else the one shown); with missing
        materials also issue the one-time notice slip (printed at `print_at`), so what the visitor is told is in
        the ledger twice over: in the case and as the notice."""
        view = self.view()
        current = view.visitor
        items = list(dict.fromkeys(m.strip() for m in (materials or []) if m.strip()))
        fields: dict[str, Any] = {"outcome": outcome}
        if outcome == "materials_missing":
            fields["materials"] = items
        if outcome == "refused":
            fields["reason"] = reason.strip()
        answer = await self.send("finish", ticket, **fields)
        result = FinishOutcome(answer, words=self.message)
        if not answer.get("ok"):
            return result
        r = answer.get("result", {})
        state = getattr(self.client, "state", None)
        counter = state.counters.get(self.counter) if state is not None else None
        # a call made after this finish (a keypad) wins: the next visitor is not asked to rate. The mirror may not
        # have seen this finish yet (the answer can come before the event): its visitor is then still this one
        if counter is None or counter.current in (None, r.get("ticket")):
            self.model.finished(r.get("ticket", ""), r.get("number", ""))
        if outcome == "materials_missing":
            done = state.tickets.get(r.get("ticket", "")) if state is not None else None
            service = done.service if done is not None else current.service if current is not None else ""
            self.pending_notice = _Pending(service, items, r.get("ticket", ""))
            result.notice = await self.issue_pending_notice()
            result.notice_text = self.notice_text if result.notice and result.notice.get("ok") else ""
            result.words = f"{say(answer)}；" + (say(result.notice) if result.notice else "")
            self.message = result.words
        self._changed()
        return result

    async def issue_pending_notice(self) -> dict[str, Any] | None:
        """Send (or send again) the notice of the case just finished with missing materials."""
        p = self.pending_notice
        if p is None:
            return None
        p.tries += 1
        answer = await self.send("issue_notice", p.ticket, service=p.service, missing=p.missing,
                                 print_at=self.print_at)
        if answer.get("ok"):
            self.pending_notice = None
            text = answer.get("result", {}).get("text", "")
            where = f"\n（告知单由自助机 {self.print_at} 打印）" if self.print_at else ""
            self.notice_text = text + where
        return answer

    async def rate(self, level: int) -> dict[str, Any]:
        """Rate the case just finished here, once; the prompt closes whatever the answer."""
        ticket = self.model.to_rate
        if ticket is None:
            answer = {"ok": False, "op": "rate", "code": "not_finished", "message": "no case to rate"}
            self.message = say(answer)
            return answer
        answer = await self.send("rate", ticket, level=level)
        if answer.get("ok") or answer.get("code") == "already_rated":
            self.model.rated()
            self._changed()
        return answer

    # ------------------------------------------------------------------ 办件 (cases)

    def cases(self, now_ts: float | None = None) -> list[CaseRow]:
        return self.model.cases(getattr(self.client, "state", None), self.clock() if now_ts is None else now_ts)

    def case(self, number: str, now_ts: float | None = None) -> CaseRow | None:
        """The case as the mirror has it now (None: no such case)."""
        state = getattr(self.client, "state", None)
        found = self._record(number)
        return self.model.row(found, self.clock() if now_ts is None else now_ts, state) if found is not None else None

    def _record(self, number: str) -> s.CaseRecord | None:
        state = getattr(self.client, "state", None)
        return state.cases.get(number) if state is not None else None

    def _refuse(self, op: str, code: str) -> dict[str, Any]:
        """A tap the panel does not send (a field the clerk left out): said as the hall would say it."""
        answer = {"ok": False, "op": op, "code": code, "message": code}
        self.message = say(answer)
        self._changed()
        return answer

    async def accept_case(self, item: str, applicant: str, id_number: str = "", phone: str = "", *,
                          ticket: str | None = None) -> CaseOutcome:
        """受理 for the visitor at the window (`ticket`: the one the screen was opened for; else the one shown,
        else none: a case may be accepted without a ticket). The answer's receipt lines are what the applicant
        takes away; they print at the window's kiosk when the hall's accept_case takes a print_at."""
        if ticket is None:
            shown = self.view().visitor
            ticket = shown.ticket if shown is not None else None
        fields: dict[str, Any] = {"item": item, "applicant": applicant.strip(), "counter": self.counter,
                                  "id_number": id_number.strip().upper() or None, "phone": phone.strip() or None}
        printed = "print_at" in c.MODEL_FOR["accept_case"].model_fields and self.print_at is not None
        if printed:
            fields["print_at"] = self.print_at
        answer = await self.send("accept_case", ticket, **fields)
        out = CaseOutcome(answer, words=self.message)
        if answer.get("ok"):
            r = answer["result"]
            out.case = r.get("case", "")
            out.receipt = list(r.get("receipt", []))
            due = datetime.fromisoformat(r["due"]).astimezone(self.cfg.hall.tz) if r.get("due") else None
            out.headline = (f"{out.case}\n{KIND_NAMES.get(r.get('kind', ''), '')}  ·  承诺办结 "
                            + (f"{due:%Y-%m-%d %H:%M} 前" if due else ""))
            out.receipt_where = (f"受理回执由自助机 {self.print_at} 打印" if printed
                                 else "受理回执（请核对后交办事人）")
        return out

    async def open_case(self, typed: str) -> CaseOutcome:
        """A returning visitor's case, typed or scanned: found in the mirror, and the visit at the window (if
        any) recorded as part of it (continue_case), so the case keeps every visit."""
        state = getattr(self.client, "state", None)
        found = self.model.find_case(state, typed)
        if found is None:
            return CaseOutcome(self._refuse("continue_case", "unknown_case"), words=self.message)
        out = CaseOutcome({"ok": True, "op": "open_case", "result": {"case": found.number}}, case=found.number)
        shown = self.view().visitor
        if shown is not None and shown.ticket not in found.tickets:
            out.answer = await self.send("continue_case", case=found.number, ticket=shown.ticket)
            out.words = self.message
        else:
            out.words = self.message = f"已打开办件 {found.number}"
            self._changed()
        return out

    async def request_supplement(self, case: str, missing: list[str]) -> dict[str, Any]:
        """补正: the missing materials named at once; the notice prints at the window's kiosk."""
        items = list(dict.fromkeys(m.strip() for m in missing if m.strip()))
        if not items:
            return self._refuse("request_supplement", "bad_notice")
        answer = await self.send("request_supplement", case=case, missing=items, print_at=self.print_at)
        if answer.get("ok"):
            where = f"\n（告知单由自助机 {self.print_at} 打印）" if self.print_at else ""
            self.notice_text = answer["result"].get("text", "") + where
        return answer

    async def resume_case(self, case: str) -> dict[str, Any]:
        return await self.send("resume_case", case=case)

    async def conclude_case(self, case: str, decision: str, reason: str = "") -> dict[str, Any]:
        """办结: 准予, or 不予 with the reason the applicant is given (asked for on the screen, never sent empty).
        A case accepted and concluded at one sitting is started first: the hall concludes only a case under way.
        A 重大事项 is 准予 only once every step is finished (the hall's rule), said before anything is sent."""
        if decision == "refused" and not reason.strip():
            return self._refuse("conclude_case", "no_reason")
        found = self._record(case)
        if decision == "approved" and found is not None and current_step(found):
            return self._refuse("conclude_case", "steps_open")  # the hall's "bad_state" would not say which
        row = self.case(case)
        if row is not None and row.status == "accepted":
            started = await self.send("start_case", case=case)
            if not started.get("ok"):
                return started
        return await self.send("conclude_case", case=case, decision=decision,
                               reason=reason.strip() if decision == "refused" else "")

    async def deliver_case(self, case: str, how: str, *, collector: str = "", id_checked: bool = False,
                           tracking: str = "", link: str = "") -> dict[str, Any]:
        """出件. At the window only after the collector's ID card was checked and their name written: the panel
        asks for both before it sends anything (the hall refuses it without them as well)."""
        if how == "window" and (not id_checked or not collector.strip()):
            return self._refuse("deliver_case", "id_not_checked")
        fields: dict[str, Any] = {"how": how}
        if how == "window":
            fields |= {"collector": collector.strip(), "id_checked": True}
        elif how == "ems":
            fields["tracking"] = tracking.strip() or None
        else:
            fields["link"] = link.strip() or None
        return await self.send("deliver_case", case=case, **fields)

    async def archive_case(self, case: str) -> dict[str, Any]:
        return await self.send("archive_case", case=case)

    # ------------------------------------------------------------------ 延期 and 环节

    def steps(self, case: str, now_ts: float | None = None) -> list[StepRow]:
        found = self._record(case)
        return self.model.steps(getattr(self.client, "state", None), found,
                                self.clock() if now_ts is None else now_ts) if found is not None else []

    def delay_preview(self, case: str, days: int) -> str:
        found = self._record(case)
        return self.model.delay_preview(found, days) if found is not None else ""

    def trackers(self) -> list[tuple[str, str]]:
        return self.model.trackers(getattr(self.client, "state", None))

    async def delay_case(self, case: str, days: int, reason: str) -> dict[str, Any]:
        """延期: the working days picked and the written reason (never sent empty). Whether it is still before the
        due date is the hall's call: asked a minute too late, its refusal comes back in words (too_late)."""
        if not reason.strip():
            return self._refuse("delay_case", "no_delay_reason")
        return await self.send("delay_case", case=case, days=days, reason=reason.strip())

    async def assign_step(self, case: str, step: int, tracker: str) -> dict[str, Any]:
        """指派跟踪员: only someone the roster gives the tracker duty (the hall takes anyone on the roster, so the
        panel keeps the duty), said back by name."""
        names = dict(self.trackers())
        if tracker not in names:
            return self._refuse("assign_step", "not_tracker")
        answer = await self.send("assign_step", case=case, step=step, tracker=tracker)
        if answer.get("ok"):
            self.message = f"办件 {case} 环节{step} 已指派跟踪员 {names[tracker]}"
            self._changed()
        return answer

    async def finish_step(self, case: str, step: int, note: str = "") -> dict[str, Any]:
        """环节办结 for the step under way. A case accepted at this sitting is started first: the hall finishes a
        step only of a case under way (as conclude_case does)."""
        row = self.case(case)
        if row is not None and row.status == "accepted":
            started = await self.send("start_case", case=case)
            if not started.get("ok"):
                return started
        return await self.send("finish_step", case=case, step=step, note=note.strip())

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
