"""Faults the stand-in can inject, queued over HTTP or written into a prompt.

Queue: ``POST /_standin/faults`` with ``[{"kind": "rate_limit", "retry_after": 1}, ...]``; each
image request (generations/edits) consumes one entry. Prompt token: ``[[fault:KIND]]`` or
``[[fault:KIND:ARG]]`` (ARG fills the kind's main option, e.g. ``[[fault:server_error:503]]``,
``[[fault:slow:5]]``, ``[[fault:moderation:output]]``); a prompt token applies to every request
carrying that prompt, which is what host UI tests want. ``[[delay:0.5]]`` in a prompt slows a
stream down between events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .api_errors import ApiError

# kind -> (main option name, default options)
FAULT_KINDS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "rate_limit": ("retry_after", {"retry_after": 1}),
    "insufficient_quota": (None, {}),
    "server_error": ("status", {"status": 500}),
    "slow": ("seconds", {"seconds": 5.0}),
    "stream_cut": ("after", {"after": 1}),
    "malformed": (None, {}),
    "moderation": ("stage", {"stage": "input", "categories": ["violence"]}),
    "stream_error": ("code", {"code": "moderation_blocked", "stage": "output"}),
    "auth": (None, {}),
    "forbidden": (None, {}),
    "delay": ("seconds", {"seconds": 0.3}),
    # gpt-image-2's transparency is a preview: the API may still refuse it
    "transparent_refused": (None, {}),
}

_TOKEN = re.compile(r"\[\[fault:([a-z_]+)(?::([^\]]+))?\]\]")
_DELAY = re.compile(r"\[\[delay:([0-9.]+)\]\]")


@dataclass(frozen=True)
class Fault:
    kind: str
    options: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Fault:
        kind = str(data.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(FAULT_KINDS)}")
        options = dict(FAULT_KINDS[kind][1])
        options.update({k: v for k, v in data.items() if k != "kind"})
        return Fault(kind, options)

    def get(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


def fault_from_prompt(prompt: str) -> Fault | None:
    """The first ``[[fault:...]]`` token in a prompt, if any."""
    match = _TOKEN.search(prompt or "")
    if not match or match.group(1) not in FAULT_KINDS:
        return None
    kind, arg = match.group(1), match.group(2)
    data: dict[str, Any] = {"kind": kind}
    main = FAULT_KINDS[kind][0]
    if arg is not None and main is not None:
        data[main] = _number_or_text(arg)
    return Fault.from_dict(data)


def delay_from_prompt(prompt: str) -> float:
    match = _DELAY.search(prompt or "")
    return float(match.group(1)) if match else 0.0


def _number_or_text(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def error_for(fault: Fault, model: str) -> ApiError | None:
    """The HTTP error a fault answers with, or None for faults that shape a success."""
    kind = fault.kind
    if kind == "rate_limit":
        seconds = fault.get("retry_after")
        return ApiError(
            429,
            f"Rate limit reached for {model} in organization org-standin on images per minute "
            f"(IPM): Limit 5, Used 5, Requested 1. Please try again in {seconds}s. Visit "
            "https://platform.openai.com/account/rate-limits to learn more.",
            type="requests",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(seconds)},
        )
    if kind == "insufficient_quota":
        return ApiError(
            429,
            "You exceeded your current quota, please check your plan and billing details. For "
            "more information on this error, read the docs: "
            "https://platform.openai.com/docs/guides/error-codes/api-errors.",
            type="insufficient_quota",
            code="insufficient_quota",
        )
    if kind == "server_error":
        status = int(fault.get("status"))
        message = (
            "The engine is currently overloaded, please try again later."
            if status == 503
            else "The server had an error while processing your request. Sorry about that!"
        )
        return ApiError(status, message, type="server_error")
    if kind == "moderation":
        return moderation_error(fault)
    if kind == "auth":
        return ApiError(
            401,
            "Incorrect API key provided: sk-******ed. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )
    if kind == "transparent_refused":
        return ApiError(
            400,
            f"Transparent background is not supported for model '{model}'.",
            type="image_generation_user_error",
            param="background",
            code="invalid_value",
        )
    if kind == "forbidden":
        return ApiError(
            403,
            f"Your organization must be verified to use the model `{model}`. Please go to: "
            "https://platform.openai.com/settings/organization/general and click on Verify "
            "Organization.",
        )
    return None


def moderation_error(fault: Fault) -> ApiError:
    return ApiError(
        400,
        "Your request was rejected by the safety system. If you believe this is an error, "
        "contact us at help.openai.com and include the request ID.",
        type="image_generation_user_error",
        code="moderation_blocked",
        extra={
            "moderation_details": {
                "moderation_stage": fault.get("stage") or "input",
                "categories": list(fault.get("categories") or []),
            }
        },
    )
