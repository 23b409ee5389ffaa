"""Error bodies exactly as the OpenAI API shapes them: ``{"error": {message, type, param, code}}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error answer; raising it anywhere in a handler sends it to the client."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.extra = extra or {}
        self.headers = headers or {}

    def error_object(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
            **self.extra,
        }

    def body(self) -> dict[str, Any]:
        return {"error": self.error_object()}


def invalid_value(param: str, value: object, allowed: list[str]) -> ApiError:
    quoted = [f"'{a}'" for a in allowed]
    listing = ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 1 else quoted[0]
    return ApiError(
        400,
        f"Invalid value: '{value}'. Supported values are: {listing}.",
        param=param,
        code="invalid_value",
    )


def missing(param: str) -> ApiError:
    return ApiError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def unknown_parameter(param: str) -> ApiError:
    return ApiError(400, f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def integer_range(param: str, value: int, low: int, high: int) -> ApiError | None:
    if value < low:
        return ApiError(
            400,
            f"Invalid '{param}': integer below minimum value. Expected a value >= {low}, but got {value} instead.",
            param=param,
            code="integer_below_min_value",
        )
    if value > high:
        return ApiError(
            400,
            f"Invalid '{param}': integer above maximum value. Expected a value <= {high}, but got {value} instead.",
            param=param,
            code="integer_above_max_value",
        )
    return None


def size_error(message: str) -> ApiError:
    return ApiError(
        400, message, type="image_generation_user_error", param="size", code="invalid_value"
    )


def mask_error(detail: str) -> ApiError:
    return ApiError(
        400,
        f"Invalid mask image format - {detail}",
        type="invalid_request_error",
        param="mask",
        code="invalid_image_format",
    )


def auth_error(key: str | None) -> ApiError:
    if not key:
        return ApiError(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization "
            "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    # The real API echoes a masked prefix of the key; keep that shape (first 3 chars only).
    masked = key[:3] + "*" * 6 + key[-2:] if len(key) > 8 else "*" * len(key)
    return ApiError(
        401,
        f"Incorrect API key provided: {masked}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )
