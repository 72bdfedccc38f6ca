"""Alibaba Cloud SMS (Dysmsapi, API version 2017-05-25): the `SendSms` call, signed by hand.

The signature is Alibaba's RPC "Signature v1" (SignatureMethod HMAC-SHA1, SignatureVersion 1.0), as the SMS
documentation describes it (help.aliyun.com, 短信服务 › HTTP 协议及签名 / "Signature mechanism", with the worked
example testId/testSecret → zJDF+Lrzhj/ThnlvIToysFRq6t4= that tests/test_sms.py checks):

1. every parameter but Signature, sorted by name (byte order);
2. names and values percent-encoded per RFC 3986 over UTF-8: A-Z a-z 0-9 - _ . ~ stay, everything else is %XX
   in upper case (so space is %20, not +; * is %2A; ~ is not escaped);
3. joined name=value with &, the canonicalized query string;
4. StringToSign = "GET" & percentEncode("/") & percentEncode(canonicalized query);
5. Signature = base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign)), sent as one more parameter.

No SDK: Alibaba's pulls in a dependency tree the hall does not otherwise need for one call. The request is a GET
made with urllib in a worker thread (httpx is not a dependency), so a slow provider never blocks the hall
server's loop; every way it can fail — refused, timed out, reset, an HTML page instead of JSON, a provider error
code — becomes an SmsResult whose words name the cause and whether a later retry can help.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import logging
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from devices.privacy import mask_phone, mask_text
from hall_bus.sms.gateway import SmsResult, phone_problem
from hall_bus.sms.settings import DEFAULT_ENDPOINT
from hall_bus.sms.templates import params_problem

log = logging.getLogger("hall.sms")

API_VERSION = "2017-05-25"
_MAX_BODY = 64 * 1024

# Provider codes → (words for the maintainer, whether the same send may succeed later with nothing changed).
# From the SendSms error-code list; codes not here keep the provider's own message.
PROVIDER_CODES: dict[str, tuple[str, bool]] = {
    "isv.MOBILE_NUMBER_ILLEGAL": ("手机号码格式不对 / the provider says the number is not a valid mobile", False),
    "isv.BUSINESS_LIMIT_CONTROL": ("发送太频繁被限流 / rate limited for this number (per minute/hour/day); "
                                   "retry later", True),
    "isv.DAY_LIMIT_CONTROL": ("已到当日发送上限 / the account's daily limit is reached; retry tomorrow", True),
    "Throttling.User": ("请求太快被限流 / too many requests for this AccessKey; retry later", True),
    "isp.SYSTEM_ERROR": ("短信平台内部错误 / the provider had an internal error; retry later", True),
    "ServiceUnavailable": ("短信平台暂不可用 / the provider is unavailable; retry later", True),
    "SignatureNonceUsed": ("请求随机数重复 / the nonce was reused; a retry uses a new one", True),
    "isv.SMS_SIGNATURE_ILLEGAL": ("短信签名不对 / sign_name is not an approved sign of this account", False),
    "isv.SMS_SIGN_ILLEGAL": ("短信签名不对 / sign_name is not an approved sign of this account", False),
    "isv.SMS_TEMPLATE_ILLEGAL": ("模板编号不对 / the template code is not an approved template of this account",
                                 False),
    "isv.TEMPLATE_MISSING_PARAMETERS": ("模板变量不全 / the registered template needs variables we did not send",
                                        False),
    "isv.TEMPLATE_PARAMS_ILLEGAL": ("模板变量不合规 / a template variable was refused (length or content)", False),
    "isv.PARAM_LENGTH_LIMIT": ("变量太长 / a template variable is too long", False),
    "isv.INVALID_PARAMETERS": ("参数不对 / the provider refused a parameter", False),
    "isv.AMOUNT_NOT_ENOUGH": ("短信账户余额不足 / the SMS account is out of credit; top it up", False),
    "isv.OUT_OF_SERVICE": ("短信业务停机 / the SMS service of this account is suspended (arrears?)", False),
    "isv.ACCOUNT_NOT_EXISTS": ("短信账户不存在 / no SMS account for this AccessKey", False),
    "isv.ACCOUNT_ABNORMAL": ("短信账户异常 / the SMS account is flagged abnormal; see the console", False),
    "isv.BLACK_KEY_CONTROL_LIMIT": ("内容含禁用词 / the text hit the provider's blocked words", False),
    "isv.MOBILE_COUNT_OVER_LIMIT": ("号码太多 / too many numbers in one request", False),
    "isp.RAM_PERMISSION_DENY": ("AccessKey 无短信权限 / the RAM user may not send SMS (grant AliyunDysmsFullAccess)",
                                False),
    "InvalidAccessKeyId.NotFound": ("AccessKey ID 不存在 / access_key_id is unknown to Alibaba", False),
    "InvalidAccessKeyId.Inactive": ("AccessKey 已停用 / access_key_id is disabled", False),
    "SignatureDoesNotMatch": ("签名校验失败 / signature mismatch: check the secret file (no stray spaces)", False),
    "InvalidTimeStamp.Expired": ("时间戳过期 / the server's clock is off by more than 15 minutes; fix NTP", False),
}


def percent_encode(value: str) -> str:
    """RFC 3986 over UTF-8, as the POP spec wants it: only A-Z a-z 0-9 - _ . ~ are left as they are."""
    return quote(value, safe="~")  # quote keeps "_.-~" and alphanumerics; safe="~" keeps "/" from being safe


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, the one form the API accepts ('2017-07-12T02:42:19Z')."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def send_params(*, access_key_id: str, phone: str, sign_name: str, template_code: str,
                params: Mapping[str, str], region: str, nonce: str, moment: datetime) -> dict[str, str]:
    """Every parameter of one SendSms request except the signature."""
    return {
        "AccessKeyId": access_key_id, "Action": "SendSms", "Format": "JSON", "PhoneNumbers": phone,
        "RegionId": region, "SignName": sign_name, "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce,
        "SignatureVersion": "1.0", "TemplateCode": template_code,
        "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
        "Timestamp": timestamp(moment), "Version": API_VERSION,
    }


def signed_url(endpoint: str, params: Mapping[str, str], secret: str) -> str:
    query = canonical_query({**params, "Signature": signature(params, secret)})
    return f"{endpoint.rstrip('/')}/?{query}"


def interpret(status: int, body: bytes) -> SmsResult:
    """The provider's answer as a result. Pure, so every answer the provider documents is tested without it."""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        start = mask_text(body[:80].decode("utf-8", "replace")).replace("\n", " ")
        # A 5xx page comes from the provider's front end and passes; a 2xx/4xx page means the endpoint is not the
        # SMS API (a proxy's login page, a wrong URL), which no retry mends.
        return SmsResult.failed(f"短信平台的回答不是 JSON / the endpoint answered HTTP {status} with something "
                                f"that is not JSON ({start!r}); check sms.endpoint", retryable=status >= 500)
    if not isinstance(answer, dict) or not isinstance(answer.get("Code"), str):
        return SmsResult.failed(f"短信平台的回答没有 Code / HTTP {status}, JSON without a Code field; check "
                                "sms.endpoint", retryable=status >= 500)
    code = answer["Code"]
    if code == "OK":
        biz_id = answer.get("BizId")
        return SmsResult.sent(str(biz_id) if biz_id else str(answer.get("RequestId", "")))
    request = f", RequestId {answer['RequestId']}" if answer.get("RequestId") else ""
    if code in PROVIDER_CODES:
        words, retryable = PROVIDER_CODES[code]
    else:
        message = mask_text(str(answer.get("Message", ""))) or "no message"
        words, retryable = f"短信平台拒绝 / the provider refused: {message}", status >= 500
    return SmsResult.failed(f"{words} ({code}{request})", retryable=retryable)


def transport_fault(exc: BaseException, endpoint: str) -> SmsResult:
    """A request that got no answer: which of these it was decides what the maintainer checks."""
    host = urlsplit(endpoint).netloc or endpoint
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return SmsResult.failed(f"短信平台没有及时回答 / no answer from {host} in time; retry later", retryable=True)
    if isinstance(reason, ConnectionRefusedError):
        return SmsResult.failed(f"短信平台连不上 / connection refused by {host}; retry later", retryable=True)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return SmsResult.failed(f"HTTPS 证书校验失败 / the certificate of {host} was refused ({reason.verify_message});"
                                " check the clock and sms.endpoint", retryable=False)
    if isinstance(reason, OSError | http.client.HTTPException):
        what = reason.strerror if isinstance(reason, OSError) and reason.strerror else type(reason).__name__
        return SmsResult.failed(f"短信平台网络故障 / network fault talking to {host}: {what}; retry later",
                                retryable=True)
    return SmsResult.failed(f"短信平台网络故障 / {type(reason).__name__} talking to {host}: {reason}", retryable=True)


class AliyunSms:
    """SmsGateway over Alibaba Cloud SMS. `template_codes` maps our template names to the SMS_… codes the
    account's templates were approved under. `now` and `nonce` are injectable so a request can be replayed."""

    def __init__(self, *, access_key_id: str, access_key_secret: str, sign_name: str,
                 template_codes: Mapping[str, str], endpoint: str = DEFAULT_ENDPOINT, region: str = "cn-hangzhou",
                 timeout_seconds: float = 10.0, now: Callable[[], datetime] | None = None,
                 nonce: Callable[[], str] | None = None) -> None:
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.sign_name = sign_name
        self.template_codes = dict(template_codes)
        self.endpoint = endpoint
        self.region = region
        self.timeout_seconds = timeout_seconds
        self._now = now or (lambda: datetime.now(UTC))
        self._nonce = nonce or (lambda: uuid.uuid4().hex)

    def __repr__(self) -> str:  # the secret never reaches a log through a repr
        return f"AliyunSms(access_key_id={self.access_key_id!r}, endpoint={self.endpoint!r})"

    async def send(self, phone: str, template: str, params: dict[str, str]) -> SmsResult:
        problem = phone_problem(phone) or params_problem(template, params)
        if problem is None and template not in self.template_codes:
            problem = f"no Alibaba template code configured for {template!r} (sms.templates.{template})"
        if problem:
            return SmsResult.failed(problem, retryable=False)
        query = send_params(access_key_id=self.access_key_id, phone=phone, sign_name=self.sign_name,
                            template_code=self.template_codes[template], params=params, region=self.region,
                            nonce=self._nonce(), moment=self._now())
        url = signed_url(self.endpoint, query, self._secret)
        try:
            status, body = await asyncio.to_thread(self._get, url)
        except Exception as exc:  # every transport fault is a result, never a crash of the sender
            result = transport_fault(exc, self.endpoint)
        else:
            result = interpret(status, body)
        if result.ok:
            log.info("SMS %s to %s sent: %s", template, mask_phone(phone), result.message_id)
        else:
            log.warning("SMS %s to %s not sent: %s", template, mask_phone(phone), result.error)
        return result

    def _get(self, url: str) -> tuple[int, bytes]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                return response.status, response.read(_MAX_BODY)
        except urllib.error.HTTPError as exc:  # a 4xx/5xx still carries the provider's JSON answer
            with exc:
                return exc.code, exc.read(_MAX_BODY)
