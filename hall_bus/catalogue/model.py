"""One catalogue item (事项) and its guide (办事指南), after the national exchange's names for 办事指南 records,
so that reporting upward is a mapping: 事项名称 and 实施编码, 设定依据, 受理条件, 申请材料, 法定/承诺时限, 收费,
办理地点 and hours, 到现场次数, the 可预约/可代办/可上门 flags, and the levels (县/镇/村) that offer it.

Why time limits are their own type: a case's due date (按时办结) is counted from them in working days on the hall's
calendar, and 即办 ("concluded the same day") is a different rule, not "0 days".
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Level = Literal["county", "town", "village"]  # 县 / 镇 / 村 (a partner point offers its parent town's or county's)


class TimeLimit(_Strict):
    """法定时限 or 承诺时限: 即办 (the same day) or so many working days."""

    immediate: bool = False  # 即办
    working_days: int = Field(default=0, ge=0, le=365)

    def words(self) -> str:
        return "即办" if self.immediate else f"{self.working_days} 个工作日"


class Material(_Strict):
    """申请材料: one document the applicant brings."""

    name: str = Field(min_length=1)
    required: bool = True  # 必要; False = 容缺 (may follow later: the case is accepted and 补正 asks for it)
    form: Literal["original", "copy", "original_and_copy", "electronic"] = "original"
    copies: int = Field(default=1, ge=0, le=20)
    pages: int | None = Field(default=None, ge=1, le=500)
    blank_form: str | None = None  # file name of the blank form (空白表格)
    sample: str | None = None  # file name of the filled-in sample (示范文本)
    note: str = ""


class Fee(_Strict):
    """收费: none, or an amount with its legal basis."""

    amount: str = "不收费"  # words as the guide prints them: "不收费", "每件 80 元"
    basis: str = ""


class Step(_Strict):
    """A department's part of a 重大事项 (several departments' steps), each with its own due date."""

    department: str = Field(min_length=1)
    name: str = Field(min_length=1)  # process_name in the exchange tables
    working_days: int = Field(ge=0, le=365)


class Item(_Strict):
    code: Annotated[str, Field(pattern=r"^[0-9A-Za-z-]{4,40}$")]  # 实施编码
    name: str = Field(min_length=1)  # 事项名称
    name_en: str = ""
    department: str = Field(min_length=1)  # 实施主体
    service: str = Field(min_length=1)  # the hall's queue service whose windows handle it (a [[services]] name)
    basis: str = ""  # 设定依据
    conditions: str = ""  # 受理条件
    materials: list[Material] = Field(default_factory=list)
    legal_limit: TimeLimit  # 法定时限
    promised_limit: TimeLimit  # 承诺时限 (never longer than the legal one)
    fee: Fee = Fee()
    place: str = ""  # 办理地点
    windows: list[int] = Field(default_factory=list)  # counter numbers in the example hall; [] = the service's
    hours: str = ""  # 办理时间
    visits: int = Field(default=1, ge=0, le=5)  # 到现场次数 (0 = 全程网办)
    bookable: bool = False  # 可预约
    delegable: bool = False  # 可代办
    home_visit: bool = False  # 可上门
    levels: list[Level] = Field(default_factory=lambda: ["county"])
    major: bool = False  # 重大事项: handled by several departments in `steps`
    steps: list[Step] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)  # words people use for it (search)

    @property
    def kind(self) -> Literal["immediate", "promised", "major"]:
        """即办件, 承诺件 or 重大事项: decides how a case of this item is tracked and when it is due."""
        if self.major:
            return "major"
        return "immediate" if self.promised_limit.immediate else "promised"


class Bundle(_Strict):
    """一件事: several items done together, with one merged materials list (a document asked by two items is
    brought once)."""

    code: Annotated[str, Field(pattern=r"^[0-9A-Za-z-]{2,40}$")]
    name: str = Field(min_length=1)
    items: list[str] = Field(min_length=2)  # item codes
    life_event: str = ""  # 出生, 入学, 退休, 开办企业 … (browse by life event)


class Catalogue(_Strict):
    county: str = Field(min_length=1)
    items: list[Item] = Field(min_length=1)
    bundles: list[Bundle] = Field(default_factory=list)

    @cached_property
    def by_code(self) -> dict[str, Item]:
        return {i.code: i for i in self.items}

    def item(self, code: str) -> Item:
        """The item with that 实施编码; KeyError names it."""
        try:
            return self.by_code[code]
        except KeyError:
            raise KeyError(f"no catalogue item {code!r}") from None

    def bundle_materials(self, bundle: Bundle) -> list[Material]:
        """The bundle's materials, each once (by name), in the order the items first ask for them; a document
        required by any item is required."""
        merged: dict[str, Material] = {}
        for code in bundle.items:
            for m in self.by_code[code].materials:
                seen = merged.get(m.name)
                merged[m.name] = m if seen is None else seen.model_copy(update={"required": seen.required
                                                                                or m.required})
        return list(merged.values())
