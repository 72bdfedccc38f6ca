"""The hall's configuration: services, zones, counters, assistance groups, nodes and their devices.

Loaded from TOML and validated with pydantic; every problem is reported as one line naming the file, the line
(where it can be placed) and the key path, so a technician can fix a hall file without reading Python.
"""

from __future__ import annotations

import difflib
import re
import sys
import tomllib
from collections import Counter as Tally
from collections.abc import Callable
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hall_bus.catalogue.model import Catalogue
from hall_bus.errors import ConfigError
from hall_bus.sms.settings import SmsSettings
from hall_bus.toml_locate import line_for, locate_keys

GroupCode = Literal["normal", "guide", "accompany", "delegate", "wheelchair_push", "home_visit"]
GROUP_CODES: tuple[str, ...] = ("normal", "guide", "accompany", "delegate", "wheelchair_push", "home_visit")
Role = Literal["kiosk", "greeter", "counter", "board", "display", "web", "admin"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def known_zone(value: str) -> str:
    """A time zone name Python knows; the hall and the county file check theirs with it, so a typo is named
    where it is written, not as a crash when the first clock is read."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (for China use 'Asia/Shanghai')") from None
    return value


class HallInfo(_Strict):
    name: str = Field(min_length=1)
    timezone: str = "Asia/Shanghai"
    day_rollover: time = time(3, 0)
    recall_limit: int = Field(default=3, ge=0, le=10)
    starvation_minutes: float = Field(default=30, gt=0)
    appointment_grace_minutes: float = Field(default=10, ge=0)
    appointment_late_minutes: float = Field(default=30, ge=0)  # a code scanned later than this takes no ticket
    help_escalate_minutes: float = Field(default=3, gt=0, description="an unclaimed help request is escalated")
    rolling_window: int = Field(default=20, ge=1, le=1000)
    snapshot_every: int = Field(default=5000, ge=10)
    # A tablet or counter panel left alone this long signs its person out, so nobody acts in their name.
    staff_idle_minutes: float = Field(default=30, gt=0, le=24 * 60)
    # A notice slip nobody printed by then expires: the visitor has left the kiosk; the greeters are told.
    print_expire_minutes: float = Field(default=30, gt=0, le=24 * 60)
    # The county's 事项目录 (a file of its own, beside this one): the items this hall's cases are opened for.
    catalogue: str | None = None
    site_code: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{2,12}$")] = "HALL"  # the first part of a case number

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AgeRules(_Strict):
    accompany_min_age: int = Field(default=60, ge=0, le=130)
    delegate_min_age: int = Field(default=80, ge=0, le=130)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRules:
        if self.delegate_min_age < self.accompany_min_age:
            raise ValueError("delegate_min_age must not be below accompany_min_age")
        return self


class Service(_Strict):
    name: str = Field(min_length=1)
    # The kiosk always offers English: its buttons, its ticket line and its voice use this name (the queue and
    # the ticket sent to the server keep `name`). Required by cross_check, which names the service that lacks it.
    name_en: str | None = Field(default=None, min_length=1,
                                description="English name, shown and spoken in the kiosk's English mode")
    prefix: Annotated[str, Field(pattern=r"^[A-Z]{1,2}$")]
    avg_minutes: float = Field(gt=0, le=480)
    promised_minutes: float = Field(gt=0, description="承诺时限: minutes from ticket to case finished")
    share: float = Field(default=1.0, ge=0, allow_inf_nan=False,
                         description="relative share of visitors, for the day simulation")
    materials: list[str] = Field(default_factory=list, description="一次性告知: the materials a case needs")

    @field_validator("name_en")
    @classmethod
    def _english(cls, value: str | None) -> str | None:
        if value is not None and re.search(r"[\u3400-\u9fff]", value):
            raise ValueError(f"{value!r} has Chinese characters; name_en is the English name shown and spoken "
                             "in English (e.g. \"Medical insurance\")")
        return value


class Zone(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
    name: str = Field(min_length=1)
    kind: Literal["assistance", "department"]
    serves_walk_ins_when_free: bool = Field(
        default=False, description="an assistance zone's windows call department-queue tickets when none of "
        "their own wait, so they are not idle while the hall queues")


class Counter(_Strict):
    number: int = Field(ge=1, le=9999)
    zone: str
    services: dict[str, Annotated[float, Field(gt=0, le=100)]] = Field(min_length=1)
    name: str | None = None


class GroupRule(_Strict):
    """How a group's ticket is routed. Assisted visitors are called at any window serving their service (the
    helper goes with them or acts for them there) and, with `zone`, also at that assistance zone's windows;
    `department_windows = false` keeps a group to its zone. `priority` orders queued groups at a window."""

    label: str = Field(min_length=1)
    zone: str | None = None
    department_windows: bool = True
    priority: int = Field(default=0, ge=0, le=9, description="higher is called earlier, after the green channel")
    green_channel: bool = False
    helper_required: bool = False
    seated_wait: bool = False
    counter_queue: bool = True
    appointment: bool = False
    share: float = Field(default=0.0, ge=0, allow_inf_nan=False, description="share of visitors, for the day "
                         "simulation")


class Device(BaseModel):
    """A device on a node. The keys besides name and type belong to the device's kind, whose strict options
    model (devices.registry) checks them in cross_check, so a misspelt key is an error, never ignored."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = Field(min_length=1)
    type: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]


class Node(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    role: Role
    counter: int | None = None
    devices: list[Device] = Field(default_factory=list)
    # A kiosk's or display's screen: touch targets are sized in millimetres (a 21.5" 1080×1920 panel ≈ 4.0)
    px_per_mm: float = Field(default=4.0, gt=0.5, le=40)
    # A kiosk left alone this long warns, then counts down 20 s more (KioskFlow.countdown_seconds, WCAG 2.2.1)
    # with 「我还需要时间」 before it goes back to welcome: the warning comes on top, so no value here shortens it.
    idle_seconds: float = Field(default=30.0, ge=10, le=600, description="quiet seconds before a kiosk warns")
    # How the screen starts (a kiosk in an elderly service area starts in large text); visitors can switch on it.
    large_text: bool = False
    high_contrast: bool = False
    # A greeter's tablet or a counter panel prints slips (一次性告知) on this kiosk's printer, in its zone.
    print_at: str | None = None


def _bind_address(value: str) -> str:
    """An interface address to listen on: an IP (0.0.0.0 for every interface); a typo is caught here, not as
    the server's puzzling 'No such device' at start."""
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for the hall LAN)") from None
    return value


def _host(value: str) -> str:
    if "://" in value or ":" in value.replace("::", "") or not value.strip():
        raise ValueError(f"{value!r}: give the server's host or IP only (e.g. 127.0.0.1); ports are "
                         "settings of their own (command_port and event_port, hub_port)")
    return value


def check_host(value: str) -> str:
    """For --server on the command line: the same rule as [bus].server, as argparse's one-line error (exit 2)."""
    import argparse

    try:
        return _host(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class BusSettings(_Strict):
    """Where the hall server listens and how nodes find it; one section shared by the server and every node."""

    bind: Annotated[str, AfterValidator(_bind_address)] = "127.0.0.1"
    server: Annotated[str, AfterValidator(_host)] = Field(default="127.0.0.1", description="address nodes connect to")
    command_port: int = Field(default=5555, ge=1, le=65535)
    event_port: int = Field(default=5556, ge=1, le=65535)
    max_message_bytes: int = Field(default=65536, ge=1024, le=16 * 1024 * 1024)
    heartbeat_seconds: float = Field(default=1.0, gt=0, le=30)
    server_timeout_seconds: float = Field(default=3.0, gt=0, le=120)
    node_timeout_seconds: float = Field(default=5.0, gt=0, le=600)
    curve: bool = True

    @model_validator(mode="after")
    def _ports(self) -> BusSettings:
        if self.command_port == self.event_port:
            raise ValueError("command_port and event_port must differ")
        return self

    def endpoints(self, host: str | None = None) -> tuple[str, str]:
        h = host or self.server
        return f"tcp://{h}:{self.command_port}", f"tcp://{h}:{self.event_port}"


class CountyLinkSettings(_Strict):
    """`[county]`: this hall is one site of a county and ships its ledger to the county hub (hallctl hub serve).

    Keys live in the hall's key directory under `county/` (the hub's public `server.key` and this site's pair in
    `nodes/`), as `hallctl site init` writes them. Without this section the hall is an island, as before."""

    level: Literal["county", "town", "village"] = "county"  # the catalogue level this site offers (县/镇/村)
    # The sites this one hands cases on to (转办), nearest first: a village's town, then the county centre. What
    # the tablet offers; the hub relays to any site of the county (site init writes it from the county file).
    up: list[Annotated[str, Field(pattern=r"^[0-9A-Za-z]{2,12}$")]] = Field(default_factory=list, max_length=10)
    up_names: list[str] = Field(default_factory=list, max_length=10)  # their names, as the county file has them
    hub_host: Annotated[str, AfterValidator(_host)] = "127.0.0.1"
    hub_port: int = Field(default=5590, ge=1, le=65535)
    batch_max: int = Field(default=500, ge=1, le=5000)  # events a batch; the hub refuses more than its own limit
    answer_seconds: float = Field(default=5.0, gt=0, le=120)  # no answer by then: the link is down, reconnect
    retry_max_seconds: float = Field(default=30.0, gt=0, le=3600)  # the longest wait between tries when down
    poll_seconds: float = Field(default=2.0, gt=0, le=300)  # a quiet site still calls this often (deliveries)

    @model_validator(mode="after")
    def _names(self) -> CountyLinkSettings:
        if self.up_names and len(self.up_names) != len(self.up):
            raise ValueError(f"up_names has {len(self.up_names)} names for {len(self.up)} sites in up; give one "
                             "name per site, in the same order (or none)")
        return self

    def up_sites(self) -> list[tuple[str, str]]:
        """(code, name) of each site cases are handed on to, nearest first."""
        names = self.up_names or self.up
        return list(zip(self.up, names, strict=True))

    @property
    def endpoint(self) -> str:
        return f"tcp://{self.hub_host}:{self.hub_port}"


class WorkCalendar(_Strict):
    """The hall's working days, for deadlines counted in working days (a consultation answered within one,
    a bad rating followed up within `followup_days`): weekends and public holidays skipped, and the weekend
    days worked in exchange for a holiday (调休上班) counted."""

    weekend: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=lambda: [6, 7])  # ISO weekdays
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)
    consult_answer_days: int = Field(default=1, ge=1, le=30)
    followup_days: int = Field(default=3, ge=1, le=60)
    complaint_days: int = Field(default=5, ge=1, le=60)  # 投诉: reply within this many working days


class BookingSettings(_Strict):
    """`[booking]`: how 预约 slots are cut and shared (domain/slots.py), and the rules a booking must meet.

    A slot's capacity comes from the windows serving the item's service: each window serves
    `slot_minutes / avg_minutes` visitors a slot, and `capacity_share` of that is offered to bookings (the rest
    stays for walk-ins, who are most of a county hall's visitors). `group_share` keeps part of every slot for
    assistance groups until `release_hours` before it starts, so the old and disabled are not crowded out by
    whoever books fastest."""

    slot_minutes: int = Field(default=30, ge=10, le=240)
    capacity_share: float = Field(default=0.5, gt=0, le=1, allow_inf_nan=False)
    group_share: dict[GroupCode, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: {"accompany": 0.2, "wheelchair_push": 0.1})
    release_hours: float = Field(default=24, ge=0, le=24 * 30)
    buffer_minutes: int = Field(default=15, ge=0, le=120)  # a session's last minutes are not booked: overruns
    lead_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)  # the nearest slot offered is this far ahead
    horizon_days: int = Field(default=14, ge=1, le=90)
    hold_minutes: float = Field(default=10, gt=0, le=120)  # a slot held while the visitor confirms
    per_person_daily: int = Field(default=2, ge=1, le=20)
    no_show_limit: int = Field(default=3, ge=1, le=50)  # this many missed in `no_show_days` stops booking
    no_show_days: int = Field(default=90, ge=1, le=3650)
    home_visit_minutes: int = Field(default=60, ge=15, le=480)
    home_visits_per_day: int = Field(default=6, ge=0, le=100)
    # Needs for which the seeds send two helpers (a bed-bound visitor is lifted, a dispute is witnessed)
    two_helper_needs: list[str] = Field(default_factory=lambda: ["卧床", "轮椅", "需要见证"])
    phone_url: str = Field(default="", description="the phone page's public address; printed in QR codes")
    hotline: str = Field(default="", description="the hall's booking phone number, said where booking fails")

    @model_validator(mode="after")
    def _shares(self) -> BookingSettings:
        if sum(self.group_share.values()) >= 1:
            raise ValueError("group_share adds up to 1 or more: nothing would be left for other visitors")
        if self.phone_url and not re.match(r"^https?://[^\s/]+", self.phone_url):
            raise ValueError(f"phone_url {self.phone_url!r} is not an http(s) address")
        return self


ExtendedKind = Literal["lunch", "evening", "weekend", "early"]
WEEKDAY_NAMES = ("周一 Monday", "周二 Tuesday", "周三 Wednesday", "周四 Thursday", "周五 Friday", "周六 Saturday",
                 "周日 Sunday")


class RegularSession(_Strict):
    """One of the hall's ordinary sessions (上午, 下午) on the ISO weekdays it is held. Times are the hall's local
    wall clock; a session ends before midnight (cross_check says so), since a hall day never spans one."""

    name: str = Field(min_length=1)
    days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])  # ISO weekdays; 1..7 checked in cross_check
    start: time
    end: time


class ExtendedSession(RegularSession):
    """延时服务/错时服务: opening beyond the regular hours (午间延时, 晚间延时, 周末错时, 早间错时). Its `kind` is what
    the report counts by; `on_holidays` keeps it on a public holiday, when the regular sessions are closed."""

    kind: ExtendedKind
    days: list[int] = Field(min_length=1)
    on_holidays: bool = False


def _default_regular() -> list[RegularSession]:
    return [RegularSession(name="上午", start=time(9, 0), end=time(12, 0)),
            RegularSession(name="下午", start=time(13, 30), end=time(17, 0))]


class OpeningHours(_Strict):
    """`[hours]`: when the hall is open (办公时间) and its extended sessions (延时/错时服务). Which days are holidays
    and which weekend days are worked in exchange (调休上班) is `[calendar]`'s word, not this section's: one
    calendar, so deadlines and opening hours never disagree. A swapped workday is kept as the weekday
    `swapped_workday_as` (Monday unless told), its regular and extended sessions alike, so it is the ordinary
    working day the public was told it would be and never a weekend session doubled with regular ones."""

    regular: list[RegularSession] = Field(default_factory=_default_regular)
    extended: list[ExtendedSession] = Field(default_factory=list)
    swapped_workday_as: int = 1  # ISO weekday; 1..7 checked in cross_check


class HallConfig(_Strict):
    hall: HallInfo
    bus: BusSettings = BusSettings()
    age: AgeRules = AgeRules()
    calendar: WorkCalendar = WorkCalendar()
    hours: OpeningHours = OpeningHours()
    services: list[Service] = Field(min_length=1)
    zones: list[Zone] = Field(min_length=1)
    counters: list[Counter] = Field(min_length=1)
    groups: dict[GroupCode, GroupRule]
    nodes: list[Node] = Field(default_factory=list)
    county: CountyLinkSettings | None = None
    booking: BookingSettings = BookingSettings()
    sms: SmsSettings | None = None  # the SMS gateway for booking reminders (hall_bus/sms); none: no reminders
    # Loaded from `hall.catalogue` by load_config (not written in the hall file): None where a hall has none.
    catalogue: Catalogue | None = Field(default=None, exclude=True)

    @cached_property
    def services_by_name(self) -> dict[str, Service]:
        return {s.name: s for s in self.services}

    @cached_property
    def counters_by_number(self) -> dict[int, Counter]:
        return {c.number: c for c in self.counters}

    @cached_property
    def zones_by_id(self) -> dict[str, Zone]:
        return {z.id: z for z in self.zones}


def cross_check(cfg: HallConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """Rules that span sections. Returned as (key path, message) so they are reported like schema errors."""
    problems: list[tuple[tuple[str | int, ...], str]] = []

    def dupes(items: list[Any], attr: str, section: str) -> None:
        seen = Tally(getattr(i, attr) for i in items)
        for idx, item in enumerate(items):
            if seen[getattr(item, attr)] > 1:
                problems.append(((section, idx, attr), f"duplicate {attr} {getattr(item, attr)!r}"))

    dupes(cfg.services, "name", "services")
    dupes(cfg.services, "prefix", "services")
    problems += _english_problems(cfg)
    dupes(cfg.zones, "id", "zones")
    dupes(cfg.counters, "number", "counters")
    dupes(cfg.nodes, "id", "nodes")

    zones = {z.id: z for z in cfg.zones}
    services = {s.name for s in cfg.services}
    for idx, counter in enumerate(cfg.counters):
        if counter.zone not in zones:
            problems.append((("counters", idx, "zone"), f"unknown zone {counter.zone!r}{hint(counter.zone, zones)}"))
        for name in counter.services:
            if name not in services:
                problems.append(
                    (("counters", idx, "services", name), f"unknown service {name!r}{hint(name, services)}")
                )

    missing_groups = [g for g in GROUP_CODES if g not in cfg.groups]
    for g in missing_groups:
        problems.append((("groups",), f"missing group {g!r} (all of {', '.join(GROUP_CODES)} are needed)"))

    for code, rule in cfg.groups.items():
        if rule.zone is not None and rule.zone not in zones:
            problems.append((("groups", code, "zone"), f"unknown zone {rule.zone!r}{hint(rule.zone, zones)}"))
            continue
        if rule.counter_queue and rule.zone is not None and not any(c.zone == rule.zone for c in cfg.counters):
            problems.append((("groups", code, "zone"), f"no counter is in zone {rule.zone!r}, so nobody can call it"))
        if rule.counter_queue and rule.zone is None and not rule.department_windows:
            problems.append((("groups", code, "department_windows"),
                             "with department_windows = false the group needs a zone, or nobody can call it"))

    dept_zones = {z.id for z in cfg.zones if z.kind == "department"}
    for idx, service in enumerate(cfg.services):
        if not any(service.name in c.services and c.zone in dept_zones for c in cfg.counters):
            problems.append((("services", idx, "name"), f"no department-zone counter serves {service.name!r}"))

    problems += _share_problems(cfg)
    problems += _bus_problems(cfg.bus)
    problems += _hours_problems(cfg.hours)

    counters = {c.number for c in cfg.counters}
    for idx, node in enumerate(cfg.nodes):
        if node.role == "counter":
            if node.counter is None:
                problems.append((("nodes", idx, "counter"), "a counter node needs 'counter = <window number>'"))
            elif node.counter not in counters:
                problems.append((("nodes", idx, "counter"), f"no counter number {node.counter}"))
        elif node.counter is not None:
            problems.append((("nodes", idx, "counter"), f"only counter nodes have a counter (role is {node.role})"))
        if node.print_at is not None:
            kiosks = [n.id for n in cfg.nodes if n.role == "kiosk"]
            if node.print_at not in kiosks:
                problems.append((("nodes", idx, "print_at"), f"no kiosk {node.print_at!r}{hint(node.print_at, kiosks)}"
                                 f" (kiosks: {', '.join(kiosks) or 'none'})"))
        names = Tally(d.name for d in node.devices)
        for didx, device in enumerate(node.devices):
            if names[device.name] > 1:
                problems.append((("nodes", idx, "devices", didx, "name"), f"duplicate device name {device.name!r}"))
            problems += [(("nodes", idx, "devices", didx, *sub), msg) for sub, msg in _device_problems(device)]
        # A node's keypad and rating pad on one RS-485 port must agree (protocol, baud rate, timing) and sit at
        # different addresses; checked per node, since two nodes may run on different PCs with the same port name.
        from devices.keypad.options import line_problems

        tables = [{"name": d.name, "type": d.type, **(d.model_extra or {})} for d in node.devices]
        problems += [(("nodes", idx, "devices", didx), msg) for didx, msg in line_problems(tables)]
    return problems


def _hm(t: time) -> str:
    return t.strftime("%H:%M") if not t.second else t.strftime("%H:%M:%S")


def _hours_problems(hours: OpeningHours) -> list[tuple[tuple[str | int, ...], str]]:
    """[hours] checked whole: a weekday outside 1..7, a session ending before it starts, two sessions of one day
    overlapping (both named, with the day), two extended sessions of one name. An overlap would make a ticket's
    session a matter of list order, and the report would count it under whichever came first; the name of an
    extended session is written into every ticket issued in it, so two of one name could not be told apart."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if not 1 <= hours.swapped_workday_as <= 7:
        problems.append((("hours", "swapped_workday_as"), f"weekday {hours.swapped_workday_as} does not exist; "
                         "ISO weekdays are 1 (Monday) to 7 (Sunday)"))
    sessions: list[tuple[tuple[str | int, ...], RegularSession]] = [
        *((("hours", "regular", i), s) for i, s in enumerate(hours.regular)),
        *((("hours", "extended", i), s) for i, s in enumerate(hours.extended))]
    usable = []
    for path, session in sessions:
        bad_days = [d for d in session.days if not 1 <= d <= 7]
        for d in bad_days:
            problems.append(((*path, "days"), f"weekday {d} in {session.name!r} does not exist; ISO weekdays are 1 "
                             "(Monday) to 7 (Sunday)"))
        if session.end <= session.start:
            problems.append(((*path, "end"), f"{session.name!r} ends at {_hm(session.end)}, not after it starts "
                             f"({_hm(session.start)}); a session starts and ends on one day"))
        elif not bad_days:
            usable.append((path, session))
    names = Tally(s.name for s in hours.extended)
    for i, s in enumerate(hours.extended):
        if names[s.name] > 1:
            problems.append((("hours", "extended", i, "name"), f"duplicate extended session name {s.name!r}; "
                             "tickets and cases record it, so each needs a name of its own"))
    overlaps: dict[tuple[tuple[str | int, ...], tuple[str | int, ...]], list[int]] = {}  # one line a pair
    for day in range(1, 8):
        on_day = sorted(((p, s) for p, s in usable if day in s.days), key=lambda ps: (ps[1].start, ps[1].end))
        latest: tuple[tuple[str | int, ...], RegularSession] | None = None  # of those before, the one ending last
        for path, b in on_day:
            if latest is not None and b.start < latest[1].end:
                overlaps.setdefault((path, latest[0]), []).append(day)
            if latest is None or b.end > latest[1].end:
                latest = (path, b)
    by_path = dict(sessions)
    for (path, other), days in overlaps.items():
        a, b = by_path[other], by_path[path]
        problems.append(((*path, "start"), f"{b.name!r} ({_hm(b.start)}–{_hm(b.end)}) overlaps {a.name!r} "
                         f"({_hm(a.start)}–{_hm(a.end)}) on {', '.join(WEEKDAY_NAMES[d - 1] for d in days)}; "
                         "sessions of one day must not overlap"))
    return problems


def _english_problems(cfg: HallConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """The kiosk's English switch is always there, so a service with no English name would show Chinese to a
    visitor who cannot read it (and the English voice cannot say it); two services with one English name could
    not be told apart."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen: dict[str, str] = {}
    for idx, service in enumerate(cfg.services):
        if service.name_en is None:
            problems.append((("services", idx, "name"), f"service {service.name!r} has no name_en: the kiosk offers "
                             "English, so give every service its English name (e.g. name_en = \"Medical insurance\")"))
        elif service.name_en.casefold() in seen:
            other = seen[service.name_en.casefold()]
            problems.append((("services", idx, "name_en"), f"name_en {service.name_en!r} is also the English name of "
                             f"{other!r}; visitors reading English could not tell them apart"))
        else:
            seen[service.name_en.casefold()] = service.name
    return problems


def _share_problems(cfg: HallConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """`share` is each service's and group's part of the visitors: the day simulation draws every visitor's
    service and group by it, and the kiosk lists the most used services first. All of them 0 leaves nothing to
    draw from (the simulation would stop with a Python error). Groups that set no share at all are left alone:
    their default is 0, and a hall that never simulates need not write any."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if cfg.services and not any(s.share > 0 for s in cfg.services):
        problems.append((("services", 0, "share"), "every service has share = 0; give each service its part of "
                         "the visitors (e.g. share = 10), or leave share out (1 each)"))
    written = [code for code, rule in cfg.groups.items() if "share" in rule.model_fields_set]
    if written and not any(rule.share > 0 for rule in cfg.groups.values()):
        problems.append((("groups", written[0], "share"), "every group has share = 0; give groups.normal most of "
                         "the visitors (e.g. share = 76), or leave share out of every group"))
    return problems


def _bus_problems(bus: BusSettings) -> list[tuple[tuple[str | int, ...], str]]:
    """curve = false sends names, ID and phone numbers and every command in clear text, and lets anyone on the
    network act as any node: allowed for a bench where the server listens on loopback only, never on the LAN."""
    import ipaddress

    if bus.curve or ipaddress.ip_address(bus.bind).is_loopback:
        return []
    return [(("bus", "curve"), f"curve = false with bind = {bus.bind!r} would put the hall bus on the network "
             "unencrypted and without key checks; keep curve = true (the default), or bind = \"127.0.0.1\" "
             "for a bench on one machine")]


def _device_problems(device: Device) -> list[tuple[tuple[str | int, ...], str]]:
    """The device's kind checks its keys (unknown type, unknown key, bad value) with its own options model."""
    from devices.registry import option_problems

    return option_problems(device.type, device.model_extra or {})


def _inline_device_line(text: str, locations: dict[Any, int], path: tuple[str | int, ...]) -> int | None:
    """The line of a key inside `devices = [ { … }, { … } ]`, which toml_locate does not place: it finds the
    array's line; from there, count the inline tables and find the key in the one the path names."""
    if len(path) < 4 or path[0] != "nodes" or path[2] != "devices" or not isinstance(path[3], int):
        return None
    if path[:4] in locations:  # [[nodes.devices]] tables are placed already
        return None
    start = locations.get(path[:3])
    if start is None:
        return None
    key = str(path[4]) if len(path) > 4 else None
    depth, table, quote, table_line = 0, -1, "", None
    lines = text.splitlines()
    for lineno in range(start, len(lines) + 1):
        line = lines[lineno - 1]
        col = line.index("=") + 1 if lineno == start and "=" in line else 0
        while col < len(line):
            ch = line[col]
            if quote:
                if ch == "\\" and quote == '"':
                    col += 1
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch in "[{":
                depth += 1
                if ch == "{" and depth == 2:
                    table += 1
                    if table == path[3]:
                        table_line = lineno
            elif ch in "]}":
                depth -= 1
                if depth == 0:
                    return table_line
                if depth == 1 and table == path[3]:
                    return table_line
            elif key and depth == 2 and table == path[3] and line.startswith(key, col) \
                    and re.match(r"\s*=", line[col + len(key):]) and (col == 0 or line[col - 1] in " ,{\t"):
                return lineno
            col += 1
    return table_line


def refusal_lines(exc: ValidationError, where: Callable[[tuple[str | int, ...]], str],
                  describe: Callable[[dict[str, Any]], str]) -> list[str]:
    """pydantic's refusal of a hand-written file as lines `FILE:LINE: key.path: what is wrong`, one per mistake,
    for the hall file and the catalogue alike."""
    lines = []
    for err in exc.errors():
        path = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        if path and path[-1] == "[key]":  # a table key that is not allowed, e.g. an unknown group name
            path = path[:-1]
        lines.append(f"{where(path)}: {format_path(path)}: {describe(err)}")
    return lines


def hint(value: str, known: Any) -> str:
    close = difflib.get_close_matches(value, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for model in (HallInfo, BusSettings, AgeRules, Service, Zone, Counter, GroupRule, Device, Node, HallConfig,
                  WorkCalendar, OpeningHours, ExtendedSession):
        names.update(model.model_fields)
    return names


def format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _describe(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "missing required key"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        return "unknown key" + hint(key, _all_field_names())
    if kind == "literal_error":
        if error["loc"] and error["loc"][-1] == "[key]":
            return f"unknown name {error['input']!r}; {error['msg'].lower()}"
        return f"{error['msg'].lower()}, got {error['input']!r}"
    return error["msg"].replace("Value error, ", "")


MAX_NESTING = 32  # arrays and inline tables inside each other; a hall file needs three (devices = [{… = [ ]}])
MAX_KEY_PARTS = 32  # parts of a dotted key (nodes.devices.port); a hall file needs four
_NESTING_MARKS = re.compile(r"[\[\]{}\"'#\n.=,]")


def _too_deep(text: str) -> tuple[int, str] | None:
    """(line, what) where arrays or inline tables go deeper than MAX_NESTING or a dotted key has more than
    MAX_KEY_PARTS parts, or None. Checked before tomllib parses: its parser recurses once per level, so 100,000
    '[' would end in a RecursionError, and it takes quadratic time over a dotted key's parts (50,000 parts: a
    minute). Strings and comments are skipped so brackets and dots inside them do not count; anything this scan
    misreads is still caught by the RecursionError fallback, only without a line."""
    depth, dots, line, pos = 0, 0, 1, 0
    while (mark := _NESTING_MARKS.search(text, pos)) is not None:
        ch, at = mark.group(), mark.start()
        pos = at + 1
        if ch == ".":
            dots += 1
            if dots >= MAX_KEY_PARTS:
                return line, f"a dotted key with more than {MAX_KEY_PARTS} parts; a hall file needs four at most"
            continue
        dots = 0
        if ch == "\n":
            line += 1
        elif ch == "#":
            end = text.find("\n", at)
            pos = len(text) if end < 0 else end
        elif ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, at) else ch
            end = at + len(quote)
            while True:
                end = text.find(quote, end)
                if end < 0 or quote == "'" or quote == "'''" or text[end - 1] != "\\" or text[end - 2] == "\\":
                    break
                end += 1
            if end < 0 or (len(quote) == 1 and "\n" in text[at:end]):  # an unclosed string: tomllib says where
                return None
            line += text.count("\n", at, end)
            pos = end + len(quote)
            dots = 0
        elif ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line, (f"arrays or inline tables nested more than {MAX_NESTING} deep; a hall file needs "
                              "three levels at most")
        elif ch in "]}":
            depth = max(0, depth - 1)
    return None


def parse_config(text: str, source: str = "<config>", base: Path | None = None) -> HallConfig:
    """Validate TOML text. Raises ConfigError with one line per problem.

    With `base` (the hall file's folder) the catalogue file that `[hall] catalogue` names is loaded from there;
    without it (text alone) the hall is checked on its own and `catalogue` stays None.

    A UTF-8 byte-order mark at the start is dropped: Windows Notepad writes one when it saves as UTF-8, and the
    file is then exactly what the technician meant (tomllib would call it an invalid statement on line 1)."""
    text = text.removeprefix("\ufeff")
    deep = _too_deep(text)
    if deep is not None:
        raise ConfigError(f"{source}:{deep[0]}: {deep[1]}")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"{source}: arrays or tables nested too deeply; a hall file needs three levels at most") \
            from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"^(.*?)\s*\(at line (\d+), column (\d+)\)$", str(exc))
        if found:
            msg, line, col = found.groups()
            raise ConfigError(f"{source}:{line}: TOML syntax error at column {col}: {msg}") from None
        raise ConfigError(f"{source}: TOML syntax error: {exc}") from None
    except ValueError as exc:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        long = re.search(rf"\d{{{sys.get_int_max_str_digits() + 1},}}", text)
        if long is None:
            raise ConfigError(f"{source}: cannot read it as TOML: {exc}") from None
        raise ConfigError(f"{source}:{text[: long.start()].count(chr(10)) + 1}: a number with more than "
                          f"{sys.get_int_max_str_digits()} digits; no setting takes a number that long") from None
    locations = locate_keys(text)

    def where(path: tuple[str | int, ...]) -> str:
        line = _inline_device_line(text, locations, path) or line_for(locations, path)
        return f"{source}:{line}" if line else source

    _no_inline_catalogue(data, locations, source)
    try:
        cfg = HallConfig.model_validate(data)
    except ValidationError as exc:
        lines = refusal_lines(exc, where, _describe)
        raise ConfigError(lines[0], lines=lines) from None
    problems = cross_check(cfg)
    if problems:
        lines = [f"{where(path)}: {format_path(path)}: {msg}" for path, msg in problems]
        raise ConfigError(lines[0], lines=lines)
    if base is not None and cfg.hall.catalogue is not None:
        cfg = _with_catalogue(cfg, base / cfg.hall.catalogue, where(("hall", "catalogue")))
    return cfg


def _no_inline_catalogue(data: dict[str, Any], locations: dict[Any, int], source: str) -> None:
    """HallConfig has a `catalogue` field (loaded, never written here), so a [catalogue] table in the hall file
    would otherwise be read as if it were the county's catalogue: one county's list belongs in one file of its
    own, shared by every hall, town and village that uses it."""
    if "catalogue" not in data:
        return
    lines = [line for path, line in locations.items() if path and path[0] == "catalogue"]
    at = f"{source}:{min(lines)}" if lines else source
    raise ConfigError(f"{at}: catalogue: the 事项目录 is a file of its own; move it out (e.g. to catalogue.toml "
                      "beside this file) and write catalogue = \"catalogue.toml\" in [hall]")


def _with_catalogue(cfg: HallConfig, path: Path, at: str) -> HallConfig:
    """The hall with its catalogue loaded; errors inside the catalogue name the catalogue's own lines, a missing
    file names the hall's `catalogue` line."""
    from hall_bus.catalogue.load import load_catalogue

    if not path.is_file():
        raise ConfigError(f"{at}: hall.catalogue: no catalogue file {cfg.hall.catalogue!r} (looked for {path}; "
                          "the path is relative to this hall file)")
    return cfg.model_copy(update={"catalogue": load_catalogue(path, hall=cfg)})


def read_utf8(p: Path, what: str = "hall") -> str:
    """A hand-edited file's text, or one line saying why not (missing, a folder, unreadable, not UTF-8 — with
    the line of the first bad byte), for the hall file and the catalogue alike."""
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a {what} file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{p}:{line}: not UTF-8 text (save the file as UTF-8)") from None


def load_config(path: str | Path) -> HallConfig:
    p = Path(path)
    return parse_config(read_utf8(p), str(p), base=p.parent)
