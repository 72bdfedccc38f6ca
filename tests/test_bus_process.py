"""The hall server as a real process: killed with SIGKILL mid-session and restarted; console agents and status."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from hall_bus.store.ledger import Ledger
from hall_bus.wire.client import HallClient

from .bus_helpers import NODES, config_on_ports, free_port, hallctl, make_keys, start_server_process, until
from .conftest import EXAMPLE, ROOT


def wait_ready(proc: subprocess.Popen[str], timeout: float = 20.0) -> None:
    """The server logs 'hall server …' once both sockets are bound."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "commands on" in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
    raise AssertionError("server did not start")


def test_sigkill_and_restart_loses_and_duplicates_nothing(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys = make_keys(tmp_path / "keys", NODES)
    data = tmp_path / "data"
    cmd_port, ev_port = free_port(), free_port()
    proc = start_server_process(EXAMPLE, data, keys.dir, cmd_port, ev_port)
    wait_ready(proc)
    acknowledged: dict[str, str] = {}

    async def scenario() -> tuple[int, int]:
        nonlocal proc
        ep = (f"tcp://127.0.0.1:{cmd_port}", f"tcp://127.0.0.1:{ev_port}")
        kiosk = HallClient("kiosk-1", *ep, credentials=keys.node_credentials("kiosk-1"), config=cfg,
                           heartbeat_seconds=0.2, server_timeout_seconds=1.0)
        await kiosk.start()

        async def issue(i: int) -> None:
            answer = await kiosk.request({"op": "issue", "service": "医保", "request_id": f"tap-{i}"},
                                         timeout=0.5, retries=60)
            assert answer["ok"], answer
            acknowledged[f"tap-{i}"] = answer["result"]["ticket"]

        for i in range(20):
            await issue(i)
        proc.send_signal(signal.SIGKILL)  # mid-session, no goodbye
        proc.wait()
        pending = asyncio.gather(*(issue(i) for i in range(20, 30)))  # sent while the server is down
        await until(lambda: not kiosk.connected.is_set())  # the kiosk has noticed, and keeps retrying
        proc = start_server_process(EXAMPLE, data, keys.dir, cmd_port, ev_port)
        await pending
        for i in range(30, 40):
            await issue(i)
        for i in (5, 25):  # a late retry of already acknowledged taps: the first answers come back
            again = await kiosk.request({"op": "issue", "service": "医保", "request_id": f"tap-{i}"})
            assert again["result"]["ticket"] == acknowledged[f"tap-{i}"]
        await until(lambda: kiosk.state is not None and len(kiosk.state.tickets) == 40)
        reconnects = kiosk.reconnects
        mirror_tickets = len(kiosk.state.tickets) if kiosk.state else 0
        await kiosk.close()
        return reconnects, mirror_tickets

    try:
        reconnects, mirror_tickets = asyncio.run(asyncio.wait_for(scenario(), 90))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0  # SIGTERM is a clean shutdown
    assert reconnects >= 1
    assert mirror_tickets == 40
    ledger = Ledger(data)
    issued = [e for e in ledger.events() if e["type"] == "ticket_issued"]
    ledger.close()
    assert len(issued) == 40  # none lost, none twice
    assert len({e["data"]["ticket"] for e in issued}) == 40
    assert {e["data"]["ticket"] for e in issued} == set(acknowledged.values())


def test_console_counter_board_and_status(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    assert hallctl("keys", "init", "--keys", str(keys_dir)).returncode == 0
    for node, role in (("kiosk-1", "kiosk"), ("counter-5", "counter"), ("board-1", "board"), ("admin", "admin")):
        res = hallctl("keys", "add", node, "--role", role, "--keys", str(keys_dir), "--config", str(EXAMPLE))
        assert res.returncode == 0, res.stderr
    wrong = hallctl("keys", "add", "board-1", "--role", "counter", "--keys", str(keys_dir), "--config", str(EXAMPLE))
    assert wrong.returncode == 2 and "is a board" in wrong.stderr
    cmd_port, ev_port = free_port(), free_port()
    config = tmp_path / "hall.toml"
    config_on_ports(config, cmd_port, ev_port)
    server = start_server_process(config, tmp_path / "data", keys_dir, cmd_port, ev_port)
    try:
        wait_ready(server)
        common = ["--config", str(config), "--keys", str(keys_dir)]
        board = subprocess.Popen([sys.executable, "-m", "hall_bus.cli", "run", "board", "--node", "board-1",
                                  "--duration", "8", *common], cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        assert board.stdout is not None
        while "waiting for calls" not in (line := board.stdout.readline()):  # connected: it will hear the call
            assert line, f"the board ended before it connected: {board.stderr.read() if board.stderr else ''}"

        async def issue() -> None:
            from hall_bus.config import load_config

            kiosk = HallClient.for_node(load_config(config), "kiosk-1", keys_dir=str(keys_dir), subscribe=False)
            await kiosk.start()
            await kiosk.request({"op": "issue", "service": "企业开办"})
            await kiosk.close()

        asyncio.run(issue())
        counter = hallctl("run", "counter", "--node", "counter-5", *common, stdin="?\nn\nf\nn\nq\n")
        assert counter.returncode == 0, counter.stderr
        assert "叫号 A001" in counter.stdout and "A001 办结" in counter.stdout
        assert "nobody is waiting" in counter.stdout
        status = hallctl("status", "--node", "admin", *common)
        assert status.returncode == 0, status.stderr
        assert "counter-5" in status.stdout and "board-1" in status.stdout and "alive" in status.stdout
        out, _ = board.communicate(timeout=30)
        assert "请 A001 号到 5 号窗口" in out
        refused = hallctl("status", "--node", "board-1", *common)
        assert refused.returncode == 2 and "only admin" in refused.stderr and "Traceback" not in refused.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


def test_agent_without_server_fails_clearly(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    assert hallctl("keys", "init", "--keys", str(keys_dir)).returncode == 0
    assert hallctl("keys", "add", "counter-5", "--keys", str(keys_dir), "--config", str(EXAMPLE)).returncode == 0
    config = tmp_path / "hall.toml"
    port = free_port()
    config.write_text(EXAMPLE.read_text(encoding="utf-8").replace("command_port = 5555", f"command_port = {port}")
                      .replace('catalogue = "catalogue.example.toml"', ""),
                      encoding="utf-8")
    res = hallctl("run", "counter", "--node", "counter-5", "--config", str(config), "--keys", str(keys_dir),
                  "--timeout", "2", stdin="n\n")
    assert res.returncode == 2 and "no hall server answered" in res.stderr and "Traceback" not in res.stderr
    missing = hallctl("run", "counter", "--node", "counter-1", "--config", str(config), "--keys", str(keys_dir))
    assert missing.returncode == 2 and "hallctl keys add counter-1" in missing.stderr


def test_second_server_on_the_same_port_fails_clearly(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", ["admin"])
    cmd_port, ev_port = free_port(), free_port()
    first = start_server_process(EXAMPLE, tmp_path / "a", keys.dir, cmd_port, ev_port)
    try:
        wait_ready(first)
        second = start_server_process(EXAMPLE, tmp_path / "b", keys.dir, cmd_port, free_port())
        _, err = second.communicate(timeout=30)
        assert second.returncode == 2 and "cannot listen" in err and "Traceback" not in err
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=10)


def test_console_kiosk_with_simulated_devices(tmp_path: Path) -> None:
    from devices.idcard.simulator import IdCardSimulator, load_cards
    from devices.printer.decode import decode
    from devices.printer.simulator import PrinterSimulator

    keys = make_keys(tmp_path / "keys", ["kiosk-1"])
    cmd_port, ev_port = free_port(), free_port()
    config = tmp_path / "hall.toml"
    config_on_ports(config, cmd_port, ev_port)
    server = start_server_process(config, tmp_path / "data", keys.dir, cmd_port, ev_port)
    psim = PrinterSimulator()
    psim.start_pty()
    try:
        wait_ready(server)
        with IdCardSimulator(load_cards(ROOT / "assets" / "idcard" / "cards.example.json")) as isim:
            isim.insert(0)
            res = hallctl("run", "kiosk", "--console", "--node", "kiosk-1", "--config", str(config), "--keys",
                          str(keys.dir), "--printer", psim.path, "--idcard", isim.path,
                          stdin="card 医保\n公安 wheelchair_push\nq\n")
        assert res.returncode == 0, res.stderr
        assert "✓ E001 医保 陪同办" in res.stdout and "（已打印）" in res.stdout
        assert "✓ F001 公安 推着办" in res.stdout
        job = decode(psim.job())
        assert "E001" in job.text and "F001" in job.text
    finally:
        psim.stop()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
