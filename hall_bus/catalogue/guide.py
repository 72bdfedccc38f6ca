"""An item's guide (办事指南) and a bundle's as text lines: `hallctl guide show` prints them, and the kiosk prints
the short guide (简版指南) on a 58 or 80 mm slip. Pure: lines in, lines out; the printer and screen do the rest.

The short guide keeps what a visitor needs at the window — the name, each material with 必要/容缺 and 原件/复印件,
the time limit, the fee, where and when — and leaves the legal basis and conditions to the full page.
"""

from __future__ import annotations

from devices.board.layout import wrap
from hall_bus.catalogue.model import Bundle, Catalogue, Item, Material

FORM_WORDS = {"original": "原件", "copy": "复印件", "original_and_copy": "原件和复印件", "electronic": "电子版"}
LEVEL_WORDS = {"county": "县", "town": "镇（街道）", "village": "村（社区）"}
SLIP_COLUMNS = {58: 32, 80: 48}  # half-width columns in the printer's font A (384 / 576 dots ÷ 12)


def material_words(m: Material) -> str:
    """"【必要】申请书 原件 1 份（空白表格：x.docx；示范文本：y.pdf）" — one line per material."""
    words = [f"【{'必要' if m.required else '容缺'}】{m.name}", FORM_WORDS[m.form]]
    if m.copies != 1:
        words.append(f"{m.copies} 份")
    if m.pages:
        words.append(f"{m.pages} 页")
    extra = [f"空白表格：{m.blank_form}"] * bool(m.blank_form) + [f"示范文本：{m.sample}"] * bool(m.sample)
    if m.note:
        extra.append(m.note)
    return " ".join(words) + (f"（{'；'.join(extra)}）" if extra else "")


def windows_words(item: Item) -> str:
    return f"{'、'.join(map(str, sorted(item.windows)))} 号窗口"


def limit_words(item: Item) -> str:
    """"法定 20 个工作日，承诺 5 个工作日" or "即办"."""
    legal, promised = item.legal_limit.words(), item.promised_limit.words()
    return promised if legal == promised else f"法定 {legal}，承诺 {promised}"


def visits_words(item: Item) -> str:
    return "全程网办（0 次）" if item.visits == 0 else f"{item.visits} 次"


def flags_words(item: Item) -> str:
    flags = [word for on, word in ((item.bookable, "可预约"), (item.delegable, "可代办"),
                                   (item.home_visit, "可上门")) if on]
    return "、".join(flags) or "无"


def fee_words(item: Item) -> str:
    return item.fee.amount + (f"（依据：{item.fee.basis}）" if item.fee.basis else "")


def guide_lines(item: Item) -> list[str]:
    """The full guide page of one item, as the kiosk's page and `hallctl guide show` present it."""
    kind = {"immediate": "即办件", "promised": "承诺件", "major": "重大事项（多部门联合办理）"}[item.kind]
    lines = [f"{item.name}（{item.code}）", f"实施主体：{item.department}", f"办件类型：{kind}"]
    if item.basis:
        lines.append(f"设定依据：{item.basis}")
    if item.conditions:
        lines.append(f"受理条件：{item.conditions}")
    lines.append("申请材料：")
    lines += [f"  {n}. {material_words(m)}" for n, m in enumerate(item.materials, 1)] or ["  无"]
    lines.append(f"办理时限：{limit_words(item)}")
    if item.steps:
        lines.append("办理环节：")
        lines += [f"  {n}. {s.department} {s.name}（{s.working_days} 个工作日）" for n, s in enumerate(item.steps, 1)]
    lines.append(f"收费：{fee_words(item)}")
    where = item.place + (f"（{windows_words(item)}）" if item.windows else "")
    if where:
        lines.append(f"办理地点：{where}")
    if item.hours:
        lines.append(f"办理时间：{item.hours}")
    lines.append(f"到现场次数：{visits_words(item)}")
    lines.append(f"服务方式：{flags_words(item)}")
    lines.append(f"办理层级：{'、'.join(LEVEL_WORDS[v] for v in item.levels)}")
    return lines


def bundle_lines(catalogue: Catalogue, bundle: Bundle) -> list[str]:
    """A 一件事's page: its items, and the materials once each (merged across the items)."""
    items = [catalogue.item(code) for code in bundle.items]
    lines = [f"{bundle.name}（{bundle.code}）", f"人生事件：{bundle.life_event}", "包含事项："]
    lines += [f"  {n}. {i.name}（{i.department}，{limit_words(i)}）" for n, i in enumerate(items, 1)]
    lines.append("申请材料（合并，同一材料只交一次）：")
    lines += [f"  {n}. {material_words(m)}" for n, m in enumerate(catalogue.bundle_materials(bundle), 1)]
    return lines


def short_guide(item: Item, columns: int = SLIP_COLUMNS[58]) -> list[str]:
    """简版指南 as slip rows of at most `columns` half-width columns (a Chinese character takes two)."""
    if columns < 16:
        raise ValueError(f"a slip needs at least 16 columns, got {columns}")
    logical = [item.name, "-" * columns, "所需材料："]
    for m in item.materials:
        mark = "必要" if m.required else "容缺"
        copies = f" {m.copies} 份" if m.copies != 1 else ""
        logical.append(f"□ {m.name}（{mark}，{FORM_WORDS[m.form]}{copies}）")
    if not item.materials:
        logical.append("无需材料")
    logical += [f"办理时限：{item.promised_limit.words()}", f"收费：{item.fee.amount}",
                f"地点：{item.place}" + (f" {windows_words(item)}" if item.windows else ""),
                f"到现场：{visits_words(item)}"]
    if item.hours:
        logical.append(f"时间：{item.hours}")
    rows: list[str] = []
    for line in logical:
        rows += wrap(line, columns)
    return rows
