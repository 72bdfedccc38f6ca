"""Opening hours (办公时间) and extended sessions (延时/错时服务): which sessions a day has on the hall's calendar
(weekdays, Saturdays, public holidays, 调休 Saturdays and Sundays), when the hall is open and when it opens next,
the one-line refusals of a wrong [hours], the flag a ticket or case served in an extended session carries through
the ledger, and the 台账's counts of them."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from hall_bus.config import HallConfig, parse_config
from hall_bus.domain.hours import Session, is_open, next_open, session_at, sessions_on
from hall_bus.domain.registry import apply_event
from hall_bus.domain.state import HallState
from hall_bus.errors import ConfigError

from .conftest import EXAMPLE, TZ, Hall

# 国庆 2026 as this test's calendar has it: Thursday 1 to Wednesday 7 October off, Sunday 27 September and
# Saturday 10 October worked in exchange (调休上班).
CALENDAR = """[calendar]
holidays = [2026-10-01, 2026-10-02, 2026-10-03, 2026-10-04, 2026-10-05, 2026-10-06, 2026-10-07]
workdays = [2026-09-27, 2026-10-10]
"""
HOURS = """[hours]
[[hours.extended]]
name = "午间延时"
kind = "lunch"
days = [1, 2, 3, 4, 5]
start = 12:00:00
end = 13:30:00

[[hours.extended]]
name = "晚间延时"
kind = "evening"
days = [3]
start = "17:00"
end = "19:00"

[[hours.extended]]
name = "周六错时"
kind = "weekend"
days = [6]
start = 09:00:00
end = 12:00:00
"""
HOLIDAY_DESK = """
[[hours.extended]]
name = "早间错时"
kind = "early"
days = [1, 2, 3, 4, 5, 6, 7]
start = 08:00:00
end = 09:00:00
on_holidays = true
"""


def hall_text(hours: str = HOURS, calendar: str = CALENDAR) -> str:
    """The example hall with this test's [calendar] and [hours] in place of its own."""
    text = EXAMPLE.read_text(encoding="utf-8").replace('catalogue = "catalogue.example.toml"', "")
    text = re.sub(r"(?ms)^\[calendar\]\n.*?(?=^# ---- 事项)", lambda _: calendar + "\n" + hours + "\n", text)
    assert "[calendar]" in text and "complaint_days = 5" not in text
    return text


def config(hours: str = HOURS, calendar: str = CALENDAR) -> HallConfig:
    return parse_config(hall_text(hours, calendar), "hall.toml")


def at(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=TZ)


def names(sessions: list[Session]) -> list[tuple[str, str, str]]:
    return [(s.name, f"{s.start:%H:%M}", f"{s.end:%H:%M}") for s in sessions]


# ---------------------------------------------------------------------- a day's sessions


def test_a_weekday_has_morning_afternoon_and_the_lunch_session_between() -> None:
    cfg = config()
    monday = sessions_on(cfg, date(2026, 11, 23))
    assert names(monday) == [("上午", "09:00", "12:00"), ("午间延时", "12:00", "13:30"), ("下午", "13:30", "17:00")]
    assert [s.extended for s in monday] == [False, True, False]
    assert [s.kind for s in monday] == ["regular", "lunch", "regular"]
    assert monday[0].start == at(2026, 11, 23, 9) and monday[0].start.tzinfo is not None
    wednesday = sessions_on(cfg, date(2026, 11, 25))
    assert names(wednesday)[-1] == ("晚间延时", "17:00", "19:00")


def test_a_saturday_has_only_its_weekend_session_and_a_sunday_none() -> None:
    cfg = config()
    assert names(sessions_on(cfg, date(2026, 11, 28))) == [("周六错时", "09:00", "12:00")]
    assert sessions_on(cfg, date(2026, 11, 28))[0].kind == "weekend"
    assert sessions_on(cfg, date(2026, 11, 29)) == []


def test_a_public_holiday_is_closed_but_for_a_session_kept_on_holidays() -> None:
    assert sessions_on(config(), date(2026, 10, 1)) == []
    assert sessions_on(config(), date(2026, 10, 3)) == []  # a Saturday in the holiday: no 周六错时 either
    with_desk = config(HOURS + HOLIDAY_DESK)
    assert names(sessions_on(with_desk, date(2026, 10, 1))) == [("早间错时", "08:00", "09:00")]
    assert not is_open(with_desk, at(2026, 10, 1, 10))


def test_a_swapped_workday_keeps_mondays_hours_not_its_weekend_session() -> None:
    cfg = config()
    monday = names(sessions_on(cfg, date(2026, 11, 23)))
    assert names(sessions_on(cfg, date(2026, 10, 10))) == monday  # 调休 Saturday: no 周六错时 on top
    assert names(sessions_on(cfg, date(2026, 9, 27))) == monday  # 调休 Sunday
    wednesday = config(HOURS.replace("[hours]", "[hours]\nswapped_workday_as = 3"))
    assert names(sessions_on(wednesday, date(2026, 10, 10)))[-1] == ("晚间延时", "17:00", "19:00")


def test_session_at_takes_the_start_and_leaves_the_end() -> None:
    cfg = config()
    assert session_at(cfg, at(2026, 11, 23, 8, 59, 59)) is None
    assert session_at(cfg, at(2026, 11, 23, 9)).name == "上午"  # type: ignore[union-attr]
    assert session_at(cfg, at(2026, 11, 23, 11, 59, 59, 999999)).name == "上午"  # type: ignore[union-attr]
    noon = session_at(cfg, at(2026, 11, 23, 12))
    assert noon is not None and noon.name == "午间延时" and noon.extended
    assert session_at(cfg, at(2026, 11, 23, 17)) is None  # Monday: no evening session
    assert session_at(cfg, at(2026, 11, 25, 17)).name == "晚间延时"  # type: ignore[union-attr]
    assert not is_open(cfg, at(2026, 11, 25, 19))
    # a moment given in another zone is the same moment: 04:30 UTC is 12:30 in the hall
    from datetime import UTC
    assert session_at(cfg, datetime(2026, 11, 23, 4, 30, tzinfo=UTC)).name == "午间延时"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="no time zone"):
        session_at(cfg, datetime(2026, 11, 23, 12, 30))


def test_next_open_skips_the_national_day_holiday() -> None:
    cfg = config()
    after_work = next_open(cfg, at(2026, 9, 30, 19))  # Wednesday evening, before the 国庆 week
    assert after_work is not None and (after_work.name, after_work.start) == ("上午", at(2026, 10, 8, 9))
    during = next_open(cfg, at(2026, 10, 3, 10))
    assert during is not None and during.start == at(2026, 10, 8, 9)
    saturday_noon = next_open(cfg, at(2026, 9, 26, 12))  # the swapped Sunday opens like a Monday
    assert saturday_noon is not None and saturday_noon.start == at(2026, 9, 27, 9)
    # under way is not next: at 10:00 the next session is the lunch one, at its start it is that one
    assert next_open(cfg, at(2026, 11, 23, 10)).name == "午间延时"  # type: ignore[union-attr]
    assert next_open(cfg, at(2026, 11, 23, 12)).start == at(2026, 11, 23, 12)  # type: ignore[union-attr]


def test_next_open_gives_up_after_thirty_days() -> None:
    shut = "[hours]\nregular = []\n"
    assert next_open(config(shut), at(2026, 11, 23, 9)) is None
    assert not is_open(config(shut), at(2026, 11, 23, 10))


def test_the_default_hours_are_weekday_mornings_and_afternoons() -> None:
    cfg = config(hours="")
    assert names(sessions_on(cfg, date(2026, 11, 23))) == [("上午", "09:00", "12:00"), ("下午", "13:30", "17:00")]
    assert sessions_on(cfg, date(2026, 11, 28)) == []


def test_the_example_hall_has_its_lunch_saturday_and_wednesday_evening_sessions() -> None:
    from hall_bus.config import load_config

    cfg = load_config(EXAMPLE)
    kinds = {s.name: s.kind for s in cfg.hours.extended}
    assert kinds == {"午间延时": "lunch", "晚间延时": "evening", "周六错时": "weekend"}
    assert names(sessions_on(cfg, date(2026, 11, 28))) == [("周六错时", "09:00", "12:00")]


# ---------------------------------------------------------------------- a wrong [hours], in one line


def refusal(hours: str) -> tuple[str, list[str]]:
    text = hall_text(hours)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "hall.toml")
    return text, caught.value.lines or [str(caught.value)]


def line_of(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def test_overlapping_sessions_are_named_with_their_day() -> None:
    text, lines = refusal(HOURS.replace("start = 12:00:00\nend = 13:30:00", "start = 11:30:00\nend = 13:30:00"))
    assert lines == [f"hall.toml:{line_of(text, 'start = 11:30:00')}: hours.extended[0].start: '午间延时' "
                     "(11:30–13:30) overlaps '上午' (09:00–12:00) on 周一 Monday, 周二 Tuesday, 周三 Wednesday, "
                     "周四 Thursday, 周五 Friday; sessions of one day must not overlap"]


def test_a_session_ending_before_it_starts_is_refused() -> None:
    text, lines = refusal(HOURS.replace('start = "17:00"\nend = "19:00"', 'start = "19:00"\nend = "17:00"'))
    line = line_of(text, 'end = "17:00"')
    assert lines == [f"hall.toml:{line}: hours.extended[1].end: '晚间延时' ends at "
                     "17:00, not after it starts (19:00); a session starts and ends on one day"]


def test_a_weekday_eight_is_refused() -> None:
    text, lines = refusal(HOURS.replace("days = [6]", "days = [8]"))
    assert lines == [f"hall.toml:{line_of(text, 'days = [8]')}: hours.extended[2].days: weekday 8 in '周六错时' "
                     "does not exist; ISO weekdays are 1 (Monday) to 7 (Sunday)"]
    _, lines = refusal(HOURS.replace("[hours]", "[hours]\nswapped_workday_as = 0"))
    assert lines[0].endswith("hours.swapped_workday_as: weekday 0 does not exist; ISO weekdays are 1 (Monday) to "
                             "7 (Sunday)")


def test_a_misspelt_kind_or_key_is_named() -> None:
    _, lines = refusal(HOURS.replace('kind = "evening"', 'kind = "night"'))
    assert "hours.extended.1.kind" in lines[0] or "hours.extended[1].kind" in lines[0]
    assert "'lunch', 'evening', 'weekend' or 'early'" in lines[0]
    _, lines = refusal(HOURS.replace("on_holidays", "x") + "on_holiday = true\n")
    assert "unknown key (did you mean 'on_holidays'?)" in lines[0]


# ---------------------------------------------------------------------- the flag in the ledger


def replayed(events: list[dict[str, Any]]) -> HallState:
    st = HallState()
    for event in events:
        apply_event(st, event)
    return st


def test_a_ticket_issued_at_lunch_carries_its_session_and_replays_the_same(hall: Hall) -> None:
    morning = hall("issue", service="医保")  # Monday 09:00: the regular hours
    hall.wait(3.5 * 3600)  # 12:30
    lunch = hall("issue", service="医保")
    issued = {e["data"]["ticket"]: e["data"] for e in hall.events if e["type"] == "ticket_issued"}
    assert issued[lunch["ticket"]]["session"] == "午间延时"
    assert issued[lunch["ticket"]]["session_kind"] == "lunch"
    assert "session" not in issued[morning["ticket"]] and "session_kind" not in issued[morning["ticket"]]
    t = hall.state.tickets[lunch["ticket"]]
    assert (t.session, t.session_kind) == ("午间延时", "lunch")
    assert hall.state.tickets[morning["ticket"]].session is None
    again = replayed(hall.events)
    assert again.to_dict()["tickets"] == hall.state.to_dict()["tickets"]
    assert HallState.from_dict(hall.state.to_dict()).tickets[lunch["ticket"]].session == "午间延时"


def test_a_morning_ticket_called_in_the_lunch_session_is_served_in_it(hall: Hall) -> None:
    hall.wait(2.9 * 3600)  # 11:54
    early = hall("issue", service="医保")
    hall.wait(10 * 60)  # 12:04
    called = hall("call_next", counter=10)
    assert called["ticket"] == early["ticket"]
    event = next(e for e in hall.events if e["type"] == "ticket_called")
    assert (event["data"]["session"], event["data"]["session_kind"]) == ("午间延时", "lunch")
    assert hall.state.tickets[early["ticket"]].session_kind == "lunch"
    assert replayed(hall.events).tickets[early["ticket"]].session == "午间延时"


def test_a_snapshot_from_before_the_flag_still_loads() -> None:
    st = HallState()
    data = st.to_dict()
    data["tickets"] = {"20261123-E001": {
        "id": "20261123-E001", "number": "E001", "day": "2026-11-23", "service": "医保", "group": "normal",
        "zone": None, "green": False, "seated": False, "issued_ts": 0.0, "queue_ts": 0.0, "status": "finished"}}
    assert HallState.from_dict(data).tickets["20261123-E001"].session is None


def test_a_case_accepted_at_lunch_carries_its_session(cfg: HallConfig, clock: Any) -> None:
    assert cfg.catalogue is not None, "the example hall has a catalogue"
    hall = Hall(cfg, clock)
    item = cfg.catalogue.items[0].code
    hall.wait(3.5 * 3600)  # 12:30
    case = hall("accept_case", item=item, applicant="张秀英", counter=10, by="clerk-1")["case"]
    event = next(e for e in hall.events if e["type"] == "case_accepted")
    assert (event["data"]["session"], event["data"]["session_kind"]) == ("午间延时", "lunch")
    assert hall.state.cases[case].session_kind == "lunch"
    assert replayed(hall.events).cases[case].session == "午间延时"
    hall.wait(2 * 3600)  # 14:30: regular hours again
    later = hall("accept_case", item=item, applicant="李四", counter=10, by="clerk-1")["case"]
    event = [e for e in hall.events if e["type"] == "case_accepted"][-1]
    assert "session" not in event["data"] and hall.state.cases[later].session is None


# ---------------------------------------------------------------------- the 台账 counts them


def test_the_report_counts_tickets_served_and_cases_accepted_per_extended_kind(
        cfg: HallConfig, clock: Any, tmp_path: Path) -> None:
    """A Monday with two tickets served at lunch (one taken before 12:00, called after), one served in the
    morning and one case accepted at lunch; the supervisor's 概览 and the PDF say so, per kind."""
    from openpyxl import load_workbook

    from hall_bus.reports import ReportRequest, build_report
    from hall_bus.store.ledger import Entry, Ledger

    assert cfg.catalogue is not None
    hall = Hall(cfg, clock)

    def serve(counter: int) -> None:
        hall("call_next", counter=counter)
        hall.wait(60)
        hall("finish", counter=counter, outcome="done")

    hall("issue", service="医保")  # 09:00
    serve(10)  # in the morning: regular
    hall.wait(2.9 * 3600)  # 11:54
    hall("issue", service="医保")
    hall.wait(10 * 60)  # 12:04: called in the lunch session
    serve(10)
    hall.wait(20 * 60)
    hall("issue", service="医保")  # 12:25
    serve(10)
    hall("accept_case", item=cfg.catalogue.items[0].code, applicant="张秀英", counter=10, by="clerk-1")
    hall.wait(30 * 60)
    hall("issue", service="医保")  # 12:57: taken at lunch, never served: not counted as served
    ledger = Ledger(tmp_path, hall_name=cfg.hall.name)
    ledger.append([Entry(None, hall.events, {})])
    ledger.close()

    xlsx, pdf = tmp_path / "day.xlsx", tmp_path / "day.pdf"
    day = date(2026, 11, 23)
    result = build_report(ReportRequest(cfg, tmp_path, day, day, [xlsx, pdf]))
    assert result.summary.extended_served == {"lunch": 2}
    assert result.summary.total.served == 3
    overview = {r[0].value: r[1].value for r in load_workbook(xlsx)["概览"].iter_rows(min_row=3) if r[0].value}
    assert overview["延时/错时服务 午间延时 lunch (办结 / 受理办件)"] == "2 / 1"
    assert overview["延时/错时服务 晚间延时 evening (办结 / 受理办件)"] == "0 / 0"  # offered, not used that day
    assert overview["延时/错时服务 周末错时 weekend (办结 / 受理办件)"] == "0 / 0"
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(pdf)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert re.search(r"午间延时（办结 / 受理办件）\s*2 / 1", text), text[:2000]
