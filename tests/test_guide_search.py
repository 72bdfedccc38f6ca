"""The guide's search, one rule per test: characters, full pinyin with or without spaces and tones, initials,
every reading of a many-reading character, keywords, and the ranking between them; browsing by life event; the
short guide (简版指南) as slip rows; `hallctl guide` on the example hall."""

from __future__ import annotations

import pytest

from devices.board.frame import columns
from hall_bus.catalogue.guide import SLIP_COLUMNS, guide_lines, short_guide
from hall_bus.catalogue.model import Bundle, Catalogue, Item, Material, TimeLimit
from hall_bus.catalogue.search import GuideIndex, Match, char_readings, life_events, pinyin_query
from hall_bus.cli.hallctl import main

from .conftest import EXAMPLE

DAYS5 = TimeLimit(working_days=5)
NOW = TimeLimit(immediate=True)


def item(code: str, name: str, keywords: tuple[str, ...] = (), **kw: object) -> Item:
    limits = {"legal_limit": DAYS5, "promised_limit": DAYS5, **kw}
    return Item(code=code, name=name, department="县医疗保障局", service="医保", keywords=list(keywords),
                **limits)  # type: ignore[arg-type]


CAT = Catalogue(county="测试县", items=[
    item("A-0001", "医保", ("合作医疗",)),
    item("A-0002", "医保报销"),
    item("A-0003", "城乡居民医保参保登记"),
    item("A-0004", "重大项目联合审批"),
    item("A-0005", "银行开户证明"),
    item("A-0006", "长期护理保险待遇申请"),
    item("A-0007", "社会保障卡申领", ("社保卡", "医保卡")),
    item("A-0008", "绿色通道登记"),
], bundles=[Bundle(code="B-01", name="新生儿出生一件事", items=["A-0003", "A-0007"], life_event="出生"),
            Bundle(code="B-02", name="退休一件事", items=["A-0002", "A-0006"], life_event="退休"),
            Bundle(code="B-03", name="生育一件事", items=["A-0003", "A-0002"], life_event="出生")])
INDEX = GuideIndex(CAT)


def names(query: str) -> list[str]:
    return [h.name for h in INDEX.search(query)]


def best(query: str) -> tuple[str, Match]:
    hit = INDEX.search(query)[0]
    return hit.name, hit.match


def test_characters_rank_exact_then_prefix_then_substring() -> None:
    assert names("医保")[:3] == ["医保", "医保报销", "城乡居民医保参保登记"]
    assert [h.match for h in INDEX.search("医保")[:3]] == [Match.EXACT, Match.PREFIX, Match.SUBSTRING]


def test_full_pinyin_with_or_without_spaces_and_tones() -> None:
    for typed in ("yibao", "yi bao", "Yī Bǎo", "yi1 bao3", "ＹＩＢＡＯ"):
        assert pinyin_query(typed) == "yibao"
        assert best(typed) == ("医保", Match.PINYIN), typed


def test_pinyin_matches_from_a_syllable_start_with_the_last_syllable_unfinished() -> None:
    assert "医保报销" in names("baoxia")  # 报销, "xia" on its way to "xiao"
    assert "医保" in names("yib")
    assert "医保" not in names("aob")  # inside syllables: no


def test_initials() -> None:
    assert best("ybbx") == ("医保报销", Match.INITIALS)
    assert "社会保障卡申领" in names("shbz") and "社会保障卡申领" in names("bzk")


def test_every_reading_of_a_many_reading_character() -> None:
    assert {"zhong", "chong"} <= set(char_readings("重"))
    for typed in ("zhongda", "chongda", "zdxm", "cdxm"):
        assert best(typed)[0] == "重大项目联合审批", typed
    for typed in ("yinhang", "yinxing", "yh"):
        assert best(typed)[0] == "银行开户证明", typed
    for typed in ("changqi", "zhangqi", "zqhl"):
        assert best(typed)[0] == "长期护理保险待遇申请", typed


def test_u_umlaut_as_v_or_u_and_as_typed() -> None:
    for typed in ("lvse", "luse", "lüse"):
        assert best(typed)[0] == "绿色通道登记", typed


def test_keywords_by_characters_pinyin_and_initials() -> None:
    for typed in ("社保卡", "shebaoka", "sbk"):
        hit = INDEX.search(typed)[0]
        assert (hit.name, hit.match) == ("社会保障卡申领", Match.KEYWORD), typed
    assert best("合作医疗") == ("医保", Match.KEYWORD)


def test_a_name_match_outranks_a_keyword_match() -> None:
    hits = INDEX.search("医保")  # 社会保障卡申领 has the keyword 医保卡
    assert hits[-1].name == "社会保障卡申领" and hits[-1].match is Match.KEYWORD


def test_codes_and_bundles_are_found() -> None:
    assert best("a-0005") == ("银行开户证明", Match.EXACT)
    assert INDEX.search("出生")[0].kind == "bundle"
    assert best("xinshenger")[0] == "新生儿出生一件事"


def test_nothing_typed_or_nothing_matching_is_empty() -> None:
    assert INDEX.search("") == [] and INDEX.search("  ") == [] and INDEX.search("qqqq") == []
    assert len(INDEX.search("a", limit=3)) == 3


def test_bundles_browse_by_life_event_in_catalogue_order() -> None:
    events = life_events(CAT)
    assert list(events) == ["出生", "退休"] and [b.code for b in events["出生"]] == ["B-01", "B-03"]


SLIP_ITEM = item("A-0009", "城乡居民基本医疗保险参保登记", place="县政务服务中心二楼 医保窗口", windows=[10, 11],
                 promised_limit=NOW, legal_limit=NOW, materials=[
                     Material(name="申请人居民身份证"), Material(name="居民户口簿", form="copy", copies=2),
                     Material(name="居住证", required=False)])


@pytest.mark.parametrize("paper", [58, 80])
def test_the_short_guide_fits_the_slip_and_says_what_the_window_needs(paper: int) -> None:
    rows = short_guide(SLIP_ITEM, SLIP_COLUMNS[paper])
    assert all(columns(r) <= SLIP_COLUMNS[paper] for r in rows), rows
    text = "".join(rows)
    for words in ("城乡居民基本医疗保险参保登记", "申请人居民身份证（必要，原件）", "居民户口簿（必要，复印件 2 份）",
                  "居住证（容缺，原件）", "办理时限：即办", "收费：不收费", "10、11 号窗口"):
        assert words in text, (words, rows)


def test_the_guide_page_has_materials_limits_fee_place_and_flags() -> None:
    text = "\n".join(guide_lines(SLIP_ITEM))
    assert "【容缺】居住证 原件" in text and "办理时限：即办" in text and "到现场次数：1 次" in text
    assert "服务方式：无" in text and "办件类型：即办件" in text


def test_hallctl_guide_search_and_show_on_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["guide", "search", "she", "bao", "ka", "--config", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("GG-379901-RSJ-001") and "社会保障卡申领" in out and "即办" in out
    assert main(["guide", "show", "GG-379901-RSJ-001", "--config", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "【必要】申请人居民身份证 原件" in out and "收费：不收费" in out and "可预约" in out
    assert main(["guide", "show", "YJS-379901-01", "--config", str(EXAMPLE)]) == 0
    assert "同一材料只交一次" in capsys.readouterr().out
    assert main(["guide", "show", "GG-379901-RSJ-01", "--config", str(EXAMPLE)]) == 2
    assert "did you mean 'GG-379901-RSJ-001'" in capsys.readouterr().err
    assert main(["guide", "search", "qqqq", "--config", str(EXAMPLE)]) == 1
