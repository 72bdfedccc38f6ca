"""Words and columns both outputs share, and the one place personal data is masked on its way to paper.

Staff names (helpers, follow-up owners) are not masked: the 台账 exists to say who did what. Visitors' names and
contacts are, unless an admin asked for `--unmasked`, and so is free text: ID and phone numbers, addresses, and
the names the ledger ties to that case (a consultation's `name`, a delegation's `principal`) wherever they occur.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from devices.privacy import mask_address, mask_free_text, mask_name, mask_phone
from hall_bus.config import HallConfig
from hall_bus.reports.cases import Case

OUTCOMES = {"done": "办结", "materials_missing": "材料不全", "refused": "不予受理"}
STATUSES = {"no_show": "过号", "waiting": "未办结", "called": "未办结"}

# (title, width in characters); the order of case_row's values
CASE_COLUMNS: tuple[tuple[str, float], ...] = (
    ("日期", 11), ("号码", 7), ("事项", 10), ("帮办分组", 9), ("帮办员", 14), ("转交", 18), ("窗口", 6),
    ("取号", 9), ("认领", 9), ("叫号", 9), ("办结", 9), ("等候(分)", 8), ("结果", 11), ("缺少材料", 22),
    ("限时内", 6), ("评价", 9), ("回访", 10), ("备注", 24),
)


class Labels:
    """Config names for codes (group labels, window names), and masking as asked."""

    def __init__(self, cfg: HallConfig, *, masked: bool = True) -> None:
        self.masked = masked
        self.tz = cfg.hall.tz  # 办件 times (reports/casework.py) are written in the hall's local time
        self.group_labels = {code: rule.label for code, rule in cfg.groups.items()}
        self.group_order = list(cfg.groups)
        self.service_order = [s.name for s in cfg.services]
        self.extended_kinds = [s.kind for s in cfg.hours.extended]  # 延时/错时服务 the hall has, in its order

    def group(self, code: str) -> str:
        return self.group_labels.get(code, code)

    @staticmethod
    def window(number: int) -> str:
        return "上门办" if number == 0 else f"{number} 号窗口"

    def name(self, value: str) -> str:
        return mask_name(value) if self.masked and value else value

    def phone(self, value: str) -> str:
        return mask_phone(value) if self.masked and value else value

    def address(self, value: str) -> str:
        """A home visit's address: the county kept, the street and house hidden, as the bus carries it."""
        return mask_address(value) if self.masked and value else value

    def text(self, value: str, names: Iterable[str] = ()) -> str:
        """Free text (a question, a comment, a reason, a note): ID and phone numbers, the record's own visitors'
        `names` and addresses masked."""
        return mask_free_text(value, names) if self.masked and value else value

    def outcome(self, c: Case) -> str:
        if c.status == "finished":
            return OUTCOMES.get(c.outcome, c.outcome)
        return "未办结(过期)" if c.expired and c.status != "no_show" else STATUSES.get(c.status, c.status)

    def remark(self, c: Case) -> str:
        parts = []
        if c.appointment:
            parts.append("预约")
        if c.escalated:
            parts.append("帮办升级")
        if c.transfers:
            parts.append(f"转办{c.transfers}次")
        if c.outcome == "refused" and c.reason:
            parts.append(self.text(c.reason, c.names))
        if c.notices or c.outcome == "materials_missing":
            parts.append("一次性告知")
        if c.principal:
            parts.append(f"委托人 {self.name(c.principal)}")
        return "；".join(parts)

    def case_row(self, c: Case) -> list[Any]:
        """One 台账 row; numbers stay numbers (the wait), absent values are None."""
        on_time = "" if c.on_time is None else "是" if c.on_time else "否"
        window: int | str = "" if c.counter is None else c.counter
        if c.counter is None and c.status == "finished":
            window = "上门"
        return [
            c.day, c.number, c.service, self.group(c.group), "、".join(c.helpers), "；".join(c.handovers), window,
            c.issued, c.claimed, c.called, c.finished,
            None if c.wait_s is None else round(c.wait_s / 60, 1), self.outcome(c),
            "、".join([self.text(m, c.names) for m in c.materials]) if c.materials else "", on_time, c.rating,
            c.followup, self.remark(c),
        ]
