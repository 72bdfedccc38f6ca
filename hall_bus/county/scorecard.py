"""The quarterly 考核 scorecard: windows, helpers, towns and partner points ranked by a weighted score, with
the previous quarter beside each — the figures of the county report (report.py), scored.

The rules, as the 通报 states them:

- Each component is the unit's own rate over the quarter, ×100, so 0–100 and comparable from one quarter to
  the next (a rank against the best of the quarter would move when someone else improves):
  按时办结率 (on_time), 满意率 (satisfaction), 投诉及时处理率 (complaints), 转办及时率 (handover: hand-overs
  sent to it answered by the accept-by time) and 整改及时率 (followups: follow-ups closed by their due time).
- A component with nothing to measure (a partner point nobody rated, a window without complaints) is 无数据,
  not 0 and not 100: the unit is neither punished nor rewarded for it. Its weight is shared among the unit's
  other components in proportion to their own weights — the total is the weighted mean of the components that
  have data: Σ wᵢ·cᵢ / Σ wᵢ over those. A unit with no data at all has no score and no rank (listed last).
  Windows and helpers never receive hand-overs (a site does), so theirs is always over the other four.
- Rank: by total, highest first; equal totals (to 0.01) share a rank and the next rank skips (1, 2, 2, 4).
  The top `MARK` and the bottom `MARK` ranks are marked (前列, 末位), at most a third of the ranked units each.
- Beside each: last quarter's total and rank, and the change (↑2: two places up).
- Towns are ranked twice: the town with its villages (all their events added together, then rated) and the
  town's own centre alone. Partner points are ranked on their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from hall_bus.county.report import CountyFigures, Tally, county_figures
from hall_bus.county.sites import County, Weights
from hall_bus.county.words import WEIGHT_NAMES
from hall_bus.errors import UserError

COMPONENTS: tuple[str, ...] = ("on_time", "satisfaction", "complaints", "handover", "followups")
RATE_OF: dict[str, str] = {"on_time": "on_time_rate", "satisfaction": "satisfaction_rate",
                           "complaints": "complaint_rate", "handover": "handover_rate", "followups": "followup_rate"}
NO_DATA = "无数据"
MARK = 3
TIE = 0.005  # totals closer than this share a rank (they print the same to two decimals)


@dataclass(frozen=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        found = re.fullmatch(r"\s*(\d{4})\s*[Qq]\s*([1-4])\s*", text)
        if found is None or not 2000 <= int(found.group(1)) <= 2999:
            raise UserError(f"--quarter {text!r}: not a quarter; write YEAR and Q1 to Q4, e.g. 2026Q4")
        return cls(int(found.group(1)), int(found.group(2)))

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> date:
        after = date(self.year + 1, 1, 1) if self.q == 4 else date(self.year, 3 * self.q + 1, 1)
        return after - timedelta(days=1)

    @property
    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.q == 1 else Quarter(self.year, self.q - 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def words(self) -> str:
        return f"{self.year}年第{'一二三四'[self.q - 1]}季度"


def components_of(t: Tally, applicable: Iterable[str] = COMPONENTS) -> dict[str, float | None]:
    """Each component 0–100, or None (无数据)."""
    out: dict[str, float | None] = {}
    for name in COMPONENTS:
        rate = getattr(t, RATE_OF[name]) if name in applicable else None
        out[name] = None if rate is None else round(rate * 100, 2)
    return out


def weighted_total(components: dict[str, float | None], weights: Weights) -> float | None:
    """Σ wᵢ·cᵢ / Σ wᵢ over the components with data (a 无数据 component's weight goes to the others in
    proportion to theirs); None when no weighted component has data."""
    have = [(getattr(weights, name), value) for name, value in components.items() if value is not None]
    total_weight = sum(w for w, _ in have)
    if total_weight <= 0:
        return None
    return round(sum(w * v for w, v in have) / total_weight, 2)


@dataclass
class Score:
    key: Any
    label: str
    where: str  # the site (for a window or a person) or the parent (for a town or partner)
    components: dict[str, float | None]
    total: float | None
    rank: int | None = None
    mark: str = ""  # 前列 / 末位
    prev_total: float | None = None
    prev_rank: int | None = None

    @property
    def change(self) -> str:
        if self.rank is None:
            return ""
        if self.prev_rank is None:
            return "新"
        moved = self.prev_rank - self.rank
        return "—" if moved == 0 else f"↑{moved}" if moved > 0 else f"↓{-moved}"


@dataclass
class Ranking:
    title: str
    unit: str  # the column title of what is ranked
    where: str  # the column title of `Score.where`
    scores: list[Score]
    applicable: tuple[str, ...] = COMPONENTS


@dataclass
class ScorecardResult:
    quarter: Quarter
    county_name: str
    weights: Weights
    rankings: list[Ranking] = field(default_factory=list)
    figures: CountyFigures | None = None
    previous_figures: CountyFigures | None = None


def rank(scores: list[Score]) -> list[Score]:
    """Order by total (highest first), competition ranks with ties, marks at both ends; unscored last."""
    scored = sorted((s for s in scores if s.total is not None), key=lambda s: (-(s.total or 0), str(s.key)))
    previous: float | None = None
    for i, s in enumerate(scored, 1):
        assert s.total is not None
        s.rank = scored[i - 2].rank if previous is not None and abs(previous - s.total) < TIE else i
        previous = s.total
    marks = min(MARK, len(scored) // 3)
    if marks and scored[0].rank != scored[-1].rank:
        top_cut, bottom_cut = scored[marks - 1].rank or 0, scored[-marks].rank or 0
        for s in scored:
            if (s.rank or 0) <= top_cut:
                s.mark = "前列"
            elif (s.rank or 0) >= bottom_cut:
                s.mark = "末位"
    unscored = sorted((s for s in scores if s.total is None), key=lambda s: str(s.key))
    return scored + unscored


# ---------------------------------------------------------------------- the units


Units = Callable[[CountyFigures], dict[Any, tuple[str, str, Tally]]]


def _windows(fig: CountyFigures) -> dict[Any, tuple[str, str, Tally]]:
    return {key: (f"{fig.site_names.get(key[0], key[0])} {key[1]} 号窗口", key[0], t)
            for key, t in fig.windows.items()}


def _helpers(fig: CountyFigures) -> dict[Any, tuple[str, str, Tally]]:
    return {key: (fig.person_label(key[1]), fig.site_names.get(key[0], key[0]), t)
            for key, t in fig.persons.items()}


def _sites_of(level: str, with_children: bool) -> Units:
    def units(fig: CountyFigures) -> dict[Any, tuple[str, str, Tally]]:
        out: dict[Any, tuple[str, str, Tally]] = {}
        for code, lv in fig.site_levels.items():
            if lv != level:
                continue
            t = Tally()
            t.merge(fig.sites.get(code, Tally()))
            if with_children:
                for child, parent in fig.site_parents.items():
                    if parent == code and fig.site_levels.get(child) == "village":
                        t.merge(fig.sites.get(child, Tally()))
            parent = fig.site_parents.get(code)
            out[code] = (fig.site_names.get(code, code), fig.site_names.get(parent, parent or "") if parent else "",
                         t)
        return out
    return units


SITE_ONLY = ("on_time", "satisfaction", "complaints", "followups")  # a window or a person receives no hand-over
RANKINGS: tuple[tuple[str, str, str, Units, tuple[str, ...]], ...] = (
    ("窗口", "窗口", "站点", _windows, SITE_ONLY),
    ("帮办代办人员", "人员", "站点", _helpers, SITE_ONLY),
    ("乡镇（含所辖村）", "乡镇", "上级", _sites_of("town", True), COMPONENTS),
    ("乡镇便民服务中心（本级）", "乡镇", "上级", _sites_of("town", False), COMPONENTS),
    ("合作代办点", "合作点", "上级", _sites_of("partner", False), COMPONENTS),
)


def score_units(fig: CountyFigures, prev: CountyFigures | None, weights: Weights) -> list[Ranking]:
    out = []
    for title, unit, where, units, applicable in RANKINGS:
        def scored(f: CountyFigures, units: Units = units, applicable: tuple[str, ...] = applicable) -> list[Score]:
            rows = []
            for key, (label, place, t) in units(f).items():
                comps = components_of(t, applicable)
                rows.append(Score(key, label, place, comps, weighted_total(comps, weights)))
            return rank(rows)

        now = scored(fig)
        if prev is not None:
            before = {s.key: s for s in scored(prev)}
            for s in now:
                if (p := before.get(s.key)) is not None:
                    s.prev_total, s.prev_rank = p.total, p.rank
        out.append(Ranking(title, unit, where, now, applicable))
    return out


def scorecard(conn: psycopg.Connection[Any], county: County, quarter: Quarter, *,
              weights: Weights | None = None) -> ScorecardResult:
    """The quarter's rankings with last quarter's beside them (both read from the county ledger)."""
    w = weights or county.scorecard.weights
    fig = county_figures(conn, county, quarter.start, quarter.end)
    prev_q = quarter.previous
    prev = county_figures(conn, county, prev_q.start, prev_q.end)
    result = ScorecardResult(quarter, county.county.name, w, figures=fig, previous_figures=prev)
    result.rankings = score_units(fig, prev, w)
    return result


def weights_line(w: Weights) -> str:
    return "，".join(f"{WEIGHT_NAMES[name]} {getattr(w, name):g}" for name in COMPONENTS)


RULE_TEXT = ("评分办法：各项得分为本季度该项比率×100（0–100）：按时办结率、满意率、投诉及时处理率、转办及时率"
             "（转入本单位的转办件在时限内接收或退回的比例）、整改及时率（回访整改件按期办结的比例）。某项本季度"
             "无可计之数时记为“无数据”，不计 0 分也不计满分，其权重按其余各项权重的比例分摊，即总分＝有数据各项的"
             "加权平均。窗口与人员不承接转办，其总分按其余四项计算。总分相同（两位小数）者并列，其后名次顺延。"
             "前列、末位各标注至多 3 名（不超过参评单位的三分之一）。")


def build_scorecard(dsn: str, county: County | str | Path, quarter: Quarter | str, outs: Sequence[str | Path], *,
                    weights: Weights | None = None) -> dict[str, Any]:
    """Check the outputs, score the quarter and the one before, write each output atomically."""
    import time

    from hall_bus.county.output import check_outputs, connect, database_errors, write_atomically
    from hall_bus.county.sites import load_county

    model = county if isinstance(county, County) else load_county(county)
    q = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    paths = [Path(o) for o in outs]
    check_outputs(paths)
    began = time.perf_counter()
    with connect(dsn) as conn, database_errors():
        result = scorecard(conn, model, q, weights=weights)
    made = datetime.now(ZoneInfo(model.county.timezone)).strftime("%Y-%m-%d %H:%M")

    def write(out: Path, temp: Path) -> None:
        if out.suffix.lower() == ".xlsx":
            from hall_bus.county.scorecard_xlsx import write_scorecard_xlsx

            write_scorecard_xlsx(temp, result, made)
        else:
            from hall_bus.county.scorecard_pdf import write_scorecard_pdf

            write_scorecard_pdf(temp, result, made)

    write_atomically(paths, write)
    return {"seconds": round(time.perf_counter() - began, 3), "outs": [str(p) for p in paths], "result": result}
