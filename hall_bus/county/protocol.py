"""What a site and the county hub say to each other: one JSON frame each way, a batch and its answer.

The link is request–answer on purpose (a DEALER that waits for each answer): a site never has more than one
batch in flight, so "the hub's answer names its high-water mark" is all the flow control and all the recovery
it needs. The site is known by the CURVE key the hub authenticated, never by anything in the frame.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field, ValidationError

from hall_bus.county.ingest import Shipped

HUB_DOMAIN = "county-hub"
MAX_FRAME = 16 * 1024 * 1024


class Ship(BaseModel):
    """Events after the hub's last answer (possibly none: then it is a poll for deliveries and a heartbeat)."""

    kind: Literal["ship"] = "ship"
    events: list[tuple[int, str, str, str]] = Field(default_factory=list)  # seq, type, at, data (JSON text)
    inbox_ack: int = Field(default=0, ge=0)  # the last delivery the site has applied
    ledger_seq: int = Field(default=0, ge=0)  # the site's own last seq, so the county sees its backlog

    def shipped(self) -> list[Shipped]:
        return [Shipped(seq, kind, at, data) for seq, kind, at, data in self.events]


class Delivery(BaseModel):
    id: int
    payload: dict[str, Any]


class Ack(BaseModel):
    kind: Literal["ack"] = "ack"
    high_water: int
    stored: int = 0
    gap: bool = False
    deliveries: list[Delivery] = Field(default_factory=list)


class Refusal(BaseModel):
    kind: Literal["error"] = "error"
    code: str
    message: str
    high_water: int | None = None


def dumps(msg: BaseModel) -> bytes:
    return orjson.dumps(msg.model_dump())


def parse_ship(frame: bytes) -> Ship:
    """A site's frame, or ValueError with words saying what is wrong with it (answered as a Refusal)."""
    try:
        return Ship.model_validate(orjson.loads(frame))
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where}: {first['msg']}") from None


def parse_answer(frame: bytes) -> Ack | Refusal:
    data = orjson.loads(frame)
    return Refusal.model_validate(data) if data.get("kind") == "error" else Ack.model_validate(data)
