"""The devices a node drives, opened from its `devices = [...]` in the hall config (or the command line's
overrides, carried in NodeOptions).

A wrong table is the operator's error (one line, exit 2); a device that is absent is not: the agents run without
it, report it to the hall and pick it up when it answers, because a missing LED board must not stop the voice,
a dead keypad must not stop the window's console, and a kiosk with no paper still shows tickets on screen.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from hall_bus.config import HallConfig
from hall_bus.errors import UserError
from hall_bus.nodes.options import NodeOptions

log = logging.getLogger("hall.devices")


@dataclass
class NodeDevices:
    boards: dict[str, Any] = field(default_factory=dict)  # name → BoardDriver (call boards, counter displays)
    voice: Any = None
    keypad: Any = None
    pad: Any = None
    names: dict[str, str] = field(default_factory=dict)  # "keypad"/"pad"/"display" → configured name

    def __bool__(self) -> bool:
        return bool(self.boards or self.voice or self.keypad or self.pad)


def _tables(cfg: HallConfig, node_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The node's device tables (of one registry kind), as plain dicts the registry opens."""
    from devices.registry import kind_of

    return [d.model_dump() for n in cfg.nodes if n.id == node_id for d in n.devices
            if kind is None or kind_of(d.type).name == kind]


def open_node_devices(cfg: HallConfig, node_id: str, *, voice_out: str | None = None) -> NodeDevices:
    """A board's or a counter's devices: boards, voice, keypad and rating pad."""
    from devices.errors import DeviceError
    from devices.registry import DeviceOptionsError, kind_of, open_device

    found = NodeDevices()
    for table in _tables(cfg, node_id):
        kind = kind_of(table["type"]).name
        if kind not in ("board", "voice", "keypad", "evaluator"):  # a kiosk's devices: not opened here
            log.info("%s: %s (%s) is not driven by this agent", node_id, table["name"], table["type"])
            continue
        if kind == "voice" and voice_out:
            table["out_dir"] = voice_out
        try:
            device = open_device(table)
        except DeviceOptionsError as exc:
            raise UserError(f"{node_id}: {exc}") from None
        except DeviceError as exc:  # e.g. keypads on one line that disagree: the hall file's mistake
            raise UserError(f"{node_id}/{table['name']}: {exc}") from None
        if kind == "board":
            found.boards[table["name"]] = device
            found.names.setdefault("display", table["name"])
        elif kind == "voice":
            found.voice = device
        elif kind == "keypad":
            found.keypad, found.names["keypad"] = device, table["name"]
        else:
            found.pad, found.names["pad"] = device, table["name"]
    return found


def kiosk_devices(cfg: HallConfig, opts: NodeOptions) -> tuple[Any, Any]:
    """The kiosk's printer and ID reader from the hall config (or the printer/idcard overrides), picked by the
    registry's type → kind. A device that does not answer at start is reported and kept: drivers reconnect on
    next use, so the kiosk issues tickets on screen until it is back, then prints again."""
    from devices.errors import DeviceError
    from devices.registry import DeviceOptionsError, open_device

    if opts.no_devices:
        return None, None
    tables = {kind: found[0] for kind in ("printer", "idcard") if (found := _tables(cfg, opts.node, kind))}
    if opts.printer:
        tables["printer"] = {"name": "printer", "type": "escpos-serial", "port": opts.printer,
                             "profile": opts.profile}
    if opts.idcard:
        tables["idcard"] = {"name": "idcard", "type": "sam-serial", "port": opts.idcard}
    found: dict[str, Any] = {}
    for kind, table in tables.items():
        try:
            found[kind] = device = open_device(table)
        except DeviceOptionsError as exc:
            raise UserError(str(exc)) from None
        try:
            device.link.open()
        except DeviceError as exc:
            print(f"warning: {table['name']}: {exc} ({UNTIL_IT_ANSWERS[kind]})", file=sys.stderr)
    return found.get("printer"), found.get("idcard")


# What the visitor meets while a kiosk device does not answer: said with its warning, so staff know what changed.
UNTIL_IT_ANSWERS = {"printer": "tickets go on screen until it answers",
                    "idcard": "until it answers, visitors choose their help group by hand"}


def kiosk_camera(cfg: HallConfig, opts: NodeOptions) -> Any:
    """The kiosk's document camera for reading appointment codes, or None (no camera configured, no_devices,
    or a camera that cannot be opened: then the kiosk simply does not offer 「我有预约」, and says why here)."""
    from devices.errors import DeviceError
    from devices.registry import DeviceOptionsError, open_device

    if opts.no_devices:
        return None
    tables = _tables(cfg, opts.node, "camera")
    if opts.camera:
        tables = [{"name": "camera", "type": "doc-camera", "source": opts.camera}]
    if not tables:
        return None
    try:
        return open_device(tables[0])
    except DeviceOptionsError as exc:
        raise UserError(str(exc)) from None
    except DeviceError as exc:
        print(f"warning: {tables[0]['name']}: {exc} (appointment codes cannot be scanned)", file=sys.stderr)
        return None


def kiosk_prompts(cfg: HallConfig, opts: NodeOptions) -> Any:
    """The kiosk's spoken prompts when its node has a voice device, else None (the screen alone). A machine
    without a sound card still starts: the speaker logs what it could not play and the screen carries on."""
    from devices.registry import DeviceOptionsError, option_problems
    from devices.voice.options import VoiceSegments, open_prompts

    tables = _tables(cfg, opts.node, "voice")
    if not tables or opts.no_devices:
        return None
    options = {k: v for k, v in tables[0].items() if k not in ("name", "type")}
    if opts.voice_out:
        options["out_dir"] = opts.voice_out
    problems = option_problems(tables[0]["type"], options)
    if problems:
        raise UserError(str(DeviceOptionsError(tables[0]["name"], problems)))
    return open_prompts(VoiceSegments.model_validate(options))


def greeter_camera(cfg: HallConfig, opts: NodeOptions) -> Any:
    """The greeter's document camera: the camera option, else the node's doc-camera device; none is fine
    (delegation pages cannot be taken, and the tablet says so when asked)."""
    from devices.camera.capture import Camera
    from devices.errors import DeviceError

    source = opts.camera
    if source is None:
        node = next(n for n in cfg.nodes if n.id == opts.node)
        device = next((d for d in node.devices if d.type == "doc-camera"), None)
        source = (device.model_extra or {}).get("source", "0") if device is not None else None
    if source is None:
        return None
    try:
        return Camera(str(source))
    except DeviceError as exc:
        log.warning("document camera: %s", exc.message)
        return None
