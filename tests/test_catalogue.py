"""The catalogue file (事项目录): the example is complete and loads through its hall; every mistake a person can
write is one line naming the catalogue's own FILE:LINE and key path; a [catalogue] inside the hall file is refused;
`hallctl catalogue check` answers ok or the lines with exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from hall_bus.catalogue.load import load_catalogue, parse_catalogue
from hall_bus.cli.hallctl import main
from hall_bus.config import load_config, parse_config
from hall_bus.errors import ConfigError

from .conftest import EXAMPLE

CATALOGUE = EXAMPLE.parent / "catalogue.example.toml"

GOOD = """\
county = "测试县"

[[items]]
code = "XK-1-001"
name = "公司设立登记"
department = "县市场监督管理局"
service = "企业开办"
legal_limit = { working_days = 3 }
promised_limit = { working_days = 1 }
windows = [3]

[[items.materials]]
name = "申请书"

[[items.materials]]
name = "居民身份证"
form = "copy"

[[items]]
code = "XK-1-002"
name = "食品经营许可"
department = "县市场监督管理局"
service = "企业开办"
legal_limit = { working_days = 10 }
promised_limit = { working_days = 5 }

[[items.materials]]
name = "居民身份证"
required = false

[[items.materials]]
name = "营业执照"

[[items]]
code = "XK-1-003"
name = "企业投资项目核准"
department = "县发展和改革局"
service = "投资项目"
legal_limit = { working_days = 20 }
promised_limit = { working_days = 15 }
major = true

[[items.steps]]
department = "县发展和改革局"
name = "项目核准"
working_days = 5

[[items.steps]]
department = "县自然资源局"
name = "用地预审"
working_days = 5

[[bundles]]
code = "YJS-01"
name = "开办餐饮店一件事"
life_event = "开办企业"
items = ["XK-1-001", "XK-1-002"]
"""


def errors(text: str, **kw: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_catalogue(text, "cat.toml", **kw)  # type: ignore[arg-type]
    return info.value.lines


def line_of(text: str, needle: str, nth: int = 0) -> int:
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    return text[:at].count("\n") + 1


def test_the_small_catalogue_is_valid_and_a_bundle_asks_each_document_once() -> None:
    cat = parse_catalogue(GOOD, "cat.toml")
    assert [i.kind for i in cat.items] == ["promised", "promised", "major"]
    merged = cat.bundle_materials(cat.bundles[0])
    assert [m.name for m in merged] == ["申请书", "居民身份证", "营业执照"]
    assert merged[1].required  # 容缺 in one item, required in the other: required


def test_the_example_catalogue_covers_every_service_of_the_example_hall() -> None:
    cfg = load_config(EXAMPLE)
    cat = cfg.catalogue
    assert cat is not None and cfg.hall.site_code == "PA"
    assert len(cat.items) >= 30 and len(cat.bundles) >= 3
    assert {i.service for i in cat.items} == {s.name for s in cfg.services}
    assert 2 <= sum(i.major for i in cat.items) <= 3 and all(len(i.steps) == 3 for i in cat.items if i.major)
    assert {i.kind for i in cat.items} == {"immediate", "promised", "major"}
    assert any(not m.required for i in cat.items for m in i.materials)  # 容缺 materials exist
    assert any(i.fee.amount != "不收费" for i in cat.items) and any(i.home_visit for i in cat.items)
    assert {"出生", "退休", "开办企业"} <= {b.life_event for b in cat.bundles}
    for b in cat.bundles:
        names = [m.name for m in cat.bundle_materials(b)]
        assert len(names) == len(set(names))


@pytest.mark.parametrize(("change", "needle", "message"), [
    (("promised_limit = { working_days = 5 }", "promised_limit = { working_days = 12 }"),
     "promised_limit = { working_days = 12 }", "items[1].promised_limit: the promised limit (12 个工作日) is longer"),
    (('code = "XK-1-002"', 'code = "XK-1-001"'), 'code = "XK-1-001"', "items[0].code: duplicate code 'XK-1-001'"),
    (('code = "XK-1-002"', 'code = "XK 1 002"'), 'code = "XK 1 002"', "items[1].code: 'XK 1 002' is not a code"),
    (('"XK-1-001", "XK-1-002"]', '"XK-1-001", "XK-1-020"]'), '"XK-1-020"]',
     "bundles[0].items: items[1]: no catalogue item 'XK-1-020' (did you mean"),
    (("major = true\n", ""), "[[items.steps]]", "items[2].steps: steps belong to a 重大事项"),
    (('promised_limit = { working_days = 15 }', 'promised_limit = { working_days = 8 }'),
     "[[items.steps]]", "items[2].steps: the steps take 10 working days together, more than the promised 8"),
    (('windows = [3]', 'window = [3]'), "window = [3]", "items[0].window: unknown key (did you mean 'windows'?)"),
    (('form = "copy"', 'form = "photocopy"'), 'form = "photocopy"', "items[0].materials[1].form: input should be"),
    (('promised_limit = { working_days = 1 }', 'promised_limit = { working_days = 0 }'),
     "promised_limit = { working_days = 0 }", "items[0].promised_limit: 0 working days: write immediate = true"),
    (('life_event = "开办企业"\n', ''), '[[bundles]]', "bundles[0].life_event: missing life_event"),
    (('name = "营业执照"', 'name = "申请书"\n\n[[items.materials]]\nname = "申请书"'), 'name = "申请书"',
     "items[1].materials[2].name: duplicate material '申请书'"),
])
def test_each_mistake_is_one_line_at_its_own_line(change: tuple[str, str], needle: str, message: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    lines = errors(text)
    nth = 2 if needle == 'name = "申请书"' else 0
    want = f"cat.toml:{line_of(text, needle, nth)}: {message}"
    assert any(ln.startswith(want) for ln in lines), (want, lines)


def test_a_major_item_without_steps_and_a_fee_without_basis_are_named() -> None:
    text = GOOD.replace("major = true", 'major = true\nfee = { amount = "每件 80 元" }')
    text = text[: text.index("[[items.steps]]")] + text[text.index("[[bundles]]"):]
    lines = errors(text)
    assert any("items[2].steps: a 重大事项 (major = true) is handled by several departments" in ln for ln in lines)
    assert any(ln.startswith(f"cat.toml:{line_of(text, 'fee = ')}: items[2].fee.basis: a fee") for ln in lines)


def test_a_syntax_error_names_the_line() -> None:
    lines = errors(GOOD.replace('name = "食品经营许可"', 'name = = "食品经营许可"'))
    assert len(lines) == 1 and lines[0].startswith(f"cat.toml:{line_of(GOOD, '食品经营许可')}: TOML syntax error")


def _hall_with(tmp_path: Path, catalogue_text: str, hall_line: str = 'catalogue = "cat.toml"') -> Path:
    hall = tmp_path / "hall.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace('catalogue = "catalogue.example.toml"', hall_line)
    hall.write_text(text, encoding="utf-8")
    (tmp_path / "cat.toml").write_text(catalogue_text, encoding="utf-8")
    return hall


def test_the_hall_loads_its_catalogue_beside_it(tmp_path: Path) -> None:
    cfg = load_config(_hall_with(tmp_path, GOOD))
    assert cfg.catalogue is not None and cfg.catalogue.item("XK-1-003").major


def test_an_item_for_a_service_the_hall_lacks_is_named_at_the_catalogue_line(tmp_path: Path) -> None:
    text = GOOD.replace('service = "投资项目"', 'service = "投资项目审批"')
    text = text.replace("windows = [3]", "windows = [3, 12]")
    with pytest.raises(ConfigError) as info:
        load_config(_hall_with(tmp_path, text))
    lines = info.value.lines
    cat = tmp_path / "cat.toml"
    assert f"{cat}:{line_of(text, '投资项目审批')}: items[2].service: '投资项目审批' is not one of the hall's " \
           "services (did you mean '投资项目'?)" in "\n".join(lines)
    assert any(ln.startswith(f"{cat}:{line_of(text, 'windows = [3, 12]')}: items[0].windows: window 12 does not "
                             "serve '企业开办'") for ln in lines), lines


def test_a_missing_catalogue_file_names_the_hall_line(tmp_path: Path) -> None:
    hall = _hall_with(tmp_path, GOOD, 'catalogue = "nowhere.toml"')
    with pytest.raises(ConfigError) as info:
        load_config(hall)
    line = line_of(hall.read_text(encoding="utf-8"), "nowhere.toml")
    assert info.value.lines[0].startswith(f"{hall}:{line}: hall.catalogue: no catalogue file 'nowhere.toml'")


def test_a_catalogue_table_inside_the_hall_file_is_refused() -> None:
    text = EXAMPLE.read_text(encoding="utf-8") + '\n[[catalogue.items]]\ncode = "X-1"\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, "hall.toml")
    line = line_of(text, "[[catalogue.items]]")
    assert info.value.lines == [f"hall.toml:{line}: catalogue: the 事项目录 is a file of its own; move it out "
                                "(e.g. to catalogue.toml beside this file) and write catalogue = \"catalogue.toml\" "
                                "in [hall]"]


def test_a_hall_without_a_catalogue_keeps_working(tmp_path: Path) -> None:
    hall = tmp_path / "hall.toml"
    hall.write_text(EXAMPLE.read_text(encoding="utf-8").replace('catalogue = "catalogue.example.toml"', ""),
                    encoding="utf-8")
    assert load_config(hall).catalogue is None
    assert parse_config(EXAMPLE.read_text(encoding="utf-8"), "hall.toml").catalogue is None  # text alone


def test_catalogue_check_prints_ok_or_the_lines_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalogue", "check", str(CATALOGUE), "--config", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.startswith("ok: 平安县: ")
    bad = tmp_path / "cat.toml"
    bad.write_text(GOOD.replace("promised_limit = { working_days = 5 }", "promised_limit = { working_days = 12 }")
                   .replace('code = "XK-1-002"', 'code = "XK-1-001"'), encoding="utf-8")
    assert main(["catalogue", "check", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    # the two items sharing a code, the promise, and the bundle's item that no longer exists
    assert len(err) == 4 and all(ln.startswith(f"{bad}:") for ln in err) and "Traceback" not in "".join(err)
    assert main(["catalogue", "check", str(tmp_path / "none.toml")]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'none.toml'}: no such file"


def test_a_catalogue_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "cat.toml"
    bad.write_bytes(GOOD.encode() + '\n# 备注\n'.encode("gbk"))
    with pytest.raises(ConfigError) as info:
        load_catalogue(bad)
    assert info.value.lines[0] == f"{bad}:{GOOD.count(chr(10)) + 2}: not UTF-8 text (save the file as UTF-8)"
