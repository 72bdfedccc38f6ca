"""What the bus publishes of visitors' personal data: masked. Every node subscribes to one event stream and may
ask for a snapshot — kiosks, boards and displays included — so names and phone numbers of consultations and
delegation agreements go out as 张** and 138****5678. The ledger keeps them whole for the 台账, read by the
supervisor's report (`hallctl report --unmasked`, admin only)."""

from __future__ import annotations

from typing import Any

from devices.privacy import mask_name, mask_phone

EVENT_FIELDS = {"consultation_opened": {"name": mask_name, "contact": mask_phone},
                "delegation_signed": {"principal": mask_name}}
STATE_FIELDS = {"consultations": {"name": mask_name, "contact": mask_phone}, "delegations": {"principal": mask_name}}


def _masked(data: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (fields[k](v) if k in fields and isinstance(v, str) else v) for k, v in data.items()}


def public_event(ev: dict[str, Any]) -> dict[str, Any]:
    fields = EVENT_FIELDS.get(ev["type"])
    return {**ev, "data": _masked(ev["data"], fields)} if fields else ev


def public_state(state: dict[str, Any]) -> dict[str, Any]:
    out = dict(state)
    for section, fields in STATE_FIELDS.items():
        if section in out:
            out[section] = {k: _masked(v, fields) for k, v in out[section].items()}
    return out
