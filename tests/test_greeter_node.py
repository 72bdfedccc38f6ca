"""The greeter node: "my cases" from the engine's state, and every greeter op over a real hall bus (claims that
race, notices printed where the config says, delegation pages from the camera simulator with hashes that match)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import cv2
import pytest

from devices.camera.capture import Camera
from devices.camera.simulator import document_photo
from hall_bus.nodes.greeter import (
    GREEN_CHANNEL,
    GreeterNode,
    NoPageInView,
    PageShot,
    case_actions,
    delegation_items,
    due_words,
    duty_actions,
    help_list,
    my_cases,
    refusal_words,
    shoot_page,
    supervision,
    unowned_followups,
)

from .bus_helpers import NODES, running_hall, until
from .conftest import TZ, Hall


def test_my_cases_put_overdue_first_then_by_deadline_and_mask_names(hall: Hall) -> None:
    first = hall("open_consultation", helper="王芳", name="张秀英", question="异地就医怎么备案？", service="医保")
    hall.wait(3600)
    second = hall("open_consultation", helper="王芳", name="欧阳明华", question="退休认证在哪里办？")
    hall("open_consultation", helper="李强", name="赵六", question="别人的")
    hall("open_consultation", helper="王芳", name="钱七", question="当场答复", answer="在 3 号窗口")
    issued = hall("issue", service="医保", group="accompany")
    hall("claim_help", help_id=issued["help_id"], helper="王芳")
    page = {"sha256": "c" * 64, "file": "delegations/x-1.jpg"}
    hall("record_delegation", helper="王芳", principal="孙玉兰", services=["不动产"], pages=[page])
    now = hall.clock.now().timestamp()
    cases = my_cases(hall.state, "王芳", now)
    assert [c.kind for c in cases] == ["consultation", "consultation", "help", "delegation"]
    assert [c.case_id for c in cases[:2]] == [first["consultation_id"], second["consultation_id"]]
    assert not any(c.overdue for c in cases)
    assert [c.who for c in cases] == ["张**", "欧阳**", "E001", "孙**"]
    assert all("秀英" not in repr(c) and "玉兰" not in repr(c) for c in cases)
    assert due_words(cases[0].due_ts, TZ) == "11月24日 09:00"  # Monday 09:00 + one working day

    hall.wait(86400 - 60)  # the first is now past its deadline; the second follows an hour later
    hall("tick")
    cases = my_cases(hall.state, "王芳", hall.clock.now().timestamp())
    assert cases[0].case_id == first["consultation_id"] and cases[0].overdue
    assert cases[1].case_id == second["consultation_id"] and not cases[1].overdue
    hall("refer_consultation", consultation_id=second["consultation_id"], by="王芳", department="县人社局")
    hall.wait(3600)
    cases = my_cases(hall.state, "王芳", hall.clock.now().timestamp())
    assert [c.overdue for c in cases[:2]] == [True, True]  # referred: still the helper's, and late now
    assert "已转县人社局" in cases[1].what


def test_followups_show_for_their_owner_with_the_due_date(hall: Hall) -> None:
    hall("open_counter", counter=10)
    hall("issue", service="医保")
    hall("call_next", counter=10)
    hall("start", counter=10)
    ticket = hall("finish", counter=10)["ticket"]
    rated = hall("rate", ticket=ticket, level="不满意", comment="等太久")
    fid = rated["followup_id"]
    assert unowned_followups(hall.state) == [(fid, "E001", "不满意")]
    hall("assign_followup", followup_id=fid, owner="王芳")
    assert unowned_followups(hall.state) == []
    [case] = my_cases(hall.state, "王芳", hall.clock.now().timestamp())
    assert case.kind == "followup" and case.who == "E001" and "等太久" in case.what and case.due_ts is not None
    assert not case.overdue
    assert my_cases(hall.state, "王芳", case.due_ts + 1)[0].overdue


def test_a_page_is_straightened_saved_and_hashed_from_its_bytes(tmp_path: Path) -> None:
    photo, _ = document_photo(1632, 1224, seed=3)
    cv2.imwrite(str(tmp_path / "desk.png"), photo)
    cam = Camera(str(tmp_path / "desk.png"))
    shot = shoot_page(cam, tmp_path / "data", 1, stamp="20261123-090000")
    again = shoot_page(cam, tmp_path / "data", 1, stamp="20261123-090000")  # same name: never overwritten
    assert shot.file == "delegations/20261123-090000-1.jpg" and again.file == "delegations/20261123-090000-2.jpg"
    stored = (tmp_path / "data" / shot.file).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == shot.sha256
    page = cv2.imread(str(shot.path))
    assert page.shape[0] > page.shape[1]  # an A4 page upright, not the landscape desk
    cv2.imwrite(str(tmp_path / "empty.png"), photo[:40, :40])  # a corner of the desk: no page in view
    with pytest.raises(NoPageInView):
        shoot_page(Camera(str(tmp_path / "empty.png")), tmp_path / "data", 3)


def test_refusal_words_name_who_has_the_request() -> None:
    answer = {"ok": False, "code": "help_taken", "message": "H-1 is already taken by 李强 (首问负责)"}
    assert refusal_words(answer) == "已被 李强 认领（首问负责），请联系 李强"
    assert refusal_words({"ok": True}) == ""
    assert "不是" in refusal_words({"ok": False, "code": "bad_state", "message": "不是"})


def test_every_greeter_op_over_the_bus(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photos = []
    for seed in (4, 5):
        photo, _ = document_photo(1632, 1224, seed=seed)
        photos.append(tmp_path / f"page{seed}.png")
        cv2.imwrite(str(photos[-1]), photo)

    async def scenario() -> None:
        async with running_hall(cfg, tmp_path, [*NODES, "greeter-2"]) as hall:
            c1 = await hall.signed_in("greeter-1", "王芳", config=cfg)
            c2 = await hall.signed_in("greeter-2", "李强", config=cfg)
            kiosk = await hall.started("kiosk-1", subscribe=False)
            g1 = GreeterNode.for_config(c1, cfg, "greeter-1", data_dir=tmp_path / "data")
            g2 = GreeterNode.for_config(c2, cfg, "greeter-2")
            await until(lambda: g1.helper == "王芳" and g2.helper == "李强")  # who the hall says is signed in
            c1.on_event = g1.take
            assert g1.print_at == g2.print_at == "kiosk-2"  # both greeters of the example hall print there

            # walk-in and green channel, from the tablet
            walk = await g1.issue("人社", "accompany", birth_date="19500301")
            green = await g1.green_channel("医保")
            assert walk["ok"] and green["ok"] and green["result"]["group"] == GREEN_CHANNEL
            assert hall.server.core.state.tickets[green["result"]["ticket"]].green

            # a kiosk's request, claimed by two tablets at once: one wins, the other is told by whom
            help_id = (await kiosk.request({"op": "issue", "service": "公安", "group": "guide"}))["result"]["help_id"]
            await until(lambda: c1.state is not None and help_id in c1.state.helps)
            row = next(i for i in g1.help_list() if i.help_id == help_id)
            assert row.kiosk == "kiosk-1" and row.status == "open"
            a1, a2 = await asyncio.gather(g1.claim(help_id), g2.claim(help_id))
            assert [a1["ok"], a2["ok"]].count(True) == 1
            winner, loser = ("王芳", a2) if a1["ok"] else ("李强", a1)
            assert winner in refusal_words(loser)
            await until(lambda: all(c.state.helps[help_id].helper == winner for c in (c1, c2)))  # type: ignore[union-attr]
            holder, other = (g1, g2) if winner == "王芳" else (g2, g1)
            assert not (await other.finish(help_id))["ok"]
            assert (await holder.hand_over(help_id, other.helper, "陪同去 12 号窗口"))["ok"]
            assert (await other.finish(help_id))["ok"]

            # cancel and change group, with who and why
            walk_help = walk["result"]["help_id"]
            assert (await g1.change_group(walk["result"]["ticket"], "delegate", "行动不便，需代理"))["ok"]
            assert not (await g1.cancel(walk_help, "")).get("ok")  # a reason is required
            state = hall.server.core.state
            later = next(h for h in state.helps.values() if h.ticket == walk["result"]["ticket"] and
                         h.status == "open")
            assert (await g1.cancel(later.id, "家属陪同，不需要帮办"))["ok"]
            assert state.helps[later.id].status == "cancelled"

            # consultation: opened, referred, answered
            q = await g1.open_consultation("张秀英", "异地就医怎么备案？", contact="13812345678", service="医保")
            cid = q["result"]["consultation_id"]
            await until(lambda: any(c.case_id == cid for c in g1.my_cases()))
            assert (await g1.refer_consultation(cid, "县医保局"))["ok"]
            assert (await g1.answer_consultation(cid, "带身份证和参保凭证"))["ok"]
            await until(lambda: not any(c.case_id == cid for c in g1.my_cases()))

            # one-time notice prints at the config's kiosk
            n = await g1.issue_notice("医保", ["户口簿", "村委会证明"])
            assert n["ok"] and "村委会证明" in n["result"]["text"]
            notice = next(e for e in hall.server.core.ledger.events() if e["type"] == "notice_issued")
            assert notice["data"]["print_at"] == "kiosk-2" and notice["data"]["free_items"] == ["村委会证明"]

            # delegation: two pages from the camera, their hashes in the ledger match the stored files
            with pytest.raises(NoPageInView):
                await g1.take_page()  # no camera yet
            pages = []
            for photo in photos:
                g1.camera = Camera(str(photo))
                pages.append(await g1.take_page())
            d = await g1.record_delegation("孙玉兰", ["不动产"], pages)
            did = d["result"]["delegation_id"]
            signed = next(e for e in hall.server.core.ledger.events() if e["type"] == "delegation_signed")
            assert [p["sha256"] for p in signed["data"]["pages"]] == [
                hashlib.sha256((tmp_path / "data" / p["file"]).read_bytes()).hexdigest()
                for p in signed["data"]["pages"]]
            assert len({p["sha256"] for p in signed["data"]["pages"]}) == 2
            assert not (await g1.cancel_delegation(did, "")).get("ok")
            assert (await g1.complete_delegation(did, "不动产登记已办结"))["ok"]

            # a follow-up taken by the helper
            counter = await hall.started("counter-5", subscribe=False)
            await kiosk.request({"op": "issue", "service": "企业开办"})
            for op in ("open_counter", "call_next", "start"):
                await counter.request({"op": op, "counter": 5})
            at_window = hall.server.core.state.counters[5].current
            fin = await counter.request({"op": "finish", "counter": 5, "ticket": at_window})
            rated = await counter.request({"op": "rate", "ticket": fin["result"]["ticket"], "level": 1})
            fid = rated["result"]["followup_id"]
            assert (await g2.assign_followup(fid))["code"] == "forbidden"  # 李强 is no 服务督办员
            assert (await g1.assign_followup(fid))["ok"]
            await until(lambda: [c.kind for c in g1.my_cases()] == ["followup"])
            assert (await g2.close_followup(fid, "已回访"))["code"] == "forbidden"
            assert (await g1.close_followup(fid, "已电话回访，群众表示理解"))["ok"]
            closed = next(e for e in hall.server.core.ledger.events() if e["type"] == "followup_closed")
            assert closed["data"]["by"] == "王芳" and closed["data"]["actor"] == "王芳"
            assert help_list(c1.state, 0.0) == help_list(c2.state, 0.0)  # type: ignore[arg-type]

    asyncio.run(asyncio.wait_for(scenario(), 60))


# ---------------------------------------------------------------------- 办件 on the tablet, and the 督办 view

DEED = "QR-379901-BDC-001"  # 二手房转移登记: 承诺件, 3 working days, 可代办 (the example catalogue)
MAJOR = "XK-379901-FGJ-002"  # 企业投资项目核准（联合审批）: 重大事项, three departments' steps
PAGE = {"sha256": "d" * 64, "file": "delegations/y-1.jpg"}


def test_a_delegation_becomes_a_case_in_my_cases_with_its_late_words(cfg, hall: Hall) -> None:  # type: ignore[no-untyped-def]
    d = hall("record_delegation", helper="王芳", principal="孙玉兰", services=["不动产"], pages=[PAGE])
    did = d["delegation_id"]
    items = delegation_items(cfg, hall.state, did)
    assert (DEED, "二手房转移登记") in items and all(code.startswith("QR-379901-BDC") for code, _ in items)
    case_no = hall("accept_delegation", delegation_id=did, item=DEED, by="王芳")["case"]
    assert DEED not in [code for code, _ in delegation_items(cfg, hall.state, did)]  # one case per item
    now = hall.clock.now().timestamp()
    [case] = [k for k in my_cases(hall.state, "王芳", now, cfg.calendar, TZ) if k.kind == "case"]
    assert case.case_id == case_no and case.who == "孙**" and "二手房转移登记 · 已受理" in case.what
    assert due_words(case.due_ts, TZ) == "11月26日 17:30" and case.late == "" and not case.overdue
    assert case_actions(hall.state, case_no, "王芳", now) == {"start", "supplement", "delay"}
    hall("start_case", case=case_no, by="王芳")

    hall.wait(3 * 86400)  # Thursday 09:00: due today, within a working day
    now = hall.clock.now().timestamp()
    case = next(k for k in my_cases(hall.state, "王芳", now, cfg.calendar, TZ) if k.kind == "case")
    assert case.late == "即将到期" and not case.overdue and case.status == "in_progress"
    assert [i.kind for i in supervision(hall.state, now, cfg.calendar, TZ)] == ["case_soon"]
    hall.wait(9 * 3600 + 60)  # 18:01: past its due time
    hall("tick")
    now = hall.clock.now().timestamp()
    case = next(k for k in my_cases(hall.state, "王芳", now, cfg.calendar, TZ) if k.kind == "case")
    assert case.late == "逾期" and case.overdue
    assert "delay" not in case_actions(hall.state, case_no, "王芳", now)  # a delay is asked before, never after
    [late] = supervision(hall.state, now, cfg.calendar, TZ)
    assert late.kind == "case_overdue" and late.who == "孙**" and late.late == "办结时限 11月26日 17:30 已过"
    assert duty_actions(late) == {"owner"}


def test_a_step_tracker_sees_the_case_and_the_step_that_is_theirs(cfg, hall: Hall) -> None:  # type: ignore[no-untyped-def]
    case_no = hall("accept_case", item=MAJOR, applicant="欧阳明华", by="clerk-1")["case"]
    now = hall.clock.now().timestamp()
    assert not any(k.kind == "case" for k in my_cases(hall.state, "王芳", now))
    hall("assign_step", case=case_no, step=1, tracker="王芳", by="clerk-1")
    hall("start_case", case=case_no, by="clerk-1")
    [case] = my_cases(hall.state, "王芳", now, cfg.calendar, TZ)
    assert case.step == 1 and "环节1" in case.what and "（您跟踪）" in case.what and case.who == "欧阳**"
    assert "finish_step" in case_actions(hall.state, case_no, "王芳", now)
    assert "finish_step" not in case_actions(hall.state, case_no, "李强", now)  # not theirs, not the owner
    hall("finish_step", case=case_no, step=1, by="王芳")
    [case] = my_cases(hall.state, "王芳", now, cfg.calendar, TZ)
    assert case.step == 0 and "（未派跟踪员）" in case.what  # step 2 is nobody's yet: still on the tracker's list


def test_the_duty_list_says_what_is_late_about_followups_and_complaints(cfg, hall: Hall) -> None:  # type: ignore[no-untyped-def]
    hall("open_counter", counter=10)
    hall("issue", service="医保")
    hall("call_next", counter=10)
    hall("start", counter=10)
    ticket = hall("finish", counter=10)["ticket"]
    fid = hall("rate", ticket=ticket, level="不满意", comment="等太久")["followup_id"]
    cid = hall("register_complaint", by="李强", channel="hotline", subject_kind="window", subject="10",
               complainant="赵大海", text="窗口午休无人")["complaint_id"]
    now = hall.clock.now().timestamp()
    rows = {i.ref: i for i in supervision(hall.state, now, cfg.calendar, TZ)}
    assert rows[fid].late.startswith("待分派") and rows[fid].who == "E001" and "等太久" in rows[fid].what
    assert rows[cid].who == "赵**" and "12345热线" in rows[cid].what and "窗口午休无人" in rows[cid].what
    assert duty_actions(rows[cid]) == {"assign", "close"}
    assert "大海" not in repr(rows)
    hall("assign_complaint", complaint_id=cid, owner="李强")
    hall("assign_followup", followup_id=fid, owner="李强")
    rows = {i.ref: i for i in supervision(hall.state, now, cfg.calendar, TZ)}
    assert duty_actions(rows[cid]) == {"rectify", "close"} and rows[cid].late.startswith("李强 整改中")
    hall("rectify_complaint", complaint_id=cid, by="李强", note="调整午休轮岗")
    later = hall.state.complaints[cid].due_ts + 60
    rows = {i.ref: i for i in supervision(hall.state, later, cfg.calendar, TZ)}
    assert rows[cid].late.startswith("已整改（李强），待督办员核实办结") and "已过" in rows[cid].late
    assert rows[fid].late.startswith("回访期限") and rows[fid].late.endswith("已过（李强）")
    assert [i.overdue for i in rows.values()] == [True, True]


def test_cases_complaints_and_home_visits_over_the_bus(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with running_hall(cfg, tmp_path, [*NODES, "greeter-2"]) as hall:
            c1 = await hall.signed_in("greeter-1", "王芳", config=cfg)
            c2 = await hall.signed_in("greeter-2", "李强", config=cfg)
            g1 = GreeterNode.for_config(c1, cfg, "greeter-1", data_dir=tmp_path / "data")
            g2 = GreeterNode.for_config(c2, cfg, "greeter-2")
            await until(lambda: g1.helper == "王芳" and g2.helper == "李强")
            state = hall.server.core.state

            # a delegation signed on the tablet, accepted as a case, worked on
            shot = PageShot("e" * 64, "delegations/z-1.jpg", tmp_path / "z-1.jpg")
            did = (await g1.record_delegation("孙玉兰", ["不动产"], [shot]))["result"]["delegation_id"]
            bad = await g1.accept_delegation(did, "XK-379901-GAJ-001")  # 居民身份证: not 可代办
            assert not bad["ok"] and bad["code"] == "not_delegable"
            accepted = await g1.accept_delegation(did, DEED, phone="13812345678")
            assert accepted["ok"], accepted
            case_no = accepted["result"]["case"]
            assert state.cases[case_no].owner == "王芳" and state.cases[case_no].delegation == did
            await until(lambda: any(k.case_id == case_no for k in g1.my_cases()))
            assert (await g1.start_case(case_no))["ok"]
            sup = await g1.request_supplement(case_no, ["购房合同原件"])
            assert sup["ok"] and state.cases[case_no].status == "supplement"
            assert (await g1.resume_case(case_no))["ok"]
            assert not (await g1.delay_case(case_no, 2, "")).get("ok")  # a delay needs its written reason
            assert (await g1.delay_case(case_no, 2, "需县自然资源局补充测绘"))["ok"]
            assert state.cases[case_no].delays == 2
            # 首问负责 moves only by a supervisor's word, with a reason
            assert (await g2.change_case_owner(case_no, "李强", "王芳休假"))["code"] == "forbidden"
            assert (await g1.change_case_owner(case_no, "李强", "王芳休假"))["ok"]
            assert state.cases[case_no].owner == "李强"
            await until(lambda: any(k.case_id == case_no for k in g2.my_cases()))
            assert g2.duty_list() == [] and isinstance(g1.duty_list(), list)  # 李强 has no 督办 duty

            # a complaint: registered by anyone, assigned and replied to by the supervisor
            reg = await g2.register_complaint("hotline", "service", "医保", "异地备案跑了三趟",
                                              complainant="赵大海", phone="13900000000")
            cid = reg["result"]["complaint_id"]
            await until(lambda: any(i.ref == cid for i in g1.duty_list()))
            assert (await g2.assign_complaint(cid, "李强"))["code"] == "forbidden"
            assert (await g1.assign_complaint(cid, "李强"))["ok"]
            assert (await g2.rectify_complaint(cid, "一次性告知全部材料"))["ok"]
            assert (await g2.reply_complaint(cid, "已电话答复"))["code"] == "forbidden"
            assert (await g1.reply_complaint(cid, "已电话答复，群众满意"))["ok"]
            assert state.complaints[cid].status == "closed" and state.complaints[cid].closed_by == "王芳"
            await until(lambda: not any(i.ref == cid for i in g1.duty_list()))

            # 上门办 booked from the tablet for a caller: a booking (address, needs) the helpers are sent to, not a
            # ticket in a queue (tests/test_greeter_booking.py goes on to the visit itself)
            home = "GF-379901-MZJ-001"
            day = g1.booking_days(home, group="home_visit")[1]
            start = g1.open_slots(home, day, group="home_visit")[0].start
            held = await g1.hold_home_visit(home, start, "孙玉兰", "13812345678", "平安县城关镇建设路12号", ["卧床"])
            assert held["ok"], held
            booked = await g1.confirm_booking(held["result"]["code"])
            assert booked["ok"] and booked["result"]["helpers_needed"] == 2
            b = hall.server.core.state.bookings[booked["result"]["code"]]
            assert (b.group, b.channel, b.by, b.address) == ("home_visit", "hotline", "王芳", "平安县城关镇建设路12号")
            no_address = await g1.hold_home_visit(home, start, "孙玉兰", "13812345679", " ")
            assert not no_address["ok"] and no_address["message"] == "上门办要写上门地址"

    asyncio.run(asyncio.wait_for(scenario(), 60))
