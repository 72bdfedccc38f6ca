"""Every answer the phone page gives, in plain Chinese an older visitor understands at first reading.

The hall server refuses with a code and an English message for the log (domain/booking.py, casework.py); the
message may hold times and names of things that mean nothing to a citizen. The page never shows it: each code
has a sentence here that says what happened and what to do next, and a code nobody wrote words for still gets a
sentence (REFUSED_OTHER), never the English message or a traceback.
"""

from __future__ import annotations

REFUSALS: dict[str, str] = {
    "slot_full": "这个时间已约满，请换一个时间。",
    "too_soon": "这个时间太近了，来不及预约，请选晚一点的时间。",
    "too_far": "这个日子太远了，还不能预约，请选近一点的日子。",
    "no_such_slot": "这个时间不能预约，请重新选择时间。",
    "no_show_limited": "这个手机号近期有多次预约没有来，暂时不能在手机上预约。请直接到大厅取号，或拨打电话。",
    "daily_limit": "这个手机号当天的预约已经够数了，请换一天。",
    "already_booked": "这个手机号当天已经约过这项业务，不用再约。可以在「我的预约」里查看。",
    "hold_expired": "确认的时间过了，刚才的时间已经让出来。请重新选择时间。",
    "unknown_booking": "没有查到这个预约，请核对预约号和手机号后四位。",
    "bad_state": "这个预约现在不能这样改了（可能已经取消、过期或已取号）。",
    "same_slot": "这就是您已经约好的时间，不用改。",
    "not_bookable": "这项业务不能在手机上预约，请直接到大厅办理。",
    "unknown_item": "没有这项业务，请回到上一页重新选择。",
    "bad_group": "这个选项不能预约，请重新选择来办事的人。",
    "unknown_service": "这项业务本大厅暂时不能办理，请拨打电话询问。",
    "unknown_case": "没有查到这个办件，或手机号后四位不对。",
    "phone_needed": "请填写办件时留的手机号后四位。",
    "already_rated": "这个办件已经评价过了，谢谢您。每个办件只能评价一次。",
    "not_here": "这个办件现在不在本大厅办理，请看页面上写的办理地点。",
    "invalid": "填写的内容不对，请检查后再提交。",
    "forbidden": "这个操作不能在手机上办理，请到大厅窗口办理。",
}
REFUSED_OTHER = "没有办成，请稍后再试，或拨打电话询问。"

OFFLINE = "暂时连不上大厅的系统，请稍后再试，或拨打 {hotline}。"
OFFLINE_NO_HOTLINE = "暂时连不上大厅的系统，请稍后再试，或到大厅咨询台询问。"
STALE = "数据可能不是最新（暂时连不上大厅的系统），请稍后刷新。"
TOO_MANY_TRIES = "错误次数太多，请 {minutes} 分钟后再试或拨打电话 {hotline}。"
TOO_MANY = "您操作得太频繁了，请 {minutes} 分钟后再试。"
BAD_TAIL = "号码或手机号后四位不对，请核对。还可以再试 {left} 次。"
NOT_FOUND_TICKET = "没有查到这张号，请核对号票上的二维码；号票只在当天有效。"
NOT_FOUND_CASE = "没有查到办件 {number}。请核对回执上的办件编号；刚受理的办件可能要几分钟后才能查到。"
NOT_FOUND_PAGE = "没有这个页面。请点下面的「返回首页」。"
BROKEN = "页面出了点问题，请稍后再试，或拨打电话 {hotline}。"

# Who is coming: the groups the phone page offers, in the order shown (the hall's own group names are staff
# words; these say what the visitor is).
WHO: dict[str, str] = {"normal": "本人来办", "accompany": "60岁以上，需要有人陪同", "wheelchair_push": "坐轮椅"}
WHO_SHORT: dict[str, str] = {"normal": "普通", "accompany": "需要陪同", "wheelchair_push": "坐轮椅"}

BOOKING_STATUS: dict[str, str] = {"held": "待确认", "booked": "已预约", "checked_in": "已取号", "done": "已办完",
                                  "cancelled": "已取消", "expired": "没有确认，已失效", "no_show": "过时未到"}

TICKET_WAITING = "前面还有 {ahead} 人，预计等 {minutes} 分钟"
TICKET_NEXT = "马上就到您了，请留意叫号"
TICKET_CALLED = "请到 {counter} 号窗口"
TICKET_SERVING = "正在 {counter} 号窗口办理"
TICKET_FINISHED = "已办结，谢谢您"
TICKET_PARKED = "窗口请您稍等，会再叫您"
TICKET_NO_SHOW = "叫号时您不在，号已过。请到咨询台问问能不能重新排队。"
TICKET_EXPIRED = "这张号已过期（只在取号当天有效）。"

RATING_THANKS = "谢谢您的评价。"
RATING_FOLLOW_UP = "很抱歉没让您满意。督办员会在 {days} 个工作日内给您回电话了解情况。"

WEEKDAYS = "一二三四五六日"


def refusal(code: str) -> str:
    """The sentence for a refusal code; one the page has no words for still reads as a sentence."""
    return REFUSALS.get(code, REFUSED_OTHER)


def offline(hotline: str) -> str:
    return OFFLINE.format(hotline=hotline) if hotline else OFFLINE_NO_HOTLINE
