"""A site's set-up in one command: its hall file, its keys (bus and county), its roster, from the county file.

A village station is one PC with a document camera and a printer and one 代办员, set up by whoever the county
sends, often not an IT person. So everything a site needs is derived from what the county already wrote down:
the site's name, code and items from the county file; the services and assistance groups from the county
centre's hall file (one county, one set of service names, so their figures add up); a single zone and counter;
the keys enrolled at the hub's key store so the hub admits the site; the roster added through the site's own
ledger, so every person is an event with who added them. Nothing is written over: a folder that already holds
a site is refused, with the way to start it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hall_bus.clock import SystemClock
from hall_bus.config import HallConfig, load_config
from hall_bus.county.sites import County, Site, StaffMember
from hall_bus.domain.commands import AddStaff
from hall_bus.domain.staff import hash_pin
from hall_bus.errors import UserError
from hall_bus.wire.keys import KeyStore

HALL_FILE = "hall.toml"
PIN_FILE = "initial-pins.txt"
STATION_NODES = ("kiosk-1", "counter-1", "greeter-1", "admin")
# A village's 代办员 takes applications in (村收件) as well as helping and visiting homes: helper, clerk and grid.
DUTIES = {"helper": ["helper"], "clerk": ["clerk"], "supervisor": ["supervisor"],
          "village_agent": ["helper", "clerk", "grid"]}


@dataclass(frozen=True, slots=True)
class Station:
    folder: Path
    hall_file: Path
    data: Path
    keys: Path
    pins: Path | None


def _q(text: str) -> str:
    """A TOML basic string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _services_for(site: Site, county: County, template: HallConfig) -> list[str]:
    """The template's services that the site's catalogue items belong to, in the template's order."""
    catalogue = county.catalogue
    if catalogue is None:
        raise UserError("site init: the county file's catalogue did not load")
    wanted = {catalogue.item(code).service for code in county.items_at(site.code)}
    names = [s.name for s in template.services if s.name in wanted]
    if not names:
        raise UserError(f"site init: none of {site.code}'s items belongs to a service of the template hall file")
    return names


def county_section(county: County, site: Site, hub_host: str, hub_port: int) -> str:
    up = county.ancestors(site.code)
    return "\n".join(["[county]                         # one site of the county: ships its ledger to the hub",
                      f"level = {_q(county.catalogue_level(site.code))}", f"hub_host = {_q(hub_host)}",
                      f"hub_port = {hub_port}", "up = [" + ", ".join(_q(s.code) for s in up) + "]  # 转办 to",
                      "up_names = [" + ", ".join(_q(s.name) for s in up) + "]", ""])


def hall_text(county: County, site: Site, template: HallConfig, *, hub_host: str, hub_port: int,
              catalogue_name: str, bus_ports: tuple[int, int]) -> str:
    """The site's hall file: one zone, one counter serving every service it offers, a kiosk with the station's
    printer and document camera, the 代办员's tablet; `[county]` pointing at the hub."""
    services = _services_for(site, county, template)
    by_name = template.services_by_name
    lines = [f"# {site.name} ({site.code}) — written by `hallctl site init` from the county file; edit freely.",
             "", "[hall]", f"name = {_q(site.name)}", f"timezone = {_q(template.hall.timezone)}",
             f"site_code = {_q(site.code)}", f"catalogue = {_q(catalogue_name)}", "",
             "[bus]", 'bind = "127.0.0.1"', 'server = "127.0.0.1"', f"command_port = {bus_ports[0]}",
             f"event_port = {bus_ports[1]}", "", county_section(county, site, hub_host, hub_port)]
    cal = template.calendar
    lines += ["[calendar]", f"weekend = {list(cal.weekend)}",
              f"holidays = [{', '.join(d.isoformat() for d in cal.holidays)}]",
              f"workdays = [{', '.join(d.isoformat() for d in cal.workdays)}]", ""]
    for name in services:
        s = by_name[name]
        lines += ["[[services]]", f"name = {_q(s.name)}", f"name_en = {_q(s.name_en or s.name)}",
                  f"prefix = {_q(s.prefix)}", f"avg_minutes = {s.avg_minutes}",
                  f"promised_minutes = {s.promised_minutes}", f"share = {s.share}",
                  "materials = [" + ", ".join(_q(m) for m in s.materials) + "]", ""]
    lines += ["[[zones]]", 'id = "station"', f"name = {_q(site.name)}", 'kind = "department"', "",
              "[[counters]]", "number = 1", 'zone = "station"',
              f"name = {_q('代办窗口')}", "services = { " + ", ".join(f"{_q(n)} = 1" for n in services) + " }", ""]
    for code, rule in template.groups.items():
        body = rule.model_dump(exclude_defaults=True)
        body.pop("zone", None)
        lines.append(f"[groups.{code}]")
        lines += [f"{k} = {_q(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else v}"
                  for k, v in body.items()]
        lines.append("")
    lines += ["[[nodes]]", 'id = "kiosk-1"', 'role = "kiosk"', "large_text = true", "devices = [",
              '  { name = "printer", type = "escpos-network", host = "127.0.0.1", port = 9100, '
              'profile = "xprinter-80" },',
              '  { name = "camera", type = "doc-camera", source = "0" },', "]", "",
              "[[nodes]]", 'id = "counter-1"', 'role = "counter"', "counter = 1", 'print_at = "kiosk-1"', "",
              "[[nodes]]", 'id = "greeter-1"', 'role = "greeter"', 'print_at = "kiosk-1"', "",
              "[[nodes]]", 'id = "admin"', 'role = "admin"', ""]
    return "\n".join(lines)


def _enrol(hub_keys: Path, site: Site, keys: Path) -> None:
    """The site's pair made in the hub's store (so the hub admits it at once) and copied with the hub's public
    key into the site's `keys/county/`, the layout the link reads."""
    store = KeyStore(hub_keys)
    if not store.server_public_path().exists():
        store.init()
    name = site.code.lower()
    store.refresh()
    store.add(name, replace=store.node(name) is not None)
    county_dir = keys / "county"
    (county_dir / "nodes").mkdir(parents=True, exist_ok=True)
    shutil.copy2(store.server_public_path(), county_dir / "server.key")
    for f in (hub_keys / "nodes").glob(f"{name}.key*"):
        shutil.copy2(f, county_dir / "nodes" / f.name)


def _roster(cfg: HallConfig, data: Path, staff: Sequence[StaffMember], pins: Path) -> None:
    """Each person added through the site's own ledger with a fresh PIN, the PINs in a 0600 file to hand out
    (and to change at first sign-in); the ledger holds only their hashes."""
    from hall_bus.store.core import HallCore

    core = HallCore(cfg, data, SystemClock(cfg.hall.tz))
    lines = []
    try:
        for member in staff:
            pin = f"{secrets.randbelow(10**6):06d}"
            answer = core.submit(AddStaff(staff=member.id, name=member.name,
                                          employment="专职" if member.full_time else "兼职",
                                          duties=DUTIES.get(member.role, ["helper"]), pin_hash=hash_pin(pin),
                                          actor="admin"))
            if not answer.get("ok"):
                raise UserError(f"site init: could not add {member.id}: {answer.get('message')}")
            lines.append(f"{member.id}\t{member.name}\t{pin}")
    finally:
        core.close()
    with os.fdopen(os.open(pins, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as fd:
        fd.write("# 初始 PIN：发给本人后请删除本文件 — hand each person their PIN, then delete this file\n")
        fd.write("\n".join(lines) + "\n")


def init_site(county: County, county_file: Path, code: str, out: Path, *, hub_keys: Path, template: Path,
              hub_host: str = "127.0.0.1", hub_port: int | None = None,
              bus_ports: tuple[int, int] = (5555, 5556)) -> Station:
    try:
        site = county.site(code)
    except KeyError as exc:
        raise UserError(f"site init: {exc.args[0]}") from None
    hall_file = out / HALL_FILE
    if hall_file.exists():
        raise UserError(f"site init: {hall_file} exists already (this folder holds a site); start it with "
                        f"`hallctl server --config {hall_file} --data {out / 'data'} --keys {out / 'keys'}`")
    template_cfg = load_config(template)
    port = hub_port if hub_port is not None else county.hub.bind_port
    catalogue_src = county_file.parent / county.county.catalogue
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(catalogue_src, out / catalogue_src.name)
    if site.level == "county":  # the centre's hall is the template itself (all its windows), linked to the hub
        if template_cfg.county is not None:
            raise UserError(f"site init: {template} has a [county] section already; use it as it is")
        text = template.read_text(encoding="utf-8").rstrip() + "\n\n" + county_section(
            county, site, hub_host, port)
        if template_cfg.hall.site_code != site.code:
            raise UserError(f"site init: {template}'s site_code is {template_cfg.hall.site_code!r}, the county "
                            f"file's centre is {site.code!r}; make them the same")
        nodes: tuple[str, ...] = tuple(n.id for n in template_cfg.nodes)
    else:
        text = hall_text(county, site, template_cfg, hub_host=hub_host, hub_port=port,
                         catalogue_name=catalogue_src.name, bus_ports=bus_ports)
        nodes = STATION_NODES
    hall_file.write_text(text, encoding="utf-8")
    cfg = load_config(hall_file)  # what we wrote must read back, or nothing else is made
    keys = out / "keys"
    bus_keys = KeyStore(keys)
    bus_keys.init()
    for node in nodes:
        bus_keys.add(node)
    _enrol(hub_keys, site, keys)
    data = out / "data"
    pins = out / PIN_FILE if site.staff else None
    if pins is not None:
        _roster(cfg, data, site.staff, pins)
    return Station(out, hall_file, data, keys, pins)
