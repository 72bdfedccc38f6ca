"""好差评 evaluation pads (评价器) that share the counter keypads' RS-485 line (FF 68 frames, FUNC 0x11).

The driver is the keypad line (devices/keypad/line.py): one owner per port serves keypads and pads alike, so a
pad and a keypad on the same wires must agree on the line's keys (protocol, baudrate, gap_ms, poll_seconds,
missed_polls). A pad's table alone cannot tell it sits on a QSystem keypads' port; `keypad.options.line_problems`
looks at every table of the hall for that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ..keypad.options import LineOptions, open_pad, probe_line_device
from ..options import Check, Kind, Options

if TYPE_CHECKING:
    from ..keypad.line import EvalPad


class EvalPadOptions(LineOptions):
    """Satisfaction rating pad on an RS-485 line (port, address, baudrate 9600, protocol ff68, best_key 1)."""

    protocol: Literal["ff68"] = "ff68"
    best_key: Literal[1, 5] = 1  # the raw value the pad sends for 非常满意; see keypad/keymap.rating_level

    @property
    def protocol_name(self) -> Literal["qsystem", "ff68"]:
        return self.protocol


def _open(options: Options) -> EvalPad:
    return open_pad(options)


def _probe(options: Options) -> list[Check]:
    assert isinstance(options, EvalPadOptions)
    return probe_line_device(options, "evaluator")


KIND = Kind("evaluator", "rating pad", {"eval-pad": EvalPadOptions}, open=_open, probe=_probe,
            notes={"protocol": "ff68 only (FUNC 0x11, DATA[0] = rating)"})
