"""`hallctl county demo`: a county on one machine — its PostgreSQL, the hub, the county hall, a town, a village.

What it shows is the thing a county buys this for: a 低保 application taken in at the village station (村收件),
handed to the town for review (镇审核) and on to the county (县办理), concluded there, its result travelling back
down the same road, and the certificate collected at the village against the applicant's ID card — while the
county dashboard shows each site and the open hand-over. Every step is a command at the site where it happens,
through that site's own ledger and link; nothing is put into the county database except by the hub.

The three sites are real hall servers (their own ledgers, their own bus on 127.0.0.1), set up from the county
file by the same code as `hallctl site init`; the county hall is the example hall with a `[county]` section.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hall_bus.config import HallConfig, load_config
from hall_bus.county.hub import CountyHub
from hall_bus.county.pgcluster import Cluster, create_database, start_cluster, stop_cluster
from hall_bus.county.sites import County, load_county
from hall_bus.county.station import PIN_FILE, init_site
from hall_bus.domain import commands as c
from hall_bus.errors import UserError
from hall_bus.wire.server import HallServer

ITEM = "GF-379901-MZJ-001"  # 最低生活保障申请: reviewed by the town, decided by the county's 民政局
APPLICANT = {"applicant": "王桂兰", "id_number": "37132319480312402X", "phone": "13905391234"}
ROUTE = ("PAT01V01", "PAT01", "PA")  # 村 → 镇 → 县


@dataclass
class Site:
    code: str
    name: str
    server: HallServer
    stop: asyncio.Event
    task: asyncio.Task[None]
    person: str  # the person signed in here, who acts in the story

    async def do(self, command: c.Cmd) -> dict[str, Any]:
        """One command at this site, through its own core and ledger, as its tablet would send it."""
        answer = await self.server.submit_own(command.model_copy(update={"actor": "admin"}))
        if answer is None or not answer.get("ok"):
            why = "the ledger takes no writes" if answer is None else f"{answer.get('code')}: {answer.get('message')}"
            raise UserError(f"county demo: {command.op} at {self.code} was refused ({why})")
        return answer["result"]


def _pins(folder: Path) -> dict[str, str]:
    lines = (folder / PIN_FILE).read_text(encoding="utf-8").splitlines()
    return {p[0]: p[2] for p in (line.split("\t") for line in lines if not line.startswith("#")) if len(p) == 3}


async def _start_site(code: str, folder: Path, county: County, hub_port: int) -> Site:
    site = county.site(code)
    cfg: HallConfig = load_config(folder / "hall.toml")
    assert cfg.county is not None
    link = cfg.county.model_copy(update={"poll_seconds": 0.5, "hub_port": hub_port, "retry_max_seconds": 1.0})
    cfg = cfg.model_copy(update={"county": link})
    stop = asyncio.Event()
    server = HallServer(cfg, folder / "data", keys_dir=folder / "keys", command_endpoint="tcp://127.0.0.1:*",
                        event_endpoint="tcp://127.0.0.1:*")
    task = asyncio.create_task(server.run(stop))
    await asyncio.wait_for(server.ready.wait(), 30)
    pins = _pins(folder)
    person = next(m.id for m in sorted(site.staff, key=lambda m: m.role not in ("clerk", "village_agent"))
                  if m.id in pins)
    pin = pins[person]
    node = next(n.id for n in cfg.nodes if n.role == "counter")
    answer = await server.submit_own(c.SignIn(staff=person, pin=pin, node=node, actor="admin"))
    if answer is None or not answer.get("ok"):
        raise UserError(f"county demo: {person} could not sign in at {code}: {answer}")
    return Site(code, site.name, server, stop, task, person)


async def _wait(cond: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise UserError(f"county demo: {what} did not happen within {timeout:.0f} s")
        await asyncio.sleep(0.05)


def _status(site: Site, number: str) -> str | None:
    k = site.server.core.state.cases.get(number)
    return None if k is None else k.status


async def story(sites: dict[str, Site], say: Callable[[str], None], pace: float = 0.0) -> str:
    """村收件 → 镇审核 → 县办理 → back down → 出件 at the village. Returns the case number. `pace`: seconds
    between steps, so a person watching the dashboard sees each one."""
    village, town, centre = (sites[c] for c in ROUTE)

    async def step(line: str) -> None:
        say(line)
        if pace:
            await asyncio.sleep(pace)

    r = await village.do(c.AcceptCase(item=ITEM, by=village.person, counter=1, **APPLICANT))
    number = r["case"]
    await step(f"村收件  {village.name}: {number} 最低生活保障申请 accepted by {village.person}, due {r['due'][:10]}")
    await village.do(c.HandOverCase(case=number, to_site=town.code, reason="村级收件，转镇审核",
                                   by=village.person))
    await _wait(lambda: _status(town, number) == "inbox", f"{number} reaching {town.name}'s inbox")
    await step(f"转办    {village.name} → {town.name}: in the town's inbox")
    await town.do(c.AcceptHandover(case=number, by=town.person))
    await town.do(c.HandOverCase(case=number, to_site=centre.code, reason="镇级审核通过，报县民政局审批",
                                 by=town.person))
    await step(f"镇审核  {town.name}: accepted and reviewed by {town.person}, sent on to the county")
    await _wait(lambda: _status(centre, number) == "inbox", f"{number} reaching the county's inbox")
    await centre.do(c.AcceptHandover(case=number, by=centre.person))
    await centre.do(c.ConcludeCase(case=number, decision="approved", by=centre.person))
    await step(f"县办理  {centre.name}: approved by {centre.person}; the result goes back down")
    await _wait(lambda: _status(village, number) == "concluded", f"the result of {number} reaching the village")
    k = village.server.core.state.cases[number]
    await step(f"办结    {village.name}: result back ({'on time' if k.on_time else 'late'}); ready for pickup")
    await village.do(c.DeliverCase(case=number, how="window", collector=APPLICANT["applicant"],
                                   collector_id=APPLICANT["id_number"], id_checked=True, by=village.person))
    await step(f"出件    {village.name}: collected by the applicant at the village, ID card checked")
    return str(number)


class CountyRig:
    """The hub and the story's sites in this process, each stoppable and startable again: the demo runs it once
    straight through; the tests cut the link and kill a site in the middle of a hand-over."""

    def __init__(self, county_file: Path, hall_file: Path, root: Path, dsn: str, *, hub_port: int = 0,
                 dashboard: bool = True) -> None:
        self.county_file, self.hall_file, self.root, self.dsn = county_file, hall_file, root, dsn
        self.county = load_county(county_file)
        self.hub_keys = root / "hub-keys"
        self.port = hub_port
        self.dashboard = dashboard
        self.hub: CountyHub | None = None
        self._hub_stop = asyncio.Event()
        self._hub_task: asyncio.Task[None] | None = None
        self.sites: dict[str, Site] = {}
        self.folders: dict[str, Path] = {}

    async def start_hub(self) -> CountyHub:
        from hall_bus.wire.keys import KeyStore

        if not KeyStore(self.hub_keys).server_public_path().exists():
            KeyStore(self.hub_keys).init()
        self._hub_stop = asyncio.Event()
        self.hub = CountyHub(self.county, self.dsn, self.hub_keys, endpoint=f"tcp://127.0.0.1:{self.port or '*'}",
                             escalate_seconds=1.0, dashboard=self.dashboard)
        self._hub_task = asyncio.create_task(self.hub.run(self._hub_stop))
        ready = asyncio.create_task(self.hub.ready.wait())
        await asyncio.wait({ready, self._hub_task}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if not self.hub.ready.is_set():
            ready.cancel()
            await self._hub_task  # raises what stopped it
            raise UserError("county demo: the hub did not start within 30 s")
        self.port = int(self.hub.endpoint.rsplit(":", 1)[1])
        return self.hub

    async def stop_hub(self) -> None:
        self._hub_stop.set()
        if self._hub_task is not None:
            await asyncio.gather(self._hub_task, return_exceptions=True)

    def set_up_sites(self) -> None:
        """Every site of the story set up afresh (a demo starts from nothing each time)."""
        for code in ROUTE:
            folder = self.root / "sites" / code
            shutil.rmtree(folder, ignore_errors=True)
            init_site(self.county, self.county_file, code, folder, hub_keys=self.hub_keys, template=self.hall_file,
                      hub_port=self.port)
            self.folders[code] = folder

    async def start_site(self, code: str) -> Site:
        self.sites[code] = await _start_site(code, self.folders[code], self.county, self.port)
        return self.sites[code]

    async def stop_site(self, code: str) -> None:
        site = self.sites.pop(code)
        site.stop.set()
        await asyncio.gather(site.task, return_exceptions=True)

    def level(self) -> bool:
        return all(s.server.link is not None and s.server.link.status()["backlog"] == 0
                   and s.server.link.status()["connected"] for s in self.sites.values())

    async def close(self) -> None:
        for code in list(self.sites):
            await self.stop_site(code)
        await self.stop_hub()


async def run_county_demo(county_file: Path, hall_file: Path, root: Path, *, duration: float | None,
                          pace: float = 0.0, say: Callable[[str], None] = print) -> int:
    root.mkdir(parents=True, exist_ok=True)
    cluster: Cluster = start_cluster(root / "pg")
    create_database(cluster, "county", exist_ok=True)
    say(f"PostgreSQL on 127.0.0.1:{cluster.port} (data in {root / 'pg'}): `hallctl hub db status --dir "
        f"{root / 'pg'}` prints the county database's DSN")
    shutil.rmtree(root / "hub-keys", ignore_errors=True)
    rig = CountyRig(county_file, hall_file, root, cluster.dsn("county"))
    try:
        hub = await rig.start_hub()
        say(f"county hub: sites call {hub.endpoint}; dashboard {hub.dashboard_url or '(not served)'}")
        rig.set_up_sites()
        for code in ROUTE:
            site = await rig.start_site(code)
            say(f"site    {site.name} ({code}) running, its own ledger in {rig.folders[code] / 'data'}")
        number = await story(rig.sites, say, pace)
        await _wait(rig.level, "every site level with the county")
        say(f"county  every site level with the county; {number}'s whole road is in the county ledger")
        if duration:
            say(f"the dashboard stays up {duration:.0f} s: {hub.dashboard_url or '(not served)'}")
            await asyncio.sleep(duration)
        return 0
    finally:
        await rig.close()
        stop_cluster(root / "pg")
