"""One way to start every node: the `hallctl run` table, the command line turned into NodeOptions once, the
builders, and the windows found through their entry points."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time
from pathlib import Path

import pytest

from hall_bus.cli.hallctl import build_parser
from hall_bus.cli.run import ROLES, node_options
from hall_bus.cli.run_window import GROUP, find_window
from hall_bus.errors import UserError
from hall_bus.nodes.builders import build_display, build_kiosk, build_web, node_of
from hall_bus.nodes.node_devices import kiosk_prompts
from hall_bus.nodes.options import NodeOptions
from tests.bus_helpers import make_keys
from tests.conftest import EXAMPLE


def test_every_role_is_one_line_of_the_table() -> None:
    assert set(ROLES) == {"counter", "board", "kiosk", "display", "greeter", "counter-panel", "web"}
    assert ROLES["counter-panel"].config_role == "counter"


def test_the_command_line_becomes_frozen_options_once() -> None:
    args = build_parser().parse_args(["run", "counter", "--config", str(EXAMPLE), "--node", "counter-1", "--node",
                                      "counter-5", "--node", "counter-1", "--no-console", "--duration", "3"])
    opts = node_options(args)
    assert (opts.node, opts.more_nodes, opts.keyboard, opts.duration) == ("counter-1", ("counter-5",), False, 3.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.node = "counter-5"  # type: ignore[misc]
    kiosk = node_options(build_parser().parse_args(["run", "kiosk", "--config", str(EXAMPLE), "--node", "kiosk-1",
                                                    "--no-devices", "--windowed", "--idle", "12"]))
    assert (kiosk.node, kiosk.no_devices, kiosk.windowed, kiosk.idle, kiosk.console) == ("kiosk-1", True, True,
                                                                                         12.0, False)


def test_a_builder_refuses_a_node_of_another_role(cfg) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UserError, match="node board-1 is a board, not a display"):
        build_display(cfg, NodeOptions(node="board-1"))
    with pytest.raises(UserError, match="not in the hall configuration"):
        node_of(cfg, "nowhere-9")


def test_the_kiosk_builder_wires_its_agent_and_opens_nothing_with_no_devices(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_keys(tmp_path, ["kiosk-1"])

    async def build() -> None:
        kiosk = build_kiosk(cfg, NodeOptions(node="kiosk-1", keys=str(tmp_path), no_devices=True))
        try:
            assert kiosk.devices == {} and kiosk.client.on_event == kiosk.agent.on_event
        finally:
            await kiosk.close()

    asyncio.run(build())


def test_the_example_kiosks_speak_their_prompts(cfg) -> None:  # type: ignore[no-untyped-def]
    from devices.registry import kind_of

    kiosks = [n for n in cfg.nodes if n.role == "kiosk"]
    assert kiosks and all(any(kind_of(d.type).name == "voice" for d in n.devices) for n in kiosks)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_kiosk_prompts_go_to_wav_files_with_voice_out(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prompts = kiosk_prompts(cfg, NodeOptions(node="kiosk-2", voice_out=str(tmp_path / "said")))
    try:
        prompts.say("请选择您要办理的事项")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list((tmp_path / "said").glob("*.wav")):
            time.sleep(0.2)
    finally:
        prompts.close()
    assert list((tmp_path / "said").glob("*.wav"))


def test_the_windows_are_registered_entry_points() -> None:
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group=GROUP)}
    if not names:
        pytest.skip("the package is not installed (pip install -e .): no entry points")
    assert names == {"kiosk": "kiosk.launch:run_citizen_kiosk", "display": "kiosk.launch:run_hall_display",
                     "greeter": "kiosk.launch:run_greeter", "counter-panel": "kiosk.launch:run_counter_panel"}


def test_a_window_with_no_entry_point_is_one_line() -> None:
    with pytest.raises(UserError, match=r"no window is registered for 'teller'.*pip install -e"):
        find_window("teller")


def test_the_web_node_binds_its_port_and_a_taken_one_is_one_line(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_keys(tmp_path, ["phone-web"])
    args = build_parser().parse_args(["run", "web", "--config", str(EXAMPLE), "--node", "phone-web", "--port", "0"])
    opts = dataclasses.replace(node_options(args), keys=str(tmp_path))
    assert (opts.port, opts.bind) == (0, "127.0.0.1")

    async def build() -> None:
        web = build_web(cfg, opts)
        try:
            assert web.agent.url.startswith("http://127.0.0.1:") and web.client.cfg is cfg
            taken = int(web.agent.url.rstrip("/").rsplit(":", 1)[1])
            with pytest.raises(UserError, match=f"cannot serve the phone page on 127.0.0.1:{taken}.*--port"):
                build_web(cfg, dataclasses.replace(opts, port=taken))
        finally:
            await web.close()

    asyncio.run(build())
    with pytest.raises(UserError, match="node kiosk-1 is a kiosk, not a web"):
        build_web(cfg, dataclasses.replace(opts, node="kiosk-1"))
