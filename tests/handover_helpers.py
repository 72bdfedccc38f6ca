"""A village station with `[county]` for the greeter's 转办 tests (node model and tablet), and hand-overs arriving at
it as the county link brings them: the sender's `case_handed_over` through `outgoing`, the hub's `accept_by`, then
`delivery_command` — the very functions the link calls — submitted through the server's core."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hall_bus.config import CountyLinkSettings, HallConfig
from hall_bus.domain.handover import delivery_command, outgoing
from hall_bus.wire.keys import KeyStore

VILLAGE, VILLAGE_NAME = "PAT01V01", "东关村便民服务站"
UP = (("PAT01", "城关镇便民服务中心"), ("PA", "平安县政务服务中心"))  # as the example county file names them
LOW_INCOME = ("GF-379901-MZJ-001", "最低生活保障申请", "综合受理")  # an item of the example catalogue


def village(cfg: HallConfig, hub_port: int) -> HallConfig:
    """The example hall as the village station of the example county: its own site code and name, and the town
    and county centre it hands cases on to. The hub at `hub_port` is away (nothing listens): the station works
    on, as it must when the county line is down."""
    hall = cfg.hall.model_copy(update={"site_code": VILLAGE, "name": VILLAGE_NAME})
    link = CountyLinkSettings(level="village", up=[c for c, _ in UP], up_names=[n for _, n in UP],
                              hub_port=hub_port, retry_max_seconds=5.0)
    return cfg.model_copy(update={"hall": hall, "county": link})


def county_keys(keys_dir: Path, site: str = VILLAGE) -> None:
    """The county link's keys beside the hall's (`keys/county`), as `hallctl site init` leaves them."""
    keys = KeyStore(keys_dir / "county")
    keys.init()
    keys.add(site.lower())


def arriving(number: str, from_site: str, accept_by: datetime, *, to_site: str = VILLAGE, applicant: str = "张秀英",
             reason: str = "请村里核实后出件", hop: int = 1) -> dict[str, Any]:
    """The `receive_handover` command for case `number` handed from `from_site` (accepted there an hour before
    `accept_by` less the county's eight hours), built as the link builds it."""
    item, item_name, service = LOW_INCOME
    sent = accept_by - timedelta(hours=8)
    data = {"handover_id": f"{number}>{to_site}#{hop}", "hop": hop, "from_site": from_site, "to_site": to_site,
            "case": number, "item": item, "item_name": item_name, "service": service, "case_kind": "promised",
            "applicant": applicant, "id_number": "", "phone": "", "owner": "sender-1", "owner_site": from_site,
            "due": (sent + timedelta(days=10)).isoformat(), "steps": [],
            "accepted_at": (sent - timedelta(hours=1)).isoformat(), "sent_at": sent.isoformat(), "reason": reason,
            "route": [from_site], "paused_days": 0, "delays": 0, "by": "sender-1"}
    found = outgoing("case_handed_over", data)
    assert found is not None and found[0] == to_site
    delivery = {**found[1], "accept_by": accept_by.isoformat()}  # the hub's part: the county's hours
    return delivery_command(delivery, "county-link")
