"""SMS: the simulator and its words, who is due a reminder, sending them, and the Alibaba Cloud adapter against a
provider stand-in on 127.0.0.1 that checks every request's signature with its own implementation."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from hall_bus.errors import ConfigError
from hall_bus.sms import aliyun
from hall_bus.sms.aliyun import AliyunSms, interpret
from hall_bus.sms.gateway import SmsResult
from hall_bus.sms.reminders import ReminderCandidate, due_reminders, send_reminders
from hall_bus.sms.settings import SmsSettings, make_gateway
from hall_bus.sms.simulator import SimulatedSms
from hall_bus.sms.templates import TEMPLATES, fields, provider_text, render

TZ = ZoneInfo("Asia/Shanghai")
PHONE = "13812345678"
PARAMS = {"date": "12月2日", "time": "10:00", "hall": "城关镇便民服务中心", "item": "医保参保登记", "code": "YY0012"}


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 10))


# --- templates and the simulator -------------------------------------------------------------------------------


def test_simulator_keeps_each_message_with_the_text_a_phone_shows() -> None:
    at = datetime(2026, 12, 1, 18, 0, tzinfo=TZ)
    sms = SimulatedSms(sign_name="平安县政务", now=lambda: at)
    result = run(sms.send(PHONE, "reminder", PARAMS))
    assert result.ok and result.message_id and result.error is None
    [msg] = sms.sent
    assert (msg.phone, msg.template, msg.params, msg.at, msg.message_id) == (
        PHONE, "reminder", PARAMS, at, result.message_id)
    assert msg.text == ("【平安县政务】您预约12月2日10:00在城关镇便民服务中心办医保参保登记，预约码YY0012。"
                        "请带齐材料按时到；不能来请在网上取消或改约。")
    run(sms.send("13900001111", "cancelled", PARAMS))
    assert [m.template for m in sms.to("13900001111")] == ["cancelled"]
    assert "预约（YY0012）已取消" in sms.sent[1].text


def test_simulator_fails_the_next_sends_when_told() -> None:
    sms = SimulatedSms()
    sms.fail_next(2)
    sms.fail_next(1, retryable=False, error="账户余额不足")
    results = [run(sms.send(PHONE, "confirmed", PARAMS)) for _ in range(4)]
    assert [(r.ok, r.retryable) for r in results] == [(False, True), (False, True), (False, False), (True, False)]
    assert results[2].error == "账户余额不足"
    assert sms.attempts == 4 and len(sms.sent) == 1
    with pytest.raises(ValueError, match="count must be 0 or more"):
        sms.fail_next(-1)


def test_simulator_refuses_what_a_provider_refuses_without_showing_the_number() -> None:
    sms = SimulatedSms()
    bad = run(sms.send("0371-6512345", "reminder", PARAMS))
    assert not bad.ok and not bad.retryable and "mobile" in (bad.error or "")
    assert "6512345" not in (bad.error or "")
    missing = run(sms.send(PHONE, "reminder", {k: v for k, v in PARAMS.items() if k != "code"}))
    assert not missing.ok and "missing code" in (missing.error or "")
    unknown = run(sms.send(PHONE, "birthday", PARAMS))
    assert not unknown.ok and "unknown SMS template 'birthday'" in (unknown.error or "")
    assert sms.sent == []


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_a_typical_message_fits_one_sms(template: str) -> None:
    """Over 70 characters a message is sent, and billed, as two."""
    assert len(render(template, PARAMS, "平安县政务")) <= 70
    assert fields(template) == set(PARAMS)


def test_render_names_the_template_and_the_variable() -> None:
    with pytest.raises(ValueError, match=r"'reminder': item is 36 characters"):
        render("reminder", {**PARAMS, "item": "办" * 36}, "平安县政务")
    with pytest.raises(ValueError, match=r"'confirmed': missing hall; unknown place"):
        render("confirmed", {**{k: v for k, v in PARAMS.items() if k != "hall"}, "place": "x"}, "平安县政务")


def test_provider_text_is_the_template_to_register() -> None:
    assert provider_text("reminder").startswith("您预约${date}${time}在${hall}办${item}，预约码${code}。")
    assert "{sign}" not in provider_text("cancelled") and "【" not in provider_text("cancelled")


# --- who is due a reminder ---------------------------------------------------------------------------------------


def booking(slot: datetime, code: str = "YY0001", **kw: Any) -> ReminderCandidate:
    kw = {"phone": PHONE, "item_name": "医保参保登记", "hall_name": "平安县政务服务中心", **kw}
    return ReminderCandidate(code=code, slot_start=slot, **kw)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=TZ)


SIX = time(18, 0)


def test_reminders_go_out_from_send_at_on_the_day_before() -> None:
    b = booking(at(2, 10))
    assert due_reminders([b], at(1, 17, 59, 59), SIX, TZ) == []
    assert due_reminders([b], at(1, 18, 0), SIX, TZ) == [b]
    assert due_reminders([b], at(1, 23, 59, 59), SIX, TZ) == [b]
    assert due_reminders([b], at(2, 0, 0), SIX, TZ) == []  # the visit day itself: too late
    assert due_reminders([b], at(1, 9, 0), SIX, TZ) == []  # the morning before: not yet


def test_only_tomorrows_slots_are_due() -> None:
    today, tomorrow_first, tomorrow_last, later = at(1, 20), at(2, 0, 0), at(2, 23, 59), at(3, 9)
    bookings = [booking(s, code=f"C{i}") for i, s in enumerate((today, tomorrow_first, tomorrow_last, later))]
    assert [b.code for b in due_reminders(bookings, at(1, 18), SIX, TZ)] == ["C1", "C2"]


def test_cancelled_and_reminded_bookings_get_none() -> None:
    keep = booking(at(2, 9), code="KEEP")
    gone = booking(at(2, 9), code="GONE", status="cancelled")
    done = booking(at(2, 9), code="DONE", reminded=True)
    assert due_reminders([gone, keep, done], at(1, 19), SIX, TZ) == [keep]


def test_a_booking_made_after_send_at_for_tomorrow_is_due_at_once() -> None:
    late = booking(at(2, 9, 30))  # booked at 21:10 the evening before
    assert due_reminders([late], at(1, 21, 10), SIX, TZ) == [late]


def test_a_slot_less_than_two_hours_away_gets_none() -> None:
    night = booking(at(2, 1, 0))
    assert due_reminders([night], at(1, 23, 0), SIX, TZ) == [night]  # exactly two hours
    assert due_reminders([night], at(1, 23, 0, 1), SIX, TZ) == []
    assert due_reminders([booking(at(2, 0, 30))], at(1, 23, 0), SIX, TZ) == []


def test_the_calendar_is_the_halls_not_utc() -> None:
    """18:00 in Shanghai is 10:00 UTC; 07:00 tomorrow in Shanghai is 23:00 UTC today."""
    early = booking(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))  # 2 Dec 07:00 in the hall
    assert due_reminders([early], datetime(2026, 12, 1, 9, 59, tzinfo=UTC), SIX, TZ) == []
    assert due_reminders([early], datetime(2026, 12, 1, 10, 0, tzinfo=UTC), SIX, TZ) == [early]
    # 16:30 UTC on 1 Dec is already 00:30 on 2 Dec in the hall: the slot is today there, no reminder
    assert due_reminders([early], datetime(2026, 12, 1, 16, 30, tzinfo=UTC), SIX, TZ) == []
    # a morning send_at: 23:30 UTC on 1 Dec is 07:30 on 2 Dec in the hall, so "tomorrow" is 3 Dec
    third = booking(at(3, 10))
    assert due_reminders([early, third], datetime(2026, 12, 1, 23, 30, tzinfo=UTC), time(7, 0), TZ) == [third]


def test_month_and_year_ends_are_plain_days() -> None:
    new_year = booking(datetime(2027, 1, 1, 9, 0, tzinfo=TZ))
    assert due_reminders([new_year], datetime(2026, 12, 31, 18, 0, tzinfo=TZ), SIX, TZ) == [new_year]
    march = booking(datetime(2027, 3, 1, 9, 0, tzinfo=TZ))
    assert due_reminders([march], datetime(2027, 2, 28, 18, 0, tzinfo=TZ), SIX, TZ) == [march]


def test_naive_times_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="now has no time zone"):
        due_reminders([], datetime(2026, 12, 1, 18), SIX, TZ)
    with pytest.raises(ValueError, match="booking YY0009: slot_start has no time zone"):
        due_reminders([booking(datetime(2026, 12, 2, 9), code="YY0009")], at(1, 18), SIX, TZ)


def test_a_candidates_repr_masks_the_phone() -> None:
    assert PHONE not in repr(booking(at(2, 9))) and "138****5678" in repr(booking(at(2, 9)))


# --- sending reminders --------------------------------------------------------------------------------------------


def test_send_reminders_reports_every_result_and_masks_the_log(caplog: pytest.LogCaptureFixture) -> None:
    sms = SimulatedSms(sign_name="平安县政务")
    sms.fail_next(1)
    first = booking(datetime(2026, 12, 2, 1, 30, tzinfo=UTC), code="A1")  # 09:30 in the hall
    second = ReminderCandidate(code="A2", phone="13900001111", item_name="不动产登记", hall_name="城关镇便民服务中心",
                               slot_start=at(2, 14, 5))
    seen: list[tuple[str, SmsResult]] = []
    with caplog.at_level(logging.INFO, logger="hall.sms"):
        results = run(send_reminders(sms, [first, second], tz=TZ, on_sent=lambda c, r: seen.append((c, r))))
    assert seen == results
    assert [(c, r.ok, r.retryable) for c, r in seen] == [("A1", False, True), ("A2", True, False)]
    [msg] = sms.sent
    assert msg.phone == "13900001111" and msg.params == {"date": "12月2日", "time": "14:05",
                                                          "hall": "城关镇便民服务中心", "item": "不动产登记",
                                                          "code": "A2"}
    assert len(caplog.records) == 4  # the simulator's line and the reminder's, for each booking
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert PHONE not in text and "13900001111" not in text and "139****1111" in text
    # the hall's time, though the first slot was given in UTC
    sms2 = SimulatedSms()
    run(send_reminders(sms2, [first], tz=TZ, on_sent=lambda c, r: None))
    assert "12月2日09:30" in sms2.sent[0].text


def test_send_reminders_survives_a_raising_gateway_and_callback() -> None:
    class Broken:
        async def send(self, phone: str, template: str, params: dict[str, str]) -> SmsResult:
            raise RuntimeError(f"boom for {phone}")

    calls: list[str] = []

    def record(code: str, result: SmsResult) -> None:
        calls.append(code)
        raise KeyError(code)

    results = run(send_reminders(Broken(), [booking(at(2, 9), code="B1"), booking(at(2, 9), code="B2")], tz=TZ,
                                 on_sent=record))
    assert calls == ["B1", "B2"]
    assert all(not r.ok and r.retryable and "RuntimeError" in (r.error or "") for _, r in results)
    assert all(PHONE not in (r.error or "") for _, r in results)


def test_send_reminders_awaits_an_async_callback() -> None:
    recorded: list[str] = []

    async def record(code: str, result: SmsResult) -> None:
        await asyncio.sleep(0)
        recorded.append(f"{code}:{result.ok}")

    run(send_reminders(SimulatedSms(), [booking(at(2, 9), code="C1")], tz=TZ, on_sent=record))
    assert recorded == ["C1:True"]


def test_a_long_item_name_is_shortened_not_refused() -> None:
    sms = SimulatedSms()
    long_item = booking(at(2, 9), item_name="城乡居民基本医疗保险参保登记（含新生儿、在校学生、"
                                            "灵活就业人员、退役军人及其他人员）")
    [(_, result)] = run(send_reminders(sms, [long_item], tz=TZ, on_sent=lambda c, r: None))
    assert result.ok and len(sms.sent[0].params["item"]) == 35 and sms.sent[0].params["item"].endswith("…")


# --- Alibaba Cloud: the signature ------------------------------------------------------------------------------

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def pop_encode(value: str) -> str:
    """The POP percent-encoding written out byte by byte, independent of urllib's quote."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in value.encode("utf-8"))


def expected_signature(params: dict[str, str], secret: str) -> str:
    canonical = "&".join(f"{pop_encode(k)}={pop_encode(params[k])}" for k in sorted(params))
    to_sign = "GET&%2F&" + pop_encode(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


# The worked example of Alibaba's SMS signature documentation (短信服务 › HTTP 协议及签名).
DOC_PARAMS = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123", "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


def test_signature_matches_alibabas_documented_example() -> None:
    assert aliyun.canonical_query(DOC_PARAMS) == (
        "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou"
        "&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8"
        "&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0"
        "&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D"
        "&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25")
    assert aliyun.signature(DOC_PARAMS, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert expected_signature(DOC_PARAMS, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="  # the server's check
    assert "Signature=zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D" in aliyun.signed_url("https://x/", DOC_PARAMS,
                                                                              "testSecret")


@pytest.mark.parametrize(("raw", "encoded"), [(" ", "%20"), ("*", "%2A"), ("~", "~"), ("/", "%2F"), ("+", "%2B"),
                                              ("a-_.Z9", "a-_.Z9"), ("预", "%E9%A2%84"), ("=&", "%3D%26")])
def test_percent_encoding_follows_the_pop_rules(raw: str, encoded: str) -> None:
    assert aliyun.percent_encode(raw) == encoded == pop_encode(raw)


def test_timestamp_is_utc_to_the_second() -> None:
    assert aliyun.timestamp(datetime(2026, 12, 1, 18, 0, 5, 999, tzinfo=TZ)) == "2026-12-01T10:00:05Z"


# --- Alibaba Cloud: against a stand-in provider on 127.0.0.1 ----------------------------------------------------

KEY_ID, SECRET = "LTAItestkey", "s3cr3t/+=key"
CODES = {"reminder": "SMS_100001", "confirmed": "SMS_100002", "cancelled": "SMS_100003"}
REQUIRED = {"AccessKeyId", "Action", "Format", "PhoneNumbers", "RegionId", "SignName", "SignatureMethod",
            "SignatureNonce", "SignatureVersion", "TemplateCode", "TemplateParam", "Timestamp", "Version",
            "Signature"}


class Provider(ThreadingHTTPServer):
    """Answers as Dysmsapi would — but only to a correctly signed request; `answer` picks what it says next."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer: tuple[int, bytes] = (200, b"")
        self.requests: list[dict[str, str]] = []
        self.release = threading.Event()  # a "slow" answer waits for this
        self.slow = False

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A held answer written after the client gave up hits a closed socket; that is the test, not a fault."""

    def reply(self, body: dict[str, Any] | bytes, status: int = 200) -> None:
        self.answer = (status, body if isinstance(body, bytes) else json.dumps(body).encode())


class _Handler(BaseHTTPRequestHandler):
    server: Provider

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest's output clean
        pass

    def do_GET(self) -> None:
        raw = urlsplit(self.path).query
        params = dict(parse_qsl(raw, keep_blank_values=True, strict_parsing=True))
        self.server.requests.append(params)
        problem = self._problem(raw, params)
        if problem:
            self._send(400 if problem[0] != "InvalidAccessKeyId.NotFound" else 404,
                       json.dumps({"Code": problem[0], "Message": problem[1], "RequestId": "R-BAD"}).encode())
            return
        if self.server.slow:
            self.server.release.wait(5)
        self._send(*self.server.answer)

    def _problem(self, raw: str, params: dict[str, str]) -> tuple[str, str] | None:
        if "+" in raw:
            return "SignatureDoesNotMatch", "a '+' in the query: spaces must be %20"
        if set(params) != REQUIRED:
            return "MissingParameter", f"parameters {sorted(set(params) ^ REQUIRED)}"
        if params["AccessKeyId"] != KEY_ID:
            return "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", params["Timestamp"]):
            return "InvalidTimeStamp.Format", params["Timestamp"]
        fixed = {"Action": "SendSms", "Format": "JSON", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
                 "Version": "2017-05-25"}
        if any(params[k] != v for k, v in fixed.items()):
            return "InvalidParameter", "a fixed parameter is wrong"
        unsigned = {k: v for k, v in params.items() if k != "Signature"}
        if params["Signature"] != expected_signature(unsigned, SECRET):
            return "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
        return None

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = Provider()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def gateway(endpoint: str, *, secret: str = SECRET, timeout: float = 2.0) -> AliyunSms:
    return AliyunSms(access_key_id=KEY_ID, access_key_secret=secret, sign_name="平安县政务", template_codes=CODES,
                     endpoint=endpoint, timeout_seconds=timeout)


def test_aliyun_sends_a_signed_request_and_reads_the_biz_id(provider: Provider) -> None:
    provider.reply({"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "F655A8D5"})
    params = {**PARAMS, "item": "医保 参保*登记~"}  # a space, a star and a tilde inside the signed JSON
    result = run(gateway(provider.endpoint).send(PHONE, "confirmed", params))
    assert result == SmsResult(ok=True, message_id="900619746936498440^0")
    [seen] = provider.requests
    assert seen["PhoneNumbers"] == PHONE and seen["SignName"] == "平安县政务" and seen["TemplateCode"] == "SMS_100002"
    assert json.loads(seen["TemplateParam"]) == params and seen["RegionId"] == "cn-hangzhou"
    run(gateway(provider.endpoint).send(PHONE, "confirmed", params))
    assert provider.requests[0]["SignatureNonce"] != provider.requests[1]["SignatureNonce"]


def test_a_wrong_secret_is_caught_by_the_providers_check(provider: Provider) -> None:
    provider.reply({"Code": "OK", "BizId": "1"})
    result = run(gateway(provider.endpoint, secret="not-the-secret").send(PHONE, "reminder", PARAMS))
    assert not result.ok and not result.retryable
    assert "SignatureDoesNotMatch" in (result.error or "") and "secret file" in (result.error or "")
    assert "R-BAD" in (result.error or "")  # the RequestId Alibaba's support asks for


def test_a_provider_refusal_is_named_and_not_retried(provider: Provider) -> None:
    provider.reply({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "invalid mobile number", "RequestId": "R1"})
    result = run(gateway(provider.endpoint).send(PHONE, "reminder", PARAMS))
    assert not result.ok and not result.retryable and result.message_id is None
    assert "手机号码格式不对" in (result.error or "") and "isv.MOBILE_NUMBER_ILLEGAL" in (result.error or "")


def test_a_rate_limit_is_retryable(provider: Provider) -> None:
    provider.reply({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1", "RequestId": "R2"})
    result = run(gateway(provider.endpoint).send(PHONE, "reminder", PARAMS))
    assert not result.ok and result.retryable and "限流" in (result.error or "")


def test_an_unknown_code_keeps_the_providers_message_masked(provider: Provider) -> None:
    provider.reply({"Code": "isv.SOMETHING_NEW", "Message": f"bad number {PHONE}", "RequestId": "R3"})
    result = run(gateway(provider.endpoint).send(PHONE, "reminder", PARAMS))
    assert not result.ok and not result.retryable
    assert "isv.SOMETHING_NEW" in (result.error or "") and "138****5678" in (result.error or "")
    assert PHONE not in (result.error or "")


@pytest.mark.parametrize(("status", "retryable"), [(200, False), (502, True)])
def test_an_answer_that_is_not_json_is_a_clear_error(provider: Provider, status: int, retryable: bool) -> None:
    provider.reply(b"<html><body>Portal login</body></html>", status=status)
    result = run(gateway(provider.endpoint).send(PHONE, "reminder", PARAMS))
    assert not result.ok and result.retryable is retryable
    assert f"HTTP {status}" in (result.error or "") and "not JSON" in (result.error or "")
    assert "Portal login" in (result.error or "")


def test_json_without_a_code_is_a_clear_error() -> None:
    result = interpret(200, b'{"hello": "world"}')
    assert not result.ok and "without a Code" in (result.error or "")


def test_a_provider_that_is_down_is_a_retryable_result() -> None:
    with socket.socket() as s:  # a port nobody listens on: bound, then closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run(gateway(f"http://127.0.0.1:{port}/").send(PHONE, "reminder", PARAMS))
    assert not result.ok and result.retryable and "connection refused" in (result.error or "")


def test_a_slow_provider_times_out_as_a_retryable_result(provider: Provider) -> None:
    provider.slow = True
    provider.reply({"Code": "OK", "BizId": "late"})
    result = run(gateway(provider.endpoint, timeout=0.2).send(PHONE, "reminder", PARAMS))
    assert not result.ok and result.retryable and "in time" in (result.error or "")
    assert len(provider.requests) == 1  # it was asked, and held the answer back


def test_bad_input_never_reaches_the_provider(provider: Provider) -> None:
    sms = gateway(provider.endpoint)
    assert "mobile" in (run(sms.send("+8613812345678", "reminder", PARAMS)).error or "")
    assert "missing time" in (run(sms.send(PHONE, "reminder", {k: v for k, v in PARAMS.items() if k != "time"}))
                              .error or "")
    no_code = AliyunSms(access_key_id=KEY_ID, access_key_secret=SECRET, sign_name="平安县政务",
                        template_codes={"reminder": "SMS_1"}, endpoint=provider.endpoint)
    assert "sms.templates.cancelled" in (run(no_code.send(PHONE, "cancelled", PARAMS)).error or "")
    assert provider.requests == []


def test_the_gateways_repr_hides_the_secret() -> None:
    assert SECRET not in repr(gateway("https://dysmsapi.aliyuncs.com/"))


# --- settings --------------------------------------------------------------------------------------------------


def aliyun_settings(secret_file: str, **kw: Any) -> SmsSettings:
    return SmsSettings.model_validate({"adapter": "aliyun", "sign_name": "平安县政务", "access_key_id": KEY_ID,
                                       "secret_file": secret_file, "templates": CODES, **kw})


def test_the_simulator_is_the_default() -> None:
    settings = SmsSettings(sign_name="平安县政务")
    sms = make_gateway(settings)
    assert isinstance(sms, SimulatedSms) and sms.sign_name == "平安县政务"
    assert settings.send_at == time(18, 0)


def test_aliyun_gateway_reads_its_secret_from_a_private_file(tmp_path: Path, provider: Provider) -> None:
    secret = tmp_path / "sms.secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    sms = make_gateway(aliyun_settings("sms.secret", endpoint=provider.endpoint, timeout_seconds=3), tmp_path)
    assert isinstance(sms, AliyunSms)
    assert sms.template_codes == CODES and sms.timeout_seconds == 3
    provider.reply({"Code": "OK", "BizId": "B1", "RequestId": "R"})
    assert run(sms.send(PHONE, "cancelled", PARAMS)).ok  # signed with the file's secret, checked by the provider
    assert provider.requests[0]["TemplateCode"] == "SMS_100003"


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "sms.secret"
    secret.write_text(SECRET)
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match=r"readable by others \(mode 0644\); run chmod 600"):
        make_gateway(aliyun_settings(str(secret)))
    with pytest.raises(ConfigError, match=r"no such file"):
        make_gateway(aliyun_settings("missing.secret"), tmp_path)
    secret.write_text("")
    secret.chmod(0o600)
    with pytest.raises(ConfigError, match=r"the AccessKey secret alone"):
        make_gateway(aliyun_settings(str(secret)))


@pytest.mark.parametrize(("extra", "words"), [
    ({"adapter": "aliyun"}, "needs access_key_id, secret_file, templates"),
    ({"endpoint": "http://dysmsapi.aliyuncs.com/"}, "over https, not http"),
    ({"endpoint": "ftp://127.0.0.1/"}, "not an http(s) URL"),
    ({"sign_name": "【平安县政务】"}, "without 【】"),
    ({"templates": {**CODES, "reminder": "100001"}}, "String should match pattern"),
    ({"timeout_seconds": 0}, "greater than 0"),
    ({"access_key_secret": "inline"}, "Extra inputs are not permitted"),
])
def test_settings_refuse_with_words(extra: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SmsSettings.model_validate({"sign_name": "平安县政务", **extra})
    assert words in str(caught.value)
