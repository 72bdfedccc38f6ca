"""The tablet's outbox: acts done at a visitor's home (到达, 办结 with the visitor's rating) are written here first and
sent to the hall when it can be reached.

Why a file and not a retry loop in memory: a home visit is often out of the network, and the tablet may be switched
off or run flat before the helper is back. Each act is one JSON line, fsynced before the helper is told "已记录", so
it survives a restart; a line half-written when the power went is skipped (the act it belonged to was never
confirmed to the helper). Each act carries a request id made once, when it was recorded, and every resend uses the
same id: the hall server answers a request id it has seen with its first answer, and the arrive/finish commands
are idempotent besides, so an act sent twice (the answer lost on the way back) lands once.

Acts are sent in the order they were done (到达 before 办结). An answer that may change by itself later (nobody
signed in, someone else signed in, the ledger disk busy, no answer at all) stops the round, and the act waits for
the next one. A refusal that will never change (the booking cancelled meanwhile, another helper's visit) is kept
and shown as "未能上传：…" until the helper has read it: an act done at someone's home is never dropped silently.

Only records are appended to the file; it is compacted (written anew and swapped in) when it starts, so it never
grows beyond the acts not yet settled.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from hall_bus.domain import commands as c

log = logging.getLogger("hall_bus.outbox")

OUTBOX_FILE = "outbox.jsonl"
# Answers that say "not now" rather than "never": the act waits for the next round, in its place.
TRANSIENT = frozenset({"not_signed_in", "wrong_person", "storage_unavailable", "internal_error", "offline",
                       "timeout", "pin_locked"})
KINDS = {"arrive_home_visit": "到达", "finish_home_visit": "办结"}


@dataclass(frozen=True, slots=True)
class Act:
    """One act recorded on the tablet: the command as it will be sent (its model's fields, with `by`, the person
    who did it), the request id it is always sent with, and what became of it."""

    request_id: str
    command: dict[str, Any]
    recorded_at: str  # the tablet's clock when it was written down (ISO)
    status: str = "pending"  # pending | refused
    code: str = ""  # the refusal's code
    message: str = ""  # the refusal's message, from the server

    @property
    def op(self) -> str:
        return str(self.command.get("op", ""))

    @property
    def booking(self) -> str:
        return str(self.command.get("code", ""))

    @property
    def done_at(self) -> datetime:
        return datetime.fromisoformat(self.command["done_at"])

    @property
    def kind_words(self) -> str:
        return KINDS.get(self.op, self.op)

    def model(self) -> c.Cmd:
        """The command rebuilt from its model, with its request id: what goes on the bus."""
        model = c.MODEL_FOR[self.op]
        return model.model_validate({**self.command, "request_id": self.request_id})


@dataclass
class FlushResult:
    sent: list[Act] = field(default_factory=list)
    refused: list[Act] = field(default_factory=list)
    waiting: str = ""  # why the round stopped ("" when nothing is left to send)


Sender = Callable[[c.Cmd], Awaitable[dict[str, Any]]]


class Outbox:
    """The acts not yet settled, in the order they were done, kept in `path` (a JSON-lines file)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.acts: list[Act] = []
        self.skipped_lines = 0  # lines that could not be read (a half-written last line after a power cut)
        self._load()

    # ------------------------------------------------------------------ reading

    @property
    def pending(self) -> list[Act]:
        return [a for a in self.acts if a.status == "pending"]

    @property
    def refused(self) -> list[Act]:
        return [a for a in self.acts if a.status == "refused"]

    def pending_for(self, booking: str) -> list[Act]:
        return [a for a in self.pending if a.booking == booking]

    def _load(self) -> None:
        if not self.path.exists():
            return
        acts: dict[str, Act] = {}
        raw = self.path.read_bytes()
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                self._apply(acts, rec)
            except (ValueError, KeyError, TypeError):
                self.skipped_lines += 1
                log.warning("outbox %s: a line that cannot be read was skipped (%d bytes)", self.path, len(line))
        self.acts = list(acts.values())
        self._rewrite()  # compacted, and a torn last line gone, so the next record starts on a line of its own

    @staticmethod
    def _apply(acts: dict[str, Act], rec: dict[str, Any]) -> None:
        kind, rid = rec["kind"], rec["id"]
        if kind == "act":
            acts[rid] = Act(rid, dict(rec["command"]), rec["recorded_at"])
        elif kind == "sent" or kind == "dismissed":
            acts.pop(rid, None)
        elif kind == "refused" and rid in acts:
            acts[rid] = replace(acts[rid], status="refused", code=rec.get("code", ""), message=rec.get("message", ""))
        else:
            raise KeyError(kind)

    # ------------------------------------------------------------------ writing (each record fsynced)

    def _append(self, rec: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n"
        with open(self.path, "ab") as f:
            f.write(line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())

    def _rewrite(self) -> None:
        """The file as the acts are now, swapped in whole: a crash leaves the old file or the new, never half."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            for a in self.acts:
                f.write((json.dumps(_act_record(a), ensure_ascii=False, separators=(",", ":")) + "\n").encode())
                if a.status == "refused":
                    f.write((json.dumps({"kind": "refused", "id": a.request_id, "code": a.code,
                                         "message": a.message}, ensure_ascii=False) + "\n").encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)

    def record(self, command: c.Cmd, recorded_at: datetime) -> Act:
        """Written down (on disk, fsynced) before anything is sent: from here on the act is safe."""
        fields = command.model_dump(mode="json", exclude_none=True, exclude={"request_id", "actor"})
        act = Act(command.request_id or uuid.uuid4().hex, fields, recorded_at.isoformat(timespec="seconds"))
        self._append(_act_record(act))
        self.acts.append(act)
        return act

    def _settle(self, act: Act, answer: dict[str, Any]) -> Act | None:
        """The act's answer, recorded: gone when taken, kept as refused when refused for good."""
        if answer.get("ok"):
            self._append({"kind": "sent", "id": act.request_id})
            self.acts = [a for a in self.acts if a.request_id != act.request_id]
            self._compact_if_settled()
            return None
        code, message = str(answer.get("code", "")), str(answer.get("message", ""))
        self._append({"kind": "refused", "id": act.request_id, "code": code, "message": message})
        done = replace(act, status="refused", code=code, message=message)
        self.acts = [done if a.request_id == act.request_id else a for a in self.acts]
        return done

    def dismiss(self, request_id: str) -> bool:
        """A refusal the helper has read (and dealt with: told the office, written it on paper) leaves the list."""
        if not any(a.request_id == request_id and a.status == "refused" for a in self.acts):
            return False
        self._append({"kind": "dismissed", "id": request_id})
        self.acts = [a for a in self.acts if a.request_id != request_id]
        self._compact_if_settled()
        return True

    def _compact_if_settled(self) -> None:
        """Nothing left to send or to read: the file starts empty again (it never grows over the days)."""
        if not self.acts:
            self._rewrite()

    # ------------------------------------------------------------------ sending

    async def flush(self, send: Sender) -> FlushResult:
        """Every pending act, in order, through `send`; stops at the first that cannot be sent now. `send` may
        raise (no connection, timed out): that too waits for the next round."""
        out = FlushResult()
        for act in list(self.pending):
            try:
                answer = await send(act.model())
            except Exception as exc:  # whatever the bus says, the act stays in its place
                out.waiting = f"连不上大厅系统（{type(exc).__name__}）"
                return out
            if not answer.get("ok") and str(answer.get("code")) in TRANSIENT:
                out.waiting = str(answer.get("message") or answer.get("code"))
                return out
            settled = self._settle(act, answer)
            if settled is None:
                out.sent.append(act)
            else:
                out.refused.append(settled)
        return out


def _act_record(a: Act) -> dict[str, Any]:
    return {"kind": "act", "id": a.request_id, "recorded_at": a.recorded_at, "command": a.command}


def _fsync_dir(path: Path) -> None:
    """The rename itself made durable (a directory fsync); some file systems cannot, which only costs that."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
