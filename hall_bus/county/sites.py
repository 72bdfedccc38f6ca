"""The county file: every site of the county network (县级中心, 镇 便民服务中心, 村 便民服务站, 合作点), who its
parent is, what it offers from the catalogue and who works there; plus the hub's settings, the 考核 weights
and the staffing minima.

It is hand-written like the hall file and read as strictly: every wrong key or value is one line
`FILE:LINE: key.path: what is wrong`, all of them at once, because the person fixing it edits TOML, not Python.
The hub (`hallctl hub serve --county FILE`), `hallctl county check` and the reports read it through
`load_county`.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, PlainValidator, ValidationError

from hall_bus.catalogue.load import _toml, load_catalogue
from hall_bus.catalogue.model import Catalogue, Level
from hall_bus.config import (
    _bind_address,
    _Strict,
    _too_deep,
    format_path,
    hint,
    known_zone,
    read_utf8,
    refusal_lines,
)
from hall_bus.county.checks import Problem, county_problems
from hall_bus.county.words import CODE_FOR_WORD, PartnerKind, SiteLevel, StaffRole, ZoneKind
from hall_bus.domain.commands import StaffId
from hall_bus.errors import ConfigError
from hall_bus.toml_locate import line_for, locate_keys

SITE_CODE = r"^[0-9A-Za-z]{2,12}$"  # the same as a hall's [hall] site_code: it begins the site's case numbers
SiteCode = Annotated[str, Field(pattern=SITE_CODE)]


def _tcp_bind(value: str) -> str:
    """tcp://IP:PORT on an interface of the hub's machine (0.0.0.0 for all): an endpoint the hub can bind, so a
    host name or a typo is named here, not as ZeroMQ's puzzling error when the hub starts."""
    example = "e.g. tcp://127.0.0.1:5590, or tcp://0.0.0.0:5590 to take the towns' and villages' connections"
    found = re.fullmatch(r"tcp://(.+):([0-9]{1,5})", value)
    if found is None:
        raise ValueError(f"{value!r} is not tcp://IP:PORT ({example})")
    try:
        _bind_address(found.group(1).strip("[]"))
    except ValueError:
        raise ValueError(f"{found.group(1)!r} is not an IP address; the hub binds tcp://IP:PORT "
                         f"({example})") from None
    _port(found.group(2))
    return value


def _host_port(value: str) -> str:
    """IP:PORT for the dashboard's web server, checked like the hub's bind."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not IP:PORT (e.g. 127.0.0.1:8090)")
    _bind_address(host.strip("[]"))
    _port(port)
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"port {text!r} is not a number from 1 to 65535")
    return int(text)


def _items_spec(value: Any) -> list[str] | str:
    """`items` is the word "all" or a list of item codes; anything else is one clear line (a plain union would
    give pydantic's two puzzling lines, one per alternative)."""
    if value == "all":
        return "all"
    if isinstance(value, list) and all(isinstance(code, str) and code.strip() for code in value):
        return list(value)
    raise ValueError('write items = "all" (every catalogue item of this level) or a list of item codes, '
                     'e.g. items = ["GF-379901-MZJ-001", "GG-379901-YBJ-001"]')


ItemsSpec = Annotated[list[str] | str, PlainValidator(_items_spec)]


class CountyInfo(_Strict):
    """[county]: who the county is, and its catalogue (事项目录), which every site's `items` refer to."""

    code: SiteCode
    name: str = Field(min_length=1)
    timezone: Annotated[str, AfterValidator(known_zone)] = "Asia/Shanghai"
    catalogue: str = Field(min_length=1)  # a file relative to the county file


class HubSettings(_Strict):
    """[hub]: where the county hub listens, and the hours after which it raises a hand."""

    bind: Annotated[str, AfterValidator(_tcp_bind)] = "tcp://127.0.0.1:5590"
    dashboard: Annotated[str, AfterValidator(_host_port)] = "127.0.0.1:8090"
    # A 转办 case not accepted by the receiving site within this goes to the county's 服务督办员.
    handover_accept_hours: float = Field(default=24, gt=0, le=24 * 30, allow_inf_nan=False)
    silent_hours: float = Field(default=24, gt=0, le=24 * 30, allow_inf_nan=False)  # a site silent this long
    batch_max: int = Field(default=500, ge=1, le=100_000)  # events per batch a site ships

    @property
    def bind_port(self) -> int:
        return int(self.bind.rsplit(":", 1)[1])

    @property
    def dashboard_address(self) -> tuple[str, int]:
        """(host, port) for the dashboard's web server."""
        host, _, port = self.dashboard.rpartition(":")
        return host.strip("[]"), int(port)


_Weight = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Weights(_Strict):
    """The 考核 scorecard's weights (together 1): 按时办结率, 满意率, 投诉处理, 转办及时, 整改."""

    on_time: _Weight = 0.4
    satisfaction: _Weight = 0.3
    complaints: _Weight = 0.1
    handover: _Weight = 0.1
    followups: _Weight = 0.1

    def total(self) -> float:
        return sum(getattr(self, name) for name in type(self).model_fields)


class Scorecard(_Strict):
    """[scorecard]: the quarterly 考核 per window, helper, town and partner point; [scorecard.weights] for now."""

    weights: Weights = Weights()


class Staffing(_Strict):
    """[staffing]: the minima the rosters are checked against (defaults from the seed counties' rules)."""

    special_zone_min: int = Field(default=3, ge=0, le=100)  # 专区: full-time helpers (专职帮办员)
    sub_zone_min: int = Field(default=2, ge=0, le=100)  # each 分区: helpers (帮办员)
    window_min: int = Field(default=1, ge=0, le=20)  # each window of a site that gives `windows`
    station_min: int = Field(default=1, ge=0, le=100)  # each 镇/村 site: full-time staff (专职)


class SiteZone(_Strict):
    """A zone of the county centre's hall: its 帮办代办专区 (special) or a 分区 (sub)."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
    name: str = Field(min_length=1)
    kind: ZoneKind


class StaffMember(_Strict):
    """One person on a site's roster. `id` is their staff id on the hall's roster too (unique in the county)."""

    id: StaffId
    name: str = Field(min_length=1)
    role: StaffRole
    full_time: bool  # 专职 (true) or 兼职 (false): the staffing rules count 专职
    zone: str | None = None  # one of the site's zones


class Site(_Strict):
    """One place where people are served: the county centre, a town's centre, a village's station or a partner
    point. Its `code` is its hall's [hall] site_code, so its case numbers say where they were opened."""

    code: SiteCode
    name: str = Field(min_length=1)
    level: SiteLevel
    parent: str | None = None
    partner_kind: PartnerKind | None = None
    items: ItemsSpec = Field(default_factory=list)
    address: str = ""
    zones: list[SiteZone] = Field(default_factory=list)
    windows: int | None = Field(default=None, ge=1, le=500)
    staff: list[StaffMember] = Field(default_factory=list)


class County(_Strict):
    county: CountyInfo
    hub: HubSettings = HubSettings()
    scorecard: Scorecard = Scorecard()
    staffing: Staffing = Staffing()
    sites: list[Site] = Field(min_length=1)
    # Loaded from `county.catalogue` by load_county (never written in the county file); None for text alone.
    catalogue: Catalogue | None = Field(default=None, exclude=True)

    @cached_property
    def sites_by_code(self) -> dict[str, Site]:
        return {s.code: s for s in self.sites}

    @cached_property
    def staff_by_id(self) -> dict[str, tuple[Site, StaffMember]]:
        return {m.id: (s, m) for s in self.sites for m in s.staff}

    @property
    def centre(self) -> Site:
        """The county-level site (县级中心): 转办 ends here and its 督办员 take escalations."""
        return next(s for s in self.sites if s.level == "county")

    def site(self, code: str) -> Site:
        """The site with that code; KeyError names it and the nearest code."""
        try:
            return self.sites_by_code[code]
        except KeyError:
            raise KeyError(f"no site {code!r} in the county{hint(code, self.sites_by_code)}") from None

    def children(self, code: str) -> list[Site]:
        """The sites whose parent is `code`, in file order."""
        self.site(code)
        return [s for s in self.sites if s.parent == code]

    def ancestors(self, code: str) -> list[Site]:
        """The sites above `code`, nearest first: a village's town, then the county centre."""
        up: list[Site] = []
        site = self.site(code)
        while site.parent is not None and len(up) < len(self.sites):
            site = self.site(site.parent)
            up.append(site)
        return up

    def path_up(self, from_code: str, to_code: str) -> list[Site]:
        """The 转办 route from a site up to one above it, both ends included (村 → 镇 → 县); ValueError when
        `to_code` is not `from_code` or above it."""
        route = [self.site(from_code), *self.ancestors(from_code)]
        codes = [s.code for s in route]
        if to_code not in codes:
            self.site(to_code)
            raise ValueError(f"{to_code!r} is not above {from_code!r} (above it: {', '.join(codes[1:]) or 'none'})")
        return route[: codes.index(to_code) + 1]

    def catalogue_level(self, code: str) -> Level:
        """The catalogue level whose items a site may offer: its own; a partner point's is its parent's (a bank
        branch or post office serves as an outpost of the town or county centre it reports to)."""
        site = self.site(code)
        if site.level == "partner":
            return self.catalogue_level(site.parent) if site.parent else "county"
        return site.level

    def items_at(self, code: str) -> list[str]:
        """The item codes a site offers: its list, or for "all" every catalogue item of its level in catalogue
        order. "all" needs the catalogue (load_county, or parse_county with `base`)."""
        site = self.site(code)
        if site.items != "all":
            return list(site.items)
        if self.catalogue is None:
            raise ValueError(f"site {code!r} offers \"all\" items; load the county with its catalogue to list them")
        level = self.catalogue_level(code)
        return [i.code for i in self.catalogue.items if level in i.levels]


_MODELS: tuple[type[BaseModel], ...] = (County, CountyInfo, HubSettings, Scorecard, Weights, Staffing, Site,
                                        SiteZone, StaffMember)
_MISSING_HINTS = {
    "full_time": " (full_time = true for 专职, false for 兼职)",
    "catalogue": " (the catalogue file beside this one, e.g. catalogue = \"catalogue.example.toml\")",
    "level": ' (level = "county", "town", "village" or "partner")',
}


def _describe(error: dict[str, Any]) -> str:
    kind, loc = error["type"], error["loc"]
    key = str(loc[-1]) if loc else ""
    if kind == "missing":
        return "missing required key" + _MISSING_HINTS.get(key, "")
    if kind == "extra_forbidden":
        return "unknown key" + hint(key, {f for m in _MODELS for f in m.model_fields})
    if kind == "string_pattern_mismatch" and key == "code" and "zones" in loc:
        return f"{error['input']!r} is not a zone code: lower-case letters, digits, '-' and '_' (e.g. \"zhuanqu\")"
    if kind == "string_pattern_mismatch" and key == "code":
        return (f"{error['input']!r} is not a site code: 2–12 letters and digits (it is the site's hall site_code "
                "and begins its case numbers, e.g. PAT01 → PAT01-20261203-0007)")
    if kind == "string_pattern_mismatch" and key == "id":
        return f"{error['input']!r} is not a staff id: no spaces (e.g. \"PAT01-02\")"
    if kind.startswith("bool") and key == "full_time":
        return f"{error['input']!r} is not true or false: full_time = true for 专职, false for 兼职"
    if kind == "literal_error":
        word = CODE_FOR_WORD.get(str(error["input"]))
        then = f" (for {error['input']} write {word!r})" if word else ""
        return f"{error['msg'].lower()}, got {error['input']!r}{then}"
    return str(error["msg"]).replace("Value error, ", "")


def load_county(path: str | Path) -> County:
    """The county file at `path`, with its catalogue (relative to it) loaded and every site's items checked."""
    p = Path(path)
    return parse_county(read_utf8(p, "county"), str(p), base=p.parent)


def parse_county(text: str, source: str = "<county>", base: Path | None = None) -> County:
    """Validate county TOML text; ConfigError with one line per problem, all at once.

    With `base` (the county file's folder) the catalogue that `[county] catalogue` names is loaded from there
    and each site's items are checked against it; without it (text alone) the items are taken as written and
    `catalogue` stays None."""
    text = text.removeprefix("\ufeff")  # Notepad's UTF-8 byte-order mark
    deep = _too_deep(text)
    if deep is not None:
        raise ConfigError(f"{source}:{deep[0]}: {deep[1].replace('a hall file', 'a county file')}")
    data = _toml(text, source, "county file")
    locations = locate_keys(text)

    def where(path: tuple[str | int, ...]) -> str:
        line = _element_line(text, locations, path) or line_for(locations, path)
        return f"{source}:{line}" if line else source

    if "catalogue" in data:  # County.catalogue is loaded, never written: one county's list is a file of its own
        lines = [line for path, line in locations.items() if path and path[0] == "catalogue"]
        at = f"{source}:{min(lines)}" if lines else source
        raise ConfigError(f"{at}: catalogue: the 事项目录 is a file of its own; name it in [county] "
                          "(catalogue = \"catalogue.toml\")")
    try:
        county = County.model_validate(data)
    except ValidationError as exc:
        lines = refusal_lines(exc, where, _describe)
        raise ConfigError(lines[0], lines=lines) from None
    catalogue, catalogue_lines = None, []
    if base is not None:
        try:
            catalogue = _catalogue(county, base, where(("county", "catalogue")))
        except ConfigError as exc:
            catalogue_lines = exc.lines
    problems: list[Problem] = county_problems(county, catalogue)
    placed = sorted(((_line(where(path)), f"{where(path)}: {format_path(path)}: {msg}") for path, msg in problems),
                    key=lambda pair: pair[0])  # top to bottom, as the file is read and fixed
    lines = [line for _, line in placed] + catalogue_lines
    if lines:
        raise ConfigError(lines[0], lines=lines)
    return county.model_copy(update={"catalogue": catalogue})


def _line(where: str) -> int:
    """The line number in `FILE:LINE` (0 when the problem has no line)."""
    number = where.rpartition(":")[2]
    return int(number) if number.isdigit() else 0


_ARRAY_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|#|\]')


def _element_line(text: str, locations: dict[Any, int], path: tuple[str | int, ...]) -> int | None:
    """The line of one string in a list written over several lines (`items = [` with a code per line), which
    toml_locate places only at the list's first line: count the strings from there."""
    if len(path) < 2 or not isinstance(path[-1], int) or path in locations or path[:-1] not in locations:
        return None  # not an element, or a [[table]] placed already
    start, pos, seen = locations[path[:-1]], path[-1], 0
    lines = text.splitlines()
    for lineno in range(start, len(lines) + 1):
        line = lines[lineno - 1]
        if lineno == start:
            line = line.partition("=")[2]
        for token in _ARRAY_TOKENS.finditer(line):
            if token.group() == "#":
                break
            if token.group() == "]":
                return None
            if seen == pos:
                return lineno
            seen += 1
    return None


def _catalogue(county: County, base: Path, at: str) -> Catalogue:
    """The county's catalogue; its own mistakes are named at its own lines, a missing file or another county's
    catalogue at the county file's `catalogue` line."""
    path = base / county.county.catalogue
    if not path.is_file():
        raise ConfigError(f"{at}: county.catalogue: no catalogue file {county.county.catalogue!r} (looked for "
                          f"{path}; the path is relative to this county file)")
    catalogue = load_catalogue(path)
    if catalogue.county != county.county.name:
        raise ConfigError(f"{at}: county.catalogue: {county.county.catalogue!r} is the catalogue of "
                          f"{catalogue.county!r}, not of {county.county.name!r}; name this county's catalogue, or "
                          "correct one of the two names")
    return catalogue


__all__ = ["County", "CountyInfo", "HubSettings", "Scorecard", "Site", "SiteZone", "StaffMember", "Staffing",
           "Weights", "load_county", "parse_county"]
