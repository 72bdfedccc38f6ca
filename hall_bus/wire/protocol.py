"""The hall bus wire protocol, version hall/1: frames, message types, validation and role rules. Pure: no sockets.

Every message on the command socket is three frames, `[version, type, body]`, the body JSON (UTF-8). The event
socket carries `[topic, body]`. docs/bus-protocol.md is the reference; this module is its executable form.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

VERSION = b"hall/1"
CLIENT_TYPES = ("hello", "command", "snapshot", "ping", "status", "bye")
SERVER_TYPES = ("welcome", "answer", "snapshot", "pong", "status", "error")
TOPIC_EVENT = b"ev"
TOPIC_HEARTBEAT = b"hb"



class ProtocolError(ValueError):
    """A message that breaks the protocol; `code` is stable, `message` says what was wrong."""

    def __init__(self, code: str, message: str, in_reply_to: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.in_reply_to = in_reply_to


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: Annotated[str, Field(max_length=80)] | None = None  # echoed in the reply, to pair replies with requests


class Hello(_Body):
    node: Annotated[str, Field(min_length=1, max_length=63)]
    software: str | None = None


class CommandBody(_Body):
    request_id: Annotated[str, Field(min_length=1, max_length=80)]
    command: dict[str, Any]


class Empty(_Body):
    pass


BODIES: dict[str, type[_Body]] = {
    "hello": Hello, "command": CommandBody, "snapshot": Empty, "ping": Empty, "status": Empty, "bye": Empty,
}


@dataclass(frozen=True, slots=True)
class Message:
    type: str
    body: Any


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def encode(kind: str, body: dict[str, Any]) -> list[bytes]:
    return [VERSION, kind.encode(), orjson.dumps(body)]


def decode_client(frames: list[bytes], limit: int) -> Message:
    """Validate a client message (without the ROUTER identity frame)."""
    if len(frames) != 3:
        raise ProtocolError("bad_frames", f"expected 3 frames [version, type, body], got {len(frames)}")
    version, kind_b, body_b = frames
    if version != VERSION:
        shown = version[:20].decode("utf-8", "replace")
        raise ProtocolError("bad_version", f"protocol version {shown!r} is not supported; this server speaks hall/1")
    kind = kind_b.decode("utf-8", "replace")
    if kind not in BODIES:
        close = difflib.get_close_matches(kind, CLIENT_TYPES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ProtocolError("unknown_type", f"unknown message type {kind[:40]!r}{hint}")
    if len(body_b) > limit:
        raise ProtocolError("too_large", f"{kind} body is {len(body_b)} bytes; the limit is {limit}", kind)
    try:
        raw = orjson.loads(body_b)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError("bad_json", f"{kind} body is not valid JSON: {exc}", kind) from None
    if not isinstance(raw, dict):
        raise ProtocolError("bad_body", f"{kind} body must be a JSON object", kind)
    try:
        body = BODIES[kind].model_validate(raw)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "body"
            msg = {"missing": "missing", "extra_forbidden": "unknown field"}.get(err["type"], err["msg"])
            parts.append(f"{field}: {msg}")
        raise ProtocolError("bad_body", f"{kind}: " + "; ".join(parts), kind) from None
    return Message(kind, body)


def decode_server(frames: list[bytes]) -> tuple[str, dict[str, Any]]:
    """Client side: a server reply. Trusts the server only as far as the frame shape."""
    if len(frames) != 3 or frames[0] != VERSION:
        raise ProtocolError("bad_frames", "malformed reply from the server")
    kind = frames[1].decode("utf-8", "replace")
    if kind not in SERVER_TYPES:
        raise ProtocolError("unknown_type", f"unknown reply type {kind[:40]!r} from the server")
    return kind, orjson.loads(frames[2])


def authorize(role: str, own_counter: int | None, command: Any, ticket_counter: int | None = None, *,
              serves: frozenset[str] | None = None, print_at: str | None = None) -> str | None:
    """Why this node may not send this command, or None if it may.

    Who may send what is declared on each command model (`roles`, `own_window`); admin may send everything.
    A counter node acts only for its own window, rates only the cases finished there (its evaluation pad), and
    tells missing materials only for a service its window serves (`serves`); any slip it asks for prints on its
    zone's kiosk (`print_at`).
    """
    op = command.op
    if role == "admin":
        return None
    roles = type(command).roles
    if role not in roles and role in ("board", "display"):
        return f"a {role} only reads; it may not send {op}"
    if not roles:
        return f"only admin may {op}"
    if role not in roles:
        return f"a {role} may not send {op} (only {', '.join(sorted(roles))} and admin)"
    if role == "counter" and type(command).own_window:
        if own_counter is None:
            return "this counter node has no window number in the hall configuration"
        window = getattr(command, "counter", None)
        if window is not None and window != own_counter:
            return f"this node operates window {own_counter}, not window {window}"
    model = type(command)
    if role == "counter" and model.own_case and getattr(command, "ticket", None) and ticket_counter != own_counter:
        where = f"window {ticket_counter}" if ticket_counter is not None else "no window"
        return f"window {own_counter} may {op} only its own cases; that case was at {where}"
    if role == "counter" and model.own_services and serves is not None and command.service not in serves:
        return f"window {own_counter} does not serve {command.service}; its clerks tell only its own services"
    wanted = getattr(command, "print_at", None)  # a notice, receipt or result slip: at the window's own kiosk
    if role == "counter" and wanted is not None and wanted != print_at:
        return f"this window's slips print at {print_at or 'no kiosk'}, not {wanted}"
    return None
