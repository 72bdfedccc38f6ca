"""The citizen kiosk's words, in both languages, in one place: the screens show them and the kiosk speaks the same
words (devices/voice/prompts.py), so what a visitor hears never differs from what is written. No Kivy here: the
flow builds its spoken sentences from these and is tested without a window."""

from __future__ import annotations

# The groups' words on the help screen, and under each a hint saying what the help is (a 推着办 means nothing to
# a first-time visitor). Chinese words are the hall's own labels (config groups.*.label); English ones are here.
GROUP_WORDS_EN = {"wheelchair_push": "Wheelchair push", "accompany": "Someone goes with me",
                  "guide": "Show me the way", "delegate": "Do it for me", "normal": "No, thank you"}
GROUP_HINTS = {
    "zh": {"wheelchair_push": "工作人员推轮椅陪您办理", "accompany": "工作人员全程陪您办理",
           "guide": "工作人员带您到窗口", "delegate": "您坐着等，工作人员替您办", "normal": "我自己办理"},
    "en": {"wheelchair_push": "Staff push your wheelchair and go with you",
           "accompany": "Staff go with you all the way", "guide": "Staff take you to the window",
           "delegate": "You sit and wait, staff do it for you",
           "normal": "I will do it myself"},
}
# On a ticket the group is a kind of ticket, not an answer: "normal" is "Regular", not "No, thank you".
GROUP_LABELS_EN = {**GROUP_WORDS_EN, "normal": "Regular"}

TEXT = {
    "zh": {
        "welcome": "欢迎办理",
        "start": "点这里取号",
        "card": "老年人、残疾人可将身份证放在读卡区，自动为您安排帮办",
        "card_read": "已读取身份证：{name}，{age}岁，为您选好「{group}」，可以改选",
        "card_read_plain": "已读取身份证：{name}，{age}岁",
        "service": "请选择您要办理的事项",
        "help": "您需要工作人员帮您办理吗？",
        "back": "返回",
        "issuing": "正在出号，请稍候…",
        "take": "请取走您的号票",
        "no_paper": "号票没能打印，请用手机拍下本页或记下号码；本页一直留着，记好后点「我已记下号码」",
        "ahead": "前面还有 {ahead} 人，约 {wait} 分钟",
        "nobody_ahead": "前面没有人，请留意叫号",
        "helper": "帮办员马上过来，请在{where}稍坐等候",
        "assist_area": "帮办代办专区",
        "wait_where": "请在等候区留意叫号屏和语音",
        "lang": "English",
        "large": "大字",
        "contrast": "高对比",
        "reset": "{n} 秒后回到首页；还要看，请点「我还需要时间」",
        "more_time": "我还需要时间",
        "done": "完成",
        "done_noted": "我已记下号码",
        "offline": "暂时连不上大厅系统，请找导服人员帮您取号。",
        "slip_failed": "一次性告知单没能打印出来，帮办员已收到提醒，会把告知内容交给您。",
        "appt": "我有预约，扫码取号",
        "scan": "请把预约二维码对准下方摄像头",
        "scan_hint": "手机屏幕调亮一些，放平，离摄像头一拃远",
        "appt_not_ours": "这不是本大厅的预约码，请换一个，或返回直接取号",
        "appt_unreadable": "预约码看不清，请再对准一次，或返回直接取号",
        "appt_unknown_service": "预约的事项本大厅不办理，请找导服人员",
        "appt_unknown_group": "上门办预约不用在这里取号，工作人员会按约上门",
        "appt_other_day": "您的预约不是今天，请返回直接取号，或按预约日期再来",
        "appt_camera": "摄像头暂时不能用，请返回直接取号",
        "appt_other_hall": "这是其他大厅的预约码，请到预约的大厅办理，或返回直接取号",
        "appt_late": "您已错过预约时间，请返回直接取号",
        "appt_used": "这个预约已经取过号了，请留意叫号；如有疑问请找导服人员",
    },
    "en": {
        "welcome": "Welcome",
        "start": "Tap here for a ticket",
        "card": "Seniors and visitors with disabilities: place your ID card on the reader and we arrange help",
        "card_read": "ID card read{name}: {age} years old. We chose “{group}” for you; you may change it",
        "card_read_plain": "ID card read{name}: {age} years old",
        "service": "What do you need to do?",
        "help": "Would you like a member of staff to help you?",
        "back": "Back",
        "issuing": "Printing your ticket…",
        "take": "Please take your ticket",
        "no_paper": "Your ticket could not be printed: take a photo of this screen or note the number. "
                    "This page stays until you tap “I have noted my number”",
        "ahead": "{ahead} ahead of you, about {wait} min",
        "nobody_ahead": "Nobody ahead: watch for your number",
        "helper": "A helper is coming: please wait seated at {where}",
        "assist_area": "the assistance area",
        "wait_where": "Please wait and watch the call screen",
        "lang": "中文",
        "large": "Large text",
        "contrast": "High contrast",
        "reset": "Back to the start in {n} seconds. To stay, tap “I need more time”",
        "more_time": "I need more time",
        "done": "Done",
        "done_noted": "I have noted my number",
        "offline": "The hall system cannot be reached. Please ask a greeter.",
        "slip_failed": "Your list of missing materials could not be printed. A greeter has been told and will "
                       "bring it to you.",
        "appt": "I have an appointment: scan my code",
        "scan": "Hold your appointment QR code to the camera below",
        "scan_hint": "Turn your phone's screen up bright and hold it flat, a hand's width away",
        "appt_not_ours": "This is not an appointment code of this hall: try another, or go back for a ticket",
        "appt_unreadable": "The code could not be read: hold it to the camera again, or go back for a ticket",
        "appt_unknown_service": "This hall does not handle the booked service: please ask a greeter",
        "appt_unknown_group": "Home visits need no ticket here: staff come to you as booked",
        "appt_other_day": "Your appointment is not today: go back for a ticket, or come on the booked day",
        "appt_camera": "The camera is not working right now: please go back for a ticket",
        "appt_other_hall": "This appointment is for another hall: please go there, or go back for a ticket",
        "appt_late": "The time of your appointment has passed: please go back for a ticket",
        "appt_used": "This appointment already has a ticket: watch for the call, or ask a greeter",
    },
}
