"""The county file (县-镇-村 sites, parents, items, rosters) as a technician writes it: the example loads and
checks clean; each kind of mistake is one line at its own line; the staffing rules name exactly the shortfalls;
`hallctl county check` exits 0, 1 (staffing short) or 2 (mistakes in the file)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hall_bus.cli.hallctl import main
from hall_bus.config import load_config
from hall_bus.county.sites import County, load_county, parse_county
from hall_bus.county.staffing import staffing_problems
from hall_bus.errors import ConfigError

from .conftest import EXAMPLE, ROOT

CONFIG = ROOT / "config"
COUNTY = CONFIG / "county.example.toml"
TEXT = COUNTY.read_text(encoding="utf-8")


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_county(text, "county.toml", base=CONFIG)
    return info.value.lines


def line_of(text: str, needle: str, nth: int = 0) -> int:
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    return text[:at].count("\n") + 1


def changed(*changes: tuple[str, str]) -> str:
    text = TEXT
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def site_block(code: str) -> str:
    """The lines from a site's [[sites]] header to its `parent = …` line, to change one site's parent."""
    start = TEXT.index(f'[[sites]]\ncode = "{code}"')
    end = TEXT.index("parent = ", start)
    return TEXT[start:TEXT.index("\n", end)]


@pytest.fixture(scope="module")
def county() -> County:
    return load_county(COUNTY)


def test_the_example_county_loads_with_its_catalogue_and_meets_every_staffing_rule(county: County) -> None:
    assert county.county.code == "PA" and county.county.name == "平安县" and county.catalogue is not None
    levels = [s.level for s in county.sites]
    assert levels.count("county") == 1 and levels.count("town") == 3 and 6 <= levels.count("village") <= 9
    assert sorted(s.partner_kind for s in county.sites if s.level == "partner") == ["bank", "post"]
    assert all(s.staff for s in county.sites)  # every site has its roster
    assert staffing_problems(county) == []
    # the county centre is the example hall: its code is the hall's site_code
    assert county.centre.code == load_config(EXAMPLE).hall.site_code == "PA"
    assert {z.kind for z in county.centre.zones} == {"special", "sub"}


def test_the_tree_helpers_walk_village_town_county(county: County) -> None:
    assert [s.code for s in county.ancestors("PAT01V02")] == ["PAT01", "PA"]
    assert [s.code for s in county.path_up("PAT01V02", "PA")] == ["PAT01V02", "PAT01", "PA"]
    assert [s.code for s in county.path_up("PAT01V02", "PAT01")] == ["PAT01V02", "PAT01"]
    assert [s.code for s in county.children("PA")] == ["PAT01", "PAT02", "PAT03"]
    assert {s.level for s in county.children("PAT01")} == {"village", "partner"}
    with pytest.raises(ValueError, match="'PAT02' is not above 'PAT01V02'"):
        county.path_up("PAT01V02", "PAT02")
    with pytest.raises(KeyError, match="did you mean 'PAT01'"):
        county.site("PAT1")


def test_items_all_means_every_catalogue_item_of_the_level(county: County) -> None:
    cat = county.catalogue
    assert cat is not None
    assert county.items_at("PA") == [i.code for i in cat.items]
    village = county.items_at("PAT01V01")
    assert village and all("village" in cat.item(c).levels for c in village)
    assert len(county.items_at("PAT01")) > len(village)
    # a partner point offers its parent's level: the bank under a town issues social security cards (town items)
    assert county.catalogue_level("PAP01") == "town" and "GG-379901-RSJ-001" in county.items_at("PAP01")


@pytest.mark.parametrize(("change", "needle", "message"), [
    pytest.param(("windows = 18", "window = 18"), "window = 18",
                 "sites[0].window: unknown key (did you mean 'windows'?)", id="unknown-key"),
    pytest.param(('code = "PAT02"', 'code = "PAT01"'), 'code = "PAT01"\nname = "河口镇',
                 "sites[2].code: duplicate site code 'PAT01' (also sites[1])", id="duplicate-code"),
    pytest.param(('parent = "PAT03"\nitems = ["GF-379901-MZJ-002"', 'items = ["GF-379901-MZJ-002"'),
                 '[[sites]]\ncode = "PAT03V02"',
                 'sites[11].parent: missing parent: a village\'s parent is its town (镇) (e.g. parent = "PAT01")',
                 id="missing-parent"),
    pytest.param((site_block("PAT01V02"), site_block("PAT01V02").replace('"PAT01"', '"PAT01V01"')),
                 'parent = "PAT01V01"', "sites[5].parent: a village's parent is its town (镇); 'PAT01V01' "
                 "(东关村便民服务站) is a 村 site", id="village-under-village"),
    pytest.param((site_block("PAT02"), site_block("PAT02").replace('level = "town"\nparent = "PA"',
                                                                   'level = "county"')),
                 'level = "county"\nitems = "all"\naddress = "平安县河口镇',
                 "sites[2].level: a second county-level site: 'PA' (平安县政务服务中心) is the county centre already",
                 id="two-county-sites"),
    pytest.param(('items = ["GF-379901-MZJ-002", "GG-379901-YBJ-001"]',
                  'items = ["GF-379901-MZJ-002", "XK-379901-SCJ-001"]'), '"XK-379901-SCJ-001"]',
                 "sites[11].items[1]: 'XK-379901-SCJ-001' (公司设立登记) is offered at 县 (levels = [\"county\"]) "
                 'only, not at a 村 site (level = "village"); remove it here, or add "village" to its levels',
                 id="item-not-at-this-level"),
    pytest.param(('    "GF-379901-YBJ-002",', '    "GF-379901-YBJ-02",'), '"GF-379901-YBJ-02"',
                 "sites[3].items[6]: no catalogue item 'GF-379901-YBJ-02' (did you mean 'GF-379901-YBJ-002'?)",
                 id="unknown-item-in-a-list-over-lines"),
    pytest.param(("on_time = 0.4", "on_time = 0.5"), "[scorecard.weights]",
                 "scorecard.weights: the weights add up to 1.1, not 1: on_time 0.5 + satisfaction 0.3", id="weights"),
    pytest.param(('zone = "qiye"', 'zone = "qiey"'), 'zone = "qiey"',
                 "sites[0].staff[7].zone: unknown zone 'qiey' (did you mean 'qiye'?)", id="unknown-zone"),
    pytest.param(('level = "village"', 'level = "村"'), 'level = "村"',
                 "sites[4].level: input should be 'county', 'town', 'village' or 'partner', got '村' (for 村 write "
                 "'village')", id="level-in-chinese"),
    pytest.param(('id = "PA-02"', 'id = "PA-01"'), 'id = "PA-01"\nname = "李娜"', "sites[0].staff[1].id: duplicate "
                 "staff id 'PA-01' (also on PA's roster)", id="duplicate-staff-id"),
    pytest.param(('partner_kind = "bank"\n', ""), '[[sites]]\ncode = "PAP01"',
                 'sites[12].partner_kind: missing partner_kind for a partner point: "bank" (银行网点)',
                 id="partner-without-kind"),
    pytest.param(('bind = "tcp://127.0.0.1:5590"', 'bind = "tcp://hub.local:5590"'), "bind = ",
                 "hub.bind: 'hub.local' is not an IP address; the hub binds tcp://IP:PORT", id="hub-bind"),
    pytest.param(('catalogue = "catalogue.example.toml"', 'catalogue = "nowhere.toml"'), 'catalogue = "nowhere',
                 "county.catalogue: no catalogue file 'nowhere.toml'", id="missing-catalogue"),
])
def test_each_mistake_is_one_line_at_its_own_line(change: tuple[str, str], needle: str, message: str) -> None:
    text = changed(change)
    want = f"county.toml:{line_of(text, needle)}: {message}"
    lines = errors(text)
    assert any(ln.startswith(want) for ln in lines), (want, lines)
    assert all(ln.startswith("county.toml:") for ln in lines), lines


def test_a_loop_of_parents_is_named_once_at_its_first_site() -> None:
    v1, v2 = site_block("PAT01V01"), site_block("PAT01V02")
    text = changed((v1, v1.replace('"PAT01"', '"PAT01V02"')), (v2, v2.replace('"PAT01"', '"PAT01V01"')))
    lines = errors(text)
    loops = [ln for ln in lines if "loop" in ln]
    at = line_of(text, 'parent = "PAT01V02"')
    assert loops == [f"county.toml:{at}: sites[4].parent: the parents go round "
                     "in a loop: PAT01V01 → PAT01V02 → PAT01V01; every site's parents must lead up to the county "
                     "centre"], lines


def test_all_mistakes_come_together_one_line_each() -> None:
    text = changed(("windows = 18", "window = 18"), ("windows = 4", "window = 4"))
    assert len(errors(text)) == 2
    text = changed(('zone = "qiye"', 'zone = "qiey"'), ("on_time = 0.4", "on_time = 0.5"),
                   ('catalogue = "catalogue.example.toml"', 'catalogue = "nowhere.toml"'))
    assert len(errors(text)) == 3


def test_no_county_site_is_named() -> None:
    text = changed(('level = "county"', 'level = "town"'))
    assert f"county.toml:{line_of(text, '[[sites]]')}: sites: no site has level = \"county\"" in "\n".join(errors(text))


def test_the_catalogue_of_another_county_is_refused(tmp_path: Path) -> None:
    shutil.copy(CONFIG / "catalogue.example.toml", tmp_path / "catalogue.example.toml")
    path = tmp_path / "county.toml"
    path.write_text(changed(('name = "平安县"', 'name = "太平县"')), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_county(path)
    assert info.value.lines == [f"{path}:{line_of(TEXT, 'catalogue = ')}: county.catalogue: "
                                "'catalogue.example.toml' is the catalogue of '平安县', not of '太平县'; name this "
                                "county's catalogue, or correct one of the two names"]


def test_text_alone_keeps_the_items_as_written() -> None:
    county = parse_county(TEXT, "county.toml")
    assert county.catalogue is None and county.items_at("PAP02") == ["GG-379901-YBJ-001", "GG-379901-RSJ-004"]
    with pytest.raises(ValueError, match="load the county with its catalogue"):
        county.items_at("PA")


def short_staffed() -> str:
    """The example with one 分区 down to one helper and one village whose only 代办员 is part-time."""
    qiye = TEXT.index('zone = "qiye"')
    text = TEXT[:qiye] + 'zone = "zonghe"' + TEXT[qiye + len('zone = "qiye"'):]  # a 企业开办 helper moves
    agent = TEXT.index('id = "PAT02V03-01"')
    return text[:agent] + text[agent:].replace("full_time = true", "full_time = false", 1)


def test_a_thin_sub_zone_and_a_village_without_full_time_staff_are_exactly_the_problems() -> None:
    county = parse_county(short_staffed(), "county.toml", base=CONFIG)
    problems = staffing_problems(county)
    assert [(p.site, p.rule, p.need, p.have, p.zone) for p in problems] == [
        ("PA", "sub_zone", 2, 1, "qiye"), ("PAT02V03", "station", 1, 0, None)]
    assert problems[0].words_zh == "分区 企业开办分区 帮办员 1 人，少于 2 人"
    assert problems[0].words_en == "sub zone 企业开办分区: 1 helper, fewer than 2"
    assert problems[1].words_zh == "村 新渡村便民服务站 专职人员 0 人，少于 1 人"
    assert problems[1].words_en == "village 新渡村便民服务站: 0 full-time staff, fewer than 1"


def test_the_special_zone_counts_full_time_helpers_and_the_minima_come_from_the_file() -> None:
    text = TEXT.replace('role = "helper"\nfull_time = true\nzone = "zhuanqu"',
                        'role = "helper"\nfull_time = false\nzone = "zhuanqu"', 2)
    problems = staffing_problems(parse_county(text, "county.toml", base=CONFIG))
    assert [(p.rule, p.need, p.have) for p in problems] == [("special_zone", 3, 2)]
    assert problems[0].words_zh == "专区 帮办代办专区 专职帮办员 2 人，少于 3 人"
    text = text.replace("special_zone_min = 3", "special_zone_min = 2").replace("windows = 4", "windows = 5")
    problems = staffing_problems(parse_county(text, "county.toml", base=CONFIG))
    assert [(p.site, p.rule, p.need, p.have) for p in problems] == [("PAT01", "window", 5, 4)]


def test_county_check_exit_codes_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["county", "check", str(COUNTY)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ok: 平安县 (PA): 14 sites — 县 1, 镇 3, 村 8, 合作点 2"
    assert out[1].startswith("staff: ") and out[2].startswith("items: 50 in the catalogue; offered per site: 县 50")
    assert out[-1].startswith("staffing: every rule is met")

    shutil.copy(CONFIG / "catalogue.example.toml", tmp_path / "catalogue.example.toml")
    short = tmp_path / "short.toml"
    short.write_text(short_staffed(), encoding="utf-8")
    assert main(["county", "check", str(short)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok: 平安县") and out[3:] == [
        "staffing: 2 shortfalls",
        "staffing: PA: 分区 企业开办分区 帮办员 1 人，少于 2 人 (sub zone 企业开办分区: 1 helper, fewer than 2)",
        "staffing: PAT02V03: 村 新渡村便民服务站 专职人员 0 人，少于 1 人 (village 新渡村便民服务站: 0 full-time "
        "staff, fewer than 1)"]

    bad = tmp_path / "bad.toml"
    text = changed(('zone = "qiye"', 'zone = "qiey"'), ("on_time = 0.4", "on_time = 0.5"))
    bad.write_text(text, encoding="utf-8")
    assert main(["county", "check", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines() == [  # in the file's order
        f"{bad}:{line_of(text, '[scorecard.weights]')}: scorecard.weights: the weights add up to 1.1, not 1: "
        "on_time 0.5 + satisfaction 0.3 + complaints 0.1 + handover 0.1 + followups 0.1 (keys left out keep their "
        "defaults); change them so they add up to 1",
        f"{bad}:{line_of(text, 'qiey')}: sites[0].staff[7].zone: unknown zone 'qiey' (did you mean 'qiye'?) (zones "
        "here: zhuanqu, qiye, touzi, zonghe, renshe, yibao, gongan, shuiwu, gongjijin, hunyin, sifa, budongchan)"]
    assert main(["county", "check", str(tmp_path / "none.toml")]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'none.toml'}: no such file"


def test_county_check_as_a_process_shows_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "county.toml"
    bad.write_bytes(TEXT.encode() + "\n# 备注\n".encode("gbk"))
    res = subprocess.run([sys.executable, "-m", "hall_bus.cli", "county", "check", str(bad)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip() == f"{bad}:{TEXT.count(chr(10)) + 2}: not UTF-8 text (save the file as UTF-8)"
