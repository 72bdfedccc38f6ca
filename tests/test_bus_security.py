"""The bus security holes of issue 8, each on real loopback sockets with real CURVE keys.

Every test has a control: the same check passes for a good node, so a test cannot pass merely because nothing
works at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import stat
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from hall_bus.config import HallConfig
from hall_bus.store.ledger import Ledger
from hall_bus.wire import protocol as p
from hall_bus.wire.client import BusError, HallClient, KeyRefused, SyncState
from hall_bus.wire.keys import KeyStore

from .bus_helpers import (
    NODES,
    Hall,
    config_on_ports,
    free_port,
    hallctl,
    make_keys,
    running_hall,
    start_server_process,
    until,
)
from .conftest import EXAMPLE
from .test_bus_process import wait_ready

HEARTBEAT = 0.2


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 60))


@pytest.fixture
def fast(cfg: HallConfig) -> HallConfig:
    """The example hall with a short heartbeat, so 'within a heartbeat' is quick to wait for."""
    return cfg.model_copy(update={"bus": cfg.bus.model_copy(update={"heartbeat_seconds": HEARTBEAT})})


class Listener:
    """A bare SUB socket with a node's key, recording everything it hears: what a hostile node would run."""

    def __init__(self, hall: Hall, credentials: tuple[bytes, bytes, bytes]) -> None:
        self.sock = zmq.asyncio.Context.instance().socket(zmq.SUB)
        self.sock.curve_publickey, self.sock.curve_secretkey, self.sock.curve_serverkey = credentials
        self.sock.setsockopt(zmq.RECONNECT_IVL, 50)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.subscribe(b"")
        self.monitor = self.sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        self.sock.connect(hall.server.event_endpoint)
        self.events: list[dict[str, Any]] = []
        self.heartbeats: list[dict[str, Any]] = []
        self.auth_failures = 0
        self.tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._watch())]

    async def _read(self) -> None:
        while True:
            topic, raw = await self.sock.recv_multipart()
            (self.heartbeats if topic == p.TOPIC_HEARTBEAT else self.events).append(orjson.loads(raw))

    async def _watch(self) -> None:
        while True:
            parse_monitor_message(await self.monitor.recv_multipart())
            self.auth_failures += 1

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.sock.disable_monitor()
        self.monitor.close(linger=0)
        self.sock.close(linger=0)


async def rebound(hall: Hall, before: int) -> None:
    await until(lambda: hall.server.pub_rebinds > before, timeout=10)


# ---------------------------------------------------------------------- roles come from the hall config


def test_key_for_a_node_the_config_does_not_know_gets_unknown_node(fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with running_hall(fast, tmp_path) as hall:
            hall.keys.add("ghost-1")  # the key store knows it; the hall configuration does not
            ghost = hall.client("ghost-1", subscribe=False)
            with pytest.raises(BusError) as refused:
                await ghost.start(timeout=5)
            assert refused.value.code == "unknown_node"
            # Nor may it listen: the event socket refuses it at the handshake.
            ears = Listener(hall, hall.keys.node_credentials("ghost-1"))
            control = Listener(hall, hall.keys.node_credentials("display-1"))
            kiosk = await hall.started("kiosk-1", subscribe=False)
            await until(lambda: ears.auth_failures > 0)
            await until(lambda: len(control.heartbeats) >= 2)  # connected nodes hear heartbeats by now
            assert (await kiosk.request({"op": "issue", "service": "医保"}))["ok"]
            await until(lambda: len(control.events) >= 1)
            assert ears.events == [] and ears.heartbeats == []
            assert "ghost-1" not in hall.server.sessions
            await ears.close()
            await control.close()

    run(scenario())


def test_role_and_window_come_from_the_config_not_the_key_store(fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with running_hall(fast, tmp_path) as hall:
            # A registry from before this rule, or edited by hand, claims greeter-1 and counter-5 are admins.
            registry = json.loads(hall.keys.registry_path.read_text(encoding="utf-8"))
            for node in ("greeter-1", "counter-5"):
                registry["nodes"][node]["role"] = "admin"
            hall.keys.registry_path.write_text(json.dumps(registry), encoding="utf-8")
            greeter = await hall.started("greeter-1", subscribe=False)
            counter = await hall.started("counter-5", subscribe=False)
            kiosk = await hall.started("kiosk-1", subscribe=False)
            await kiosk.request({"op": "issue", "service": "企业开办"})  # served at window 5
            assert greeter.welcome["role"] == "greeter" and counter.welcome["counter"] == 5
            assert (await greeter.request({"op": "call_next", "counter": 5}))["code"] == "forbidden"
            assert (await counter.request({"op": "call_next", "counter": 1}))["code"] == "forbidden"
            with pytest.raises(BusError, match="only admin"):
                await greeter.status()
            assert (await counter.request({"op": "open_counter", "counter": 5}))["ok"]  # its own window: yes
            assert (await counter.request({"op": "call_next", "counter": 5}))["ok"]

    run(scenario())


def test_keys_add_takes_the_node_from_the_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    keys = ["--keys", str(tmp_path / "keys")]
    conf = ["--config", str(EXAMPLE)]
    assert hallctl("keys", "init", *keys).returncode == 0
    ghost = hallctl("keys", "add", "ghost-1", "--role", "admin", *keys, *conf)
    assert ghost.returncode == 2 and "not in the hall configuration" in ghost.stderr
    promoted = hallctl("keys", "add", "greeter-1", "--role", "admin", *keys, *conf)
    assert promoted.returncode == 2 and "is a greeter" in promoted.stderr
    no_config = hallctl("keys", "add", "admin", "--role", "admin", *keys)
    assert no_config.returncode == 2 and "--config" in no_config.stderr
    assert not (tmp_path / "keys" / "nodes" / "ghost-1.key_secret").exists()
    first = hallctl("keys", "add", "kiosk-1", *keys, *conf)
    assert first.returncode == 0, first.stderr
    old = KeyStore(tmp_path / "keys").node_credentials("kiosk-1")
    again = hallctl("keys", "add", "kiosk-1", *keys, *conf)
    assert again.returncode == 2 and "--replace" in again.stderr and "Traceback" not in again.stderr
    assert KeyStore(tmp_path / "keys").node_credentials("kiosk-1") == old  # untouched
    replaced = hallctl("keys", "add", "kiosk-1", "--replace", *keys, *conf)
    assert replaced.returncode == 0, replaced.stderr
    assert KeyStore(tmp_path / "keys").node_credentials("kiosk-1")[0] != old[0]
    listing = hallctl("keys", "list", *keys, *conf)
    assert "kiosk-1" in listing.stdout and "kiosk" in listing.stdout


# ---------------------------------------------------------------------- revocation and replacement


def test_revoked_node_gets_nothing_more_on_either_socket(fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with running_hall(fast, tmp_path) as hall:
            heard: list[dict[str, Any]] = []
            revoked = await hall.started("kiosk-2", on_event=heard.append)
            ears = Listener(hall, hall.keys.node_credentials("kiosk-2"))  # a hostile copy of its key
            display = await hall.started("display-1", config=fast)
            kiosk = await hall.started("kiosk-1", subscribe=False)
            await until(lambda: len(ears.heartbeats) >= 1)
            assert (await kiosk.request({"op": "issue", "service": "医保"}))["ok"]
            await until(lambda: len(heard) >= 1 and len(ears.events) >= 1)  # control: both were listening
            before = hall.server.pub_rebinds
            hall.keys.revoke("kiosk-2")
            await rebound(hall, before)
            cut_seq, cut_at = hall.server.core.state.seq, hall.server.pub_rebound_at
            for _ in range(3):
                assert (await kiosk.request({"op": "issue", "service": "人社"}))["ok"]
            # The good display loses nothing: it resyncs and mirrors the hall exactly.
            await until(lambda: display.seq == hall.server.core.state.seq and display.synced, timeout=10)
            assert display.state is not None and display.state.to_dict() == hall.server.core.state.to_dict()
            beats = display.heartbeats
            await until(lambda: display.heartbeats >= beats + 4)  # room for anything that would still leak
            assert [e["seq"] for e in heard if e["seq"] > cut_seq] == []
            assert [e["seq"] for e in ears.events if e["seq"] > cut_seq] == []
            assert [h for h in ears.heartbeats if h["time"] > cut_at] == []
            assert ears.auth_failures >= 1  # its reconnection was refused at the handshake
            with pytest.raises(BusError, match="no longer enrolled"):
                await revoked.request({"op": "issue", "service": "医保"}, timeout=0.5, retries=1)
            with pytest.raises(BusError) as snap:  # not even a snapshot through the open command connection
                await revoked._ask("snapshot", {}, timeout=0.5, retries=1)
            assert snap.value.code == "revoked"
            await ears.close()

    run(scenario())


def test_replaced_key_stops_working_within_a_heartbeat(fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with running_hall(fast, tmp_path) as hall:
            heard: list[dict[str, Any]] = []
            old_credentials = hall.keys.node_credentials("kiosk-2")
            old = await hall.started("kiosk-2", on_event=heard.append)
            assert (await old.request({"op": "issue", "service": "医保"}))["ok"]
            await until(lambda: len(heard) >= 1)
            before = hall.server.pub_rebinds
            hall.keys.add("kiosk-2", replace=True)
            await rebound(hall, before)
            cut_seq = hall.server.core.state.seq
            with pytest.raises(BusError, match="new key"):
                await old.request({"op": "issue", "service": "医保"}, timeout=0.5, retries=1)
            new = await hall.started("kiosk-2")  # the new key files
            assert (await new.request({"op": "issue", "service": "医保"}))["ok"]
            await until(lambda: new.seq == hall.server.core.state.seq)
            beats = new.heartbeats
            await until(lambda: new.heartbeats >= beats + 4)
            assert [e["seq"] for e in heard if e["seq"] > cut_seq] == []
            # A fresh connection with the old key is refused at the handshake, and said so.
            stale = HallClient("kiosk-2", hall.server.command_endpoint, hall.server.event_endpoint,
                               credentials=old_credentials, subscribe=False)
            hall.clients.append(stale)
            with pytest.raises(KeyRefused):
                await stale.start(timeout=5)
            assert hall.server.core.state.numbers["E"] == 2

    run(scenario())


# ---------------------------------------------------------------------- the sender is who its key says


def test_issue_records_the_senders_node_whatever_the_body_says(fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with running_hall(fast, tmp_path) as hall:
            kiosk = await hall.started("kiosk-1", subscribe=False)
            answer = await kiosk.request({"op": "issue", "service": "医保", "group": "accompany", "node": "kiosk-2"})
            assert answer["ok"]

    run(scenario())
    ledger = Ledger(tmp_path / "data")
    recorded = [(e["type"], e["data"]["node"]) for e in ledger.events() if "node" in e["data"]]
    ledger.close()
    assert recorded == [("ticket_issued", "kiosk-1"), ("help_requested", "kiosk-1")]


# ---------------------------------------------------------------------- secret files


def test_secret_key_files_are_0600_and_loose_ones_are_tightened(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    keys = make_keys(tmp_path / "keys", ["kiosk-1", "admin"])
    keys.add("kiosk-1", replace=True)
    secrets = sorted(keys.dir.rglob("*.key_secret"), key=lambda path: path.name)
    assert [s.name for s in secrets] == ["admin.key_secret", "kiosk-1.key_secret", "server.key_secret"]
    assert {stat.S_IMODE(s.stat().st_mode) for s in secrets} == {0o600}
    assert stat.S_IMODE(keys.dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((keys.dir / "nodes").stat().st_mode) == 0o700
    assert stat.S_IMODE((keys.dir / "server.key").stat().st_mode) & 0o044  # public files stay readable
    loose = keys.node_secret_path("admin")
    os.chmod(loose, 0o644)  # copied to a node machine carelessly
    with caplog.at_level(logging.WARNING, logger="hall.keys"):
        keys.node_credentials("admin")
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
    assert "tightened to 0600" in caplog.text


# ---------------------------------------------------------------------- a refused key is said plainly


def test_refused_key_is_one_clear_line_from_hallctl(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", NODES)
    keys.add("ghost-1")
    cmd_port, ev_port = free_port(), free_port()
    config = tmp_path / "hall.toml"
    config_on_ports(config, cmd_port, ev_port)
    server = start_server_process(config, tmp_path / "data", keys.dir, cmd_port, ev_port)
    common = ["--config", str(config), "--keys", str(keys.dir), "--timeout", "20"]
    try:
        wait_ready(server)
        ok = hallctl("status", "--node", "admin", *common)
        assert ok.returncode == 0, ok.stderr  # control: the same command works with an accepted key
        keys.revoke("admin")
        keys.revoke("counter-5")
        for res in (hallctl("status", "--node", "admin", *common),
                    hallctl("run", "counter", "--node", "counter-5", *common, stdin="n\n")):
            assert res.returncode == 2, res.stderr
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and "key is not accepted by the server" in lines[0], res.stderr
            assert "no hall server answered" not in res.stderr
        ghost = hallctl("status", "--node", "ghost-1", *common)
        assert ghost.returncode == 2 and "unknown_node" in ghost.stderr and "Traceback" not in ghost.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


# ---------------------------------------------------------------------- sync state and retries in one batch


def test_sync_state_goes_initial_syncing_active_and_back_on_a_gap(fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with running_hall(fast, tmp_path) as hall:
            kiosk = await hall.started("kiosk-1", subscribe=False)
            display = hall.client("display-1", config=fast)
            seen: list[SyncState] = []
            original = display._set_state

            def spy(state: SyncState) -> None:
                seen.append(state)
                original(state)

            display._set_state = spy  # type: ignore[method-assign]
            assert display.sync_state is SyncState.INITIAL and not display.synced
            await display.start()
            assert seen[-2:] == [SyncState.SYNCING, SyncState.ACTIVE] and display.synced
            assert display.sub is not None
            display.sub.setsockopt(zmq.UNSUBSCRIBE, p.TOPIC_EVENT)
            await asyncio.sleep(0.1)
            await kiosk.request({"op": "issue", "service": "医保"})
            display.sub.setsockopt(zmq.SUBSCRIBE, p.TOPIC_EVENT)
            await kiosk.request({"op": "issue", "service": "医保"})
            await until(lambda: display.seq == hall.server.core.state.seq and display.synced)
            assert seen[2:] and seen[-3:] == [SyncState.INITIAL, SyncState.SYNCING, SyncState.ACTIVE]
            await display.wait_synced(timeout=1)

    run(scenario())


def test_a_retry_inside_one_batch_carries_retry_true(fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with running_hall(fast, tmp_path) as hall:
            sock = zmq.asyncio.Context.instance().socket(zmq.DEALER)
            sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = hall.keys.node_credentials("kiosk-1")
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(hall.server.command_endpoint)
            await sock.send_multipart(p.encode("ping", {}))
            await asyncio.wait_for(sock.recv_multipart(), 5)
            same_batch = 0
            for attempt in range(20):
                body = {"request_id": f"tap-{attempt}", "command": {"op": "issue", "service": "医保"}}
                batches = hall.server.stats.batches
                await sock.send_multipart(p.encode("command", body))
                await sock.send_multipart(p.encode("command", body))
                time.sleep(0.05)  # block the loop (and the server in it) so both arrive before it reads
                first = p.decode_server(await asyncio.wait_for(sock.recv_multipart(), 5))[1]
                second = p.decode_server(await asyncio.wait_for(sock.recv_multipart(), 5))[1]
                assert first["ok"] and first["result"] == second["result"] and not first.get("retry")
                assert second["retry"] is True  # in one batch or the next, a retry says so
                same_batch += hall.server.stats.batches == batches + 1
                if same_batch:
                    break
            assert same_batch, "the two copies never landed in one batch"
            sock.close(linger=0)

    run(scenario())


def test_visitors_names_and_phones_go_out_masked_to_every_node(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A display or kiosk mirrors the hall; the consultations' names and phone numbers it receives are masked."""
    from .bus_helpers import until

    async def scenario() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            display = await hall.started("display-1", config=cfg)
            greeter = await hall.signed_in("greeter-1", subscribe=False)
            seen: list[dict] = []
            display.on_event = seen.append
            question = ("张秀英问异地就医备案，身份证 410102196611240019，回电 138 1234 5678，"
                        "住平安县城关镇建设路12号3单元501室")
            opened = await greeter.request({"op": "open_consultation", "name": "张秀英", "contact": "13812345678",
                                            "question": question})
            cid = opened["result"]["consultation_id"]
            await greeter.request({"op": "refer_consultation", "consultation_id": cid, "department": "医保局",
                                   "note": "张秀英的电话 13812345678"})
            await until(lambda: any(e["type"] == "consultation_referred" for e in seen))
            ev = next(e for e in seen if e["type"] == "consultation_opened")
            assert ev["data"]["name"] == "张**" and ev["data"]["contact"] == "138****5678"
            words = ev["data"]["question"] + next(e for e in seen if e["type"] == "consultation_referred")[
                "data"]["note"]
            for secret in ("张秀英", "196611240019", "1234 5678", "13812345678", "建设路12号", "501室"):
                assert secret not in words, (secret, words)
            assert "异地就医备案" in words and "张**" in words  # the question itself still reads
            late = await hall.started("kiosk-1", config=cfg)  # a snapshot, too
            q = next(iter(late.state.consultations.values()))
            assert (q.name, q.contact) == ("张**", "138****5678")
            assert "张秀英" not in q.question and "196611240019" not in q.question and "501室" not in q.question
            assert all(m.pin_hash == "" for m in late.state.staff.values())  # PIN hashes never leave the server
            kept = next(iter(hall.server.core.state.consultations.values()))  # the ledger's own state: whole
            assert (kept.name, kept.contact, kept.question) == ("张秀英", "13812345678", question)

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_counter_tells_only_its_own_windows_visitors(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with running_hall(cfg, tmp_path) as hall:
            kiosk = await hall.started("kiosk-1", subscribe=False)
            counter1 = await hall.signed_in("counter-1", "xm-2", subscribe=False)
            counter5 = await hall.signed_in("counter-5", "李娜", subscribe=False)
            t = (await kiosk.request({"op": "issue", "service": "企业开办"}))["result"]
            await counter5.request({"op": "call_next", "counter": 5})
            other = await counter1.request({"op": "issue_notice", "service": "企业开办", "missing": ["公章"],
                                            "ticket": t["ticket"]})
            assert not other["ok"] and other["code"] == "forbidden" and "window 1" in other["message"]
            own = await counter5.request({"op": "issue_notice", "service": "企业开办", "missing": ["公章"],
                                          "ticket": t["ticket"]})
            assert own["ok"], own
            served = set(cfg.counters_by_number[5].services)
            elsewhere = next(s.name for s in cfg.services if s.name not in served)
            foreign = await counter5.request({"op": "issue_notice", "service": elsewhere, "missing": ["公章"]})
            assert foreign["code"] == "forbidden" and "does not serve" in foreign["message"]
            own_kiosk = next(x.print_at for x in cfg.nodes if x.id == "counter-5")
            kiosks = [n.id for n in cfg.nodes if n.role == "kiosk" and n.id != own_kiosk]
            far = await counter5.request({"op": "issue_notice", "service": "企业开办", "missing": ["公章"],
                                          "print_at": kiosks[0]})
            assert far["code"] == "forbidden" and "print at" in far["message"]

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_two_programs_with_one_nodes_key_are_said_in_status_and_a_restart_is_not(
        fast, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A kiosk's files copied to a second machine: both answer as kiosk-1 and each takes the other's answers.
    One restart switches the connection once and says nothing; two at once keep switching and are named."""
    async def scenario() -> None:
        async with running_hall(fast, tmp_path) as hall:
            first = await hall.started("kiosk-1", subscribe=False)
            await first.close()
            again = await hall.started("kiosk-1", subscribe=False)  # a restart: a new connection, once
            assert (await again.request({"op": "issue", "service": "医保"}))["ok"]
            assert not [f for f in hall.server.status()["server_faults"] if f["part"] == "node"]
            twin = await hall.started("kiosk-1", subscribe=False)  # and now a second program with the same key
            await until(lambda: any(f["part"] == "node" for f in hall.server.status()["server_faults"]),
                        timeout=10)
            fault = next(f for f in hall.server.status()["server_faults"] if f["part"] == "node")
            assert fault["problem"] == "kiosk-1 is connected from two places at once"
            assert "hallctl keys add" in fault["effect"]
            await twin.close()

    run(scenario())
