"""Shared set-up for hall bus tests: real sockets on 127.0.0.1, real CURVE keys, real ledgers in tmp dirs."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hall_bus.config import HallConfig
from hall_bus.domain.commands import AddStaff, SignIn
from hall_bus.domain.staff import hash_pin
from hall_bus.wire.client import HallClient
from hall_bus.wire.keys import KeyStore
from hall_bus.wire.server import HallServer

from .conftest import EXAMPLE, ROOT

NODES = ("kiosk-1", "kiosk-2", "greeter-1", "counter-5", "counter-1", "board-1", "display-1", "admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_on_ports(path: Path, cmd_port: int, ev_port: int) -> Path:
    """The example hall with its bus on these ports: for a server or hallctl run as a process."""
    path.write_text(EXAMPLE.read_text(encoding="utf-8").replace("command_port = 5555", f"command_port = {cmd_port}")
                    .replace("event_port = 5556", f"event_port = {ev_port}"), encoding="utf-8")
    shutil.copy(EXAMPLE.with_name("catalogue.example.toml"), path.parent)  # [hall] catalogue is beside the hall
    return path


def make_keys(path: Path, nodes: Iterable[str]) -> KeyStore:
    """A key directory with a key for each node; their roles come from the hall config, not from here."""
    keys = KeyStore(path)
    keys.init()
    for node in nodes:
        keys.add(node)
    return keys


@dataclass
class Hall:
    server: HallServer
    keys: KeyStore
    cfg: HallConfig
    clients: list[HallClient]
    stop: asyncio.Event | None = None  # set it to stop the server in the middle of a test (the hall goes down)

    def client(self, node: str, **kw: Any) -> HallClient:
        c = HallClient(node, self.server.command_endpoint, self.server.event_endpoint,
                       credentials=self.keys.node_credentials(node), heartbeat_seconds=0.2,
                       server_timeout_seconds=1.0, **kw)
        self.clients.append(c)
        return c

    async def started(self, node: str, **kw: Any) -> HallClient:
        c = self.client(node, **kw)
        await c.start()
        return c

    async def signed_in(self, node: str, staff: str = "小满", **kw: Any) -> HallClient:
        """A tablet or panel with a person signed in (the test roster is added on first use, by admin over the
        bus as `hallctl staff add` does, so every mirror sees it)."""
        if not self.server.core.state.staff:
            admin = await self.started("admin", subscribe=False)
            for command in roster_commands():
                assert (await admin.send(command))["ok"]
        c = await self.started(node, **kw)
        answer = await c.send(SignIn(staff=staff, pin=ROSTER_PIN))
        assert answer["ok"], answer
        return c


ROSTER_PIN = "2468"
ROSTER = (("小满", "小满", ["helper"]), ("王芳", "王芳", ["helper", "supervisor"]), ("李娜", "李娜", ["clerk"]),
          ("xm-2", "小周", ["helper"]), ("李强", "李强", ["helper"]))


@functools.cache
def _pin_hash() -> str:
    return hash_pin(ROSTER_PIN)


def roster_commands() -> list[AddStaff]:
    """Everyone in ROSTER, PIN 2468."""
    return [AddStaff(staff=staff, name=name, duties=duties, pin_hash=_pin_hash()) for staff, name, duties in ROSTER]


@contextlib.asynccontextmanager
async def running_hall(cfg: HallConfig, tmp: Path, nodes: Iterable[str] | None = None, *, clock: Any = None,
                       ports: tuple[int, int] | None = None) -> AsyncIterator[Hall]:
    """A hall server in this loop; `ports` fixed when a hallctl process must find it by the config."""
    keys = make_keys(tmp / "keys", nodes or NODES)
    cmd, ev = ports or ("*", "*")
    server = HallServer(cfg, tmp / "data", keys_dir=keys.dir, command_endpoint=f"tcp://127.0.0.1:{cmd}",
                        event_endpoint=f"tcp://127.0.0.1:{ev}", clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(server.run(stop))
    await asyncio.wait_for(server.ready.wait(), 10)
    hall = Hall(server, keys, cfg, [], stop)
    try:
        yield hall
    finally:
        for c in hall.clients:
            await c.close()
        stop.set()
        await asyncio.wait_for(task, 10)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def hallctl(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall_bus.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


def start_server_process(config: Path, data: Path, keys: Path, cmd_port: int, ev_port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hall_bus.cli", "server", "--config", str(config), "--data", str(data), "--keys",
         str(keys), "--commands", f"tcp://127.0.0.1:{cmd_port}", "--events", f"tcp://127.0.0.1:{ev_port}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc


@contextlib.asynccontextmanager
async def switchable_hall(cfg: HallConfig, tmp: Path, nodes: Iterable[str],
                          ports: tuple[int, int]) -> AsyncIterator[tuple[Hall, Callable[[], Any], Callable[[], Any]]]:
    """running_hall, plus taking the server away and bringing it back on the same ports and ledger: (hall, halt,
    start). A client must not know it is the same process."""
    keys = make_keys(tmp / "keys", nodes)
    running: dict[str, Any] = {}

    async def start() -> HallServer:
        server = HallServer(cfg, tmp / "data", keys_dir=keys.dir, command_endpoint=f"tcp://127.0.0.1:{ports[0]}",
                            event_endpoint=f"tcp://127.0.0.1:{ports[1]}")
        stop = asyncio.Event()
        task = asyncio.create_task(server.run(stop))
        await asyncio.wait_for(server.ready.wait(), 10)
        running.update(stop=stop, task=task)
        if "hall" in running:
            running["hall"].server = server
        return server

    async def halt() -> None:
        running["stop"].set()
        await asyncio.wait_for(running["task"], 10)

    hall = running["hall"] = Hall(await start(), keys, cfg, [])
    try:
        yield hall, halt, start
    finally:
        for c in hall.clients:
            await c.close()
        if not running["task"].done():
            await halt()
