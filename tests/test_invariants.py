"""Hypothesis drives random keypad presses, kiosk issues, helper claims and 办件 steps (受理 with its receipt,
办理, 补正 and back, 办结, 出件, 归档), and 转办 with another site (PAT99, played by the test: its answers to this
hall's hand-overs, its own cases handed here, every delivery sent again); the invariants must always hold, and the
events alone rebuild the state."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hall_bus.clock import ManualClock
from hall_bus.config import load_config
from hall_bus.domain import calling
from hall_bus.domain import state as s
from hall_bus.domain.commands import parse_command
from hall_bus.domain.engine import CommandRejected, QueueEngine
from hall_bus.domain.handover import carried_steps, delivery_command

from .conftest import EXAMPLE, TZ

CFG = load_config(EXAMPLE)
SERVICES = [sv.name for sv in CFG.services]
COUNTERS = [c.number for c in CFG.counters]
GROUPS = list(CFG.groups)
COUNTER_OPS = ["call_next", "recall", "no_show", "start", "pause_counter", "resume_counter", "open_counter",
               "close_counter"]
AT_WINDOW = frozenset({"recall", "no_show", "start", "finish", "transfer", "park"})
HOUSEKEEPING = frozenset({"day_opened", "help_escalated", "consultation_overdue", "case_overdue", "print_expired",
                          "complaint_overdue", "followup_overdue",
                          "handover_overdue"})  # the timers, before any command runs
ITEMS = [i.code for i in CFG.catalogue.items] if CFG.catalogue is not None else []
ID = "370322195203150021"
CASE_OPS = ["start_case", "request_supplement", "resume_case", "conclude_case", "deliver_case", "archive_case",
            "finish_step", "delay_case", "rate_case", "accept_handover", "decline_handover"]
OTHER = "PAT99"  # another site of the county, played by the test


class HallMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), TZ)
        self.engine = QueueEngine(CFG, self.clock)
        self.events: list[dict] = []
        self.deliveries: list[dict] = []  # every delivery this hall was sent, to send again
        self.foreign = 0

    def send(self, cmd: dict) -> None:
        if cmd["op"] in AT_WINDOW and "ticket" not in cmd:  # as a keypad's agent: the visitor its display shows
            shown = self.engine.state.counters[cmd["counter"]].current
            cmd["ticket"] = shown or "A001"
        existing = set(self.engine.state.helps)
        try:
            events, _ = self.engine.execute(parse_command(cmd))
        except CommandRejected as exc:
            events = exc.events
            if exc.code == "not_at_window":  # a press meant for another visitor changes nothing of its own
                assert {e["type"] for e in events} <= HOUSEKEEPING, events
        self.events.extend(events)
        # Every command first escalates what is due: afterwards no open request is overdue and unescalated.
        now = self.clock.now().timestamp()
        limit = CFG.hall.help_escalate_minutes * 60
        for h in self.engine.state.helps.values():
            if h.id not in existing:
                continue  # raised by this very command, after the escalation check ran
            appt = self.engine.state.tickets[h.ticket].appointment_ts
            due = appt if appt is not None else h.requested_ts + limit
            assert not (h.status == "open" and not h.escalated and now >= due), h

    @rule(service=st.sampled_from(SERVICES), group=st.sampled_from(GROUPS), secs=st.integers(0, 900))
    def issue(self, service: str, group: str, secs: int) -> None:
        self.clock.advance(secs)
        cmd = {"op": "issue", "service": service, "group": group}
        if CFG.groups[group].appointment:
            cmd["appointment_at"] = self.clock.now().isoformat()
        self.send(cmd)

    @rule(helper=st.sampled_from(["h1", "h2"]), pick=st.integers(0, 50))
    def claim(self, helper: str, pick: int) -> None:
        helps = list(self.engine.state.helps)
        if helps:
            self.send({"op": "claim_help", "help_id": helps[pick % len(helps)], "helper": helper})

    @rule(pick=st.integers(0, 50), group=st.sampled_from(GROUPS), cancel=st.booleans())
    def greeter_changes(self, pick: int, group: str, cancel: bool) -> None:
        if cancel:
            helps = list(self.engine.state.helps)
            if helps:
                self.send({"op": "cancel_help", "help_id": helps[pick % len(helps)], "by": "h1", "reason": "x"})
        else:
            tickets = list(self.engine.state.tickets.values())
            if tickets:
                self.send({"op": "change_group", "ticket": tickets[pick % len(tickets)].number, "group": group,
                           "by": "h1", "reason": "x"})

    @rule(op=st.sampled_from(COUNTER_OPS), counter=st.sampled_from(COUNTERS), secs=st.integers(0, 600))
    def counter_op(self, op: str, counter: int, secs: int) -> None:
        self.clock.advance(secs)
        self.send({"op": op, "counter": counter})

    @rule(counter=st.sampled_from(COUNTERS), outcome=st.sampled_from(["done", "materials_missing", "refused"]))
    def finish(self, counter: int, outcome: str) -> None:
        self.send({"op": "finish", "counter": counter, "outcome": outcome, "materials": ["户口本"], "reason": "x"})

    @rule(counter=st.sampled_from(COUNTERS), to=st.sampled_from(SERVICES),
          position=st.sampled_from(["front", "end", "original"]))
    def transfer(self, counter: int, to: str, position: str) -> None:
        self.send({"op": "transfer", "counter": counter, "to_service": to, "position": position})

    @rule(counter=st.sampled_from(COUNTERS), pick=st.integers(0, 500), op=st.sampled_from(sorted(AT_WINDOW)))
    def act_on_another_visitor(self, counter: int, pick: int, op: str) -> None:
        """A second device of the window acting on the visitor it showed a moment ago: refused, nothing changes."""
        tickets = [t for t in self.engine.state.tickets.values() if t.id != self.engine.state.counters[counter].current]
        if tickets:
            extra = {"to_service": SERVICES[0]} if op == "transfer" else {}
            self.send({"op": op, "counter": counter, "ticket": tickets[pick % len(tickets)].id, **extra})

    @rule(counter=st.sampled_from(COUNTERS), pick=st.integers(0, 500))
    def call_named(self, counter: int, pick: int) -> None:
        tickets = list(self.engine.state.tickets.values())
        if tickets:
            self.send({"op": "call_ticket", "counter": counter, "ticket": tickets[pick % len(tickets)].number})

    @rule(counter=st.sampled_from(COUNTERS), pick=st.integers(0, 500), park=st.booleans())
    def park_or_resume(self, counter: int, pick: int, park: bool) -> None:
        if park:
            self.send({"op": "park", "counter": counter})
        else:
            parked = self.engine.state.counters[counter].parked
            if parked:
                self.send({"op": "resume_parked", "counter": counter, "ticket": parked[pick % len(parked)]})

    @rule(item=st.sampled_from(ITEMS), counter=st.sampled_from(COUNTERS), pick=st.integers(0, 500),
          receipt=st.booleans())
    def accept_case(self, item: str, counter: int, pick: int, receipt: bool) -> None:
        tickets = list(self.engine.state.tickets)
        cmd = {"op": "accept_case", "item": item, "applicant": "张秀英", "id_number": ID, "counter": counter,
               "by": "clerk-1", "ticket": tickets[pick % len(tickets)] if tickets else None}
        if receipt:
            cmd["print_at"] = "kiosk-2"
        self.send(cmd)

    @rule(op=st.sampled_from(CASE_OPS), pick=st.integers(0, 500), secs=st.integers(0, 3 * 86400),
          approved=st.booleans(), how=st.sampled_from(["window", "ems", "elicence"]), paper=st.booleans())
    def case_op(self, op: str, pick: int, secs: int, approved: bool, how: str, paper: bool) -> None:
        cases = list(self.engine.state.cases)
        if not cases:
            return
        self.clock.advance(secs)
        cmd: dict = {"op": op, "case": cases[pick % len(cases)], "by": "clerk-1"}
        if op == "request_supplement":
            cmd["missing"] = ["户口本"]
        elif op == "conclude_case":
            cmd |= {"decision": "approved"} if approved else {"decision": "refused", "reason": "不符合条件"}
            if paper:
                cmd["print_at"] = "kiosk-2"
        elif op == "deliver_case":
            cmd |= {"how": how, "collector": "张秀英", "collector_id": ID, "id_checked": True,
                    "tracking": "EA123456789CN", "link": "https://example.gov.cn/e/1"}
        elif op == "finish_step":
            k = self.engine.state.cases[cmd["case"]]
            cmd["step"] = next((i for i, x in enumerate(k.steps, 1) if x.finished_ts is None), 1)
        elif op == "delay_case":
            cmd |= {"days": 2, "reason": "需现场勘验"}
        elif op == "rate_case":
            cmd["level"] = pick % 5 + 1
        elif op == "decline_handover":
            cmd["reason"] = "不属于本级事权"
        self.send(cmd)

    # 转办 with the other site

    def deliver(self, delivery: dict) -> None:
        cmd = delivery_command(delivery, "county-link")
        self.deliveries.append(cmd)
        self.send(dict(cmd))

    @rule(pick=st.integers(0, 500))
    def hand_over(self, pick: int) -> None:
        cases = list(self.engine.state.cases)
        if cases:
            self.send({"op": "hand_over_case", "case": cases[pick % len(cases)], "to_site": OTHER,
                       "reason": "需县级审批", "by": "clerk-1"})

    @rule(pick=st.integers(0, 500), result=st.booleans(), approved=st.booleans(), secs=st.integers(0, 2 * 86400))
    def other_site_answers(self, pick: int, result: bool, approved: bool, secs: int) -> None:
        out = [k for k in self.engine.state.cases.values() if k.status == "handed_over"]
        if not out:  # none out yet: hand one over first, so the answers are not left to chance
            self.hand_over(pick)
            out = [k for k in self.engine.state.cases.values() if k.status == "handed_over"]
        if not out:
            return
        self.clock.advance(secs)
        k = out[pick % len(out)]
        now = self.clock.now()
        base = {"handover_id": k.out_id, "hop": k.hops, "from_site": OTHER, "to_site": CFG.hall.site_code,
                "case": k.number, "by": "x-1"}
        if not result:
            self.deliver({"kind": "decline", **base, "reason": "请补充材料后再报"})
            return
        steps = carried_steps(k, TZ)
        for step in steps:
            step["finished"] = step["finished"] or now.isoformat()
        due = datetime.fromtimestamp(k.due_ts + 86400 * (pick % 3), TZ)  # moved there by a 补正 pause, maybe
        self.deliver({"kind": "result", **base, "decision": "approved" if approved else "refused",
                      "reason": "" if approved else "不符合条件", "concluded_at": now.isoformat(),
                      "due": due.isoformat(), "paused_days": pick % 3, "steps": steps,
                      "history": [{"ts": now.timestamp(), "what": "case_concluded", "by": "x-1", "site": OTHER}]})

    @rule(item=st.sampled_from(ITEMS), hours=st.sampled_from([1, 8, 48]))
    def other_site_hands_one_here(self, item: str, hours: int) -> None:
        self.foreign += 1
        now = self.clock.now()
        number = f"{OTHER}-20261120-{self.foreign:04d}"
        self.deliver({"kind": "handover", "handover_id": f"{number}>{CFG.hall.site_code}#1", "hop": 1,
                      "from_site": OTHER, "to_site": CFG.hall.site_code, "case": number, "by": "x-1",
                      "item": item, "item_name": "某事项", "service": SERVICES[0], "case_kind": "promised",
                      "applicant": "张秀英", "id_number": ID, "phone": "", "owner": "x-1", "owner_site": OTHER,
                      "due": (now + timedelta(days=5)).isoformat(), "steps": [],
                      "accepted_at": (now - timedelta(days=1)).isoformat(), "sent_at": now.isoformat(),
                      "reason": "需县级审批", "route": [OTHER], "paused_days": 0, "delays": 0,
                      "accept_by": (now + timedelta(hours=hours)).isoformat()})

    @rule(pick=st.integers(0, 500), act=st.sampled_from(["accept", "decline", "conclude"]),
          secs=st.integers(0, 86400))
    def work_a_received_case(self, pick: int, act: str, secs: int) -> None:
        """This hall takes a case from its inbox (or sends it back), and may conclude it: its result goes back."""
        inbox = [k.number for k in self.engine.state.cases.values() if k.status == "inbox"]
        if not inbox:
            return
        self.clock.advance(secs)
        number = inbox[pick % len(inbox)]
        if act == "decline":
            self.send({"op": "decline_handover", "case": number, "reason": "不属于本级事权", "by": "clerk-2"})
            return
        self.send({"op": "accept_handover", "case": number, "by": "clerk-2"})
        if act == "conclude":
            self.send({"op": "conclude_case", "case": number, "decision": "approved", "by": "clerk-2"})

    @rule(pick=st.integers(0, 500))
    def a_delivery_comes_again(self, pick: int) -> None:
        """The link redelivers after a crash: a no-op, whatever happened since."""
        if not self.deliveries:
            return
        cmd = dict(self.deliveries[pick % len(self.deliveries)])
        before = len(self.events)
        events, result = self.engine.execute(parse_command(cmd))
        self.events.extend(events)
        assert result.get("already") is True, result
        assert {e["type"] for e in self.events[before:]} <= HOUSEKEEPING

    @rule(pick=st.integers(0, 500), ok=st.booleans())
    def kiosk_prints(self, pick: int, ok: bool) -> None:
        jobs = [j for j in self.engine.state.print_jobs.values() if j.status == "pending"]
        if jobs:
            job = jobs[pick % len(jobs)]
            self.send({"op": "print_result", "job": job.id, "ok": ok, "problem": "" if ok else "paper out",
                       "node": job.kiosk})

    @rule(hours=st.sampled_from([1, 8, 20]))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours * 3600)

    @invariant()
    def never_called_by_two_counters(self) -> None:
        st_ = self.engine.state
        holders: dict[str, int] = {}
        for number, counter in st_.counters.items():
            for tid in [counter.current, *counter.parked]:
                if tid is None:
                    continue
                assert tid not in holders, f"{tid} held by {holders.get(tid)} and {number}"
                holders[tid] = number
                assert st_.tickets[tid].counter == number
        for tid, t in st_.tickets.items():
            if t.status in (s.CALLED, s.SERVING, s.PARKED):
                assert tid in holders, f"{tid} is {t.status} but no counter holds it"

    @invariant()
    def waiting_set_matches_statuses(self) -> None:
        st_ = self.engine.state
        assert set(st_.waiting) == {tid for tid, t in st_.tickets.items() if t.status == s.WAITING}

    @invariant()
    def index_holds_exactly_the_waiting_tickets(self) -> None:
        st_ = self.engine.state
        assert len(st_.index) == len(st_.waiting) and all(tid in st_.index for tid in st_.waiting)

    @invariant()
    def a_window_calls_the_ticket_a_full_scan_would(self) -> None:
        """The index answers what a plain scan of the waiting list answers: same ticket for every window."""
        st_ = self.engine.state
        now = self.clock.now().timestamp()
        for number in COUNTERS:
            picked = calling.select(CFG, st_, number, now)
            assert picked is None or calling.eligible(CFG, picked, number)
            eligible = [st_.tickets[tid] for tid in st_.waiting if calling.eligible(CFG, st_.tickets[tid], number)]
            assert (picked is None) == (not eligible)
            if picked is not None and picked.green:
                assert min((t for t in eligible if t.green), key=lambda t: t.queue_ts) is picked

    @invariant()
    def a_case_is_in_one_place(self) -> None:
        """Out at the other site with one pending hand-over, or here; received cases keep their origin; every
        hand-over out is answered at most once."""
        for k in self.engine.state.cases.values():
            assert (k.status == "handed_over") == (k.out_id is not None) == (k.out_to is not None), k.number
            if k.status in ("inbox", "declined", "returned"):
                assert k.origin_site == OTHER and k.handover_id in k.received_ids
            assert len(set(k.answered_ids)) == len(k.answered_ids) and k.out_id not in k.answered_ids
            assert len(set(k.received_ids)) == len(k.received_ids) and not k.stack

    @invariant()
    def events_alone_rebuild_the_state(self) -> None:
        fresh = QueueEngine(CFG, self.clock)
        for ev in self.events:
            fresh.apply(ev)
        assert fresh.state.to_dict() == self.engine.state.to_dict()
        snap = type(self.engine.state).from_dict(self.engine.state.to_dict())
        assert len(snap.index) == len(self.engine.state.index)
        assert snap.to_dict() == self.engine.state.to_dict()  # a snapshot holds the cases and print jobs whole

    @invariant()
    def cases_keep_their_clock_and_paper(self) -> None:
        """The overdue timer watches exactly the running cases; a case's receipt and result slips are owed at the
        kiosk named, with the applicant masked."""
        st_ = self.engine.state
        assert set(st_.case_running) == {n for n, k in st_.cases.items() if k.status in s.CASE_WATCHED}
        assert set(st_.case_inbox) == {n for n, k in st_.cases.items() if k.status == "inbox"
                                       and not k.handover_overdue}
        for job in st_.print_jobs.values():
            assert job.kind in ("notice", "receipt", "result") and job.kiosk == "kiosk-2"
            assert "张秀英" not in repr(job.slip) and ID not in repr(job.slip)


HallMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestHallInvariants = HallMachine.TestCase
