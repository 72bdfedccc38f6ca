"""Complaints (投诉) and the one 整改 lifecycle they share with bad-rating follow-ups: open → assigned → rectified →
closed, the same rules and refusals for both; deadlines in working days, overdue once, replayable, masked."""

from __future__ import annotations

from typing import Any

import pytest

from hall_bus.domain.commands import parse_command
from hall_bus.domain.complaints import open_complaints
from hall_bus.domain.registry import apply_event
from hall_bus.domain.rejected import CommandRejected
from hall_bus.domain.state import HallState
from hall_bus.wire.redact import public_event, public_state

from .conftest import Hall

PIN_HASH = ("scrypt$16384$8$1$00000000000000000000000000000000$f9f653f5c34720a7e255"
            "cd5c45915267d7bad5862b86d9a71cbe5eefeac08219")
ID_NO = "110101196611240036"
PHONE = "13812345678"


def _roster(hall: Hall) -> None:
    hall("add_staff", staff="li", name="李明", duties=["supervisor"], pin_hash=PIN_HASH)
    hall("add_staff", staff="wang", name="王芳", duties=["helper"], pin_hash=PIN_HASH)
    hall("add_staff", staff="zhao", name="赵强", duties=["clerk"], pin_hash=PIN_HASH)


def _complaint(hall: Hall, **kw: Any) -> str:
    fields = {"by": "wang", "channel": "hotline", "subject_kind": "window", "subject": "5",
              "complainant": "张秀英", "phone": PHONE, "text": f"窗口让我跑了三趟，身份证 {ID_NO}", **kw}
    return str(hall("register_complaint", **fields)["complaint_id"])


def _bad_rating(hall: Hall) -> str:
    t = hall("issue", service="医保")
    hall("open_counter", counter=10)
    hall("call_next", counter=10)
    hall("finish", counter=10)
    return str(hall("rate", ticket=t["ticket"], level=1, comment="等太久")["followup_id"])


def _statuses(hall: Hall, kind: str, rid: str) -> list[str]:
    return [e["type"] for e in hall.events if e["data"].get(f"{kind}_id") == rid]


def test_a_complaint_goes_register_assign_rectify_close_within_its_working_days(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    _roster(hall)
    r = hall("register_complaint", by="wang", channel="hotline", subject_kind="window", subject="5",
             complainant="张秀英", phone=PHONE, text="窗口让我跑了三趟", received_at="2026-11-20T16:00:00+08:00")
    cid = r["complaint_id"]
    assert cid == "CP-000001" and r["due"] == "2026-11-27T16:00:00+08:00"  # Fri + 5 working days: the next Fri
    q = hall.state.complaints[cid]
    assert (q.status, q.owner, q.channel, q.subject) == ("open", None, "hotline", "5")
    a = hall("assign_complaint", complaint_id=cid, owner="zhao")
    assert a["due"] == r["due"] and q.status == "assigned" and q.owner == "zhao"
    hall("rectify_complaint", complaint_id=cid, by="zhao", note="窗口人员已批评教育，材料清单已上墙")
    assert (q.status, q.done_by) == ("rectified", "zhao")
    done = hall("reply_complaint", complaint_id=cid, by="li", reply="已电话回复，群众满意")
    assert done["on_time"] is True and (q.status, q.closed_by, q.reply) == ("closed", "li", "已电话回复，群众满意")
    assert _statuses(hall, "complaint", cid) == ["complaint_registered", "complaint_assigned", "complaint_rectified",
                                                 "complaint_closed"]
    assert open_complaints(hall.state) == []


def test_a_bad_ratings_follow_up_goes_through_the_same_states_and_rules(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    _roster(hall)
    fid = _bad_rating(hall)
    f = hall.state.followups[fid]
    assert f.status == "open"
    with pytest.raises(CommandRejected) as early:
        hall("rectify_followup", followup_id=fid, by="wang", note="已回访")
    assert early.value.code == "bad_state"  # nobody owns it yet
    hall("assign_followup", followup_id=fid, owner="wang")
    assert f.status == "assigned"
    with pytest.raises(CommandRejected) as other:
        hall("rectify_followup", followup_id=fid, by="zhao", note="已回访")
    assert other.value.code == "not_owner"
    hall("rectify_followup", followup_id=fid, by="wang", note="已电话回访并致歉，窗口增开")
    assert (f.status, f.done) == ("rectified", "已电话回访并致歉，窗口增开")
    with pytest.raises(CommandRejected) as not_sup:
        hall("close_followup", followup_id=fid, by="wang", note="核实")
    assert not_sup.value.code == "not_supervisor"
    hall("close_followup", followup_id=fid, by="li", note="已核实，群众表示理解")
    assert (f.status, f.closed_by, f.note) == ("closed", "li", "已核实，群众表示理解")
    assert _statuses(hall, "followup", fid) == ["followup_opened", "followup_assigned", "followup_rectified",
                                                "followup_closed"]


def test_a_supervisor_closing_an_unrectified_record_rectifies_it_first_in_their_name(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    _roster(hall)
    cid = _complaint(hall)
    fid = _bad_rating(hall)
    hall("reply_complaint", complaint_id=cid, by="li", reply="当面致歉")
    hall("close_followup", followup_id=fid, by="li", note="已电话回访")
    for kind, rid in (("complaint", cid), ("followup", fid)):
        assert _statuses(hall, kind, rid)[-2:] == [f"{kind}_rectified", f"{kind}_closed"]
    assert hall.state.complaints[cid].done_by == "li" and hall.state.followups[fid].done == "已电话回访"


def test_refusals_name_what_is_wrong_and_change_nothing(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    _roster(hall)
    for op, fields, code in (
        ("assign_complaint", {"complaint_id": "CP-000009", "owner": "wang"}, "unknown_complaint"),
        ("rectify_complaint", {"complaint_id": "CP-000009", "by": "wang", "note": "x"}, "unknown_complaint"),
        ("reply_complaint", {"complaint_id": "CP-000009", "by": "li", "reply": "x"}, "unknown_complaint"),
        ("rectify_followup", {"followup_id": "FU-000009", "by": "wang", "note": "x"}, "unknown_followup"),
        ("register_complaint", {"by": "wang", "channel": "box", "subject_kind": "window", "subject": "99",
                                "text": "x"}, "unknown_counter"),
        ("register_complaint", {"by": "wang", "channel": "box", "subject_kind": "staff", "subject": "nobody",
                                "text": "x"}, "unknown_staff"),
        ("register_complaint", {"by": "wang", "channel": "box", "subject_kind": "service", "subject": "护照",
                                "text": "x"}, "unknown_service"),
        ("register_complaint", {"by": "wang", "channel": "online", "subject_kind": "service", "subject": "医保",
                                "text": "x", "received_at": "2026-12-01T09:00:00+08:00"}, "bad_complaint"),
    ):
        with pytest.raises(CommandRejected) as exc:
            hall(op, **fields)
        assert exc.value.code == code, op
    assert hall.state.complaints == {} and hall.state.complaint_count == 0

    cid = _complaint(hall, handler="zhao")  # assigned at once
    hall("rectify_complaint", complaint_id=cid, by="zhao", note="已整改")
    with pytest.raises(CommandRejected) as late:
        hall("assign_complaint", complaint_id=cid, owner="zhao")
    assert late.value.code == "bad_state"
    with pytest.raises(CommandRejected) as twice:
        hall("rectify_complaint", complaint_id=cid, by="zhao", note="again")
    assert twice.value.code == "bad_state"
    with pytest.raises(CommandRejected) as clerk:
        hall("reply_complaint", complaint_id=cid, by="zhao", reply="已回复")
    assert clerk.value.code == "not_supervisor"
    hall("reply_complaint", complaint_id=cid, by="li", reply="已回复")
    with pytest.raises(CommandRejected) as closed:
        hall("reply_complaint", complaint_id=cid, by="li", reply="again")
    assert closed.value.code == "bad_state"

    other = _complaint(hall)
    hall("assign_complaint", complaint_id=other, owner="wang")
    with pytest.raises(CommandRejected) as taken:
        hall("assign_complaint", complaint_id=other, owner="zhao")
    assert taken.value.code == "complaint_taken" and hall.state.complaints[other].owner == "wang"
    with pytest.raises(ValueError, match="channel"):
        parse_command({"op": "register_complaint", "channel": "wechat", "subject_kind": "window", "subject": "5",
                       "text": "x"})


def test_the_supervisor_roles_on_the_models() -> None:
    """The server refuses assign and close from anyone without the supervisor duty before the engine sees them."""
    from hall_bus.domain.commands import MODEL_FOR

    for op in ("assign_complaint", "reply_complaint", "assign_followup", "close_followup"):
        assert MODEL_FOR[op].duty == "supervisor", op
    for op in ("register_complaint", "rectify_complaint", "rectify_followup"):
        assert MODEL_FOR[op].needs_person and MODEL_FOR[op].duty is None, op


def test_an_unreplied_complaint_turns_overdue_once_and_is_listed_first(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)  # Monday 2026-11-23 09:00
    early = _complaint(hall, channel="mailbox")
    hall.wait(3600)
    later = _complaint(hall, channel="box", subject_kind="service", subject="医保")
    assert hall.engine.work_due() is False
    hall.wait(5 * 86400 + 2 * 86400 - 3600 - 60)  # the next Monday 08:59: five working days less a minute
    hall("tick")
    assert not hall.state.complaints[early].overdue
    hall.wait(120)
    assert hall.engine.work_due() is True
    hall("tick")
    hall("tick")
    overdue = [e for e in hall.events if e["type"] == "complaint_overdue"]
    assert [e["data"]["complaint_id"] for e in overdue] == [early]
    assert [q.id for q in open_complaints(hall.state)] == [early, later]
    assert hall("reply_complaint", complaint_id=early, reply="已回复")["on_time"] is False


def test_replay_and_a_snapshot_rebuild_the_same_state(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    _roster(hall)
    cid = _complaint(hall, handler="zhao")
    hall("rectify_complaint", complaint_id=cid, by="zhao", note="已整改")
    _complaint(hall, subject_kind="staff", subject="zhao")
    fid = _bad_rating(hall)
    hall("assign_followup", followup_id=fid, owner="wang")
    hall("rectify_followup", followup_id=fid, by="wang", note="已回访")
    hall.wait(8 * 86400)
    hall("tick")  # overdue
    replayed = HallState()
    for ev in hall.events:
        apply_event(replayed, ev)
    live = hall.state.to_dict()
    again = replayed.to_dict()
    assert again["counters"]["10"] == live["counters"]["10"]  # the engine makes the others from its config
    assert {k: v for k, v in again.items() if k != "counters"} == {k: v for k, v in live.items() if k != "counters"}
    assert HallState.from_dict(live).to_dict() == live
    assert live["complaint_count"] == 2 and all(q["overdue"] for q in live["complaints"].values())


def test_complainants_and_their_words_are_masked_on_the_bus(cfg, clock) -> None:  # type: ignore[no-untyped-def]
    hall = Hall(cfg, clock)
    _complaint(hall, by="xm-1", text=f"张秀英投诉：身份证 {ID_NO}，电话 {PHONE}")
    ev = next(e for e in hall.events if e["type"] == "complaint_registered")
    out = public_event(ev, hall.state)["data"]
    assert out["complainant"] != "张秀英" and out["complainant"].startswith("张")
    assert PHONE not in out["phone"] and PHONE not in out["text"] and ID_NO not in out["text"]
    assert "张秀英" not in out["text"]
    assert ev["data"]["phone"] == PHONE  # the ledger keeps it whole for the 台账
    hall("reply_complaint", complaint_id="CP-000001", reply=f"已回复张秀英 {PHONE}")
    closed = next(e for e in hall.events if e["type"] == "complaint_closed")
    assert PHONE not in public_event(closed, hall.state)["data"]["reply"]
    state = public_state(hall.state.to_dict(), frozenset({"张秀英"}))
    q = state["complaints"]["CP-000001"]
    assert "张秀英" not in q["complainant"] and PHONE not in q["phone"] and ID_NO not in q["text"]
    assert PHONE not in q["reply"] and PHONE not in q["done"]


def test_hallctl_complaints_builds_the_same_commands_before_connecting() -> None:
    from hall_bus.cli.complaints import build_command
    from hall_bus.cli.hallctl import build_parser
    from hall_bus.errors import UserError

    parser = build_parser()
    cfg = ["--config", "config/hall.example.toml"]
    args = parser.parse_args(["complaints", "register", *cfg, "--by", "li", "--channel", "mailbox", "--subject-kind",
                              "service", "--subject", "医保", "--text", "窗口推诿", "--handler", "wang"])
    cmd = build_command(args)
    assert cmd.op == "register_complaint" and cmd.channel == "mailbox" and cmd.handler == "wang"  # type: ignore[attr-defined]
    args = parser.parse_args(["complaints", "reply", *cfg, "CP-000001", "--by", "li", "--reply", "已答复"])
    assert build_command(args).op == "reply_complaint"  # type: ignore[attr-defined]
    args = parser.parse_args(["complaints", "rectify", *cfg, "CP-000001", "--by", "li", "--note", ""])
    with pytest.raises(UserError, match="note"):
        build_command(args)
