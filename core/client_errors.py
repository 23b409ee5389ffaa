"""SDK exceptions → this project's errors, each with a message a person can act on.

Every message says what happened and carries the API's own words, code and request id; the
hint says what to do next. The API key never survives into any text (``scrub``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import (
    ApiUnavailable,
    AuthRefused,
    GptImageError,
    InvalidRequest,
    ModerationBlocked,
    QuotaExceeded,
    RateLimited,
)

MAY_BE_BILLED = "The job may have been billed; nothing was retried automatically."

HINT_KEY = "Check the API key in settings (it must belong to this provider and project)."
HINT_FORBIDDEN = (
    "Your organisation may need to be verified to use GPT Image models (platform.openai.com → "
    "Settings → Organization → Verify), or the project, region or deployment has no access."
)
HINT_NOT_FOUND = (
    "Check the base URL, the model name and, for Azure, the deployment name and api-version."
)
HINT_QUOTA = (
    "Check billing and credit at your provider; retrying will not help until that is fixed."
)
HINT_RATE = "Wait a minute and try again: each account tier allows only a few images per minute."
HINT_MODERATION = "Rephrase the prompt or change the image; the same request will be blocked again."
HINT_SIZE = (
    "gpt-image-2 sizes: width and height multiples of 16, longest edge at most 3840 px, long edge "
    "at most 3× the short edge, 655,360 to 8,294,400 pixels in total (e.g. 1024x1024, 1536x1024, "
    "1920x1088). Other GPT Image models accept only 1024x1024, 1536x1024, 1024x1536 or auto."
)
HINT_MASK = (
    "The mask must be a PNG with an alpha channel, exactly the size of the first image and under "
    "4 MB; alpha 0 marks the area to edit."
)
HINT_IMAGE = "Input images must be PNG, JPEG or WebP files under 50 MB, at most 16 of them."
HINT_BACKGROUND = "Transparent backgrounds need PNG or WebP output and a model that supports them."
HINT_TRANSPARENT_PREVIEW = (
    "Transparent backgrounds are a preview on {model} and were refused here; choose "
    "gpt-image-2.5-flare or gpt-image-2.5-sunburst (transparency supported), or an opaque background."
)
HINT_PARAMETER = (
    "The plug-in sent a parameter this model does not accept; please report it with the request id."
)
HINT_BAD_REQUEST = "Change the setting the message names and try again."
HINT_SERVER = "The service may be overloaded; try again in a few minutes (status.openai.com)."
HINT_NETWORK = "Check the internet connection, any proxy, and the base URL in settings."
HINT_TIMEOUT = (
    "Try again, perhaps with lower quality or a smaller size, or raise the timeout in settings."
)
HINT_DROPPED = "Try again; if it keeps happening, check the network or proxy."
HINT_MALFORMED = (
    "If this is an OpenAI-compatible server, check that it implements the Images API; "
    "otherwise try again."
)

_SECRET = re.compile(r"\b(sk-[A-Za-z0-9_\-]{6,})")


def scrub(text: str, secret: str | None) -> str:
    """``text`` without the API key (or anything shaped like an OpenAI key)."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "[redacted key]")
    return _SECRET.sub("sk-[redacted]", text)


def scrub_error(error: GptImageError, secret: str | None) -> GptImageError:
    """Scrub every text an error carries, in place; returns it for chaining."""
    error.message = scrub(error.message, secret)
    error.args = (error.message,)
    if error.hint:
        error.hint = scrub(error.hint, secret)
    error.details = {k: _scrub_value(v, secret) for k, v in error.details.items()}
    return error


def _scrub_value(value: Any, secret: str | None) -> Any:
    if isinstance(value, str):
        return scrub(value, secret)
    if isinstance(value, list):
        return [_scrub_value(v, secret) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_value(v, secret) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Context:
    """What the client knew when the call failed, for the message."""

    attempts: int = 1
    request_id: str | None = None
    request_sent: bool = True
    timeout_s: float = 300.0
    base_url: str = ""
    proxy: str | None = None  # "http://host:port (HTTPS_PROXY)" when one is in the way


def from_status(
    status: int, body: Any, fallback_message: str, request_id: str | None, ctx: Context
) -> GptImageError:
    """An HTTP error answer (4xx/5xx) → ApiRefused (4xx) or ApiUnavailable (5xx)."""
    error = body if isinstance(body, dict) else {}
    api_message = str(error.get("message") or fallback_message or "").strip()
    code = _text(error.get("code"))
    param = _text(error.get("param"))
    details: dict[str, Any] = {
        "api_message": api_message,
        "api_type": _text(error.get("type")),
        "param": param,
        "attempts": ctx.attempts,
    }
    common = {"code": code, "status": status, "request_id": request_id, "details": details}
    if code == "moderation_blocked":
        return _moderation(error, api_message, common)
    said = f"The API said: {api_message}" if api_message else "The API gave no reason."
    if status == 401:
        return AuthRefused(
            f"The API key was not accepted (HTTP 401). {said}", hint=HINT_KEY, **common
        )
    if status == 403:
        return AuthRefused(f"Access denied (HTTP 403). {said}", hint=HINT_FORBIDDEN, **common)
    if status == 404:
        return InvalidRequest(f"Not found (HTTP 404). {said}", hint=HINT_NOT_FOUND, **common)
    if status == 429 and (
        code == "insufficient_quota" or details["api_type"] == "insufficient_quota"
    ):
        return QuotaExceeded(f"Out of API quota (HTTP 429). {said}", hint=HINT_QUOTA, **common)
    if status == 429:
        return RateLimited(
            f"Rate limited (HTTP 429), still after {ctx.attempts} attempt(s). {said}",
            hint=HINT_RATE,
            **common,
        )
    if status >= 500:
        return ApiUnavailable(
            f"The API failed with a server error (HTTP {status}) after {ctx.attempts} "
            f"attempt(s). {said}",
            hint=HINT_SERVER,
            **common,
        )
    return InvalidRequest(
        f"The API refused the request (HTTP {status}). {said}",
        hint=_hint_400(code, param, api_message),
        **common,
    )


def transparency_refused(error: GptImageError, model: str) -> GptImageError:
    """``error`` made plain when it is the API refusing a transparent background on a model
    whose transparency is only a preview (gpt-image-2): say so, and name the models that do it."""
    if not isinstance(error, InvalidRequest):
        return error
    said = str(error.details.get("api_message") or "").lower()
    if error.details.get("param") != "background" and "transparent" not in said:
        return error
    error.message = f"{model} refused a transparent background (a preview feature). {error.message}"
    error.args = (error.message,)
    error.hint = HINT_TRANSPARENT_PREVIEW.format(model=model)
    return error


def _hint_400(code: str | None, param: str | None, message: str) -> str:
    lowered = message.lower()
    if code in ("unknown_parameter", "invalid_input_fidelity_model"):
        return HINT_PARAMETER
    if param == "size" or ("size" in lowered and "mask" not in lowered) or "resolution" in lowered:
        return HINT_SIZE
    if param == "mask" or "mask" in lowered:
        return HINT_MASK
    if param in ("image", "image[]") or "image file" in lowered or "mimetype" in lowered:
        return HINT_IMAGE
    if param == "background" or "transparent" in lowered:
        return HINT_BACKGROUND
    return HINT_BAD_REQUEST


def _moderation(
    error: dict[str, Any], api_message: str, common: dict[str, Any]
) -> ModerationBlocked:
    moderation = error.get("moderation_details") or {}
    stage = _text(moderation.get("moderation_stage")) or "unknown"
    categories = [str(c) for c in moderation.get("categories") or []]
    common["details"].update({"moderation_stage": stage, "categories": categories})
    listed = ", ".join(categories) if categories else "none given"
    what = "the prompt or input images" if stage == "input" else "the generated image"
    if stage == "unknown":
        what = "the request"
    message = (
        f"Blocked by the provider's safety system at the {stage} stage ({what}); "
        f"categories: {listed}. The API said: {api_message}"
    )
    return ModerationBlocked(message, hint=HINT_MODERATION, **common)


def from_stream_error(body: Any, fallback_message: str, ctx: Context) -> GptImageError:
    """An error event inside a stream (HTTP 200 was already sent)."""
    error = body if isinstance(body, dict) else {}
    api_message = str(error.get("message") or fallback_message or "no reason given")
    if error.get("code") == "moderation_blocked":
        details = {
            "api_message": api_message,
            "api_type": _text(error.get("type")),
            "during_stream": True,
        }
        common = {"code": "moderation_blocked", "request_id": ctx.request_id, "details": details}
        return _moderation(error, api_message, common)
    return ApiUnavailable(
        f"The API reported an error while streaming the result: {api_message} {MAY_BE_BILLED}",
        hint=HINT_DROPPED,
        code=_text(error.get("code")),
        request_id=ctx.request_id,
        details={
            "api_message": api_message,
            "api_type": _text(error.get("type")),
            "may_be_billed": True,
        },
    )


def from_transport(exc: BaseException, *, timed_out: bool, ctx: Context) -> ApiUnavailable:
    """A network failure: before the request went out (retried) or after (maybe billed)."""
    cause = _cause_text(exc)
    details = {"attempts": ctx.attempts, "cause": cause, "may_be_billed": ctx.request_sent}
    if not ctx.request_sent and ctx.proxy:
        verb = "timed out connecting to" if timed_out else "could not connect to"
        return ApiUnavailable(
            f"The plug-in {verb} the proxy {ctx.proxy} on the way to "
            f"{ctx.base_url or 'the API'}, after {ctx.attempts} attempt(s) ({cause}). Nothing "
            "was sent to the API.",
            hint="Check that the proxy is running and reachable, or unset the proxy variable.",
            code="proxy_error",
            request_id=ctx.request_id,
            details=details,
        )
    if not ctx.request_sent:
        verb = "timed out connecting to" if timed_out else "could not connect to"
        return ApiUnavailable(
            f"The plug-in {verb} {ctx.base_url or 'the API'} after {ctx.attempts} attempt(s) ({cause}).",
            hint=HINT_NETWORK,
            code="connection_error",
            request_id=ctx.request_id,
            details=details,
        )
    if timed_out:
        return ApiUnavailable(
            f"No answer from the API within {ctx.timeout_s:g} s. {MAY_BE_BILLED}",
            hint=HINT_TIMEOUT,
            code="timeout",
            request_id=ctx.request_id,
            details=details,
        )
    return ApiUnavailable(
        f"The connection dropped before the result arrived ({cause}). {MAY_BE_BILLED}",
        hint=HINT_DROPPED,
        code="connection_dropped",
        request_id=ctx.request_id,
        details=details,
    )


def malformed(detail: str, ctx: Context) -> ApiUnavailable:
    return ApiUnavailable(
        f"The API answered with a response that could not be read ({detail}). {MAY_BE_BILLED}",
        hint=HINT_MALFORMED,
        code="malformed_response",
        request_id=ctx.request_id,
        details={"may_be_billed": True},
    )


def _cause_text(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__ or exc
    text = str(cause).strip() or type(cause).__name__
    return f"{type(cause).__name__}: {text}" if type(cause).__name__ not in text else text


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
