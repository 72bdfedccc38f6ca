"""The counter panel in a real Kivy window (SDL offscreen; 1280×720, and 1280×800 and 1920×1200 tablets), tapped
with real touch events, against a real hall server on 127.0.0.1. Each scenario runs in its own process
(tests/gui/counter_panel_driver.py); screenshots are kept in build/gui/counter-panel-*.png as artefacts."""

from __future__ import annotations

import functools
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


@functools.cache  # one driver process per scenario, however many tests read it
def run(scenario: str) -> dict[str, Any]:
    out = ARTEFACTS / f"counter-panel-{scenario}.json"
    out.unlink(missing_ok=True)  # never read the result of an earlier run
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1"}
    proc = subprocess.run([sys.executable, "-m", "tests.gui.counter_panel_driver", scenario, str(ARTEFACTS)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in result, result["error"]
    return result


def test_a_full_case_with_missing_materials_a_notice_and_a_rating() -> None:
    r = run("case")
    for key, report in r["audits"].items():  # 1280×720 keeps working in its starting (normal) mode
        assert report["failures"] == [], (key, report["failures"])
    assert r["clerk"] == "李娜"  # signed in first: every tap below is recorded in her name
    # the preview is the calling order (陪同办 before walk-ins) and 叫下一位 calls its head
    assert r["preview"][0].startswith("A002") and "◆陪同办" in r["preview"][0]
    assert r["called"] == "A002" == r["rate_number"]
    assert r["disabled_before_call"] == ["finish", "no_show", "recall", "start"]
    assert r["start_enabled_when_called"] and not r["start_enabled_when_serving"]
    assert min(r["button_heights"].values()) >= 60
    cfg_materials = ["身份证原件", "企业名称自主申报告知书", "住所（经营场所）使用证明", "公司章程", "股东会决议"]
    assert r["material_toggles"] == cfg_materials and r["chosen"] == r["picked"] and len(r["picked"]) == 2
    ticket = "-A002"
    assert len(r["finished"]) == 1
    tid, number, outcome, materials = r["finished"][0]
    assert tid.endswith(ticket) and (number, outcome, materials) == ("A002", "materials_missing", r["picked"])
    assert r["notices"] == [[tid, r["picked"], "kiosk-2", "企业开办", "李娜"]]
    assert r["actors"] == ["李娜"]  # every event of the panel's taps names the clerk
    assert all(m in r["notice_text"] for m in r["picked"]) and "一次性告知" in r["notice_text"]
    assert r["thanks"] == "谢谢您的评价：满意"
    assert r["ratings"] == [[tid, "满意"]]  # once: the second tap during the thanks sent nothing
    assert r["rate_enabled_after"] is False
    assert r["called_second"] == "B001" and r["transfer_same_disabled"]
    assert r["transfers"] == [["B001", "综合受理", "end"]]
    assert r["missing_glyphs"] == []
    assert {"counter-panel-case-signin.png",
            "counter-panel-case-idle.png", "counter-panel-case-finish.png", "counter-panel-case-rate.png",
            "counter-panel-case-transfer.png"} <= set(r["shots"])
    assert all((ARTEFACTS / shot).stat().st_size > 10_000 for shot in r["shots"])


def test_a_number_called_from_the_pad_then_parked_and_resumed() -> None:
    r = run("pad")
    assert r["preview"][0].startswith("A001")  # A003 is not the next: the pad really chose it
    assert r["letters"] == ["A", "B"]  # the letters of window 5's services
    assert r["pad_shown"] == "A003" and r["key_heights"] >= 60
    assert r["called"] == "A003" and r["calls"] == [["A003", 5]]
    assert r["parked_button"].startswith("恢复 A003")
    assert r["resumed"] == "A003" and r["resumed_in_ledger"] == ["A003"] and "挂起后恢复" in r["notes"]
    assert r["missing_glyphs"] == []


def test_pause_greys_calling_and_resume_brings_it_back() -> None:
    r = run("pause")
    # a double tap on 签到 leaves the window signed in: 签退 asks for a deliberate second tap
    assert r["after_double_tap"]["status"] == "open" and "再点一次「签退」确认" in r["after_double_tap"]["message"]
    assert r["pause_disabled_when_closed"]  # a closed window signs in first
    assert r["pause_text"] == "继续叫号" and r["call_next_disabled_when_paused"]
    assert r["called_while_paused"] == 0
    assert r["called"] == "B001"
    assert r["statuses"] == ["counter_opened", "counter_paused", "counter_resumed"]
    assert r["missing_glyphs"] == []


def test_the_hall_server_going_away_and_coming_back_is_said_each_time() -> None:
    r = run("pause")
    before, offline, again = r["before"], r["offline"], r["online_again"]
    assert before["online"] and "连不上" not in before["message"] and "离线" not in before["status"]
    # offline: the panel says so, greys its buttons, and keeps no answer from before ("已签到", "已叫 …")
    assert not offline["online"] and offline["message"].startswith("连不上大厅系统") and "离线" in offline["status"]
    assert not offline["call_enabled"]
    assert not any(w in t for t in offline["texts"] for w in ("已签到", "已登录", "已叫 B001"))
    # back: no offline words anywhere, the buttons work again
    assert again["online"] and again["call_enabled"]
    assert not any(w in t for t in again["texts"] for w in ("连不上", "离线"))
    assert r["started_after_restart"] == ["B001"]


@pytest.mark.parametrize("scenario,size", [("tablet", (1280, 800)), ("big", (1920, 1200))])
def test_every_screen_in_every_mode_measures_right(scenario: str, size: tuple[int, int]) -> None:
    """Sign-in, the idle window, a visitor called and served, the transfer and finish dialogs and the visitor's
    rating prompt, each in normal, large-text and high-contrast mode switched live, measured from the pixels."""
    r = run(scenario)
    screens = ("signin", "idle", "called", "serving", "transfer", "finish", "rate",
               "accept", "case", "supplement", "cases", "conclude", "deliver")
    assert set(r["audits"]) == {f"{s}/{m}" for s in screens for m in ("normal", "large", "contrast")}
    for key, report in r["audits"].items():
        assert report["failures"] == [], (key, report["failures"])
        assert tuple(report["size"]) == size and report["texts"] > 3 and report["targets"] >= 1
        if key.endswith("/large"):  # the mode really switched: nothing left at normal sizes
            assert report["smallest_text_dp"] >= 30 and report["smallest_target_px"] >= 60
        if key.endswith("/contrast"):
            assert report["lowest_text_contrast"] >= 7
    assert r["ratings"] and r["ratings"][0][1] == "非常满意"
    assert r["missing_glyphs"] == []
    assert all((ARTEFACTS / shot).stat().st_size > 10_000 for shot in r["shots"])


@pytest.mark.parametrize("scenario", ["tablet", "big"])
def test_a_case_from_acceptance_through_supplement_to_pickup_and_archive(scenario: str) -> None:
    """受理 → 补正 → 材料已补齐 → 办结 → 出件 at the window with the ID check → 归档, tapped on the panel; the ledger
    has the whole case in the clerk's name, and no screen shows the applicant unmasked."""
    r = run(scenario)["case_flow"]
    assert r["items"] and "【必要】" in r["checklist"]
    number = r["case"]
    assert number.startswith("PA-") and r["head"].startswith(number + "\n")
    assert any(kind in r["head"] for kind in ("即办件", "承诺件", "重大事项")) and "前" in r["head"]
    assert f"办件编号：{number}" in r["receipt"] and "申请人：张**" in r["receipt"] and r["receipt_where"]
    assert "张**" in r["info"] and "4101**********1234" in r["info"] and "138****5678" in r["info"]
    assert "补正中" in r["in_supplement"] and all(m in r["in_supplement"] for m in r["missing"])
    assert r["notices"] == [[number, r["missing"], "kiosk-2"]]
    assert any(row.startswith(number) and "张**" in row for row in r["rows"])
    assert r["refuse_needs_reason"] and r["pickup_needs_id_check"]
    led = r["ledger"]
    assert (led["status"], led["decision"], led["delivery"], led["collector"], led["owner"], led["counter"]) == \
        ("archived", "approved", "window", "张秀英", "李娜", 5)
    assert led["log"][:2] == ["case_accepted", "case_supplement_requested"] and "case_resumed" in led["log"]
    assert "已归档" in r["after_archive"]
    run_texts = run(scenario)["texts"]
    assert not any(secret in t for t in run_texts for secret in ("秀英", "196611", "1234567"))


STEPS_SIZES = [("steps", (1280, 720)), ("steps-tablet", (1280, 800)), ("steps-big", (1920, 1200))]


@pytest.mark.parametrize("scenario,size", STEPS_SIZES)
def test_the_delay_and_step_screens_measure_right_in_every_mode(scenario: str, size: tuple[int, int]) -> None:
    """延期, 环节 and the tracker picker (and the case of a 重大事项, on time and late), each in normal, large-text
    and high-contrast mode switched live, measured from the pixels at the panel's three sizes."""
    r = run(scenario)
    screens = ("case-major", "delay", "steps", "tracker", "steps-done", "delay-refused", "case-late", "steps-late")
    assert set(r["audits"]) == {f"{s}/{m}" for s in screens for m in ("normal", "large", "contrast")}
    for key, report in r["audits"].items():
        assert report["failures"] == [], (key, report["failures"])
        assert tuple(report["size"]) == size and report["texts"] > 3 and report["targets"] >= 1
        if key.endswith("/large"):
            assert report["smallest_text_dp"] >= 30 and report["smallest_target_px"] >= 60
        if key.endswith("/contrast"):
            assert report["lowest_text_contrast"] >= 7
    assert r["missing_glyphs"] == []
    assert all((ARTEFACTS / shot).stat().st_size > 10_000 for shot in r["shots"])


@pytest.mark.parametrize("scenario", [s for s, _ in STEPS_SIZES])
def test_a_delay_a_tracker_picked_by_name_a_step_finished_and_a_late_delay_refused(scenario: str) -> None:
    """A 重大事项 at the window: 延期 three working days with a common reason written on, the new due date shown
    before it is sent and the one the hall records; the 环节 list; 赵强 picked by name as step 1's tracker; step 1
    finished by a deliberate second tap (a double tap finishes nothing); then, the hall's clock past the due date,
    a delay the panel still offered is refused in words, and once the panel's clock is past it too the case and
    its late steps say 已超期."""
    f = run(scenario)["steps_flow"]
    case = f["case"]
    assert f["offered"] == ["supplement", "conclude", "delay", "steps"] and "重大事项" in f["head"]
    assert "环节：第 1/3 环节 县发展和改革局·项目核准（未指派跟踪员）" in f["info"]

    # 延期: days 1–10, a reason required, the new due date shown first, and it is the one recorded
    assert f["days"] == list(range(1, 11)) and not f["confirm_before"] and f["confirm_without_more"]
    assert f["reason_button_still_ticked"]  # the common reason stays ticked while the clerk writes on after it
    old = f["preview_before"].removeprefix("现承诺办结：").removesuffix(" 前")
    assert old[5:] in f["head"]
    assert f["preview"] == f"延期 3 个工作日：{old} → {f['due_after']} 前" and f["due_after"] > old
    assert f["delays"] == [[3, "需现场核查：用地红线复核"]]
    assert f["head_after"].endswith(f"{f['due_after'][5:]} 前") and "延期：已延期 3 个工作日" in f["info_after"]
    assert f["message_after"] == f"办件 {case} 已延期，承诺办结改为 {f['due_after']} 前"

    # 环节: each step's department, name, due date, tracker and state; only the step under way may be finished
    assert [s.split("\n")[0] for s in f["steps"]] == ["环节1 · 县发展和改革局 · 项目核准",
                                                      "环节2 · 县自然资源局 · 用地预审与选址意见",
                                                      "环节3 · 市生态环境局平安分局 · 环境影响评价审批"]
    assert all("截止：" in s and "跟踪员：未指派" in s for s in f["steps"])
    assert f["finish_offered"] == [True, False, False]
    # the picker: the roster's 环节跟踪员 by name (not the clerk 李娜, not the helper 王芳; no staff ids)
    assert f["tracker_names"] == ["赵强", "刘洋", "孙丽"] and f["step_title"].startswith("环节1 · 县发展和改革局")
    assert f["assigned"] == [[1, "zq04"]] and f["assign_message"] == f"办件 {case} 环节1 已指派跟踪员 赵强"
    assert f["after_double_tap"] == [0, "再点一次「环节办结」确认：环节1 将记为办结，不能撤销"]
    assert "跟踪员：赵强" in f["steps_after"][0] and "✓ 已办结" in f["steps_after"][0]
    assert "（按时）" in f["steps_after"][0] and "办理中" in f["steps_after"][1]
    assert f["finish_after"] == [False, True, False]
    assert f["finish_message"] == f"办件 {case} 环节1 已办结，下一环节开始"

    # past the due date: the form came back empty, the hall refused in words, nothing recorded
    assert f["form_cleared"] == [0, "", ""]
    assert f["refusal"] == "未成功：已过承诺办结时间，不能再延期（延期须在到期前申请）"
    assert f["screen_after_refusal"] == "delay" and f["delays_after_refusal"] == 1
    assert "已超期" in f["late_head"] and f["late_delay_disabled"]
    assert "不能再延期（延期须在到期前申请）" in f["late_info"]
    assert [late for _, late in f["late_steps"]] == [False, True, True]
    assert all("截止：已超期 · " in words for words, _ in f["late_steps"][1:])
    assert not any("秀英" in t for t in f["texts"])  # the applicant is shown masked on every screen
