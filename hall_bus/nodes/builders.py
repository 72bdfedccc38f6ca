"""One builder per node role: it opens the node's devices and wires its agent to its bus client, from the hall
config and a NodeOptions. The console runners (hall_bus/cli) and the window launchers (kiosk/launch.py) both
start from here, so a node is put together one way whether it has a terminal or a touch screen.

A builder does not start anything: the caller starts the client (now, or retrying in the background for a window
that must open at once) and the agent, runs them, and calls `Built.close()` at the end.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hall_bus.config import HallConfig, Node
from hall_bus.errors import UserError
from hall_bus.nodes.options import NodeOptions

log = logging.getLogger("hall.nodes")


@dataclass
class Built:
    """A node put together: its client, the role's agent (or model), the devices opened for it by name, and how
    to stop it: `stop_agent` first (it may still be talking to a device or sending), then the client, then
    `close_devices` (those the agent does not own). Each may be a coroutine function."""

    client: Any
    agent: Any = None
    devices: dict[str, Any] = field(default_factory=dict)
    stop_agent: Callable[[], Any] | None = None
    close_devices: list[Callable[[], Any]] = field(default_factory=list)

    async def close(self) -> None:
        """Everything, in that order; one that fails to close does not keep the others open."""
        for close in [*([self.stop_agent] if self.stop_agent else []), self.client.close, *self.close_devices]:
            try:
                done = close()
                if inspect.isawaitable(done):
                    await done
            except Exception:  # closing at exit: the rest must still be closed
                log.exception("closing %s", close)


def node_of(cfg: HallConfig, node_id: str, role: str | None = None) -> Node:
    """The node's table in the hall config; a node that is not there, or has another role, is one clear line."""
    node = next((n for n in cfg.nodes if n.id == node_id), None)
    if node is None:
        known = ", ".join(n.id for n in cfg.nodes)
        raise UserError(f"node {node_id!r} is not in the hall configuration (known: {known})")
    if role is not None and node.role != role:
        raise UserError(f"node {node_id} is a {node.role}, not a {role}")
    return node


def client_for(cfg: HallConfig, opts: NodeOptions, **kw: Any) -> Any:
    """The node's bus client (its key from opts.keys, the server from opts.server or the config)."""
    from hall_bus.wire.client import HallClient

    return HallClient.for_node(cfg, opts.node, keys_dir=opts.keys, server=opts.server, **kw)


def build_counter(cfg: HallConfig, opts: NodeOptions) -> Built:
    """A window's keypad, rating pad and counter display (`agent`: CounterDevices, mirrored), or with none of
    them and no other window on its line, only a client for the terminal's keys (`agent`: None)."""
    from hall_bus.nodes.counter_devices import CounterDevices
    from hall_bus.nodes.node_devices import open_node_devices

    node = node_of(cfg, opts.node, "counter")
    if node.counter is None:
        raise UserError(f"node {opts.node} is a counter with no window number")
    devices = open_node_devices(cfg, opts.node)
    if not devices and not opts.more_nodes:
        return Built(client_for(cfg, opts, subscribe=False, mirror=False))
    client = client_for(cfg, opts, mirror=True)
    window = CounterDevices(client, node.counter, keypad=devices.keypad, pad=devices.pad,
                            display=next(iter(devices.boards.values()), None), names=devices.names)
    client.on_event, client.on_resync = window.on_event, window.on_resync
    named = {devices.names[k]: d for k, d in (("keypad", devices.keypad), ("pad", devices.pad)) if d is not None}
    return Built(client, window, {**named, **devices.boards},
                 stop_agent=window.close)


def build_counters(cfg: HallConfig, opts: NodeOptions) -> list[Built]:
    """Every window named (opts.node and opts.more_nodes): one process owns their shared RS-485 line, each
    window keeps its own node, key and client. A window that fails to open closes those built before it."""
    built: list[Built] = []
    nodes = list(dict.fromkeys((opts.node, *opts.more_nodes)))
    for node in nodes:
        built.append(build_counter(cfg, replace(opts, node=node, more_nodes=tuple(n for n in nodes if n != node))))
    return built


def build_board(cfg: HallConfig, opts: NodeOptions) -> Built:
    """A call board: its LED boards and voice (`agent`: BoardAgent, mirrored, so a restarted board shows the
    hall's calls), or with no devices a client that only hears the calls (`agent`: None)."""
    from hall_bus.nodes.board import DisplayModel
    from hall_bus.nodes.board_agent import BoardAgent
    from hall_bus.nodes.node_devices import open_node_devices

    node_of(cfg, opts.node, "board")
    devices = open_node_devices(cfg, opts.node, voice_out=opts.voice_out)
    client = client_for(cfg, opts, mirror=bool(devices))
    if not devices:
        return Built(client)
    agent = BoardAgent(client, DisplayModel({g: r.label for g, r in cfg.groups.items()}), devices.boards,
                       devices.voice)
    client.on_event, client.on_resync = agent.on_event, agent.on_resync
    return Built(client, agent, {**devices.boards, **({"voice": devices.voice} if devices.voice else {})},
                 stop_agent=agent.close)


def build_kiosk(cfg: HallConfig, opts: NodeOptions) -> Built:
    """The citizen kiosk: printer and ID reader, and for the touch window also the document camera and the
    spoken prompts (`agent`: KioskAgent, mirrored: the notice slips it owes are in the hall state). A terminal
    kiosk (opts.console) scans no codes and speaks no prompts, so it does not open them."""
    from hall_bus.nodes.kiosk import KioskAgent
    from hall_bus.nodes.node_devices import kiosk_camera, kiosk_devices, kiosk_prompts

    node_of(cfg, opts.node, "kiosk")
    printer, reader = kiosk_devices(cfg, opts)
    camera = None if opts.console else kiosk_camera(cfg, opts)
    prompts = None if opts.console else kiosk_prompts(cfg, opts)
    client = client_for(cfg, opts, mirror=True)
    agent = KioskAgent(client, cfg, opts.node, printer=printer, reader=reader)
    client.on_event, client.on_resync = agent.on_event, agent.on_resync
    devices = {k: v for k, v in (("printer", printer), ("idcard", reader), ("camera", camera),
                                 ("prompts", prompts)) if v is not None}
    return Built(client, agent, devices, close_devices=[d.close for d in devices.values()])


def build_display(cfg: HallConfig, opts: NodeOptions) -> Built:
    """The hall display (TV): a mirrored client and the calls model (`agent`: DisplayModel); the window wires
    the client's events to its screen."""
    from hall_bus.nodes.board import DisplayModel

    node_of(cfg, opts.node, "display")
    return Built(client_for(cfg, opts, mirror=True), DisplayModel({g: r.label for g, r in cfg.groups.items()}))


def build_greeter(cfg: HallConfig, opts: NodeOptions) -> Built:
    """The greeter's tablet: a mirrored client, the document camera for delegation pages (`agent`: GreeterNode);
    the window wires the client's events to its screen."""
    from hall_bus.nodes.greeter import GreeterNode
    from hall_bus.nodes.node_devices import greeter_camera

    node_of(cfg, opts.node, "greeter")
    client = client_for(cfg, opts, mirror=True)
    camera = greeter_camera(cfg, opts)
    agent = GreeterNode.for_config(client, cfg, opts.node, data_dir=opts.data, camera=camera)
    return Built(client, agent, {"camera": camera} if camera is not None else {},
                 close_devices=[camera.close] if hasattr(camera, "close") else [])


def build_counter_panel(cfg: HallConfig, opts: NodeOptions) -> Built:
    """A window's software call buttons and rating prompt (`agent`: CounterPanelNode, mirrored, so a panel
    restarted in the middle of a case shows that case)."""
    from hall_bus.nodes.counter_panel import CounterPanelNode

    node_of(cfg, opts.node, "counter")
    client = client_for(cfg, opts, mirror=True)
    agent = CounterPanelNode(client, cfg, opts.node)
    client.on_event, client.on_resync = agent.on_event, agent.on_resync
    return Built(client, agent)


def build_web(cfg: HallConfig, opts: NodeOptions) -> Built:
    """The citizen's phone page (`agent`: WebNode, mirrored: the page reads bookings, tickets and cases from
    the hall state, masked by the bus). Its port is bound here, so a port in use stops the node at once."""
    from hall_bus.web.node import WebNode

    node_of(cfg, opts.node, "web")
    client = client_for(cfg, opts, mirror=True)
    agent = WebNode(cfg, client, bind=opts.bind, port=opts.port)
    return Built(client, agent, stop_agent=agent.close)
