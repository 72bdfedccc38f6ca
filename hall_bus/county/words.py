"""The Chinese words for the county file's codes, in one place: reports, the check's lines and the staffing
problems print these, while the file itself is written with the English codes (one spelling to type, and a
misspelt one gets a did-you-mean)."""

from __future__ import annotations

from typing import Literal

SiteLevel = Literal["county", "town", "village", "partner"]
StaffRole = Literal["helper", "clerk", "supervisor", "village_agent"]
PartnerKind = Literal["bank", "post", "shop", "telecom"]
ZoneKind = Literal["special", "sub"]

LEVEL_NAMES: dict[str, str] = {"county": "县", "town": "镇", "village": "村", "partner": "合作点"}
# What each level's site is called on a sign (a 乡 runs a 便民服务中心 too, so "town" covers 镇 and 乡).
SITE_KINDS: dict[str, str] = {"county": "县级政务服务中心", "town": "便民服务中心", "village": "便民服务站",
                              "partner": "合作代办点"}
ROLE_NAMES: dict[str, str] = {"helper": "帮办员", "clerk": "窗口人员", "supervisor": "督办员",
                              "village_agent": "代办员"}
PARTNER_NAMES: dict[str, str] = {"bank": "银行网点", "post": "邮政网点", "shop": "商超便利店", "telecom": "通信营业厅"}
ZONE_NAMES: dict[str, str] = {"special": "专区", "sub": "分区"}
WEIGHT_NAMES: dict[str, str] = {"on_time": "按时办结率", "satisfaction": "满意率", "complaints": "投诉处理",
                                "handover": "转办及时", "followups": "整改"}

# Which code a Chinese word stands for, so `level = "镇"` is answered with `level = "town"`.
CODE_FOR_WORD: dict[str, str] = {word: code for names in (LEVEL_NAMES, ROLE_NAMES, PARTNER_NAMES, ZONE_NAMES)
                                 for code, word in names.items()} | {"乡": "town", "县级": "county", "镇级": "town",
                                                                     "村级": "village"}
