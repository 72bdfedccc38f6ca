"""The counter panel's model against the real queue engine: buttons offered only when the hall would take the tap,
a queue preview that is exactly what 叫下一位 then calls, and the finish dialog's materials from the config; the
panel node's finish with missing materials also issues the one-time notice at the node's print_at kiosk."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from hall_bus.domain.commands import MODEL_FOR
from hall_bus.domain.rejected import CommandRejected
from hall_bus.nodes.counter_panel import RATING_CHOICES, CounterPanelNode, PanelModel, PanelView

from .conftest import Hall


def view(hall: Hall, counter: int = 5, model: PanelModel | None = None) -> PanelView:
    m = model or PanelModel(hall.cfg, counter)
    for ev in hall.events:
        m.take(ev)
    return m.view(hall.state, hall.clock.now().timestamp())


def enabled(v: PanelView) -> set[str]:
    return {name for name, on in v.buttons.as_dict().items() if on}


def test_buttons_follow_the_window_through_a_case(hall: Hall) -> None:
    v = view(hall)
    assert v.status == "closed" and enabled(v) == {"open", "call_ticket"}  # nobody waits: no 叫下一位
    hall("issue", service="投资项目", group="normal")
    hall("issue", service="企业开办", group="normal")
    assert enabled(view(hall)) == {"open", "call_ticket", "call_next"}

    hall("call_next", counter=5)
    v = view(hall)
    assert v.visitor is not None and v.visitor.status == "called"
    assert enabled(v) == {"pause", "recall", "start", "finish", "no_show", "transfer", "park"}
    hall("start", counter=5)
    v = view(hall)
    assert v.visitor is not None and v.visitor.status_words == "办理中"
    assert enabled(v) == {"pause", "finish", "transfer", "park"}  # no start, recall or no-show once serving

    hall("finish", counter=5)
    assert enabled(view(hall)) == {"close", "pause", "call_next", "call_ticket", "rate"}
    hall("pause_counter", counter=5)
    assert enabled(view(hall)) == {"close", "resume", "rate"}  # paused: no call of any kind
    hall("resume_counter", counter=5)
    hall("rate", ticket=view(hall).to_rate, level=4)
    v = view(hall)
    assert "rate" not in enabled(v) and v.to_rate is None  # 一事一评: rated once


def test_each_enabled_button_is_accepted_and_each_disabled_one_refused(hall: Hall) -> None:
    """The buttons are the engine's preconditions: try every op in a few states and compare."""
    for service in ("企业开办", "企业开办", "投资项目"):
        hall("issue", service=service, group="normal")
    ops = {"call_next": {}, "recall": {}, "start": {}, "finish": {}, "no_show": {}, "park": {},
           "transfer": {"to_service": "综合受理"}, "pause": {}, "resume": {}, "open": {}}
    real = {"pause": "pause_counter", "resume": "resume_counter", "open": "open_counter"}
    steps: list[tuple[str, dict[str, Any]]] = [("call_next", {}), ("start", {}), ("park", {}),
                                               ("pause_counter", {}), ("resume_counter", {}), ("call_next", {})]
    for step, kw in [("none", {}), *steps]:
        if step != "none":
            hall(step, counter=5, **kw)
        v = view(hall)
        for name, kw2 in ops.items():
            snapshot = hall.engine.state.to_dict()
            probe = Hall(hall.cfg, hall.clock)
            probe.engine.state = type(hall.engine.state).from_dict(snapshot)
            try:
                probe(real.get(name, name), counter=5, **kw2)
                accepted = True
            except CommandRejected:
                accepted = False
            if name in ("open", "pause"):  # idempotent ops: the button is offered only when it changes anything
                accepted = accepted and v.status == {"open": "closed", "pause": "open"}[name]
            assert v.buttons.as_dict()[name] == accepted, (step, name)


@pytest.mark.parametrize("counter", [5, 1])
def test_the_preview_is_what_call_next_then_calls(hall: Hall, counter: int) -> None:
    """A mix of walk-ins, priority groups, the green channel and an appointment, at a department window (5)
    and at an assistance-zone window that takes walk-ins when free (1)."""
    mix = [("企业开办", "normal"), ("投资项目", "normal"), ("企业开办", "accompany"), ("投资项目", "normal"),
           ("企业开办", "wheelchair_push"), ("企业开办", "normal"), ("投资项目", "guide"), ("综合受理", "normal"),
           ("企业开办", "delegate"), ("投资项目", "normal")]
    for i, (service, group) in enumerate(mix):
        hall("issue", service=service, group=group)
        hall.wait(40 + 7 * i)
    when = (hall.clock.now() + timedelta(minutes=5)).isoformat()
    hall("issue", service="企业开办", group="normal", appointment_at=when)
    model = PanelModel(hall.cfg, counter, preview=6)
    shown = [w.number for w in view(hall, counter, model).next_up]
    assert len(shown) == 6
    called = []
    for _ in shown:
        called.append(hall("call_next", counter=counter)["number"])
        hall("finish", counter=counter)
    assert called == shown


def test_waiting_counts_and_the_visitor_panel(hall: Hall) -> None:
    issued = hall("issue", service="投资项目", group="accompany")
    hall("issue", service="企业开办", group="normal")
    hall("issue", service="综合受理", group="normal")  # not served at window 5
    v = view(hall)
    assert v.waiting == 2 and dict(v.waiting_by_service) == {"投资项目": 1, "企业开办": 1}
    hall("claim_help", help_id=issued["help_id"], helper="王芳")
    hall("call_next", counter=5)
    hall.wait(150)
    v = view(hall)
    assert v.visitor is not None
    assert (v.visitor.number, v.visitor.service, v.visitor.group_words, v.visitor.helper) == \
        ("B001", "投资项目", "◆ 陪同办", "王芳")
    assert v.visitor.minutes(hall.clock.now().timestamp()) == 2
    hall("park", counter=5)
    v = view(hall)
    assert [p.number for p in v.parked] == ["B001"] and v.buttons.resume_parked and v.visitor is None
    hall("resume_parked", counter=5, ticket="B001")
    assert view(hall).visitor.notes == ("挂起后恢复",)  # type: ignore[union-attr]


def test_a_visitor_transferred_here_is_marked_even_after_a_resync(hall: Hall) -> None:
    hall("issue", service="综合受理", group="normal")
    hall("call_next", counter=6)
    hall("transfer", counter=6, to_service="企业开办")
    hall("call_next", counter=5)
    fresh = PanelModel(hall.cfg, 5)  # a panel started after the transfer has not seen the event
    v = fresh.view(hall.state, hall.clock.now().timestamp())
    assert v.visitor is not None and v.visitor.number == "C001" and "转办而来" in v.visitor.notes


def test_materials_come_from_the_config(hall: Hall) -> None:
    model = PanelModel(hall.cfg, 5)
    assert model.materials("企业开办") == hall.cfg.services_by_name["企业开办"].materials
    assert model.materials("企业开办")[:2] == ["身份证原件", "企业名称自主申报告知书"]
    assert model.prefixes() == ["B", "A"]  # window 5: 投资项目 first
    assert "企业开办" not in model.transfer_services("企业开办")
    assert [level for level, _, _ in RATING_CHOICES] == [5, 4, 3, 2, 1]
    assert RATING_CHOICES[1][1:] == ("满意", "★★★★☆")


class EngineClient:
    """A bus client stand-in that runs commands on the engine and answers as the server does."""

    def __init__(self, hall: Hall) -> None:
        self.hall = hall
        self.sent: list[dict[str, Any]] = []

    @property
    def state(self) -> Any:
        return self.hall.state

    async def send(self, command: Any) -> dict[str, Any]:
        return await self.request(command.wire())

    async def request(self, command: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(command)
        cmd = dict(command)
        op = cmd.pop("op")
        person = MODEL_FOR[op].person_field
        if person is not None:  # the server fills it from the clerk signed in on the panel
            cmd[person] = "李娜"
        try:
            return {"ok": True, "op": op, "result": self.hall(op, **cmd)}
        except CommandRejected as exc:
            return {"ok": False, "op": op, "code": exc.code, "message": exc.message}


def test_finish_with_missing_materials_issues_the_notice_at_the_print_at_kiosk(hall: Hall) -> None:
    hall("issue", service="企业开办", group="normal")
    client = EngineClient(hall)
    node = CounterPanelNode(client, hall.cfg, "counter-5")

    async def case() -> Any:
        await node.send("call_next")
        await node.send("start")
        return await node.finish("materials_missing", ["公司章程", "股东会决议", "公司章程"])

    out = asyncio.run(case())
    assert out.ok and [c["op"] for c in client.sent] == ["call_next", "start", "finish", "issue_notice"]
    assert client.sent[2] == {"op": "finish", "counter": 5, "ticket": "20261123-A001", "reason": "",
                              "outcome": "materials_missing", "materials": ["公司章程", "股东会决议"]}
    assert client.sent[3] == {"op": "issue_notice", "service": "企业开办", "missing": ["公司章程", "股东会决议"],
                              "ticket": "20261123-A001", "print_at": "kiosk-2"}
    assert next(e for e in hall.events if e["type"] == "notice_issued")["data"]["by"] == "李娜"
    notice = next(e for e in hall.events if e["type"] == "notice_issued")["data"]
    assert notice["print_at"] == "kiosk-2" and notice["items"] == ["公司章程", "股东会决议"]
    assert "1. 公司章程" in out.notice_text and "自助机 kiosk-2" in out.notice_text
    assert node.model.to_rate == "20261123-A001"
    answer = asyncio.run(node.rate(4))
    assert answer["ok"] and hall.state.tickets["20261123-A001"].rating == "满意"
    assert node.model.to_rate is None and asyncio.run(node.rate(5))["ok"] is False  # once


def test_a_refused_tap_says_why_in_chinese(hall: Hall) -> None:
    node = CounterPanelNode(EngineClient(hall), hall.cfg, "counter-5")
    answer = asyncio.run(node.send("call_next"))
    assert not answer["ok"] and node.message == "未成功：没有人在等候本窗口"
    assert asyncio.run(node.finish("done")).ok is False


def test_a_finish_answer_after_the_next_call_does_not_ask_the_next_visitor_to_rate(hall: Hall) -> None:
    """A keypad beside the panel calls the next visitor before the panel's finish answer is handled: the rating
    prompt must not come up for the previous case with the new visitor at the window."""
    for _ in range(2):
        hall("issue", service="企业开办", group="normal")
    client = EngineClient(hall)
    node = CounterPanelNode(client, hall.cfg, "counter-5")

    class KeypadCallsFirst(EngineClient):
        async def request(self, command: dict[str, Any]) -> dict[str, Any]:
            answer = await super().request(command)
            if command["op"] == "finish":
                hall("call_next", counter=5)  # the keypad's 叫号 lands before this answer is read
            return answer

    async def case() -> None:
        await node.send("call_next")
        node.client = KeypadCallsFirst(hall)
        await node.finish("done", [])

    asyncio.run(case())
    assert hall.state.counters[5].current is not None and node.model.to_rate is None


# ---------------------------------------------------------------------- 办件 (cases) at the window


def case_node(hall: Hall, service: str = "企业开办") -> tuple[CounterPanelNode, EngineClient]:
    """Window 5 with a visitor of `service` called and being served."""
    hall("issue", service=service, group="normal")
    client = EngineClient(hall)
    node = CounterPanelNode(client, hall.cfg, "counter-5")
    asyncio.run(node.send("call_next"))
    asyncio.run(node.send("start"))
    return node, client


def now(hall: Hall) -> float:
    return hall.clock.now().timestamp()


def test_the_items_offered_are_the_windows_with_the_visitors_service_first(hall: Hall) -> None:
    model = PanelModel(hall.cfg, 5)
    items = model.items("企业开办")
    services = [i.service for i in items]
    assert services == sorted(services, key=lambda sv: sv != "企业开办") and set(services) == {"企业开办", "投资项目"}
    assert "XK-379901-SCJ-001" in {i.code for i in items}  # guide windows 1–4, yet window 5 serves 企业开办 too
    assert model.items("投资项目")[0].service == "投资项目"
    assert model.checklist("XK-379901-SPJ-006")[-1] == ("卫生检测报告", "容缺")
    assert model.checklist("XK-379901-SPJ-006")[0] == ("卫生许可证申请表", "必要")
    assert model.checklist("NO-SUCH-ITEM") == []


def test_accept_supplement_resume_conclude_deliver_archive(hall: Hall) -> None:
    node, client = case_node(hall)
    out = asyncio.run(node.accept_case("XK-379901-SPJ-006", " 张秀英 ", "410102196611241234", "13812345678"))
    assert out.ok and out.case == "PA-20261123-0001"
    assert client.sent[-1] == {"op": "accept_case", "item": "XK-379901-SPJ-006", "applicant": "张秀英",
                               "id_number": "410102196611241234", "phone": "13812345678", "counter": 5,
                               "ticket": "20261123-A001", "print_at": "kiosk-2"}  # the receipt, at its kiosk
    assert out.headline.startswith("PA-20261123-0001\n承诺件") and "2026-11-30 17:30 前" in out.headline
    assert "办件编号：PA-20261123-0001" in out.receipt and "申请人：张**" in out.receipt  # type: ignore[operator]
    assert out.receipt_where and node.message == "已受理，办件编号 PA-20261123-0001"
    (row,) = node.cases(now(hall))
    assert (row.applicant, row.id_number, row.phone) == ("张**", "4101**********1234", "138****5678")
    assert row.item_name == "公共场所卫生许可" and row.kind_words == "承诺件" and not row.overdue
    assert row.actions == ("supplement", "conclude", "delay") and "11-30 17:30 前" in row.due_words

    # 补正 on Friday: listed materials and one in free text, the notice at the window's kiosk
    hall.wait(4 * 86400)
    answer = asyncio.run(node.request_supplement(out.case, ["卫生检测报告", " 消防验收意见 ", "卫生检测报告"]))
    assert answer["ok"] and client.sent[-1] == {"op": "request_supplement", "case": out.case,
                                                "missing": ["卫生检测报告", "消防验收意见"], "print_at": "kiosk-2"}
    assert "自助机 kiosk-2" in node.notice_text and "消防验收意见" in node.notice_text
    notice = next(e for e in hall.events if e["type"] == "notice_issued")["data"]
    assert notice["case"] == out.case and notice["free_items"] == ["消防验收意见"] and notice["by"] == "李娜"
    row = node.case(out.case, now(hall))  # type: ignore[assignment]
    assert row.status_words == "补正中" and row.actions == ("resume",) and "计时暂停" in row.due_words
    assert asyncio.run(node.request_supplement(out.case, [" "]))["code"] == "bad_notice"  # nothing sent
    assert len(client.sent) == 4

    # the materials come on Tuesday: Monday and Tuesday paused, the due date moves two working days
    hall.wait(4 * 86400)
    assert asyncio.run(node.resume_case(out.case))["ok"]
    assert node.message.endswith("暂停 2 个工作日）")
    assert "12-02 17:30 前" in node.case(out.case, now(hall)).due_words  # type: ignore[union-attr]

    # 办结: 不予 without a reason is asked for, not sent
    answer = asyncio.run(node.conclude_case(out.case, "refused", "  "))
    assert answer["code"] == "no_reason" and node.message == "未成功：不予办理须写明理由"
    assert client.sent[-1]["op"] == "resume_case"
    assert asyncio.run(node.conclude_case(out.case, "approved"))["ok"]
    assert client.sent[-1] == {"op": "conclude_case", "case": out.case, "decision": "approved", "reason": ""}
    assert node.case(out.case, now(hall)).actions == ("deliver",)  # type: ignore[union-attr]

    # 出件 at the window: not without the ID check and the collector's name
    assert asyncio.run(node.deliver_case(out.case, "window", collector="张秀英"))["code"] == "id_not_checked"
    assert asyncio.run(node.deliver_case(out.case, "window", id_checked=True))["code"] == "id_not_checked"
    assert client.sent[-1]["op"] == "conclude_case"  # neither was sent
    assert asyncio.run(node.deliver_case(out.case, "window", collector="张秀英", id_checked=True))["ok"]
    assert client.sent[-1] == {"op": "deliver_case", "case": out.case, "how": "window", "collector": "张秀英",
                               "id_checked": True}
    assert asyncio.run(node.archive_case(out.case))["ok"] and node.message == f"办件 {out.case} 已归档"
    k = hall.state.cases[out.case]
    assert (k.status, k.collector, k.handed_by, k.paused_days, k.on_time) == ("archived", "张秀英", "李娜", 2, True)
    assert node.cases(now(hall)) == []  # archived: off the window's list


def test_a_case_accepted_and_refused_at_one_sitting_is_started_first(hall: Hall) -> None:
    node, client = case_node(hall, "投资项目")
    out = asyncio.run(node.accept_case("BA-379901-FGJ-001", "王建国"))
    assert out.ok and client.sent[-1]["ticket"] == "20261123-B001" and "id_number" not in client.sent[-1]
    assert "即办件" in out.headline and "2026-11-23 17:30 前" in out.headline
    assert asyncio.run(node.conclude_case(out.case, "refused", "项目不属于备案范围"))["ok"]
    assert [m["op"] for m in client.sent[-2:]] == ["start_case", "conclude_case"]
    assert hall.state.cases[out.case].reason == "项目不属于备案范围"
    assert not asyncio.run(node.deliver_case(out.case, "ems", tracking="12"))["ok"]  # too short: the model says no
    assert asyncio.run(node.deliver_case(out.case, "ems", tracking="EMS1234567890"))["ok"]
    assert hall.state.cases[out.case].tracking == "EMS1234567890"


def test_an_overdue_case_says_so_in_words(hall: Hall) -> None:
    node, _ = case_node(hall, "投资项目")
    out = asyncio.run(node.accept_case("BA-379901-FGJ-001", "王建国"))
    hall.wait(9 * 3600)  # 18:00, past the 即办件's 17:30
    (row,) = node.cases(hall.clock.now().timestamp())
    assert row.overdue and row.due_words.startswith("已超期") and row.number == out.case


def test_a_returning_visitor_opens_the_case_by_its_number_and_the_visit_joins_it(hall: Hall) -> None:
    node, client = case_node(hall)
    out = asyncio.run(node.accept_case("XK-379901-SPJ-006", "张秀英"))
    asyncio.run(node.request_supplement(out.case, ["卫生检测报告"]))
    asyncio.run(node.finish("done"))
    hall("issue", service="企业开办", group="normal")
    asyncio.run(node.send("call_next"))
    assert not asyncio.run(node.open_case("PA-20261123-0099")).ok and node.message == "未成功：没有这个办件编号"
    opened = asyncio.run(node.open_case("1"))  # the serial alone: the only such case of this window
    assert opened.ok and opened.case == out.case
    assert client.sent[-1] == {"op": "continue_case", "case": out.case, "ticket": "20261123-A002"}
    assert hall.state.cases[out.case].tickets == ["20261123-A001", "20261123-A002"]
    again = asyncio.run(node.open_case(out.case.lower()))  # scanned twice: the visit is not added twice
    assert again.ok and client.sent[-1]["op"] == "continue_case" and len(client.sent) == 7
