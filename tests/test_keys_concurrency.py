"""enrolled.json under concurrent changes and brief damage: no `keys add --replace` or `keys revoke` is ever lost,
a reader never sees half a file, and the server keeps admitting nodes from the last good copy while the file
cannot be read."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import zmq.auth

from hall_bus.wire.keys import REGISTRY, KeyStore

from .bus_helpers import hallctl, running_hall, until
from .conftest import EXAMPLE, ROOT

CONFIG_NODES = ("kiosk-1", "kiosk-2", "greeter-1", "greeter-2", "counter-1", "counter-5", "board-1", "display-1",
                "admin")


def registry(keys: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((keys / REGISTRY).read_text(encoding="utf-8"))


def key_file_public(keys: Path, node: str) -> str:
    public, _ = zmq.auth.load_certificate(keys / "nodes" / f"{node}.key")
    return public.decode()


def test_concurrent_replace_and_revoke_from_hallctl_lose_nothing(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    store = KeyStore(keys)
    store.init()
    extras = [f"extra-{i:02d}" for i in range(12)]
    for node in (*CONFIG_NODES, *extras):
        store.add(node)
    old = {n: v["public_key"] for n, v in registry(keys)["nodes"].items()}
    procs = [subprocess.Popen([sys.executable, "-m", "hall_bus.cli", "keys", "add", node, "--replace", "--keys",
                               str(keys), "--config", str(EXAMPLE)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for node in CONFIG_NODES]
    procs += [subprocess.Popen([sys.executable, "-m", "hall_bus.cli", "keys", "revoke", node, "--keys", str(keys)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for node in extras]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    data = registry(keys)
    assert sorted(data["nodes"]) == sorted(CONFIG_NODES)  # every revoke kept
    assert sorted(data["revoked"]) == sorted(extras)
    for node in CONFIG_NODES:  # every replacement kept, and the registry names the key the node's files hold
        assert data["nodes"][node]["public_key"] != old[node]
        assert data["nodes"][node]["public_key"] == key_file_public(keys, node)
    assert not list(keys.glob("*.tmp")) and not list(keys.glob(".*.tmp"))


WORKER = """
import sys, time
from pathlib import Path
from hall_bus.wire.keys import KeyStore
keys, go, who = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
store = KeyStore(keys)
for i in range(10):
    store.revoke(f"w{who}-{i}")
    store.add(f"n{who}-{i}")
"""


def test_many_writers_released_at_once_lose_nothing(tmp_path: Path) -> None:
    """Writers that start at the same instant and change the registry twenty times each: the tightest race."""
    keys = tmp_path / "keys"
    store = KeyStore(keys)
    store.init()
    workers = 6
    for w in range(workers):
        for i in range(10):
            store.add(f"w{w}-{i}")
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(keys), str(go), str(w)], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for w in range(workers)]
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    data = registry(keys)
    assert sorted(data["nodes"]) == sorted(f"n{w}-{i}" for w in range(workers) for i in range(10))
    assert sorted(data["revoked"]) == sorted(f"w{w}-{i}" for w in range(workers) for i in range(10))


def test_a_half_written_or_missing_registry_does_not_stop_new_connections(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            admin = await hall.started("admin", subscribe=False)
            path = hall.keys.registry_path
            good = path.read_text(encoding="utf-8")
            path.write_text(good[: len(good) // 2], encoding="utf-8")  # a hand edit or copy caught half-way
            kiosk = await hall.started("kiosk-1", subscribe=False)  # a new connection: admitted all the same
            assert (await kiosk.request({"op": "issue", "service": "医保"}))["ok"]
            status = await admin.status()
            assert [f["part"] for f in status["server_faults"]] == ["keys"]
            fault = status["server_faults"][0]
            assert "enrolled.json cannot be read" in fault["problem"] and "last good copy" in fault["effect"]
            path.unlink()  # gone for a moment
            counter = await hall.started("counter-5", subscribe=False)
            assert (await counter.request({"op": "open_counter", "counter": 5}))["ok"]
            path.write_text(good, encoding="utf-8")  # back: the fault clears with the next look at the file
            for _ in range(200):  # within a heartbeat or two; bounded so a regression fails instead of hanging
                if not (await admin.status())["server_faults"]:
                    break
                await asyncio.sleep(0.05)
            assert not (await admin.status())["server_faults"]
            hall.keys.revoke("kiosk-2")  # and changes take effect again
            await until(lambda: hall.server.keys is not None and hall.server.keys.node("kiosk-2") is None)

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_an_unreadable_registry_is_one_line_for_the_operator(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    KeyStore(keys).init()
    (keys / REGISTRY).write_text('{"nodes": {"kiosk-1": ', encoding="utf-8")
    res = hallctl("keys", "list", "--keys", str(keys))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{keys / REGISTRY}: unreadable" in res.stderr and "restore it from a backup" in res.stderr
    (keys / REGISTRY).write_text('{"nodes": {"kiosk-1": {"public_key": 5}}}', encoding="utf-8")
    res = hallctl("keys", "revoke", "kiosk-1", "--keys", str(keys))
    assert res.returncode == 2 and "not a key registry" in res.stderr and "Traceback" not in res.stderr
