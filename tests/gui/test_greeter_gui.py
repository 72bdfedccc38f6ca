"""The greeter tablet in a real Kivy window (SDL offscreen, 1280×800 and 1920×1200), tapped with real touch events,
against a real hall server on 127.0.0.1 with a kiosk and a second tablet as bus clients. Each scenario runs in its own
process (tests/gui/greeter_driver.py); screenshots are kept in build/gui/greeter-*.png as artefacts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kivy")
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "build" / "gui"


def run(scenario: str) -> dict[str, Any]:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1"}
    out = ARTEFACTS / f"greeter-{scenario}.json"
    out.unlink(missing_ok=True)  # a result left by an earlier run must not pass this one
    proc = subprocess.run([sys.executable, "-m", "tests.gui.greeter_driver", scenario, str(ARTEFACTS)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in result, result["error"]
    assert result["missing_glyphs"] == []  # no character on any screen drawn as a box
    return result


SCREENS = ("signin", "help", "walkin", "consult", "notice", "deleg", "mine", "phone", "home", "visits", "duty")
MODES = ("normal", "large", "contrast")


def check_audits(r: dict[str, Any], screens: tuple[str, ...]) -> None:
    """Each screen in every mode measured from its pixels with nothing failing (nothing clipped or off-screen,
    text and targets big enough, contrast enough), and its picture kept."""
    assert sorted(r["audits"]) == sorted(f"{m}/{s}" for s in screens for m in MODES)
    failures = {key: a["failures"] for key, a in r["audits"].items() if a["failures"]}
    assert failures == {}
    for key, a in r["audits"].items():
        mode = key.split("/")[0]
        assert a["texts"] > 3 and a["targets"] >= 2, key  # something was measured
        assert a["smallest_text_dp"] >= (30 if mode == "large" else 18), key
        assert a["smallest_target_px"] >= (60 if mode == "large" else 44), key
        assert a["lowest_text_contrast"] >= (7 if mode == "contrast" else 4.5), key
        assert a["lowest_edge_contrast"] >= 3, key
    assert all((ARTEFACTS / shot).stat().st_size > 10_000 for shot in r["shots"])


def check_screens(r: dict[str, Any], extra: tuple[str, ...] = ()) -> None:
    """Every screen in every mode within the rules, and what a busy morning shows on them."""
    check_audits(r, (*SCREENS, *extra))
    # a hall without [county] has no hand-overs: no 转办收件 tab, no 转办 button
    assert r["no_county"]["inbox_tab_shown"] is False and r["no_county"]["tabs_shown"] == 8
    assert r["no_county"]["case_buttons"] and not any("转办" in b for b in r["no_county"]["case_buttons"])
    # the tablet opens on sign-in, its tabs shut; a wrong PIN is said in words; the right one opens them
    assert r["tabs_disabled_before_sign_in"] and r["wrong_pin_words"] == "工号或密码不对，请再输一次"
    assert r["signed_in_as"] == "王芳"
    rows = r["help_rows"]
    assert rows[0]["mark"] == "★ 已升级" and rows[0]["number"] == "E001"  # symbol and words, not only colour
    assert "陪同办" in rows[0]["line"] and "70–79岁" in rows[0]["line"] and "kiosk-1" in rows[0]["line"]
    assert [row["status_text"] for row in rows][-1] == "李强 处理中" and not rows[-1]["can_claim"]
    assert "1950" not in json.dumps(rows)  # ages as bands only
    assert min(r["heights"].values()) >= 44 and min(r["row_heights"]) >= 44
    assert r["cancel_ok"] and r["reason_after_cancel"] == ""  # the next cancel never takes this reason
    [case] = [c for c in r["case_rows"] if c["kind"] == "consultation"]
    assert case["who"] == "张**" and case["kind_words"] == "咨询" and case["due"].endswith("前")
    # the delegation accepted as a 即办件 is the helper's 办件, due today: 即将到期 in words (or 逾期 after hours)
    [case] = [c for c in r["case_rows"] if c["kind"] == "case"]
    assert case["who"] == "孙**" and "个体工商户设立登记" in case["what"] and case["mark"] in ("● 即将到期", "▲ 逾期")
    # the 督办 list: that case, the 12345 complaint (masked) and the bad rating's follow-up, each saying what is late
    duties = {d["kind"]: d for d in r["duty_rows"]}
    assert set(duties) >= {"complaint", "followup"} and ({"case_soon", "case_overdue"} & set(duties))
    assert duties["complaint"]["who"] == "赵**" and "12345热线" in duties["complaint"]["what"]
    assert duties["followup"]["late"].startswith("待分派") and "材料要求" in duties["followup"]["what"]
    assert "大海" not in json.dumps(r["duty_rows"], ensure_ascii=False)
    # the kiosk out of paper, by name and with what to do; the slip that did not come out, with where to reprint
    assert r["alerts"][0] == "▲ 2 号取号机（kiosk-2）缺纸：请换纸卷"
    assert r["alerts"][1].startswith("▲ 告知单 ") and "2 号取号机（kiosk-2）" in r["alerts"][1]
    assert "重新打印" in r["alerts"][1]


def test_a_1920x1200_tablet_shows_every_screen_in_every_mode_within_the_rules() -> None:
    r = run("screens_1920x1200")
    check_screens(r)
    assert {a["size"][0] for a in r["audits"].values()} == {1920}


def test_a_1280x800_tablet_every_screen_every_mode_a_steady_list_empty_forms_and_the_server_away() -> None:
    r = run("screens_1280x800")
    check_screens(r, ("held", "offline"))
    assert {tuple(a["size"]) for a in r["audits"].values()} == {(1280, 800)}
    # a request that goes on top arrives while the finger is on its way: the row under it is the one claimed
    assert r["held"] and r["order_while_held"] == r["order_before"]
    steady = r["steady"]
    assert steady["claim_ok"] and steady["target_helper"] == "王芳" and steady["new_helper"] is None
    assert r["bar_text"] == "1 条新的，点这里更新列表"
    after = r["order_after_bar"]  # the bar tapped: the new one in its place, above the row that was aimed at
    assert len(after) == len(r["order_before"]) + 1 and after.index(steady["new"]) < after.index(steady["target"])
    assert len(r["idle_order"]) == len(r["order_after_bar"]) + 1  # left alone, the list took the newer one too
    assert r["cleared"] == {"walkin_ok": True, "birth": "", "notice_ok": True, "items_chosen": [],
                            "answer_ok": True, "words": ""}
    # the server away: said in words, not only by a colour; back: online and pushes arrive again
    assert "离线" in r["away"]["status"] and r["away"]["sign_out_disabled"]
    assert "在线" in r["back"]["status"] and "离线" not in r["back"]["status"]


def test_two_tablets_racing_for_a_request_one_wins_and_the_other_is_told_who() -> None:
    r = run("claim_race")
    assert len(r["rounds"]) == 4
    for rnd in r["rounds"]:
        assert [rnd["tablet_ok"], rnd["other_ok"]].count(True) == 1 and rnd["claims_in_ledger"] == 1
        assert rnd["other_sees"] == rnd["holder"]  # both tablets' mirrors agree with the server
        if rnd["tablet_ok"]:
            assert rnd["holder"] == "王芳" and rnd["tablet_row"][2] == "我的" and not rnd["finish_disabled"]
            assert rnd["other_words"] == "已被 王芳 认领（首问负责），请联系 王芳"
        else:
            assert rnd["holder"] == "李强" and rnd["tablet_row"][0].startswith("已被 李强 认领")
            assert rnd["tablet_message"].startswith("已被 李强 认领") and rnd["finish_disabled"]  # not ours to finish
    # a claim on the other tablet shows on this one by push, at once, and its claim button is gone
    assert r["pushed_row"] == ["李强 处理中", "已认领", True] and r["push_seconds"] < 1.5
    assert r["snapshots_asked"] == 1  # one snapshot at start; every later change came by push


def test_a_consultation_from_the_form_shows_in_my_cases_with_its_due_date() -> None:
    r = run("consultation")
    assert r["answer"]["ok"] and r["server_helper"] == "王芳" and r["server_name"] == "张秀英"
    assert r["form_result"] == f"{r['consultation_id']} 已登记，须在 {r['due_words']} 前答复"
    [case] = r["case_rows"]
    assert case["case_id"] == r["consultation_id"] and case["due"] == f"{r['due_words']} 前"
    assert case["who"] == "张**" and not case["overdue"]
    assert not any("张秀英" in t for t in r["texts"])  # the list on the floor shows the masked name only


def test_a_delegation_with_two_camera_pages_ends_in_the_ledger_with_matching_hashes() -> None:
    r = run("delegation")
    assert r["thumbnails"] == 2 and len(r["page_files"]) == 2
    assert r["ledger_id"] == r["delegation_id"] and r["principal"] == "孙玉兰" and r["services"] == ["不动产"]
    hashes = [p["sha256"] for p in r["ledger_pages"]]
    assert len(set(hashes)) == 2 and hashes == r["stored_hashes"]
    assert all(p["file"].startswith("delegations/") and p["file"].endswith(".jpg") for p in r["ledger_pages"])
    assert r["form_result"] == f"委托代办协议 {r['delegation_id']} 已登记（2 页）"
    assert [c["case_id"] for c in r["case_rows"]] == [r["delegation_id"]] and r["case_rows"][0]["who"] == "孙**"
    assert hashlib.sha256(b"").hexdigest() not in hashes


def test_a_notice_from_the_form_shows_its_id_and_text_and_prints_at_the_configured_kiosk() -> None:
    r = run("notice")
    assert r["answer"]["ok"] and r["print_at"] == "kiosk-2"
    assert r["items"] == ["户口簿", "异地就医备案表", "村委会出具的居住证明"]
    assert r["free_items"] == ["村委会出具的居住证明"]
    assert r["shown"] == f"{r['notice_id']}\n{r['ledger_text']}"
    assert r["message"] == f"告知单 {r['notice_id']} 已出具，在 kiosk-2 打印"


def test_cases_complaints_and_a_home_visit_tapped_on_the_tablet() -> None:
    r = run("cases")
    accepted = r["accepted"]
    assert accepted["ok"] and accepted["message"].startswith(f"已受理为办件 {accepted['case']}")
    case = r["case"]
    assert all(ok for ok, _ in case["steps"].values()), case["steps"]
    assert case["status"] == "in_progress" and case["delays"] == 2 and case["owner"] == "王芳"
    assert case["missing"] == ["购房合同原件", "完税证明"]  # the 补正 list as written, split at 、
    assert case["words_left"] == "" and case["days_left"] == ""  # the next act never takes this one's words
    assert case["row"]["who"] == "孙**" and "二手房转移登记 · 办理中" in case["row"]["what"]
    complaint = r["complaint"]
    assert complaint["ok"] == [True, True] and complaint["channel"] == "mailbox"
    assert complaint["subject"] == ["service", "不动产"] and complaint["owner"] == "李强"
    assert complaint["form_left"] == ["", "", ""] and complaint["row"]["who"] == "赵**"
    assert complaint["row"]["late"].startswith("李强 整改中")
    # 电话预约: item, day, time, the caller; the read-back before anything is booked; the code to read out
    phone = r["phone"]
    assert phone["held"] and phone["confirmed"] and phone["code"].startswith("PA-")
    assert phone["readback"].startswith("请向来电人复述：") and "手机 138 1234 5678" in phone["readback"]
    assert (phone["channel"], phone["by"], phone["name"], phone["status"]) == ("hotline", "王芳", "张秀英", "booked")
    assert phone["form_left"] == ["", ""]  # the next caller's form starts empty
    # 上门办: address and needs; 轮椅 needs two helpers, said before the hall is asked; sent with the road time
    home = r["home"]
    assert home["confirmed"] and "上门地址：平安县城关镇建设路12号" in home["readback"]
    assert "情况：轮椅" in home["readback"]
    assert home["two_needed"].startswith("▲ 要两名帮办员") and home["one_helper"][0] is False
    assert "要两名帮办员" in home["one_helper"][1]
    assert home["assigned"] and home["helpers"] == ["王芳", "李强"] and home["travel"] == 20
    assert (home["address"], home["needs"], home["by"], home["channel"]) == ("平安县城关镇建设路12号", ["轮椅"],
                                                                          "王芳", "hotline")
    # 我的上门, the hall server away: both acts kept on the tablet with their times, then sent once when it is back
    visits = r["visits"]
    assert visits["finished"] and visits["count_words"].startswith("已记录，待上传 2 条")
    assert visits["row"]["waiting"] == "已记录，待上传" and visits["row"]["who"] == "孙**"
    assert [line[1].split()[0] for line in visits["outbox"]] == ["到达", "办结"]
    assert (visits["status"], visits["rating"], visits["note"]) == ("done", "非常满意", "材料已收齐")
    assert visits["kinds"].count("home_visit_arrived") == 1 and visits["kinds"].count("home_visit_finished") == 1
    assert visits["after"] == "没有待上传的记录"
    assert not any("玉兰" in t or "大海" in t for t in r["texts"])  # names masked on every list


def check_handover(r: dict[str, Any]) -> None:
    """转办 at a village station: the inbox, an accept, a decline, a hand-over from 我的事项, each named and sent
    as the signed-in person, and the screens within the rules in every mode."""
    check_audits(r, ("inbox", "mine", "handover"))
    inbox = r["inbox_rows"]  # the one past its time to accept on top, in words as well as colour
    assert [row["late"] for row in inbox] == ["超时未接收", "", ""] and inbox[0]["mark"] == "▲ 超时未接收"
    assert inbox[0]["from_words"] == "PAT01V02" and inbox[1]["from_words"] == "城关镇便民服务中心"  # name if known
    assert all(row["who"] == "张**" and row["item_name"] == "最低生活保障申请" for row in inbox)
    assert all(row["accept_by"].startswith("应于 ") and row["accept_by"].endswith(" 前接收") for row in inbox)
    assert r["inbox_tab"] == "转办收件 3"
    assert "由 PAT01V02 转来" in r["inbox_detail"] and "转办原因：申请人户籍在东关村" in r["inbox_detail"]
    assert "▲ 超时未接收：应于" in r["inbox_detail"]
    assert r["decline_pick_after_switch"] == ""  # a reason picked for one case is not left for the next
    accepted = r["accepted"]
    assert accepted["ok"] and accepted["handler"] == accepted["by"] == "王芳"
    assert accepted["message"].startswith(f"已接收 {accepted['case']}（最低生活保障申请），由您办理")
    assert accepted["case"] not in accepted["inbox"] and len(accepted["inbox"]) == 2
    assert r["decline_without_reason"]["sent"] is False
    assert r["decline_without_reason"]["message"].endswith("退回要写明原因：点选常用原因，或在框里写")
    declined = r["declined"]
    assert declined["ok"] and declined["reason"] == "不属于本级办理事项：请转河口镇" and declined["by"] == "王芳"
    assert declined["to_site"] == "PAT01V02" and declined["message"].startswith("已退回 PAT01V02-")
    assert declined["words_left"] == "" and declined["pick_left"] == "" and len(declined["inbox"]) == 1
    form = r["form"]  # the sites of [county] up by name, nearest first; the case's own buttons folded away
    assert form == {"sites": ["城关镇便民服务中心", "平安县政务服务中心"], "reasons": ["需镇级审核", "需县级审批",
                    "本站无权办理"], "buttons_hidden": True}
    assert r["handover_without_site"]["sent"] is False and r["handover_without_site"]["message"].endswith(
        "请点选转给哪个站点")
    assert r["handover_without_reason"]["sent"] is False and "转办要写明原因" in r["handover_without_reason"]["message"]
    handed = r["handed"]
    assert handed["ok"] and handed["case"] == handed["own"] and handed["to_site"] == "PAT01"
    assert handed["reason"] == "需镇级审核：申请人常住镇上" and handed["by"] == "王芳"
    assert handed["message"].startswith(f"{handed['own']} 已转办至 城关镇便民服务中心")
    assert [handed["words_left"], handed["site_left"], handed["pick_left"]] == ["", "", ""] and handed["buttons_back"]
    assert "已转办 · 在 城关镇便民服务中心 办理" in handed["row"]["what"] and handed["row"]["who"] == "孙**"
    assert "城关镇便民服务中心 转来" in handed["accepted_row"]["what"]
    assert not any("秀英" in t or "玉兰" in t for t in r["texts"])  # names masked on every list


def test_handover_at_a_village_station_on_a_1280x800_tablet() -> None:
    r = run("handover_1280x800")
    check_handover(r)
    assert {tuple(a["size"]) for a in r["audits"].values()} == {(1280, 800)}


def test_handover_at_a_village_station_on_a_1920x1200_tablet() -> None:
    r = run("handover_1920x1200")
    check_handover(r)
    assert {tuple(a["size"]) for a in r["audits"].values()} == {(1920, 1200)}
