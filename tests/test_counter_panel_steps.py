"""延期 and 环节 on the counter panel's model, against the real engine: 延期 offered only for a running case before
its due date, its new due date shown before it is sent and the same as the hall records, a delay asked too late
refused in words; a 重大事项's steps listed with due dates (late in words), trackers by name from the roster's
环节跟踪员, and 指派跟踪员 / 环节办结 sent as the hall's commands."""

from __future__ import annotations

import asyncio
from datetime import datetime

from hall_bus.domain.staff import hash_pin
from hall_bus.nodes.counter_panel import CounterPanelNode, PanelModel

from .conftest import TZ, Hall
from .test_counter_panel_model import EngineClient, now

MAJOR = "XK-379901-FGJ-002"  # 企业投资项目核准（联合审批）: three departments, five working days each
PROMISED = "XK-379901-SPJ-006"
PIN = hash_pin("2468", b"0" * 16)


def roster(hall: Hall) -> None:
    """The clerk, two trackers who share a name, one more tracker, a disabled tracker and a helper."""
    for staff, name, duties in (("李娜", "李娜", ["clerk"]), ("zq04", "赵强", ["clerk", "tracker"]),
                                ("ly-1", "刘洋", ["tracker"]), ("ly-2", "刘洋", ["tracker"]),
                                ("gz-9", "孙丽", ["tracker"]), ("王芳", "王芳", ["helper", "supervisor"])):
        hall("add_staff", staff=staff, name=name, duties=duties, pin_hash=PIN)
    hall("disable_staff", staff="gz-9")


def major(hall: Hall, item: str = MAJOR) -> tuple[CounterPanelNode, EngineClient, str]:
    """Window 5 with a 投资项目 visitor served and a case of `item` accepted for them."""
    roster(hall)
    hall("issue", service="投资项目", group="normal")
    client = EngineClient(hall)
    node = CounterPanelNode(client, hall.cfg, "counter-5")
    asyncio.run(node.send("call_next"))
    asyncio.run(node.send("start"))
    out = asyncio.run(node.accept_case(item, "王建国"))
    assert out.ok, out.answer
    return node, client, out.case


def local(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, TZ)


def test_delay_and_steps_are_offered_only_when_the_hall_would_take_them(hall: Hall) -> None:
    node, _, case = major(hall)
    row = node.case(case, now(hall))
    assert row is not None and row.actions == ("supplement", "conclude", "delay", "steps")
    assert row.steps_words == "第 1/3 环节 县发展和改革局·项目核准（未指派跟踪员）" and row.delay_words == ""
    promised = asyncio.run(node.accept_case(PROMISED, "张秀英")).case
    assert "steps" not in node.case(promised, now(hall)).actions  # type: ignore[union-attr]  # no steps to list

    asyncio.run(node.request_supplement(case, ["环境影响评价文件批复"]))
    row = node.case(case, now(hall))
    assert row is not None and row.actions == ("resume", "steps")  # in 补正 the clock is stopped: no 延期
    asyncio.run(node.resume_case(case))

    due = hall.state.cases[case].due_ts
    hall.wait(due - now(hall) + 60)  # a minute past the due date
    row = node.case(case, now(hall))
    assert row is not None and "delay" not in row.actions and row.overdue
    assert row.delay_words == "已过承诺办结时间，不能再延期（延期须在到期前申请）"


def test_a_delay_shows_its_new_due_date_first_and_sends_days_and_reason(hall: Hall) -> None:
    node, client, case = major(hall)
    k = hall.state.cases[case]
    assert local(k.due_ts) == datetime(2026, 12, 14, 17, 30, tzinfo=TZ)  # 3 × 5 working days from Monday 23rd
    preview = node.model.delay_preview(k, 3)
    assert preview == "延期 3 个工作日：2026-12-14 17:30 → 2026-12-17 17:30 前"
    assert node.model.delay_preview(k, 0) == "现承诺办结：2026-12-14 17:30 前"
    step_dues = [s.due_ts for s in k.steps]

    sent = len(client.sent)
    answer = asyncio.run(node.delay_case(case, 3, "   "))  # a reason is written, or nothing is sent
    assert answer["code"] == "no_delay_reason" and node.message == "未成功：延期须写明理由"
    assert len(client.sent) == sent

    assert asyncio.run(node.delay_case(case, 3, " 需现场核查：用地红线复核 "))["ok"]
    assert client.sent[-1] == {"op": "delay_case", "case": case, "days": 3, "reason": "需现场核查：用地红线复核"}
    assert local(k.due_ts) == node.model.delayed_due(k, 0) == datetime(2026, 12, 17, 17, 30, tzinfo=TZ)
    assert node.message == f"办件 {case} 已延期，承诺办结改为 2026-12-17 17:30 前"
    assert [s.due_ts > d for s, d in zip(k.steps, step_dues, strict=True)] == [True, True, True]
    row = node.case(case, now(hall))
    assert row is not None and row.delay_words == "已延期 3 个工作日" and "12-17 17:30 前" in row.due_words
    assert next(e for e in hall.events if e["type"] == "case_delayed")["data"]["by"] == "李娜"


def test_a_delay_asked_after_the_due_date_is_refused_in_words(hall: Hall) -> None:
    """The screen offered 延期 a moment ago; the clerk confirms after the due date: the hall refuses, the panel
    says why in the clerk's words, and the due date stays."""
    node, client, case = major(hall, PROMISED)
    due = hall.state.cases[case].due_ts
    assert "delay" in node.case(case, now(hall)).actions  # type: ignore[union-attr]
    hall.wait(due - now(hall) + 1)
    answer = asyncio.run(node.delay_case(case, 2, "申请人申请延期"))
    assert client.sent[-1]["op"] == "delay_case"  # the hall is the judge of the time
    assert not answer["ok"] and answer["code"] == "too_late"
    assert node.message == "未成功：已过承诺办结时间，不能再延期（延期须在到期前申请）"
    assert hall.state.cases[case].due_ts == due and hall.state.cases[case].delays == 0


def test_the_tracker_picker_lists_the_rosters_trackers_by_name(hall: Hall) -> None:
    assert PanelModel(hall.cfg, 5).trackers(hall.state) == []  # no roster yet: nobody to pick (the screen says so)
    node, _, _ = major(hall)
    # 孙丽 is disabled, 王芳 and 李娜 have no tracker duty; the two 刘洋 are told apart by their ids
    assert node.trackers() == [("zq04", "赵强"), ("ly-1", "刘洋（ly-1）"), ("ly-2", "刘洋（ly-2）")]


def test_what_is_late_is_judged_by_the_panels_own_clock(hall: Hall) -> None:
    """The node's clock (injectable) decides what the screens call late; the hall still judges what it takes."""
    roster(hall)
    offset = [0.0]
    node = CounterPanelNode(EngineClient(hall), hall.cfg, "counter-5", clock=lambda: now(hall) + offset[0])
    hall("issue", service="投资项目", group="normal")
    asyncio.run(node.send("call_next"))
    case = asyncio.run(node.accept_case(MAJOR, "王建国")).case
    row = node.case(case)
    assert row is not None and not row.overdue and not row.too_late_to_delay and "delay" in row.actions
    offset[0] = hall.state.cases[case].due_ts - now(hall) + 1
    row = node.case(case)
    assert row is not None and row.overdue and row.too_late_to_delay and "delay" not in row.actions
    assert [r.late for r in node.steps(case)] == [True, True, True]


def test_steps_are_listed_assigned_and_finished_in_order_a_late_one_said_in_words(hall: Hall) -> None:
    node, client, case = major(hall)
    rows = node.steps(case, now(hall))
    assert [(r.step, r.department, r.name) for r in rows] == [
        (1, "县发展和改革局", "项目核准"), (2, "县自然资源局", "用地预审与选址意见"),
        (3, "市生态环境局平安分局", "环境影响评价审批")]
    assert [r.due_words for r in rows] == ["11-30 17:30 前", "12-07 17:30 前", "12-14 17:30 前"]
    assert [r.tracker_name for r in rows] == ["未指派"] * 3 and not any(r.late for r in rows)
    assert [r.state for r in rows] == ["current", "waiting", "waiting"]
    assert rows[0].state_words == "待开始（本件尚未开始办理）" and rows[1].state_words == "待办（前一环节办结后开始）"
    assert [r.can_assign for r in rows] == [True] * 3 and [r.can_finish for r in rows] == [True, False, False]
    assert rows[0].words.split("\n") == ["环节1 · 县发展和改革局 · 项目核准", "截止：11-30 17:30 前",
                                          "跟踪员：未指派    待开始（本件尚未开始办理）"]

    # 指派跟踪员: a tracker by id, said back by name; someone without the duty is not sent
    assert asyncio.run(node.assign_step(case, 1, "zq04"))["ok"]
    assert client.sent[-1] == {"op": "assign_step", "case": case, "step": 1, "tracker": "zq04"}
    assert node.message == f"办件 {case} 环节1 已指派跟踪员 赵强"
    sent = len(client.sent)
    assert asyncio.run(node.assign_step(case, 2, "王芳"))["code"] == "not_tracker"
    assert node.message == "未成功：只能指派名册上有「环节跟踪员」职责的人" and len(client.sent) == sent
    assert asyncio.run(node.assign_step(case, 2, "ly-2"))["ok"]
    rows = node.steps(case, now(hall))
    assert [r.tracker_name for r in rows] == ["赵强", "刘洋", "未指派"]
    assert node.case(case, now(hall)).steps_words == "第 1/3 环节 县发展和改革局·项目核准（赵强）"  # type: ignore[union-attr]

    # 环节办结 on a case just accepted: started first, then step 1 finished on time
    hall.wait(86400)
    assert asyncio.run(node.finish_step(case, 1))["ok"]
    assert [m["op"] for m in client.sent[-2:]] == ["start_case", "finish_step"]
    assert client.sent[-1] == {"op": "finish_step", "case": case, "step": 1, "note": ""}
    assert node.message == f"办件 {case} 环节1 已办结，下一环节开始"
    rows = node.steps(case, now(hall))
    assert rows[0].state == "done" and rows[0].state_words == "✓ 已办结 11-24 09:00（按时）"
    assert [r.can_finish for r in rows] == [False, True, False] and not rows[0].can_assign
    assert rows[1].state_words == "办理中"

    # out of order: the hall refuses, in words; 准予 waits for every step, and says so without asking the hall
    assert asyncio.run(node.finish_step(case, 3))["code"] == "bad_state"
    assert node.message == "未成功：现在不能这样操作"
    sent = len(client.sent)
    assert asyncio.run(node.conclude_case(case, "approved"))["code"] == "steps_open" and len(client.sent) == sent
    assert node.message == "未成功：还有环节未办结：先在「环节…」里办结各环节，才能准予办结"

    # step 2 runs past its due date: marked in words while open, and when finished
    hall.wait(local(hall.state.cases[case].steps[1].due_ts).timestamp() - now(hall) + 3600)
    late = node.steps(case, now(hall))[1]
    assert late.late and late.due_words == "已超期 · 12-07 17:30 前"
    assert asyncio.run(node.finish_step(case, 2))["ok"] and node.message.endswith("环节2 已办结（超期），下一环节开始")
    done = node.steps(case, now(hall))[1]
    assert done.late and done.state_words.endswith("（超期办结）") and done.due_words == "12-07 17:30 前"
    assert asyncio.run(node.finish_step(case, 3))["ok"]
    assert node.message.endswith("各环节均已办结，可办结本件")
    row = node.case(case, now(hall))
    assert row is not None and row.steps_words == "3 个环节均已办结"
    assert not any(r.can_finish or r.can_assign for r in node.steps(case, now(hall)))
    assert asyncio.run(node.conclude_case(case, "approved"))["ok"]
    k = hall.state.cases[case]
    assert [s.tracker for s in k.steps] == ["zq04", "ly-2", None] and all(s.by == "李娜" for s in k.steps)
