"""The ledger's disk at fault: full, or unwritable. Commands are refused at once with `storage_unavailable` (never
left unanswered), `hallctl status` says so in words, service resumes by itself when the disk takes writes again,
and the server will not start on a ledger or data directory it cannot write.

Faults are made for real: a small tmpfs filled up (needs root and mount), a file-size limit on a server process
(works for anyone), an immutable flag (root: chmod does not stop root) or chmod (everyone else).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import os
import resource
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from hall_bus.cli.status import print_status
from hall_bus.errors import LedgerError
from hall_bus.store.core import HallCore
from hall_bus.store.ledger import LEDGER_FILE, StorageUnavailable
from hall_bus.wire.client import HallClient

from .bus_helpers import NODES, free_port, hallctl, make_keys, running_hall
from .conftest import EXAMPLE, ROOT


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 120))


async def until_async(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not reached in time")
        await asyncio.sleep(0.05)


@contextlib.contextmanager
def small_disk(where: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` (skips the test where mounting is not allowed)."""
    where.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip()}); the file-size limit test covers disk full")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk says it is full; deleting it gives the space back."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as f:  # unbuffered: nothing left to flush (and fail) at close
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


@contextlib.contextmanager
def unwritable(*paths: Path) -> Iterator[None]:
    """Make files or directories unwritable in a way that really stops this process: root ignores chmod, so as
    root the immutable flag (chattr +i), which stops root too; chmod for everyone else."""
    done: list[tuple[Path, int | None]] = []
    try:
        for path in paths:
            if os.geteuid() == 0:
                res = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
                if res.returncode != 0:
                    pytest.skip(f"cannot set the immutable flag here: {res.stderr.strip()}")
                done.append((path, None))
            else:
                mode = path.stat().st_mode
                path.chmod(mode & ~0o222)
                done.append((path, mode))
        yield
    finally:
        for path, mode in reversed(done):
            if mode is None:
                subprocess.run(["chattr", "-i", str(path)], check=False)
            else:
                path.chmod(mode)


def status_text(status: dict) -> str:  # type: ignore[type-arg]
    out = io.StringIO()
    print_status(status, out)
    return out.getvalue()


# ---------------------------------------------------------------------- disk full, for real


def test_a_full_disk_refuses_commands_at_once_shows_in_status_and_heals(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with small_disk(tmp_path / "disk") as disk:
        async def scenario() -> None:
            async with running_hall(cfg, disk) as hall:
                kiosk = await hall.started("kiosk-1", subscribe=False)
                admin = await hall.started("admin", subscribe=False)
                assert (await kiosk.request({"op": "issue", "service": "医保"}))["ok"]
                filler = fill(disk)
                refused = None
                for _ in range(2000):  # the WAL may still hold a few free frames; the disk runs out within these
                    answer = await kiosk.request({"op": "issue", "service": "医保"}, timeout=10, retries=0)
                    if not answer["ok"]:
                        refused = answer
                        break
                assert refused is not None and refused["code"] == "storage_unavailable", refused
                assert "the disk is full" in refused["message"] and "nothing was done" in refused["message"]
                waiting = hall.server.core.state.waiting.copy()
                # Every later command is answered too (no hang), and none changes the hall.
                again = await kiosk.request({"op": "issue", "service": "医保"}, timeout=10, retries=0)
                assert again["code"] == "storage_unavailable" and hall.server.core.state.waiting == waiting
                status = await admin.status()
                assert status["server_faults"][0]["part"] == "ledger"
                assert status["server_faults"][0]["problem"] == "the disk is full"
                text = status_text(status)
                assert "server faults: 1" in text and "the disk is full" in text and "storage_unavailable" in text
                filler.unlink()  # space returns: the heartbeat notices, with no command needed

                async def healthy() -> bool:
                    return not (await admin.status())["server_faults"]

                await until_async(healthy, "the ledger takes writes again")
                assert "server faults: none" in status_text(await admin.status())
                after = await kiosk.request({"op": "issue", "service": "医保"})
                assert after["ok"], after

        run(scenario())


def test_a_full_disk_under_a_file_size_limit_on_a_server_process(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same fault for anyone (no mount needed): the server process may not grow a file past a limit, as on a
    full disk; SIGXFSZ is ignored so the write fails (EFBIG) instead of killing the server. Raising the limit of
    the running process is the space coming back."""
    keys = make_keys(tmp_path / "keys", NODES)
    cmd_port, ev_port = free_port(), free_port()
    log = (tmp_path / "server.log").open("w")

    # The limit is set by the child itself (no preexec_fn: this test process may have threads running).
    limited = ("import resource, runpy, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
               "resource.setrlimit(resource.RLIMIT_FSIZE, (96 * 1024, resource.RLIM_INFINITY)); "
               "sys.argv[0] = 'hallctl'; runpy.run_module('hall_bus.cli', run_name='__main__')")
    proc = subprocess.Popen(
        [sys.executable, "-c", limited, "server", "--config", str(EXAMPLE), "--data", str(tmp_path / "data"),
         "--keys", str(keys.dir), "--commands", f"tcp://127.0.0.1:{cmd_port}", "--events",
         f"tcp://127.0.0.1:{ev_port}"], cwd=ROOT, stdout=log, stderr=log)

    async def scenario() -> None:
        ep = (f"tcp://127.0.0.1:{cmd_port}", f"tcp://127.0.0.1:{ev_port}")
        kiosk = HallClient("kiosk-1", *ep, credentials=keys.node_credentials("kiosk-1"), heartbeat_seconds=0.2,
                           server_timeout_seconds=1.0, subscribe=False)
        admin = HallClient("admin", *ep, credentials=keys.node_credentials("admin"), heartbeat_seconds=0.2,
                           server_timeout_seconds=1.0, subscribe=False)
        await kiosk.start(timeout=30)
        await admin.start(timeout=30)
        try:
            refused = None
            for _ in range(2000):
                answer = await kiosk.request({"op": "issue", "service": "医保"}, timeout=10, retries=0)
                if not answer["ok"]:
                    refused = answer
                    break
            assert refused is not None and refused["code"] == "storage_unavailable", refused
            status = await admin.status()
            assert [f["part"] for f in status["server_faults"]] == ["ledger"]
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

            async def healthy() -> bool:
                return not (await admin.status())["server_faults"]

            await until_async(healthy, "the ledger takes writes again")
            assert (await kiosk.request({"op": "issue", "service": "医保"}))["ok"]
        finally:
            await kiosk.close()
            await admin.close()

    try:
        run(scenario())
        assert proc.poll() is None  # refused, never killed
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    text = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert "Traceback" not in text and "commands are refused (storage_unavailable)" in text
    assert "takes writes again" in text


# ---------------------------------------------------------------------- unwritable


def test_a_ledger_that_turns_unwritable_is_refused_and_heals(cfg, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """While running: the ledger's files stop taking writes (the immutable flag stands in for a disk the
    kernel turned read-only: open files stop taking writes too)."""
    if os.geteuid() != 0:
        pytest.skip("an open file can be made unwritable only with the immutable flag, which needs root")
    core = HallCore(cfg, tmp_path, clock)
    assert core.submit({"op": "issue", "service": "医保"})["ok"]
    before = core.state.to_dict()
    files = [tmp_path / LEDGER_FILE, tmp_path / f"{LEDGER_FILE}-wal"]
    with unwritable(*files):
        with pytest.raises(StorageUnavailable) as refused:
            core.submit({"op": "issue", "service": "医保"})
        assert core.storage_fault is not None and core.storage_fault.problem == refused.value.problem
        assert core.state.to_dict() == before  # what the engine did in memory was undone
        assert core.retry_storage() is False
    assert core.retry_storage() is True and core.storage_fault is None
    answer = core.submit({"op": "issue", "service": "医保"})
    assert answer["ok"] and answer["result"]["number"] == "E002"
    core.close()


@pytest.mark.parametrize("what", ["directory", "ledger"])
def test_the_server_refuses_to_start_on_a_read_only_ledger_with_the_fix(cfg, clock, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                        what: str) -> None:
    data = tmp_path / "data"
    HallCore(cfg, data, clock).close()
    target = data if what == "directory" else data / LEDGER_FILE
    with unwritable(target):
        with pytest.raises(LedgerError, match=r"cannot be written .*chmod u\+w, chattr -i, or remount"):
            HallCore(cfg, data, clock)
        res = hallctl("server", "--config", str(EXAMPLE), "--data", str(data), "--insecure",
                      "--commands", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*")
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and str(target) in lines[0], res.stderr
    assert "make it writable" in lines[0]
    HallCore(cfg, data, clock).close()  # writable again: it starts
