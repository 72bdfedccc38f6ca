"""What the bus publishes of visitors' personal data: masked. Every node subscribes to one event stream and may
ask for a snapshot — kiosks, boards and displays included — so names and phone numbers of consultations and
delegation agreements go out as 张** and 138****5678. The ledger keeps them whole for the 台账, read by the
supervisor's report (`hallctl report --unmasked`, admin only).

Free text is where personal data hides: a clerk types the visitor's ID number into a refusal reason, a greeter
writes "张秀英, 13812345678, 平安县城关镇建设路12号" into a consultation question. Every free-text field is
therefore masked too: ID numbers, phones, addresses, and the names of the hall's own cases (consultation names,
delegation principals) wherever they appear. Staff PIN hashes and card numbers never leave the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devices.privacy import mask_address, mask_free_text, mask_id_number, mask_name, mask_phone

if TYPE_CHECKING:
    from hall_bus.domain.state import HallState

EVENT_FIELDS = {"consultation_opened": {"name": mask_name, "contact": mask_phone},
                "delegation_signed": {"principal": mask_name},
                "complaint_registered": {"complainant": mask_name, "phone": mask_phone}}
STATE_FIELDS = {"consultations": {"name": mask_name, "contact": mask_phone}, "delegations": {"principal": mask_name},
                "complaints": {"complainant": mask_name, "phone": mask_phone}}
# 办件 (domain/casework.py): the applicant of a case and who collected its result
_CASE_PERSON = {"applicant": mask_name, "id_number": mask_id_number, "phone": mask_phone, "collector": mask_name,
                "collector_id": mask_id_number}
EVENT_FIELDS |= {"case_accepted": _CASE_PERSON, "case_delivered": _CASE_PERSON}
# 转办 (domain/handover.py): a hand-over carries the applicant to the receiving site; on the bus, as 受理's does
EVENT_FIELDS |= {kind: _CASE_PERSON for kind in (
    "case_handed_over", "handover_received", "handover_accepted", "handover_declined", "handover_overdue",
    "case_result_returned", "handover_result_received", "handover_decline_received")}
STATE_FIELDS |= {"cases": _CASE_PERSON}
# 预约 (domain/booking.py): the phone page checks the last four digits against the mask, which keeps them; the
# helper going to the house reads the whole address on the route sheet, printed from the ledger
_BOOKER = {"phone": mask_phone, "name": mask_name, "address": mask_address}
EVENT_FIELDS |= {"booking_held": _BOOKER}
STATE_FIELDS |= {"bookings": _BOOKER}
FREE_TEXT = frozenset({"question", "answer", "note", "reason", "comment", "text", "notice", "problem", "department",
                       "materials", "items", "free_items", "missing", "done", "reply", "handover_note"})
SECRET = frozenset({"pin_hash", "card"})  # staff credentials: the server's alone
STATE_FREE_TEXT = {"consultations": FREE_TEXT, "delegations": FREE_TEXT, "followups": FREE_TEXT,
                   "cases": FREE_TEXT, "complaints": FREE_TEXT, "bookings": FREE_TEXT}

def case_names(state: HallState | None) -> frozenset[str]:
    """Every visitor name the hall holds today: any of them may turn up in any free text."""
    if state is None:
        return frozenset()
    names = {q.name for q in state.consultations.values()} | {d.principal for d in state.delegations.values()} \
        | {k.applicant for k in state.cases.values()} | {k.collector for k in state.cases.values()} \
        | {q.complainant for q in state.complaints.values()}
    return frozenset(n.strip() for n in names if n and n.strip())


def _value(value: Any, names: frozenset[str]) -> Any:
    if isinstance(value, str):
        return mask_free_text(value, names)
    if isinstance(value, list):
        return [mask_free_text(v, names) if isinstance(v, str) else v for v in value]
    return value


def _masked(data: dict[str, Any], fields: dict[str, Any], free: frozenset[str],
            names: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if k in SECRET:  # kept as a key, so a mirror loads the same shape; the value stays on the server
            out[k] = "" if k == "pin_hash" else None
            continue
        if k in fields and isinstance(v, str):
            out[k] = fields[k](v)
        elif k in free:
            out[k] = _value(v, names)
        else:
            out[k] = v
    return out


def public_event(ev: dict[str, Any], state: HallState | None = None) -> dict[str, Any]:
    data = ev["data"]
    fields = EVENT_FIELDS.get(ev["type"], {})
    if not fields and SECRET.isdisjoint(data) and not any(data.get(k) for k in FREE_TEXT):
        return ev  # a call, a finish without words: nothing personal to mask (the common case, kept cheap)
    names = case_names(state)
    own = [data.get(k) for k in ("name", "principal", "applicant", "collector", "complainant")]
    if any(isinstance(n, str) and n.strip() for n in own):
        names = names | {n.strip() for n in own if isinstance(n, str) and n.strip()}
    return {**ev, "data": _masked(data, fields, FREE_TEXT, names)}


def public_state(state: dict[str, Any], names: frozenset[str] = frozenset()) -> dict[str, Any]:
    out = dict(state)
    for section, free in STATE_FREE_TEXT.items():
        if section in out:
            fields = STATE_FIELDS.get(section, {})
            out[section] = {k: _masked(v, fields, free, names) for k, v in out[section].items()}
    if "staff" in out:
        out["staff"] = {k: _masked(m, {}, frozenset(), names) for k, m in out["staff"].items()}
    return out
