"""The county file's rules across fields and sites: one county centre, a tree of parents (村 → 镇 → 县, a
partner point under a town or the centre), codes and staff ids unique, zones where they belong, the weights
adding up to 1, and each site's items offered at its level in the catalogue.

Returned as (key path, message), so `parse_county` reports them at their lines like the model's own errors.
Staffing (enough people) is not a mistake in the file but a fact about the county: `county.staffing`.
"""

from __future__ import annotations

from collections import Counter as Tally
from typing import TYPE_CHECKING

from hall_bus.catalogue.model import Catalogue
from hall_bus.config import hint
from hall_bus.county.words import LEVEL_NAMES, PARTNER_NAMES

if TYPE_CHECKING:
    from hall_bus.county.sites import County, Site

Problem = tuple[tuple[str | int, ...], str]
WEIGHT_TOLERANCE = 1e-6
# Whose child each level may be: the 转办 route runs 村 → 镇 → 县, and a partner point reports to a town or the
# county centre (never to a village station, which has no one to spare for it).
PARENT_LEVELS: dict[str, tuple[str, ...]] = {"town": ("county",), "village": ("town",), "partner": ("town", "county")}
_PARENT_WORDS = {"town": "a town's parent is the county centre",
                 "village": "a village's parent is its town (镇)",
                 "partner": "a partner point's parent is the town (镇) or the county centre it reports to"}


def county_problems(county: County, catalogue: Catalogue | None) -> list[Problem]:
    """Every rule of the file the model alone cannot check; `catalogue` None skips the items."""
    problems = _code_problems(county) + _tree_problems(county) + _zone_problems(county)
    problems += _hub_problems(county) + _weight_problems(county)
    if catalogue is not None:
        problems += _item_problems(county, catalogue)
    return problems


def _code_problems(county: County) -> list[Problem]:
    """A site's code is its hall's site_code and begins its case numbers, and a staff id signs that person's
    work in every hall of the county: each must name one."""
    problems: list[Problem] = []
    first_site: dict[str, int] = {}
    first_staff: dict[str, str] = {}
    for idx, site in enumerate(county.sites):
        if site.code in first_site:
            problems.append((("sites", idx, "code"), f"duplicate site code {site.code!r} (also sites"
                             f"[{first_site[site.code]}]); a code is the site's hall site_code and begins its case "
                             "numbers, so it names one site"))
        first_site.setdefault(site.code, idx)
        for pos, member in enumerate(site.staff):
            if member.id in first_staff:
                problems.append((("sites", idx, "staff", pos, "id"), f"duplicate staff id {member.id!r} (also on "
                                 f"{first_staff[member.id]}'s roster); a person has one id in the county"))
            first_staff.setdefault(member.id, site.code)
    return problems


def _tree_problems(county: County) -> list[Problem]:
    problems: list[Problem] = []
    centres = [idx for idx, s in enumerate(county.sites) if s.level == "county"]
    if not centres:
        problems.append((("sites",), 'no site has level = "county": the county centre (县级中心) is the one every '
                         "town reports to and 转办 ends at; add it"))
    for idx in centres[1:]:
        first = county.sites[centres[0]]
        problems.append((("sites", idx, "level"), f"a second county-level site: {first.code!r} ({first.name}) is "
                         'the county centre already, and a county has one (a town\'s centre is level = "town")'))
    by_code = _first_by_code(county)
    for idx, site in enumerate(county.sites):
        problems += [(("sites", idx, *sub), msg) for sub, msg in _parent_problems(site, by_code)]
        if site.level == "partner" and site.partner_kind is None:
            kinds = ", ".join(f'"{k}" ({w})' for k, w in PARTNER_NAMES.items())
            problems.append((("sites", idx, "partner_kind"), f"missing partner_kind for a partner point: {kinds}"))
        elif site.level != "partner" and site.partner_kind is not None:
            problems.append((("sites", idx, "partner_kind"), 'partner_kind is for partner points (level = "partner"); '
                             "remove it"))
    problems += _cycle_problems(county, by_code)
    return problems


def _first_by_code(county: County) -> dict[str, Site]:
    """Sites by code in file order; a duplicated code (named above) stands for its first site."""
    by_code: dict[str, Site] = {}
    for site in county.sites:
        by_code.setdefault(site.code, site)
    return by_code


def _parent_problems(site: Site, by_code: dict[str, Site]) -> list[Problem]:
    if site.level == "county":
        return [] if site.parent is None else [(("parent",), "the county centre has no parent; remove parent")]
    if site.parent is None:
        centres = [s.code for s in by_code.values() if s.level == "county"]
        towns = [s.code for s in by_code.values() if s.level == "town"]
        known = {"town": centres, "village": towns, "partner": towns + centres}[site.level]
        return [(("parent",), f"missing parent: {_PARENT_WORDS[site.level]} (e.g. parent = \"{known[0]}\")"
                 if known else f"missing parent: {_PARENT_WORDS[site.level]}")]
    if site.parent == site.code:
        return [(("parent",), "a site cannot be its own parent")]
    parent = by_code.get(site.parent)
    if parent is None:
        return [(("parent",), f"no site {site.parent!r}{hint(site.parent, by_code)}")]
    if parent.level not in PARENT_LEVELS[site.level]:
        return [(("parent",), f"{_PARENT_WORDS[site.level]}; {parent.code!r} ({parent.name}) is a "
                 f"{LEVEL_NAMES[parent.level]} site (level = \"{parent.level}\")")]
    return []


def _cycle_problems(county: County, by_code: dict[str, Site]) -> list[Problem]:
    """Parents that lead back round (A's parent B, B's parent A): named once per loop, at its first site, since
    such a site has no way up to the county centre."""
    problems: list[Problem] = []
    reported: set[str] = set()
    index = {s.code: idx for idx, s in reversed(list(enumerate(county.sites)))}
    for site in county.sites:
        chain = [site.code]
        current = site
        while current.parent is not None and current.parent in by_code and current.parent != current.code:
            if current.parent in chain:
                loop = chain[chain.index(current.parent):]
                if not reported & set(loop):
                    reported.update(loop)
                    first = min(loop, key=index.__getitem__)
                    at = loop.index(first)
                    route = " → ".join([*loop[at:], *loop[:at], first])
                    problems.append((("sites", index[first], "parent"), f"the parents go round in a loop: {route}; "
                                     "every site's parents must lead up to the county centre"))
                break
            chain.append(current.parent)
            current = by_code[current.parent]
    return problems


def _zone_problems(county: County) -> list[Problem]:
    """专区 and 分区 are zones of the county centre's hall, and a person's `zone` is one of their site's."""
    problems: list[Problem] = []
    for idx, site in enumerate(county.sites):
        if site.zones and site.level != "county":
            problems.append((("sites", idx, "zones"), f"zones (专区, 分区) are the county centre's; a "
                             f"{LEVEL_NAMES[site.level]} site has none (remove them)"))
        seen = Tally(z.code for z in site.zones)
        specials = [z for z in site.zones if z.kind == "special"]
        for pos, zone in enumerate(site.zones):
            if seen[zone.code] > 1:
                problems.append((("sites", idx, "zones", pos, "code"), f"duplicate zone code {zone.code!r}"))
            if zone.kind == "special" and zone is not specials[0]:
                problems.append((("sites", idx, "zones", pos, "kind"), f"a second 专区: {specials[0].code!r} "
                                 f"({specials[0].name}) is the 帮办代办专区; make this one kind = \"sub\" (分区)"))
        codes = [z.code for z in site.zones]
        for pos, member in enumerate(site.staff):
            if member.zone is not None and member.zone not in codes:
                known = f" (zones here: {', '.join(codes)})" if codes else f"; {site.code} has no zones"
                problems.append((("sites", idx, "staff", pos, "zone"),
                                 f"unknown zone {member.zone!r}{hint(member.zone, codes)}{known}"))
    return problems


def _hub_problems(county: County) -> list[Problem]:
    """The hub's bus and its dashboard listen on one machine: the same port on the same address (or on 0.0.0.0,
    which takes every address) would stop the second from starting."""
    hub = county.hub
    bind_host = hub.bind.removeprefix("tcp://").rsplit(":", 1)[0].strip("[]")
    dash_host, dash_port = hub.dashboard_address
    if hub.bind_port == dash_port and (bind_host == dash_host or "0.0.0.0" in (bind_host, dash_host)):
        return [(("hub", "dashboard"), f"the dashboard's port {dash_port} is the hub's bind port too; give them "
                 "different ports (e.g. 8090 for the dashboard)")]
    return []


def _weight_problems(county: County) -> list[Problem]:
    weights = county.scorecard.weights
    total = weights.total()
    if abs(total - 1) <= WEIGHT_TOLERANCE:
        return []
    terms = " + ".join(f"{name} {getattr(weights, name):g}" for name in type(weights).model_fields)
    return [(("scorecard", "weights"), f"the weights add up to {total:g}, not 1: {terms} (keys left out keep "
             "their defaults); change them so they add up to 1")]


def _item_problems(county: County, catalogue: Catalogue) -> list[Problem]:
    """Each listed item exists, once, and the catalogue offers it at the site's level (a partner point at its
    parent's): an item the catalogue keeps to the county centre cannot be opened at a village station."""
    problems: list[Problem] = []
    by_code = _first_by_code(county)
    for idx, site in enumerate(county.sites):
        if site.items == "all":
            continue
        level: str = site.level
        if level == "partner":  # a partner offers its parent's level; a wrong parent is named above already
            parent = by_code.get(site.parent or "")
            level = parent.level if parent is not None and parent.level in ("town", "county") else ""
        seen: set[str] = set()
        for pos, code in enumerate(site.items):
            item = catalogue.by_code.get(code)
            at = ("sites", idx, "items", pos)
            if item is None:
                problems.append((at, f"no catalogue item {code!r}{hint(code, catalogue.by_code)}"))
            elif code in seen:
                problems.append((at, f"{code!r} is listed twice"))
            elif level and level not in item.levels:
                problems.append((at, f"{code!r} ({item.name}) is offered at {_levels(item.levels)} only, not at "
                                 f"{_where(site, level)}; remove it here, or add \"{level}\" to its levels in the "
                                 "catalogue"))
            seen.add(code)
    return problems


def _levels(levels: list[str]) -> str:
    return "/".join(LEVEL_NAMES[lv] for lv in levels) + " (levels = [" + ", ".join(f'"{lv}"' for lv in levels) + "])"


def _where(site: Site, level: str) -> str:
    if site.level == "partner":
        return f"a partner point under a {LEVEL_NAMES[level]} site (a partner offers its parent's level)"
    return f"a {LEVEL_NAMES[level]} site (level = \"{level}\")"
