"""The staffing rules of the seed counties, checked against the county file's rosters: the 帮办代办专区 has at
least `special_zone_min` 专职帮办员, each 分区 at least `sub_zone_min` 帮办员, each 镇/村 site at least
`station_min` 专职 staff, a site that gives `windows` at least `window_min` people per window, and the county
centre a 督办员 to take the 转办 cases nobody accepted in time.

Pure: the county in, the shortfalls out. A shortfall is not a mistake in the file (the file says truly who works
where), so `hallctl county check` prints them as findings, and the 考核 reports can carry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hall_bus.county.sites import County, Site, SiteZone
from hall_bus.county.words import LEVEL_NAMES, SITE_KINDS

Rule = Literal["special_zone", "sub_zone", "window", "station", "supervisor"]


@dataclass(frozen=True)
class StaffingProblem:
    """One shortfall: at `site` (its code), `rule` wants `need` people and the roster has `have`."""

    site: str
    rule: Rule
    need: int
    have: int
    words_zh: str  # 「专区 帮办代办专区 专职帮办员 2 人，少于 3 人」
    words_en: str  # "special zone 帮办代办专区: 2 full-time helpers, fewer than 3"
    zone: str | None = None  # the zone's code, for the zone rules

    def line(self) -> str:
        return f"{self.site}: {self.words_zh} ({self.words_en})"


def staffing_problems(county: County) -> list[StaffingProblem]:
    """Every shortfall, site by site in file order."""
    rules = county.staffing
    problems: list[StaffingProblem] = []
    for site in county.sites:
        if site.level == "county":
            problems += _centre_problems(county, site)
        if site.level in ("town", "village"):
            have = sum(m.full_time for m in site.staff)
            if have < rules.station_min:
                where = f"{LEVEL_NAMES[site.level]} {site.name}"
                problems.append(StaffingProblem(
                    site.code, "station", rules.station_min, have, f"{where} 专职人员 {have} 人，少于 "
                    f"{rules.station_min} 人", f"{site.level} {site.name}: {have} full-time staff, fewer than "
                    f"{rules.station_min}"))
        if site.windows is not None:
            need = site.windows * rules.window_min
            have = sum(m.role in ("helper", "clerk") for m in site.staff)
            if have < need:
                problems.append(StaffingProblem(
                    site.code, "window", need, have, f"{site.name} {site.windows} 个窗口 帮办员和窗口人员 {have} "
                    f"人，少于 {need} 人", f"{site.name}, {site.windows} windows: {have} helpers and clerks, fewer "
                    f"than {need}"))
    return problems


def _centre_problems(county: County, site: Site) -> list[StaffingProblem]:
    rules = county.staffing
    problems: list[StaffingProblem] = []
    special = next((z for z in site.zones if z.kind == "special"), None)
    if special is None and rules.special_zone_min > 0:
        problems.append(StaffingProblem(
            site.code, "special_zone", rules.special_zone_min, 0,
            f"{SITE_KINDS['county']} 未设帮办代办专区（专职帮办员 0 人，少于 {rules.special_zone_min} 人）",
            f"no special zone (专区) at the county centre: 0 full-time helpers, fewer than {rules.special_zone_min}"))
    for zone in site.zones:
        if zone.kind == "special":
            have = _helpers(site, zone, full_time_only=True)
            if have < rules.special_zone_min:
                problems.append(StaffingProblem(
                    site.code, "special_zone", rules.special_zone_min, have,
                    f"专区 {zone.name} 专职帮办员 {have} 人，少于 {rules.special_zone_min} 人",
                    f"special zone {zone.name}: {_count(have, 'full-time helper')}, fewer than "
                    f"{rules.special_zone_min}", zone.code))
        else:
            have = _helpers(site, zone, full_time_only=False)
            if have < rules.sub_zone_min:
                problems.append(StaffingProblem(
                    site.code, "sub_zone", rules.sub_zone_min, have,
                    f"分区 {zone.name} 帮办员 {have} 人，少于 {rules.sub_zone_min} 人",
                    f"sub zone {zone.name}: {_count(have, 'helper')}, fewer than {rules.sub_zone_min}", zone.code))
    supervisors = sum(m.role == "supervisor" for m in site.staff)
    if supervisors < 1:
        problems.append(StaffingProblem(
            site.code, "supervisor", 1, 0, f"{SITE_KINDS['county']} 督办员 0 人，少于 1 人（转办超时无人督办）",
            "county centre: no supervisor (督办员) to take the 转办 cases not accepted in time"))
    return problems


def _helpers(site: Site, zone: SiteZone, *, full_time_only: bool) -> int:
    return sum(m.role == "helper" and m.zone == zone.code and (m.full_time or not full_time_only)
               for m in site.staff)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
