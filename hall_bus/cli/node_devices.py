"""The devices a board or counter node drives, opened from its `devices = [...]` in the hall config.

A wrong table is the operator's error (one line, exit 2); a device that is absent is not: the agents run without
it, report it to the hall and pick it up when it answers, because a missing LED board must not stop the voice,
and a dead keypad must not stop the window's console.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hall_bus.config import HallConfig
from hall_bus.errors import UserError

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


def open_node_devices(cfg: HallConfig, node_id: str, *, voice_out: str | None = None) -> NodeDevices:
    from devices.errors import DeviceError
    from devices.registry import DeviceOptionsError, kind_of, open_device

    node = next(n for n in cfg.nodes if n.id == node_id)
    found = NodeDevices()
    for table in (d.model_dump() for d in node.devices):
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
