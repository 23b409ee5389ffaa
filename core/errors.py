"""One error family for everything a person may have to act on.

Hosts show ``str(error)``; the CLI maps ``exit_code`` to its exit status. Every error carries what
happened, the API's own words where there are any, and what to do next.
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_FAILED = 4
EXIT_CANCELLED = 130


class GptImageError(Exception):
    """Base class: a message for a person, an optional hint, and API details when known."""

    exit_code: int = EXIT_FAILED

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
        self.status = status
        self.request_id = request_id
        self.details = details or {}

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"[{self.code}]")
        if self.request_id:
            parts.append(f"(request {self.request_id})")
        text = " ".join(parts)
        if self.hint:
            text += f" — {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view for the CLI, history and host logs."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "code": self.code,
            "status": self.status,
            "request_id": self.request_id,
            "details": self.details,
            "exit_code": self.exit_code,
        }


class InputError(GptImageError, ValueError):
    """The request can't be made as given (bad size, empty selection, missing file)."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(InputError):
    """Settings are missing or broken (no key, malformed settings file)."""


class ApiRefused(GptImageError):
    """The API answered and said no (4xx: moderation, auth, quota, invalid request)."""

    exit_code = EXIT_REFUSED


class ApiUnavailable(GptImageError):
    """The API could not be reached or kept failing (network, 5xx, timeout) after retries."""

    exit_code = EXIT_FAILED


class Cancelled(GptImageError):
    """The user cancelled; nothing was delivered after the cancel."""

    exit_code = EXIT_CANCELLED

    def __init__(self, message: str = "Cancelled.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
