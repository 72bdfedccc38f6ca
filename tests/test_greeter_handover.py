"""转办 on the greeter node, without a UI toolkit: the inbox list (what a station's person reads before taking a case
from another site), what 我的事项 says about a case handed on or back, which buttons show, the forms' checks, and
every act over a real hall bus sent as the signed-in person — a village station with `[county]`, its hand-overs
arriving as the county link brings them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hall_bus.clock import ManualClock
from hall_bus.config import HallConfig
from hall_bus.domain.commands import parse_command
from hall_bus.nodes.greeter import (
    GreeterNode,
    case_actions,
    decline_problem,
    handover_problem,
    handover_refusal,
    handover_targets,
    has_handovers,
    inbox_list,
    my_cases,
    reason_text,
    site_names,
)

from .bus_helpers import NODES, free_port, running_hall, until
from .conftest import TZ
from .handover_helpers import UP, VILLAGE, arriving, county_keys, village
from .test_casework import at
from .test_handover import C, County, V, accept

NAMES = {V: "东关村便民服务站", C: "平安县政务服务中心"}


@pytest.fixture
def county(cfg: HallConfig, clock: ManualClock) -> County:
    return County(cfg, clock)


def test_the_inbox_lists_cases_handed_here_the_one_to_accept_soonest_first(county: County) -> None:
    v, c = county[V], county[C]
    county.go(at(11, 23, 10))
    first = accept(v)
    county.go(at(11, 23, 10, 30))
    v("hand_over_case", case=first, to_site=C, reason="需县级审批", by="clerk-1")
    county.pump()  # accept by 18:30 (the county's eight hours)
    county.go(at(11, 23, 11))
    second = accept(v)
    v("hand_over_case", case=second, to_site=C, reason="本站无权办理", by="clerk-1")
    county.pump()  # accept by 19:00
    now = county.clock.now().timestamp()
    items = inbox_list(c.state, now, {}, TZ)
    assert [i.case_id for i in items] == [first, second]
    one = items[0]
    assert (one.from_site, one.from_words, one.who, one.item_name, one.reason) == (
        V, V, "张**", "异地就医备案", "需县级审批")  # a site this tablet cannot name: its code
    assert (one.received, one.accept_by, one.late) == ("11月23日 10:30", "应于 11月23日 18:30 前接收", "")
    assert "秀英" not in repr(items)
    assert inbox_list(c.state, now, NAMES, TZ)[0].from_words == "东关村便民服务站"
    county.go(at(11, 23, 18, 45))  # past the first one's time, before the server's timer marked it
    late = inbox_list(c.state, county.clock.now().timestamp(), NAMES, TZ)
    assert [i.late for i in late] == ["超时未接收", ""]
    c("tick")  # handover_overdue written: still late, still listed until someone acts on it
    assert [i.late for i in inbox_list(c.state, county.clock.now().timestamp(), NAMES, TZ)] == ["超时未接收", ""]
    c("accept_handover", case=first, by="xz-1")
    c("decline_handover", case=second, reason="不属于本级办理事项", by="xz-1")
    assert inbox_list(c.state, county.clock.now().timestamp(), NAMES, TZ) == []


def test_my_cases_say_where_a_case_is_and_who_sent_it_or_sent_it_back(county: County) -> None:
    v, c = county[V], county[C]
    county.go(at(11, 23, 10))
    number = accept(v)
    assert case_actions(v.state, number, "clerk-1", county.clock.now().timestamp()) == {
        "start", "supplement", "delay"}  # a hall with nowhere to hand on to: no 转办
    assert "handover" in case_actions(v.state, number, "clerk-1", county.clock.now().timestamp(), hand_on=True)
    v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    county.pump()
    now = county.clock.now().timestamp()
    [out] = my_cases(v.state, "clerk-1", now, v.cfg.calendar, TZ, NAMES)
    assert out.what == "异地就医备案 · 已转办 · 在 平安县政务服务中心 办理" and out.due_ts is not None
    assert case_actions(v.state, number, "clerk-1", now, hand_on=True) == {"delay"}  # out there: not again
    assert case_actions(c.state, number, "xz-1", now, hand_on=True) == frozenset()  # in the inbox: accept first
    c("accept_handover", case=number, by="xz-1")
    [here] = my_cases(c.state, "xz-1", now, c.cfg.calendar, TZ, NAMES)
    assert here.what.startswith("异地就医备案 · 办理中 · 东关村便民服务站 转来")
    assert "handover" in case_actions(c.state, number, "xz-1", now, hand_on=True)  # on up the chain, if need be


def test_a_declined_hand_over_comes_back_saying_why(county: County) -> None:
    v, c = county[V], county[C]
    county.go(at(11, 23, 10))
    number = accept(v)
    v("hand_over_case", case=number, to_site=C, reason="需县级审批", by="clerk-1")
    county.pump()
    c("decline_handover", case=number, reason="不属于本级办理事项", by="xz-1")
    county.pump()
    [mine] = my_cases(v.state, "clerk-1", county.clock.now().timestamp(), v.cfg.calendar, TZ, NAMES)
    assert mine.status == "in_progress"
    assert mine.what == "异地就医备案 · 办理中 · 转办被 平安县政务服务中心 退回：不属于本级办理事项"
    assert "handover" in case_actions(v.state, number, "clerk-1", county.clock.now().timestamp(), hand_on=True)


def test_the_forms_say_what_is_missing_before_anything_is_sent(cfg: HallConfig) -> None:
    station = village(cfg, 5590)
    targets = handover_targets(station)
    assert targets == list(UP) and has_handovers(station)
    assert handover_targets(cfg) == [] and not has_handovers(cfg)  # no [county]: no hand-overs at all
    assert site_names(station) == {VILLAGE: "东关村便民服务站", **dict(UP)}
    assert reason_text("需县级审批", "  需实地\n核查 ") == "需县级审批：需实地 核查"
    assert reason_text("", "申请人常住镇上") == "申请人常住镇上" and reason_text("本站无权办理", "") == "本站无权办理"
    assert handover_problem("", "需县级审批", targets) == "请点选转给哪个站点"
    assert handover_problem(VILLAGE, "需县级审批", targets) == "请点选转给哪个站点"  # not to itself
    assert handover_problem("PA", " ", targets) == "转办要写明原因：点选常用原因，或在框里写"
    assert handover_problem("PA", "需" * 501, targets) == "转办原因太长，请写在 500 字以内"
    assert handover_problem("PA", "需县级审批", targets) == ""
    assert "[county]" in handover_problem("PA", "需县级审批", [])
    assert decline_problem("") == "退回要写明原因：点选常用原因，或在框里写" and decline_problem("材料不全") == ""


def test_every_hand_over_act_over_the_bus_is_the_signed_in_persons(cfg: HallConfig, tmp_path: Path) -> None:
    station = village(cfg, free_port())  # the hub is away: the station works on
    county_keys(tmp_path / "keys")
    now = datetime.now(TZ).replace(microsecond=0)
    day = now.strftime("%Y%m%d")
    town, other = f"PAT01-{day}-0007", f"PAT01V02-{day}-0003"

    async def scenario() -> None:
        async with running_hall(station, tmp_path, [*NODES, "greeter-2"]) as hall:
            c1 = await hall.signed_in("greeter-1", "王芳", config=station)
            c2 = await hall.signed_in("greeter-2", "李强", config=station)
            g1 = GreeterNode.for_config(c1, station, "greeter-1")
            g2 = GreeterNode.for_config(c2, station, "greeter-2")
            await until(lambda: g1.helper == "王芳" and g2.helper == "李强")
            for number, site in ((town, "PAT01"), (other, "PAT01V02")):  # as the county link submits them
                answer = await hall.server.submit_own(parse_command(arriving(number, site, now + timedelta(hours=8))))
                assert answer is not None and answer["ok"], answer
            await until(lambda: [i.case_id for i in g1.inbox()] == [town, other])
            assert [i.from_words for i in g1.inbox()] == ["城关镇便民服务中心", "PAT01V02"]
            ledger = hall.server.core.ledger

            def last(kind: str) -> dict[str, Any]:
                return next(e["data"] for e in reversed(list(ledger.events())) if e["type"] == kind)

            # accepted on one tablet; the other, a moment late, is told by whom
            assert (await g1.accept_handover(town))["ok"]
            took = last("handover_accepted")
            assert (took["case"], took["handler"], took["by"]) == (town, "王芳", "王芳")
            await until(lambda: c2.state is not None and c2.state.cases[town].status == "in_progress")
            late = await g2.accept_handover(town)
            assert not late["ok"]
            assert handover_refusal(late, town, c2.state, g2.sites) == f"{town} 已由 王芳 接收办理，请联系 王芳"
            await until(lambda: [k.case_id for k in g1.my_cases() if k.kind == "case"] == [town])
            assert "城关镇便民服务中心 转来" in g1.my_cases()[0].what

            # declined: never without a reason (nothing sent), then with one, in the person's name
            seq = hall.server.core.state.seq
            refused = await g1.decline_handover(other, "  ")
            assert refused["code"] == "invalid" and "退回要写明原因" in refused["message"]
            assert hall.server.core.state.seq == seq
            assert (await g1.decline_handover(other, "不属于本级办理事项：请转河口镇"))["ok"]
            back = last("handover_declined")
            assert (back["case"], back["to_site"], back["by"], back["reason"]) == (
                other, "PAT01V02", "王芳", "不属于本级办理事项：请转河口镇")
            await until(lambda: g1.inbox() == [])

            # handed on to the county centre: only to a site of [county] up, only with a reason
            assert (await g1.hand_over_case(town, VILLAGE, "需县级审批"))["message"] == "请点选转给哪个站点"
            assert (await g1.hand_over_case(town, "PA", ""))["code"] == "invalid"
            assert hall.server.core.state.seq == seq + 1  # the decline only
            assert (await g1.hand_over_case(town, "PA", "需县级审批"))["ok"]
            sent = last("case_handed_over")
            assert (sent["case"], sent["to_site"], sent["reason"], sent["by"]) == (town, "PA", "需县级审批", "王芳")
            await until(lambda: "已转办 · 在 平安县政务服务中心 办理" in g1.my_cases()[0].what)
            again = await g2.hand_over_case(town, "PA", "需县级审批")
            assert handover_refusal(again, town, c2.state, g2.sites) == f"{town} 已转办，在 平安县政务服务中心 办理"

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_hall_without_county_offers_no_hand_overs(cfg: HallConfig, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            client = await hall.signed_in("greeter-1", "王芳", config=cfg)
            node = GreeterNode.for_config(client, cfg, "greeter-1")
            await until(lambda: node.helper == "王芳")
            assert node.inbox() == [] and node.handover_targets == []
            refused = await node.hand_over_case(f"PA-{datetime.now(TZ):%Y%m%d}-0001", "PA", "需县级审批")
            assert refused["code"] == "invalid" and "[county]" in refused["message"]

    asyncio.run(asyncio.wait_for(scenario(), 60))
