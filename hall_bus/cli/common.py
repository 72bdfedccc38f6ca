"""What every bus command shares: logging that masks personal data, signal handling, the node's client."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from devices.privacy import MaskingFilter
from hall_bus.config import HallConfig, check_host, load_config
from hall_bus.errors import UserError
from hall_bus.wire.client import BusError, BusTimeout, HallClient, KeyRefused

T = TypeVar("T")


class HallTimeFormatter(logging.Formatter):
    """Log times in the hall's time zone: the board, the status line and the staff all speak hall time, and a
    log in UTC beside them ("since 13:23" next to "clock 21:29") sends a supervisor looking in the wrong hour."""

    def __init__(self, fmt: str, datefmt: str, tz: Any = None) -> None:
        super().__init__(fmt, datefmt)
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        from datetime import datetime

        return datetime.fromtimestamp(record.created, self.tz).strftime(datefmt or "%H:%M:%S")


def setup_logging(verbose: bool = False, tz: Any = None) -> None:
    """`tz`: the hall's time zone (cfg.hall.tz); the machine's own when there is no hall config."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(HallTimeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S", tz))
    handler.addFilter(MaskingFilter())  # no handler ever sees an unmasked ID or phone number
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


def node_role(cfg: HallConfig, node: str) -> tuple[str, int | None]:
    for n in cfg.nodes:
        if n.id == node:
            return n.role, n.counter
    known = ", ".join(n.id for n in cfg.nodes)
    raise UserError(f"node {node!r} is not in the hall configuration (known: {known})")


def node_client(cfg: HallConfig, args: argparse.Namespace, node: str, **kw: Any) -> HallClient:
    return HallClient.for_node(cfg, node, keys_dir=args.keys, server=args.server, **kw)


async def start_client(client: HallClient, timeout: float) -> None:
    """Start a node's client; each way it can fail becomes one line that points at the fix, not a traceback.

    A refused key, a refusal by the server (unknown node, revoked) and silence need different fixes (keys,
    the hall configuration, the network), so they must not all read "server unreachable".
    """
    try:
        await client.start(timeout=timeout)
    except KeyRefused as exc:
        await client.close()
        raise UserError(exc.message) from None
    except BusError as exc:
        await client.close()
        raise UserError(f"the hall server refuses {client.node} ({exc.code}): {exc.message}") from None
    except (TimeoutError, BusTimeout):
        await client.close()
        raise UserError(f"no hall server answered at {client.command_endpoint} within {timeout:.0f} s") from None


def admin_call(args: argparse.Namespace, what: str, job: Callable[[HallClient], Awaitable[T]], *,
               subscribe: bool = False, mirror: bool = False) -> T:
    """One short admin conversation with the running server (status, the roster, a clock confirm): connect as
    `args.node`, run `job`, close; a silent or refusing server is one line naming `what`."""
    cfg = load_config(args.config)

    async def main() -> T:
        client = node_client(cfg, args, args.node, subscribe=subscribe, mirror=mirror)
        await start_client(client, args.timeout)
        try:
            return await job(client)
        except (TimeoutError, BusTimeout):
            raise UserError(f"no hall server answered at {client.command_endpoint}") from None
        except BusError as exc:
            raise UserError(f"{what} refused: {exc.message}") from None
        finally:
            await client.close()

    return asyncio.run(main())


async def until_refused(clients: list[HallClient]) -> int:
    """A node the server stops accepting (revoked, re-keyed, removed from the config) stops too, with one line,
    instead of retrying forever. Returns the exit code 2."""
    while all(c.refused is None for c in clients):
        await asyncio.sleep(0.5)
    gone = next(c for c in clients if c.refused is not None)
    assert gone.refused is not None
    print(f"{gone.node}: {gone.refused.message}; stopping", file=sys.stderr, flush=True)
    return 2


async def first_done(*jobs: Any) -> int:
    """Run an agent's jobs (its work, a signal, a refusal) until one ends; its exit code wins, the rest are
    cancelled and awaited."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def add_admin(p: argparse.ArgumentParser) -> None:
    """The options of a short admin conversation with the running server (`admin_call`)."""
    add_common(p)
    p.add_argument("--node", default="admin", help="the admin node to connect as")
    p.add_argument("--timeout", type=float, default=5.0)


def add_common(p: argparse.ArgumentParser, *, keys: bool = True) -> None:
    p.add_argument("--config", required=True, help="hall TOML file")
    if keys:
        p.add_argument("--keys", default="data/keys", help="key directory (default data/keys)")
        p.add_argument("--server", type=check_host, help="the hall server's host or IP, e.g. 127.0.0.1 (default: "
                       "[bus].server; the ports come from [bus])")
    p.add_argument("--verbose", action="store_true")
