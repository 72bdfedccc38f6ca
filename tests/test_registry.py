"""One place per command: models, handlers, appliers, roles and the docs' tables must agree.

Adding an op or an event means touching its model, one decorated function, and a row in
docs/scenario-format.md; these tests name whatever was forgotten.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from hall_bus.domain.commands import MODEL_FOR, OPS, parse_command
from hall_bus.domain.registry import APPLIERS, HANDLERS
from hall_bus.wire.keys import ROLES
from hall_bus.wire.protocol import authorize

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ROOT / "hall_bus" / "domain"


def _doc_table(heading: str) -> list[list[str]]:
    """Rows of the first table after `## heading` in docs/scenario-format.md, as stripped cells."""
    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows]


def _emitted_event_types() -> set[str]:
    found: set[str] = set()
    for path in DOMAIN.glob("*.py"):
        found |= set(re.findall(r"\bemit\(\s*\"([a-z_]+)\"", path.read_text(encoding="utf-8")))
    return found


def test_every_op_has_a_model_and_a_handler_and_nothing_else_does() -> None:
    assert set(HANDLERS) == set(OPS) == set(MODEL_FOR)


def test_every_emitted_event_has_an_applier_and_every_applier_is_emitted() -> None:
    emitted = _emitted_event_types()
    assert emitted, "the source scan found no emit(...) calls; the test itself is broken"
    assert emitted - set(APPLIERS) == set(), "events emitted with no applier: replay would crash"
    assert set(APPLIERS) - emitted == set(), "appliers for events nothing emits"


def test_docs_ops_table_lists_every_op_with_its_roles() -> None:
    documented: dict[str, str] = {}
    for cells in _doc_table("Ops"):
        for op in re.findall(r"`([a-z_]+)`", cells[0]):
            documented[op] = cells[2]
    assert set(documented) == set(OPS)
    for op, who in documented.items():
        model = MODEL_FOR[op]
        named = set(re.findall(r"`([a-z_]+)`", who))
        assert named == set(model.roles), f"docs: {op} sent by {sorted(named)}; model: {sorted(model.roles)}"
        assert ("own window" in who) == model.own_window, f"{op}: docs and model disagree on 'own window'"
        if not model.roles:
            assert who == "admin only"


def test_docs_events_table_lists_exactly_the_applied_events() -> None:
    documented = {ev for cells in _doc_table("Events") for ev in re.findall(r"`([a-z_]+)`", cells[0])}
    assert documented == set(APPLIERS)


def test_bus_protocol_roles_table_matches_the_models() -> None:
    text = (ROOT / "docs" / "bus-protocol.md").read_text(encoding="utf-8")
    table = text.split("### Roles\n", 1)[1].strip().split("\n\n", 1)[0]
    rows = {re.findall(r"`([a-z]+)`", line.split("|")[1])[0]: set(re.findall(r"`([a-z_]+)`", line.split("|")[2]))
            for line in table.splitlines() if line.startswith("| `")}
    for role in ("kiosk", "greeter"):
        assert rows[role] == {op for op, m in MODEL_FOR.items() if role in m.roles}, role
    admin_only = {op for op, m in MODEL_FOR.items() if not m.roles}
    assert admin_only <= rows["admin"], admin_only - rows["admin"]


def test_roles_on_models_are_known_roles() -> None:
    for op, model in MODEL_FOR.items():
        assert set(model.roles) <= set(ROLES) - {"admin"}, op


PIN_HASH = ("scrypt$16384$8$1$00000000000000000000000000000000$f9f653f5c34720a7e255"
            "cd5c45915267d7bad5862b86d9a71cbe5eefeac08219")
HANDOVER = {"handover_id": "HALL-20261123-0001>PA#1", "hop": 1, "from_site": "HALL", "to_site": "PA",
            "case": "HALL-20261123-0001", "by": "clerk-1"}
EXAMPLES = {
    "issue": {"service": "医保"}, "claim_help": {"help_id": "H-1", "helper": "xm-1"},
    "handover_help": {"help_id": "H-1", "from_helper": "a", "to_helper": "b"},
    "finish_help": {"help_id": "H-1", "helper": "a"}, "call_ticket": {"counter": 5, "ticket": "A001"},
    "requeue": {"ticket": "A001"}, "finish": {"counter": 5, "ticket": "A001"},
    "transfer": {"counter": 5, "ticket": "A001", "to_counter": 6}, "park": {"counter": 5, "ticket": "A001"},
    "resume_parked": {"counter": 5, "ticket": "A001"}, "rate": {"ticket": "A001", "level": 1},
    "close_followup": {"followup_id": "FU-000001", "note": "called back"},
    "cancel_help": {"help_id": "H-1", "by": "xm-1", "reason": "declined"}, "tick": {},
    "confirm_clock": {},
    "device_status": {"device": "printer", "ok": False, "problem": "paper out"},
    "change_group": {"ticket": "A001", "group": "accompany", "by": "xm-1", "reason": "walks with a stick"},
    "open_consultation": {"helper": "xm-1", "name": "张秀英", "question": "医保异地备案要带什么？"},
    "answer_consultation": {"consultation_id": "C-000001", "by": "xm-1", "answer": "身份证"},
    "refer_consultation": {"consultation_id": "C-000001", "by": "xm-1", "department": "医保局"},
    "record_delegation": {"helper": "xm-1", "principal": "张秀英", "services": ["医保"],
                          "pages": [{"sha256": "0" * 64, "file": "D-000001-1.jpg"}]},
    "complete_delegation": {"delegation_id": "D-000001", "by": "xm-1"},
    "cancel_delegation": {"delegation_id": "D-000001", "by": "xm-1", "note": "visitor came back"},
    "issue_notice": {"service": "医保", "missing": ["户口簿"], "by": "xm-1"},
    "assign_followup": {"followup_id": "FU-000001", "owner": "xm-2"},
    "rectify_followup": {"followup_id": "FU-000001", "by": "xm-2", "note": "已致歉并改进"},
    "register_complaint": {"by": "xm-1", "channel": "hotline", "subject_kind": "window", "subject": "5",
                           "text": "窗口态度差"},
    "assign_complaint": {"complaint_id": "CP-000001", "owner": "xm-2"},
    "rectify_complaint": {"complaint_id": "CP-000001", "by": "xm-2", "note": "已约谈"},
    "reply_complaint": {"complaint_id": "CP-000001", "by": "xm-2", "reply": "已回复"},
    **{op: {"counter": 5, "ticket": "A001"} for op in ("recall", "no_show", "start")},
    "add_staff": {"staff": "xm-1", "name": "小满", "duties": ["helper"], "pin_hash": PIN_HASH},
    "disable_staff": {"staff": "xm-1"}, "reset_pin": {"staff": "xm-1", "pin_hash": PIN_HASH},
    "sign_in": {"staff": "xm-1", "pin": "1234"}, "sign_out": {},
    "print_result": {"job": "N-000001", "ok": False, "problem": "paper out"}, "reprint": {"job": "N-000001"},
    # 办件 (casework.py)
    "accept_case": {"item": "YB-0001", "applicant": "张秀英"},
    "accept_delegation": {"delegation_id": "D-000001", "item": "YB-0001"},
    **{op: {"case": "HALL-20261123-0001"} for op in ("start_case", "resume_case", "archive_case")},
    "continue_case": {"case": "HALL-20261123-0001", "ticket": "A001"},
    "attach_to_case": {"case": "HALL-20261123-0001", "record": "notice", "record_id": "N-000001"},
    "assign_step": {"case": "HALL-20261123-0001", "step": 1, "tracker": "gz-1"},
    "finish_step": {"case": "HALL-20261123-0001", "step": 1},
    "request_supplement": {"case": "HALL-20261123-0001", "missing": ["户口簿"]},
    "delay_case": {"case": "HALL-20261123-0001", "days": 2, "reason": "现场核查"},
    "change_case_owner": {"case": "HALL-20261123-0001", "owner": "xm-2", "reason": "调岗"},
    "conclude_case": {"case": "HALL-20261123-0001", "decision": "approved"},
    "deliver_case": {"case": "HALL-20261123-0001", "how": "ems", "tracking": "EA123456789CN"},
    "rate_case": {"case": "HALL-20261123-0001", "level": 5},
    # 转办 (handover.py)
    "hand_over_case": {"case": "HALL-20261123-0001", "to_site": "PA", "reason": "需县级审批"},
    "accept_handover": {"case": "HALL-20261123-0001"},
    "decline_handover": {"case": "HALL-20261123-0001", "reason": "不属于本级事权"},
    "receive_handover": {**HANDOVER, "item": "YB-0001", "item_name": "参保信息查询打印", "service": "医保",
                         "case_kind": "immediate", "applicant": "张秀英", "owner": "clerk-1", "owner_site": "HALL",
                         "due": "2026-11-23T17:30:00+08:00", "accepted_at": "2026-11-23T10:00:00+08:00",
                         "sent_at": "2026-11-23T10:30:00+08:00", "reason": "需县级审批", "route": ["HALL"],
                         "accept_by": "2026-11-23T18:30:00+08:00"},
    "receive_result": {**HANDOVER, "decision": "approved", "concluded_at": "2026-11-23T12:00:00+08:00",
                       "due": "2026-11-23T17:30:00+08:00"},
    "receive_decline": {**HANDOVER, "reason": "不属于县级事权"},
    # 预约 and 上门办 (booking.py)
    "hold_booking": {"item": "QR-379901-MZJ-011", "start": "2026-11-24T10:00:00+08:00", "phone": "13812345678",
                     "name": "张秀英"},
    **{op: {"code": "PA-20261124-001"} for op in ("confirm_booking", "cancel_booking")},
    "reschedule_booking": {"code": "PA-20261124-001", "start": "2026-11-24T10:30:00+08:00"},
    "assign_home_visit": {"code": "PA-20261124-001", "helpers": ["h1"], "travel_minutes": 20},
    "arrive_home_visit": {"code": "PA-20261124-001", "done_at": "2026-11-24T10:00:00+08:00"},
    "finish_home_visit": {"code": "PA-20261124-001", "done_at": "2026-11-24T10:00:00+08:00", "outcome": "done"},
    "record_reminder": {"code": "PA-20261124-001", "ok": True},
}


@pytest.mark.parametrize("op", OPS)
def test_authorize_follows_the_model_roles(op: str) -> None:
    cmd = parse_command({"op": op, **EXAMPLES.get(op, {"counter": 5})})
    model = MODEL_FOR[op]
    assert authorize("admin", None, cmd) is None
    for role in ("kiosk", "greeter", "counter", "board", "display", "web"):
        why = authorize(role, 5, cmd, ticket_counter=5)
        assert (why is None) == (role in model.roles), f"{role} sending {op}: {why}"
    if model.own_window and hasattr(cmd, "counter"):
        assert "operates window 6, not window 5" in (authorize("counter", 6, cmd) or "")
    if op == "rate":
        assert "only its own cases; that case was at window 5" in (authorize("counter", 6, cmd, ticket_counter=5) or "")
        assert "that case was at no window" in (authorize("counter", 5, cmd, ticket_counter=None) or "")
        assert authorize("counter", 5, cmd, ticket_counter=5) is None


def test_replay_does_not_depend_on_todays_configuration(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A ledger written under one configuration replays to the same hall under a changed one: the facts that
    decided each event travel in it. Here the home-visit group changes to counter queueing, the rolling window
    shrinks, and a window the ledger mentions is removed."""
    from hall_bus.store.core import HallCore

    core = HallCore(cfg, tmp_path, clock)
    script = [
        {"op": "issue", "service": "医保", "group": "home_visit", "appointment_at": "2026-11-23T10:00:00+08:00"},
        {"op": "claim_help", "help_id": "H-20261123-E001", "helper": "xm-1"},
        *[{"op": "issue", "service": "医保"}] * 4,
        *[{"op": op, "counter": 10} for _ in range(4) for op in ("call_next", "start", "finish")],
    ]
    for cmd in script:
        clock.advance(90)
        if cmd["op"] in ("start", "finish"):  # the visitor at the window, as its keypad names them
            cmd = {**cmd, "ticket": core.state.counters[10].current or "E002"}
        core.submit(cmd)
    before = core.state.to_dict()
    core.close()
    assert before["tickets"]["20261123-E001"]["status"] == "visit"
    assert len(before["durations"]["医保"]) == 4

    changed = cfg.model_copy(update={
        "hall": cfg.hall.model_copy(update={"rolling_window": 2}),
        "groups": {**cfg.groups, "home_visit": cfg.groups["home_visit"].model_copy(update={"counter_queue": True})},
        "counters": [c for c in cfg.counters if c.number != 10],
    })
    for cached in ("counters_by_number", "services_by_name", "zones_by_id"):
        changed.__dict__.pop(cached, None)  # cached views of the original lists
    again = HallCore(changed, tmp_path, clock)
    try:
        after = again.state.to_dict()
    finally:
        again.close()
    for key in ("tickets", "waiting", "helps", "durations", "numbers", "followups", "seq"):
        assert after[key] == before[key], key
    assert after["counters"]["10"] == before["counters"]["10"]


def test_a_command_is_built_from_its_model_without_naming_its_op_twice() -> None:
    """Nodes send `client.send(Finish(counter=5, ticket="A001"))`: a model with one op has it as its default."""
    for op, model in MODEL_FOR.items():
        ops = get_args(model.model_fields["op"].annotation)
        if len(ops) == 1:
            assert model.model_fields["op"].default == op, f"{model.__name__} needs op: Literal[{op!r}] = {op!r}"
