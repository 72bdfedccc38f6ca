"""The words of every SMS the hall sends, in one place.

The provider holds a copy of each template (registered and reviewed there, variables written ${name}); the text
here is what the simulator shows and what `provider_text` prints for that registration, so the two cannot drift
apart unnoticed. The sign name goes first in 【】, as phones show it. A message over 70 characters is sent and
billed as two, so the fixed words are kept short: a typical reminder fills to about 70.
"""

from __future__ import annotations

import re
import string

REMINDER = "reminder"
CONFIRMED = "confirmed"
CANCELLED = "cancelled"

TEMPLATES: dict[str, str] = {
    REMINDER: "【{sign}】您预约{date}{time}在{hall}办{item}，预约码{code}。"
              "请带齐材料按时到；不能来请在网上取消或改约。",
    CONFIRMED: "【{sign}】您已预约{date}{time}在{hall}办理{item}，预约码{code}。前一天会短信提醒您。",
    CANCELLED: "【{sign}】您{date}{time}在{hall}办理{item}的预约（{code}）已取消。如需办理请重新预约。",
}
# A provider caps each variable's length (Alibaba: 35 characters for a plain variable).
MAX_PARAM_LENGTH = 35


def fields(template: str) -> frozenset[str]:
    """The variables a template needs (the sign is the gateway's, not a variable)."""
    return frozenset(f for _, f, _, _ in string.Formatter().parse(TEMPLATES[template]) if f and f != "sign")


def params_problem(template: str, params: dict[str, str]) -> str | None:
    """Why these params cannot fill this template, or None; checked before a provider is asked, whose answer
    to a missing variable names neither the template nor the variable."""
    if template not in TEMPLATES:
        return f"unknown SMS template {template!r} (known: {', '.join(sorted(TEMPLATES))})"
    need = fields(template)
    missing = sorted(need - params.keys())
    extra = sorted(params.keys() - need)
    if missing or extra:
        parts = [f"{what} {', '.join(keys)}" for what, keys in (("missing", missing), ("unknown", extra)) if keys]
        return f"SMS template {template!r}: {'; '.join(parts)} (it takes {', '.join(sorted(need))})"
    for key in sorted(need):
        value = params[key]
        if not isinstance(value, str) or not value.strip():
            return f"SMS template {template!r}: {key} is empty"
        if len(value) > MAX_PARAM_LENGTH:
            return (f"SMS template {template!r}: {key} is {len(value)} characters "
                    f"(the provider takes {MAX_PARAM_LENGTH})")
    return None


def render(template: str, params: dict[str, str], sign: str) -> str:
    """The text a phone shows. Raises ValueError naming the template and the variable when the params do not
    fit, so a test (or the demo) sees the same refusal a provider would give."""
    problem = params_problem(template, params)
    if problem:
        raise ValueError(problem)
    return TEMPLATES[template].format(sign=sign, **params)


def provider_text(template: str) -> str:
    """The template as it is registered with the provider: no 【sign】 (the provider adds it), ${var} variables."""
    body = TEMPLATES[template].split("】", 1)[1]
    return re.sub(r"\{(\w+)\}", r"${\1}", body)
