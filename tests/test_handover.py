"""转办 across the county's sites, in the domain: a village station (PAT01V01), a town centre (PAT01T01) and the
county hall (PA), each its own engine and ledger, the county link played by hand through the two functions it
calls (`outgoing`, `delivery_command`). Only the village has the catalogue: a hand-over carries what the others
need. Village → county and back for 出件; village → town → county and the chain unwinding; a decline; every
message delivered twice; the acceptance deadline; replay of each ledger; masking on the bus; the refusals."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig
from hall_bus.domain.casework import due_soon, overdue_cases
from hall_bus.domain.commands import parse_command
from hall_bus.domain.engine import QueueEngine
from hall_bus.domain.handover import case_progress, delivery_command, inbox_cases, inbox_overdue, outgoing
from hall_bus.domain.registry import apply_event
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.staff import hash_pin
from hall_bus.domain.state import HallState

from .conftest import TZ, Hall
from .test_casework import ID, MAJOR, PROMISED, at, catalogue

V, T, C = "PAT01V01", "PAT01T01", "PA"
PHONE = "13812345678"
ACCEPT_HOURS = 8  # the county's hours for taking a case from the inbox (the hub's setting)


def site(cfg: HallConfig, code: str, with_catalogue: bool) -> HallConfig:
    hall = cfg.hall.model_copy(update={"site_code": code, "name": f"{code} 便民服务中心"})
    return cfg.model_copy(update={"hall": hall, "catalogue": catalogue() if with_catalogue else None})


class County:
    """Three sites on one clock and the link between them, played by hand: every event of every ledger goes
    through `outgoing`; a delivery is turned into its command by `delivery_command` and submitted at the
    addressee (`twice`: each one submitted twice, as a link redelivering after a crash would)."""

    def __init__(self, cfg: HallConfig, clock: ManualClock, twice: bool = False) -> None:
        self.clock, self.twice = clock, twice
        self.halls = {V: Hall(site(cfg, V, True), clock), T: Hall(site(cfg, T, False), clock),
                      C: Hall(site(cfg, C, False), clock)}
        self.read = dict.fromkeys(self.halls, 0)
        self.answers: list[dict[str, Any]] = []
        self.offline: set[str] = set()

    def __getitem__(self, code: str) -> Hall:
        return self.halls[code]

    def go(self, moment: datetime) -> None:
        self.clock.advance((moment - self.clock.now()).total_seconds())

    def pump(self) -> int:
        """Deliver everything waiting whose sender and addressee are both online; the rest waits (no loss)."""
        moved = 0
        while True:
            batch = 0
            for code, hall in self.halls.items():
                if code in self.offline:
                    continue
                pending = hall.events[self.read[code]:]
                for i, ev in enumerate(pending):
                    out = outgoing(ev["type"], ev["data"])
                    if out is None:
                        continue
                    to, delivery = out
                    if to in self.offline:  # the addressee is away: stop here, resume from this event later
                        self.read[code] += i
                        break
                    self.deliver(to, json.loads(json.dumps(delivery)))  # plain JSON, as over the wire
                    batch += 1
                else:
                    self.read[code] += len(pending)
            moved += batch
            if not batch:
                return moved

    def deliver(self, to: str, delivery: dict[str, Any]) -> None:
        if delivery["kind"] == "handover":  # the hub's part: the county's hours for accepting it
            delivery["accept_by"] = (self.clock.now() + timedelta(hours=ACCEPT_HOURS)).isoformat()
        cmd = delivery_command(delivery, "county-link")
        for _ in range(2 if self.twice else 1):
            hall = self.halls[to]
            events, result = hall.engine.execute(parse_command(cmd))
            hall.events.extend(events)
            self.answers.append(result)


@pytest.fixture
def county(cfg: HallConfig, clock: ManualClock) -> County:
    return County(cfg, clock)


def accept(hall: Hall, item: str = PROMISED) -> str:
    r = hall("accept_case", item=item, applicant="张秀英", id_number=ID, phone=PHONE, counter=10, by="clerk-1")
    return str(r["case"])


def events_of(hall: Hall, kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in hall.events if e["type"] == kind]


def rejected(hall: Hall, op: str, **kw: Any) -> CommandRejected:
    with pytest.raises(CommandRejected) as exc:
        hall(op, **kw)
    return exc.value


# ---------------------------------------------------------------------- village → county → village


def village_to_county(county: County) -> str:
    v, c = county[V], county[C]
    county.go(at(11, 23, 10))  # Monday; 承诺件 of 5 working days: due Monday 30 November
    number = accept(v)
    assert number == f"{V}-20261123-0001"
    v("start_case", case=number, by="clerk-1")
    county.go(at(11, 23, 10, 30))
    r = v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    assert r == {"case": number, "handover_id": f"{number}>{C}#1", "to_site": C, "status": "handed_over"}
    assert county.pump() == 1
    k = c.state.cases[number]
    assert (k.status, k.origin_site, k.owner, k.owner_site, k.counter) == ("inbox", V, "clerk-1", V, None)
    assert (k.item_name, k.applicant, k.id_number, k.due_ts) == ("异地就医备案", "张秀英", ID,
                                                                 v.state.cases[number].due_ts)
    assert c.state.case_serial == 0  # a number of another site: this hall's own numbering is untouched
    county.go(at(11, 23, 14))
    took = c("accept_handover", case=number, by="xz-1")
    assert took["handler"] == "xz-1" and took["late"] is False
    assert (k.status, k.handler, k.owner) == ("in_progress", "xz-1", "clerk-1")
    return number


def test_village_hands_to_the_county_and_delivers_its_result_against_an_id_check(county: County) -> None:
    v, c = county[V], county[C]
    number = village_to_county(county)
    at_v = case_progress(v.state, number, here=V, tz=TZ)
    assert at_v is not None and (at_v["site"], at_v["here"], at_v["status_words"]) == (C, False, "已转办")
    assert "已转办至 PA" in at_v["words"]
    at_c = case_progress(c.state, number, here=C, tz=TZ)
    assert at_c is not None and (at_c["site"], at_c["here"], at_c["status_words"]) == (C, True, "办理中")
    assert "张秀英" not in json.dumps(at_v, ensure_ascii=False) + json.dumps(at_c, ensure_ascii=False)

    county.go(at(11, 25, 15))
    done = c("conclude_case", case=number, decision="approved", by="xz-1")
    assert done == {"case": number, "decision": "approved", "on_time": True, "returned_to": V}
    assert c.state.cases[number].status == "returned" and not events_of(c, "case_result_ready")
    county.go(at(11, 25, 15, 5))
    county.pump()
    k = v.state.cases[number]
    assert (k.status, k.decision, k.on_time, k.concluded_ts) == ("concluded", "approved", True,
                                                                  at(11, 25, 15).timestamp())
    assert len(events_of(v, "case_result_ready")) == 1 and k.out_to is None
    assert [(x["what"], x.get("site")) for x in k.log if x.get("site")] == [
        ("handover_received", C), ("handover_accepted", C), ("case_concluded", C)]  # the owner sees every step
    no_id = rejected(v, "deliver_case", case=number, how="window", collector="张秀英", by="clerk-1")
    assert no_id.code == "id_not_checked"
    v("deliver_case", case=number, how="window", collector="张秀英", collector_id=ID, id_checked=True, by="clerk-1")
    assert k.status == "delivered"
    assert case_progress(v.state, number, here=V, tz=TZ)["here"] is True  # type: ignore[index]
    back = case_progress(c.state, number, here=C, tz=TZ)
    assert back is not None and (back["site"], back["status_words"]) == (V, "已回传")


# ---------------------------------------------------------------------- village → town → county, and back


def chain(county: County) -> str:
    """A 重大事项 accepted at the village (step 1 there), handed to the town (step 2), on to the county (补正 across
    a weekend, step 3, 办结): the result comes back through the town to the village."""
    v, t, c = county[V], county[T], county[C]
    county.go(at(11, 23, 9, 30))
    number = accept(v, MAJOR)  # steps due 11-25, 11-30, 12-02; the case due Wednesday 2 December
    v("start_case", case=number, by="clerk-1")
    v("assign_step", case=number, step=1, tracker="gz-1", by="clerk-1")
    county.go(at(11, 24, 10))
    v("finish_step", case=number, step=1, by="gz-1")
    v("hand_over_case", case=number, to_site=T, reason="需镇级审核", by="clerk-1")
    county.pump()
    county.go(at(11, 24, 11))
    t("accept_handover", case=number, by="zs-1")
    county.go(at(11, 26, 10))
    t("finish_step", case=number, step=2, by="zs-1")
    r = t("hand_over_case", case=number, to_site=C, reason="需县级审批", by="zs-1")
    assert r["handover_id"] == f"{number}>{C}#2"  # numbered along the case, not per site
    county.pump()
    county.go(at(11, 26, 11))
    c("accept_handover", case=number, by="xz-1")
    county.go(at(11, 27, 10))  # Friday: 补正 at the county, its clock stops
    c("request_supplement", case=number, missing=["环评报告"], by="xz-1")
    county.go(at(12, 1, 10))  # Tuesday: paused Monday and Tuesday
    assert c("resume_case", case=number, by="xz-1")["due"] == "2026-12-04T17:30:00+08:00"
    county.go(at(12, 3, 10))  # past the village's own date (12-02): late there, on time by the moved date
    c("finish_step", case=number, step=3, by="xz-1")
    assert c("conclude_case", case=number, decision="approved", by="xz-1")["returned_to"] == T
    county.pump()
    return number


def test_a_chain_village_town_county_unwinds_to_the_village(county: County) -> None:
    v, t, c = county[V], county[T], county[C]
    number = chain(county)
    assert [county[s].state.cases[number].status for s in (V, T, C)] == ["concluded", "returned", "returned"]
    assert t.state.cases[number].route == [V] and c.state.cases[number].route == [V, T]
    k = v.state.cases[number]
    assert (k.decision, k.on_time, k.paused_days, k.due_ts) == ("approved", True, 2, at(12, 4, 17, 30).timestamp())
    assert all(s.finished_ts for s in k.steps) and k.steps[0].tracker == "gz-1"  # its own tracker stays
    assert [s.by for s in k.steps] == ["gz-1", "zs-1", "xz-1"]
    sites = [x.get("site", V) for x in k.log]
    assert T in sites and C in sites  # every step at every site, in the owner's history
    assert len(events_of(v, "case_result_ready")) == 1 and not events_of(t, "case_result_ready")
    # Out at the town while the village's date passed: the village's 督办员 saw it late, once, where it was.
    late = events_of(v, "case_overdue")
    assert len(late) == 1 and late[0]["case"] == number and k.overdue
    assert [x["handover_id"] for x in events_of(t, "case_result_returned")] == [f"{number}>{T}#1"]
    for s in (V, T, C):
        assert county[s].state.cases[number].hops == 2
    progress = [case_progress(county[s].state, number, here=s, tz=TZ) for s in (V, T, C)]
    assert [p["site"] for p in progress if p] == [V, V, T]
    v("deliver_case", case=number, how="window", collector="张秀英", collector_id=ID, id_checked=True, by="clerk-1")


def test_while_out_the_case_is_on_the_origins_lists_and_answers_where_it_is(county: County) -> None:
    v, t = county[V], county[T]
    county.go(at(11, 23, 9, 30))
    number = accept(v, MAJOR)
    v("start_case", case=number, by="clerk-1")
    v("hand_over_case", case=number, to_site=T, reason="需镇级审核", by="clerk-1")
    county.pump()
    county.go(at(12, 2, 10))
    assert [k.number for k in due_soon(v.state, county.clock.now(), v.cfg.calendar)] == [number]
    assert due_soon(t.state, county.clock.now(), t.cfg.calendar) == []  # not accepted there: the village watches
    county.go(at(12, 3, 10))
    v("tick")
    assert [k.number for k in overdue_cases(v.state, county.clock.now().timestamp())] == [number]
    p = case_progress(v.state, number, here=V, tz=TZ)
    assert p is not None and p["site"] == T and p["since"].startswith("2026-11-23T09:30")


# ---------------------------------------------------------------------- a decline, and a case number held again


def test_a_decline_returns_the_case_and_a_second_hand_over_reopens_it(county: County) -> None:
    v, c = county[V], county[C]
    county.go(at(11, 23, 10))
    number = accept(v)
    v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    county.pump()
    county.go(at(11, 23, 11))
    assert c("decline_handover", case=number, reason="不属于县级事权", by="xz-1")["back_to"] == V
    county.pump()
    k = v.state.cases[number]
    assert (k.status, k.handover_note, k.out_to) == ("in_progress", "不属于县级事权", None)
    assert k.log[-1]["what"] == "handover_decline_received" and k.log[-1]["peer"] == C
    assert c.state.cases[number].status == "declined"
    r = v("hand_over_case", case=number, to_site=C, reason="补充说明后再报县级审批", by="clerk-1")
    assert r["handover_id"] == f"{number}>{C}#2"
    county.pump()
    again = c.state.cases[number]
    assert (again.status, again.handover_id, again.received_ids) == ("inbox", r["handover_id"],
                                                                     [f"{number}>{C}#1", r["handover_id"]])
    assert [x["what"] for x in again.log][:2] == ["handover_received", "handover_declined"]  # its history kept
    assert events_of(c, "handover_received")[-1]["reopened"] is True
    first = next(e for e in v.events if e["type"] == "case_handed_over")
    _, old = outgoing(first["type"], first["data"])  # type: ignore[misc]
    county.deliver(C, old)  # the first hand-over, redelivered late: nothing happens
    assert county.answers[-1]["already"] is True and again.status == "inbox"
    c("accept_handover", case=number, by="xz-1")
    c("conclude_case", case=number, decision="refused", reason="不符合条件", by="xz-1")
    county.pump()
    assert (k.status, k.decision, k.reason) == ("concluded", "refused", "不符合条件")


def test_a_case_coming_back_down_its_chain_unwinds_through_every_site(county: County) -> None:
    """Village → town → county, and the county hands it back to the town (现场核查 there): the town's own
    hand-over waits underneath; the town concludes, and the result goes county → town → village."""
    v, t, c = county[V], county[T], county[C]
    county.go(at(11, 23, 10))
    number = accept(v)
    v("hand_over_case", case=number, to_site=T, reason="需镇级审核", by="clerk-1")
    county.pump()
    t("accept_handover", case=number, by="zs-1")
    t("hand_over_case", case=number, to_site=C, reason="需县级审批", by="zs-1")
    county.pump()
    c("accept_handover", case=number, by="xz-1")
    county.go(at(11, 24, 10))
    c("hand_over_case", case=number, to_site=T, reason="请镇里现场核查后办结", by="xz-1")
    county.pump()
    k = t.state.cases[number]
    assert (k.status, k.origin_site, k.handover_id, k.route) == ("inbox", C, f"{number}>{T}#3", [V, T, C])
    assert [f["out_id"] for f in k.stack] == [f"{number}>{C}#2"]
    assert events_of(t, "handover_received")[-1]["came_back"] is True
    assert rejected(t, "conclude_case", case=number, decision="approved", by="zs-1").code == "not_here"
    t("accept_handover", case=number, by="zs-2")
    county.go(at(11, 25, 10))
    assert t("conclude_case", case=number, decision="approved", by="zs-2")["returned_to"] == C
    assert (k.status, k.out_id, k.handler, k.stack, k.decision) == ("handed_over", f"{number}>{C}#2", "zs-1", [],
                                                                      None)  # its own hand-over, waiting again
    county.pump()
    assert [county[s].state.cases[number].status for s in (V, T, C)] == ["concluded", "returned", "returned"]
    done = v.state.cases[number]
    assert (done.decision, done.concluded_ts) == ("approved", at(11, 25, 10).timestamp())
    assert [x["handover_id"] for x in events_of(t, "case_result_returned")] == [f"{number}>{T}#3", f"{number}>{T}#1"]
    assert len(events_of(v, "case_result_ready")) == 1
    elsewhere = [(x["site"], x["what"], x["ts"]) for x in done.log if x.get("site")]
    assert len(elsewhere) == len(set(elsewhere)) and {s for s, _, _ in elsewhere} == {T, C}  # every step, once
    for s in (V, T, C):
        hall = county[s]
        again = QueueEngine(hall.cfg, county.clock)
        for ev in hall.events:
            again.apply(ev)
        assert again.state.to_dict() == hall.state.to_dict(), s


def test_a_site_that_declined_gets_the_case_again_by_another_way(county: County) -> None:
    v, t, c = county[V], county[T], county[C]
    county.go(at(11, 23, 10))
    number = accept(v)
    v("hand_over_case", case=number, to_site=T, reason="需镇级审核", by="clerk-1")
    county.pump()
    t("decline_handover", case=number, reason="请直接报县", by="zs-1")
    county.pump()
    v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    county.pump()
    c("accept_handover", case=number, by="xz-1")
    c("hand_over_case", case=number, to_site=T, reason="需镇级现场核查", by="xz-1")
    county.pump()
    assert t.state.cases[number].status == "inbox" and t.state.cases[number].route == [V, C]
    t("accept_handover", case=number, by="zs-1")
    t("conclude_case", case=number, decision="approved", by="zs-1")
    county.pump()
    assert [county[s].state.cases[number].status for s in (V, T, C)] == ["concluded", "returned", "returned"]
    assert [e["data"]["handover_id"] for e in v.events if e["type"] == "case_handed_over"] == [
        f"{number}>{T}#1", f"{number}>{C}#2"]
    assert events_of(c, "case_handed_over")[0]["handover_id"] == f"{number}>{T}#3"


# ---------------------------------------------------------------------- redelivery, offline sites, replay


def final_cases(county: County) -> dict[str, Any]:
    return {s: county[s].state.to_dict()["cases"] for s in (V, T, C)}


def test_every_message_delivered_twice_changes_nothing(cfg: HallConfig) -> None:
    once = County(cfg, ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), TZ))
    twice = County(cfg, ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ), TZ), twice=True)
    number = chain(once)
    assert chain(twice) == number
    assert final_cases(once) == final_cases(twice)
    assert sum(1 for a in twice.answers if a.get("already")) == len(twice.answers) // 2  # every second one
    for s in (T, C):
        assert len(events_of(twice[s], "handover_received")) == 1
    assert len(events_of(twice[V], "handover_result_received")) == 1


def test_a_site_offline_gets_the_case_when_it_is_back_none_lost_none_doubled(county: County) -> None:
    v, c = county[V], county[C]
    county.offline.add(C)
    county.go(at(11, 23, 10))
    number = accept(v)
    v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    assert county.pump() == 0 and number not in c.state.cases  # the county is away: the message waits
    county.go(at(11, 24, 9))
    county.offline.clear()
    assert county.pump() == 1 and c.state.cases[number].status == "inbox"
    c("accept_handover", case=number, by="xz-1")
    c("conclude_case", case=number, decision="approved", by="xz-1")
    county.offline.add(V)  # now the village is away when the result is ready
    assert county.pump() == 0 and v.state.cases[number].status == "handed_over"
    county.offline.clear()
    assert county.pump() == 1 and v.state.cases[number].status == "concluded"
    assert county.pump() == 0


def test_each_ledger_alone_rebuilds_its_sites_state(county: County) -> None:
    chain(county)
    for s in (V, T, C):
        hall = county[s]
        again = QueueEngine(hall.cfg, county.clock)  # the hall's windows, and then the events alone
        for ev in hall.events:
            again.apply(ev)
        assert again.state.to_dict() == hall.state.to_dict(), s
        mirror = HallState()  # a node mirroring the stream has the same cases
        for ev in hall.events:
            apply_event(mirror, ev)
        assert mirror.to_dict()["cases"] == hall.state.to_dict()["cases"]
        loaded = HallState.from_dict(hall.state.to_dict())
        assert loaded.to_dict() == hall.state.to_dict()
        assert (loaded.case_running, loaded.case_inbox) == (hall.state.case_running, hall.state.case_inbox)


# ---------------------------------------------------------------------- the acceptance deadline


def test_a_case_left_in_the_inbox_past_its_deadline_is_flagged_once(county: County) -> None:
    v, c = county[V], county[C]
    county.go(at(11, 23, 10))
    number = accept(v)
    v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    county.pump()
    county.go(at(11, 23, 17, 59))
    c("tick")
    assert not events_of(c, "handover_overdue") and not c.engine.work_due()
    assert [k.number for k in inbox_cases(c.state)] == [number]
    county.go(at(11, 23, 18, 1))  # eight hours after it arrived
    assert c.engine.work_due()
    c("tick")
    c("tick")
    late = events_of(c, "handover_overdue")
    assert len(late) == 1 and (late[0]["case"], late[0]["from_site"], late[0]["owner"]) == (number, V, "clerk-1")
    assert [k.number for k in inbox_overdue(c.state, county.clock.now().timestamp())] == [number]
    assert c("accept_handover", case=number, by="xz-1")["late"] is True
    assert inbox_overdue(c.state, county.clock.now().timestamp()) == []


# ---------------------------------------------------------------------- masking on the bus


def test_the_new_events_go_out_masked_like_case_accepted(county: County) -> None:
    from hall_bus.wire.redact import public_event, public_state

    v, c = county[V], county[C]
    county.go(at(11, 23, 10))
    number = accept(v)
    v("hand_over_case", case=number, to_site=C, reason=f"张秀英（{ID}，{PHONE}）需县级审批", by="clerk-1")
    county.pump()
    c("decline_handover", case=number, reason=f"请张秀英补充 {PHONE}", by="xz-1")
    county.pump()
    v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    county.pump()
    c("accept_handover", case=number, by="xz-1")
    c("conclude_case", case=number, decision="refused", reason=f"张秀英 {ID} 不符合条件", by="xz-1")
    county.pump()
    kinds = set()
    for hall in (v, c):
        for ev in hall.events:
            if ev["type"].startswith(("handover_", "case_handed", "case_result_returned")):
                kinds.add(ev["type"])
                shown = json.dumps(public_event(ev, hall.state)["data"], ensure_ascii=False)
                assert "张秀英" not in shown and ID not in shown and PHONE not in shown, ev["type"]
        state = json.dumps(public_state(hall.state.to_dict()), ensure_ascii=False)
        assert ID not in state and PHONE not in state
    assert kinds >= {"case_handed_over", "handover_received", "handover_declined", "handover_decline_received",
                     "handover_accepted", "case_result_returned", "handover_result_received"}
    masked = public_event(next(e for e in c.events if e["type"] == "handover_received"), c.state)["data"]
    assert (masked["applicant"], masked["id_number"], masked["phone"]) == ("张**", "3703**********0018",
                                                                           "138****5678")


# ---------------------------------------------------------------------- refusals: what, and where


def test_refusals_say_what_and_where(county: County) -> None:
    v, t = county[V], county[T]
    county.go(at(11, 23, 10))
    done = accept(v)
    v("start_case", case=done, by="clerk-1")
    v("conclude_case", case=done, decision="approved", by="clerk-1")
    e = rejected(v, "hand_over_case", case=done, to_site=C, reason="需县级审批", by="clerk-1")
    assert e.code == "bad_state" and "已办结" in e.message and V in e.message
    number = accept(v)
    e = rejected(v, "hand_over_case", case=number, to_site=V, reason="需县级审批", by="clerk-1")
    assert e.code == "bad_handover" and V in e.message
    v("hand_over_case", case=number, to_site=T, reason="需镇级审核", by="clerk-1")
    e = rejected(v, "conclude_case", case=number, decision="approved", by="clerk-1")
    assert e.code == "not_here" and T in e.message and V in e.message and "已转办" in e.message
    for op, kw in (("hand_over_case", {"to_site": C, "reason": "再转"}), ("delay_case", {"days": 2, "reason": "x"}),
                   ("request_supplement", {"missing": ["户口簿"]})):
        assert rejected(v, op, case=number, by="clerk-1", **kw).code == "not_here", op
    assert v.state.cases[number].status == "handed_over"
    county.pump()
    e = rejected(t, "conclude_case", case=number, decision="approved", by="zs-1")
    assert e.code == "not_here" and "accept_handover" in e.message and T in e.message
    # a roster at the town: accepting takes someone signed in there
    t("add_staff", staff="zs-1", name="周审", duties=["clerk"], pin_hash=hash_pin("1234"))
    e = rejected(t, "accept_handover", case=number, by="zs-1")
    assert e.code == "not_signed_in" and "zs-1" in e.message and T in e.message
    assert t.state.cases[number].status == "inbox"
    t("sign_in", staff="zs-1", pin="1234", node="greeter-1")
    t("accept_handover", case=number, by="zs-1")
    e = rejected(t, "hand_over_case", case=number, to_site=T, reason="自己办", by="zs-1")
    assert e.code == "bad_handover" and T in e.message
    e = rejected(t, "change_case_owner", case=number, owner="zs-1", reason="x", by="zs-1")
    assert e.code == "not_here" and V in e.message


def test_the_link_gets_clear_answers_for_misaddressed_or_unknown_deliveries(county: County) -> None:
    v = county[V]
    county.go(at(11, 23, 10))
    number = accept(v)
    v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    ev = next(e for e in v.events if e["type"] == "case_handed_over")
    to, delivery = outgoing(ev["type"], ev["data"])  # type: ignore[misc]
    assert to == C and delivery["kind"] == "handover" and "actor" not in delivery
    with pytest.raises(ValueError, match="accept_by"):
        delivery_command(delivery, "county-link")
    delivery["accept_by"] = "2026-11-23T18:00:00+08:00"
    cmd = delivery_command(delivery, "county-link")
    assert (cmd["op"], cmd["request_id"], cmd["actor"]) == ("receive_handover", f"{number}>{C}#1/handover",
                                                            "county-link")
    e = county[T].engine
    with pytest.raises(CommandRejected) as wrong:
        e.execute(parse_command(cmd))
    assert wrong.value.code == "wrong_site" and T in wrong.value.message and C in wrong.value.message
    result = {"kind": "result", "handover_id": f"{number}>{C}#7", "hop": 7, "from_site": C, "to_site": V,
              "case": number, "by": "xz-1", "decision": "approved", "concluded_at": "2026-11-23T12:00:00+08:00",
              "due": "2026-11-30T17:30:00+08:00"}
    with pytest.raises(CommandRejected) as unknown:
        v.engine.execute(parse_command(delivery_command(result, "county-link")))
    assert unknown.value.code == "unknown_handover" and f"{number}>{C}#1" in unknown.value.message
    assert outgoing("case_accepted", {"case": number}) is None
    assert outgoing("handover_accepted", {"case": number}) is None  # stays where it happened


def test_a_resubmitted_delivery_is_answered_from_the_ledger(cfg: HallConfig, clock: ManualClock,
                                                             tmp_path: Path) -> None:
    from hall_bus.store.core import HallCore

    v = Hall(site(cfg, V, True), clock)
    clock.advance((at(11, 23, 10) - clock.now()).total_seconds())
    number = accept(v)
    v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    ev = next(e for e in v.events if e["type"] == "case_handed_over")
    _, delivery = outgoing(ev["type"], ev["data"])  # type: ignore[misc]
    cmd = delivery_command({**delivery, "accept_by": "2026-11-23T18:00:00+08:00"}, "county-link")
    core = HallCore(site(cfg, C, False), tmp_path, clock)
    try:
        first = core.submit(cmd)
        again = core.submit(cmd)
        other = core.submit({**cmd, "request_id": "another-id"})
        assert first["ok"] and first["result"]["status"] == "inbox"
        assert [e["type"] for e in first["events"]] == ["day_opened", "handover_received"]
        assert again.get("retry") is True and again["events"] == []
        assert other["ok"] and other["result"]["already"] is True and other["events"] == []
        assert list(core.state.cases) == [number]
    finally:
        core.close()


# ---------------------------------------------------------------------- the owner's and the 督办员's lists


def test_the_owner_keeps_the_case_on_their_list_and_the_receivers_see_theirs(county: County) -> None:
    from hall_bus.nodes.greeter import duty_actions, my_cases, supervision

    v, c = county[V], county[C]
    county.go(at(11, 23, 10))
    number = accept(v)
    v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    county.pump()
    now = county.clock.now().timestamp()
    mine = my_cases(v.state, "clerk-1", now, v.cfg.calendar, TZ)
    assert [(i.case_id, i.status) for i in mine] == [(number, "handed_over")] and "在 PA 办理" in mine[0].what
    assert my_cases(c.state, "clerk-1", now, c.cfg.calendar, TZ) == []  # the county's clerk-1 is someone else
    county.go(at(11, 24, 10))  # nobody took it at the county by the deadline
    c("tick")
    duty = supervision(c.state, county.clock.now().timestamp(), c.cfg.calendar, TZ)
    assert [(i.kind, i.ref) for i in duty] == [("handover_overdue", number)] and duty_actions(duty[0]) == frozenset()
    assert "PAT01V01 转来" in duty[0].late and "张秀英" not in duty[0].who
    c("accept_handover", case=number, by="xz-1")
    assert [i.case_id for i in my_cases(c.state, "xz-1", county.clock.now().timestamp(), c.cfg.calendar, TZ)] == [
        number]
    county.go(at(12, 1, 10))  # past the due date (30 November): late at both sites, each on its own list
    v("tick")
    c("tick")
    late_v = supervision(v.state, county.clock.now().timestamp(), v.cfg.calendar, TZ)
    late_c = supervision(c.state, county.clock.now().timestamp(), c.cfg.calendar, TZ)
    assert [(i.kind, i.ref) for i in late_v] == [("case_overdue", number)] and "已转办至 PA" in late_v[0].late
    assert duty_actions(late_v[0]) == frozenset({"owner"})  # the owner's site may move its owner
    assert [(i.kind, i.ref) for i in late_c] == [("case_overdue", number)] and duty_actions(late_c[0]) == frozenset()
