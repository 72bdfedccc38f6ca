"""Read a county's catalogue file (事项目录, TOML) as strictly as the hall file: every wrong key or value is one
line naming the file, the line and the key path, because the person fixing it edits TOML, not Python.

Two kinds of check: the model's (a field's type or range) and the file's (rules across fields and items: a
promised limit longer than the legal one, a bundle naming an unknown item, a 重大事项 without its steps). The
hall's own rules (an item's service must be one of its [[services]], its windows its counters) are checked when
a hall loads the catalogue (`load_catalogue(path, hall=cfg)`), and are reported at the catalogue's lines.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections import Counter as Tally
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from hall_bus.catalogue.model import Bundle, Catalogue, Fee, Item, Material, Step, TimeLimit
from hall_bus.config import HallConfig, _too_deep, format_path, hint, read_utf8, refusal_lines
from hall_bus.errors import ConfigError
from hall_bus.toml_locate import line_for, locate_keys

Problem = tuple[tuple[str | int, ...], str]
FREE = "不收费"
_MODELS: tuple[type[BaseModel], ...] = (Catalogue, Item, Material, TimeLimit, Fee, Step, Bundle)


def load_catalogue(path: str | Path, hall: HallConfig | None = None) -> Catalogue:
    """The catalogue in `path`; with `hall`, also checked against the hall's services and counters."""
    p = Path(path)
    return parse_catalogue(read_utf8(p, "catalogue"), str(p), hall=hall)


def parse_catalogue(text: str, source: str = "<catalogue>", hall: HallConfig | None = None) -> Catalogue:
    """Validate catalogue TOML text; ConfigError with one line per problem."""
    text = text.removeprefix("\ufeff")  # Notepad's UTF-8 byte-order mark
    deep = _too_deep(text)
    if deep is not None:
        raise ConfigError(f"{source}:{deep[0]}: {deep[1].replace('a hall file', 'a catalogue file')}")
    data = _toml(text, source)
    locations = locate_keys(text)

    def where(path: tuple[str | int, ...]) -> str:
        line = line_for(locations, path)
        return f"{source}:{line}" if line else source

    try:
        cat = Catalogue.model_validate(data)
    except ValidationError as exc:
        lines = refusal_lines(exc, where, _describe)
        raise ConfigError(lines[0], lines=lines) from None
    problems = catalogue_problems(cat)
    if hall is not None:
        problems += hall_problems(cat, hall)
    if problems:
        lines = [f"{where(path)}: {format_path(path)}: {msg}" for path, msg in problems]
        raise ConfigError(lines[0], lines=lines)
    return cat


def _toml(text: str, source: str, what: str = "catalogue") -> dict[str, Any]:
    """The TOML data, or one line with the place of a syntax error; `what` names the kind of file (the county
    file reads its TOML here too)."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"{source}: arrays or tables nested too deeply; a {what} needs two levels") from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"^(.*?)\s*\(at line (\d+), column (\d+)\)$", str(exc))
        if found:
            msg, line, col = found.groups()
            raise ConfigError(f"{source}:{line}: TOML syntax error at column {col}: {msg}") from None
        raise ConfigError(f"{source}: TOML syntax error: {exc}") from None
    except ValueError:  # an integer longer than Python converts
        raise ConfigError(f"{source}: a number with more than {sys.get_int_max_str_digits()} digits; no {what} "
                          "field takes a number that long") from None


def _describe(error: dict[str, Any]) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "missing":
        return "missing required key"
    if kind == "extra_forbidden":
        return "unknown key" + hint(str(loc[-1]), {f for m in _MODELS for f in m.model_fields})
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "code":
        return f"{error['input']!r} is not a code: letters, digits and '-' only (实施编码, e.g. XK-379901-SCJ-001)"
    if kind == "literal_error":
        return f"{error['msg'].lower()}, got {error['input']!r}"
    return str(error["msg"]).replace("Value error, ", "")


def catalogue_problems(cat: Catalogue) -> list[Problem]:
    """Rules across fields and items, as (key path, message)."""
    problems: list[Problem] = []
    codes = Tally(i.code for i in cat.items)
    names = Tally(i.name for i in cat.items)
    for idx, item in enumerate(cat.items):
        at = ("items", idx)
        if codes[item.code] > 1:
            problems.append(((*at, "code"), f"duplicate code {item.code!r}"))
        if names[item.name] > 1:
            problems.append(((*at, "name"), f"duplicate name {item.name!r}: a visitor searching could not tell "
                             "them apart (name the level or the case, e.g. 「（个人）」)"))
        problems += [((*at, *sub), msg) for sub, msg in _item_problems(item)]
    bundle_codes = Tally(b.code for b in cat.bundles)
    for idx, bundle in enumerate(cat.bundles):
        at = ("bundles", idx)
        if bundle_codes[bundle.code] > 1:
            problems.append(((*at, "code"), f"duplicate bundle code {bundle.code!r}"))
        elif bundle.code in codes:
            problems.append(((*at, "code"), f"{bundle.code!r} is also an item's code; `guide show` could not "
                             "tell which is meant"))
        if not bundle.life_event.strip():
            problems.append(((*at, "life_event"), "missing life_event (出生, 退休, 开办企业 …): the kiosk browses "
                             "一件事 by it"))
        seen: set[str] = set()
        for pos, code in enumerate(bundle.items):
            if code not in codes:
                problems.append(((*at, "items"), f"items[{pos}]: no catalogue item {code!r}{hint(code, codes)}"))
            elif code in seen:
                problems.append(((*at, "items"), f"items[{pos}]: {code!r} is listed twice"))
            seen.add(code)
    return problems


def _item_problems(item: Item) -> list[Problem]:
    problems: list[Problem] = []
    for key in ("legal_limit", "promised_limit"):
        limit: TimeLimit = getattr(item, key)
        if limit.immediate and limit.working_days:
            problems.append(((key,), f"immediate = true with working_days = {limit.working_days}: 即办 is the "
                             "same day; write one of them"))
        elif not limit.immediate and not limit.working_days:
            problems.append(((key,), "0 working days: write immediate = true for 即办 (concluded the same day)"))
    legal, promised = item.legal_limit, item.promised_limit
    if not legal.immediate and not promised.immediate and promised.working_days > legal.working_days:
        problems.append((("promised_limit",), f"the promised limit ({promised.words()}) is longer than the legal "
                         f"one ({legal.words()}); a promise may only shorten the law's"))
    elif legal.immediate and not promised.immediate:
        problems.append((("promised_limit",), f"the legal limit is 即办, so the promise cannot be {promised.words()}"))
    if item.major:
        if len(item.steps) < 2:
            problems.append((("steps",), "a 重大事项 (major = true) is handled by several departments: give their "
                             "steps as [[items.steps]] (at least two)"))
        if promised.immediate:
            problems.append((("promised_limit",), "a 重大事项 cannot be 即办: its departments' steps take days"))
        elif (total := sum(s.working_days for s in item.steps)) > promised.working_days:
            problems.append((("steps",), f"the steps take {total} working days together, more than the promised "
                             f"{promised.words()}"))
    elif item.steps:
        problems.append((("steps",), "steps belong to a 重大事项: set major = true, or remove the steps"))
    materials = Tally(m.name for m in item.materials)
    for pos, m in enumerate(item.materials):
        if materials[m.name] > 1:
            problems.append((("materials", pos, "name"), f"duplicate material {m.name!r}"))
        for key in ("blank_form", "sample"):
            value = getattr(m, key)
            if value is not None and (not value.strip() or "/" in value or "\\" in value):
                problems.append((("materials", pos, key), f"{value!r}: give the file's name only (kept in the "
                                 "hall's forms folder), e.g. \"设立登记申请书.pdf\""))
    if item.fee.amount.strip() != FREE and not item.fee.basis.strip():
        problems.append((("fee", "basis"), f"a fee ({item.fee.amount}) needs its legal basis (收费依据)"))
    for key in ("windows", "levels"):
        values = Tally(getattr(item, key))
        twice = [v for v, n in values.items() if n > 1]
        if twice:
            problems.append(((key,), f"{twice[0]!r} is listed twice"))
    return problems


def hall_problems(cat: Catalogue, hall: HallConfig) -> list[Problem]:
    """The hall's side: each item's service is a queue the hall has, and its windows are counters serving it.

    A town or village site of a county ([county] level) shares the county's catalogue but offers only the items
    of its level, and the windows named in the catalogue are the county centre's: those are not its business."""
    problems: list[Problem] = []
    services = hall.services_by_name
    counters = hall.counters_by_number
    level = hall.county.level if hall.county is not None else "county"
    for idx, item in enumerate(cat.items):
        if level not in item.levels:
            continue
        if item.service not in services:
            problems.append((("items", idx, "service"), f"{item.service!r} is not one of the hall's services"
                             f"{hint(item.service, services)} (services: {', '.join(services)})"))
            continue
        for window in item.windows if level == "county" else ():
            counter = counters.get(window)
            if counter is None:
                problems.append((("items", idx, "windows"), f"the hall has no window {window}"))
            elif item.service not in counter.services:
                problems.append((("items", idx, "windows"), f"window {window} does not serve {item.service!r}"))
    return problems
