from __future__ import annotations

from datetime import date

import pytest

from hall_bus.config import parse_config
from hall_bus.domain.groups import age_on
from hall_bus.errors import ConfigError
from hall_bus.sim.daysim import DayPlan, run_day
from hall_bus.stats import percentile

from .conftest import EXAMPLE


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "hall.toml")
    return info.value.lines


def test_toml_syntax_error_names_the_line() -> None:
    lines = problems('[hall]\nname = "x"\nrecall_limit = = 3\n')
    assert len(lines) == 1 and lines[0].startswith("hall.toml:3:")


def test_missing_group_and_unknown_key_are_reported() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('[groups.home_visit]', '[groups.home_visits]').replace("recall_limit = 3", "recal_limit = 3")
    lines = problems(text)
    recall_line = text[: text.index("recal_limit")].count("\n") + 1
    group_line = text[: text.index("[groups.home_visits]")].count("\n") + 1
    assert any(ln.startswith(f"hall.toml:{recall_line}: hall.recal_limit: unknown key") for ln in lines), lines
    assert any(ln.startswith(f"hall.toml:{group_line}: groups.home_visits: unknown name") for ln in lines), lines


def test_bad_timezone() -> None:
    lines = problems(EXAMPLE.read_text(encoding="utf-8").replace("Asia/Shanghai", "Asia/Beijing"))
    assert any("Asia/Beijing" in ln and "hall.timezone" in ln for ln in lines)


def test_age_on_birthday_and_leap_day() -> None:
    assert age_on(date(1966, 11, 23), date(2026, 11, 23)) == 60
    assert age_on(date(1966, 11, 24), date(2026, 11, 23)) == 59
    assert age_on(date(1964, 2, 29), date(2026, 2, 28)) == 61
    assert age_on(date(1964, 2, 29), date(2026, 3, 1)) == 62


def test_percentile_is_a_real_observation() -> None:
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9


def test_same_seed_same_day(cfg) -> None:  # type: ignore[no-untyped-def]
    a = run_day(cfg, DayPlan(visitors=200, seed=5)).as_dict()
    b = run_day(cfg, DayPlan(visitors=200, seed=5)).as_dict()
    assert a == b


def test_more_windows_shorten_the_wait(cfg) -> None:  # type: ignore[no-untyped-def]
    few = run_day(cfg, DayPlan(visitors=500, counters_open=12, seed=2)).as_dict()["by_group"]["normal"]
    many = run_day(cfg, DayPlan(visitors=500, seed=2)).as_dict()["by_group"]["normal"]
    assert many["wait_p90_min"] < few["wait_p90_min"]


def test_more_helpers_shorten_assisted_waits(cfg) -> None:  # type: ignore[no-untyped-def]
    few = run_day(cfg, DayPlan(visitors=500, helpers=2, seed=2)).as_dict()["by_group"]["accompany"]
    many = run_day(cfg, DayPlan(visitors=500, helpers=10, seed=2)).as_dict()["by_group"]["accompany"]
    assert many["wait_p90_min"] < few["wait_p90_min"]


def test_with_16_helpers_every_assisted_group_waits_less_and_is_on_time_more_than_normal(cfg) -> None:  # type: ignore[no-untyped-def]
    """The product's promise, on the example hall's seeded day: assisted visitors are served first, not last."""
    report = run_day(cfg, DayPlan(visitors=600, helpers=16, seed=7)).as_dict()
    groups = report["by_group"]
    normal = groups["normal"]
    for group in ("guide", "accompany", "delegate", "wheelchair_push"):
        row = groups[group]
        assert row["served"] > 0, group
        assert row["wait_p50_min"] <= normal["wait_p50_min"], (group, row, normal)
        assert row["on_time_pct"] >= normal["on_time_pct"], (group, row, normal)
    assert groups["wheelchair_push"]["wait_p90_min"] < 5
    assert groups["home_visit"]["on_time_pct"] >= normal["on_time_pct"]
    assert report["problems"] == []


def test_day_report_names_the_bottlenecks(cfg) -> None:  # type: ignore[no-untyped-def]
    short = run_day(cfg, DayPlan(visitors=300, counters_open=14, helpers=1, seed=3)).as_dict()
    notes = "\n".join(short["bottlenecks"])
    for service in ("税务", "住房公积金", "不动产"):  # their department windows are 15-19, all closed
        assert f"only the assistance windows 1, 2 serve {service}" in notes
    assert "helpers 100% busy" in notes
    assert "escalated" in notes
    assert run_day(cfg, DayPlan(visitors=100, helpers=0, seed=3)).as_dict()["bottlenecks"][0].startswith(
        "no helpers on the floor")


def test_a_helper_with_a_visitor_is_busy_and_helper_waits_are_reported(cfg) -> None:  # type: ignore[no-untyped-def]
    few = run_day(cfg, DayPlan(visitors=300, helpers=1, seed=3)).as_dict()
    many = run_day(cfg, DayPlan(visitors=300, helpers=12, seed=3)).as_dict()
    assert few["helper_busy_pct"]["helper-01"] > 50
    waits_few = few["by_group"]["accompany"]["helper_wait_p90_min"]
    waits_many = many["by_group"]["accompany"]["helper_wait_p90_min"]
    assert waits_few > waits_many


def test_a_service_without_an_english_name_is_named_with_its_line() -> None:
    """The kiosk always offers English, so every service needs name_en; the error says which service and where."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('name_en = "Medical insurance"\n', "", 1)
    lines = problems(text)
    line = text[: text.index('name = "医保"')].count("\n") + 1
    assert lines == [f"hall.toml:{line}: services[4].name: service '医保' has no name_en: the kiosk offers English, "
                     "so give every service its English name (e.g. name_en = \"Medical insurance\")"]


def test_an_english_name_in_chinese_or_twice_is_refused() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    chinese = text.replace('name_en = "Medical insurance"', 'name_en = "医保"', 1)
    line = chinese[: chinese.index('name_en = "医保"')].count("\n") + 1
    assert any(ln.startswith(f"hall.toml:{line}: services[4].name_en: '医保' has Chinese characters")
               for ln in problems(chinese))
    twice = text.replace('name_en = "Public security"', 'name_en = "medical insurance"', 1)
    line = twice[: twice.index('name_en = "medical insurance"')].count("\n") + 1
    assert problems(twice) == [f"hall.toml:{line}: services[5].name_en: name_en 'medical insurance' is also the "
                               "English name of '医保'; visitors reading English could not tell them apart"]


def test_every_example_service_has_an_english_name(cfg) -> None:  # type: ignore[no-untyped-def]
    names = {s.name: s.name_en for s in cfg.services}
    assert names["企业开办"] == "Business start-up" and names["不动产"] == "Real estate registration"
    assert all(names.values()) and len(set(names.values())) == len(names)
