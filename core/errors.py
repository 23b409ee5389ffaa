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
EXIT_INTERNAL = 5
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

    def for_people(self) -> str:
        """What a host shows a person: the message and the hint, without the API's internal
        code or request id (those stay in ``str()``, ``to_dict`` and the logs)."""
        return f"{self.message} — {self.hint}" if self.hint else self.message

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
    """The API answered and said no (4xx). Callers branch on the subclass, not on codes."""

    exit_code = EXIT_REFUSED


class AuthRefused(ApiRefused):
    """The key, organisation, project or deployment is not allowed (401, 403)."""


class ModerationBlocked(ApiRefused):
    """The provider's safety system blocked the prompt, an input image or the result."""


class QuotaExceeded(ApiRefused):
    """Out of credit or quota (429 insufficient_quota): retrying will not help."""


class RateLimited(ApiRefused):
    """Too many requests (429), still after the retries."""


class InvalidRequest(ApiRefused):
    """The API refused the request's content (400, 404, other 4xx): size, mask, parameter."""


class ApiUnavailable(GptImageError):
    """The API could not be reached or kept failing (network, 5xx, timeout) after retries."""

    exit_code = EXIT_FAILED


class InternalError(GptImageError):
    """A bug: an exception nobody expected. Never dressed up as a network or API failure.

    The message says it is a bug, where the log with the traceback is, and what was (not) lost:
    ``request_sent`` says whether a request had gone out (only then may anything be billed).
    """

    exit_code = EXIT_INTERNAL

    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        *,
        log_path: Any = None,
        request_sent: bool | None = False,
        kept: str = "",
    ) -> InternalError:
        """``request_sent``: False (nothing went out), True, or None (not known); ``kept``: a
        true sentence on where results that arrived are (``""`` when none did)."""
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if request_sent is False:
            lost = "Nothing was sent to the API and nothing was lost."
        elif kept:
            lost = f"Nothing paid for was lost: {kept}."
        elif request_sent:
            lost = "A request had been sent; no result had arrived yet."
        else:
            lost = "No result had arrived; any request that went out is recorded in history."
        where = f" The log with the traceback: {log_path}." if log_path else ""
        return cls(
            f"Internal error (a bug in the plug-in): {what}. {lost}",
            hint=f"Please report it.{where}",
            code="internal_error",
            details={
                "exception": type(exc).__name__,
                "request_sent": request_sent,
                "log": str(log_path) if log_path else None,
                "lost": lost,
            },
        )

    def for_people(self) -> str:
        """The bug without its raw exception text (that is in the log): what was (not) lost
        and where the log is."""
        lost = self.details.get("lost") or ""
        log = self.details.get("log")
        where = f" The details are in the log: {log}." if log else ""
        return f"The plug-in hit an unexpected problem (a bug). {lost}{where}".strip()

    def with_log(self, log_path: Any) -> InternalError:
        """The same error naming the log with the traceback (the caller that owns the log knows
        where it is; core does not)."""
        if log_path and not self.details.get("log"):
            self.details["log"] = str(log_path)
            self.hint = f"Please report it. The log with the traceback: {log_path}."
        return self


class Cancelled(GptImageError):
    """The user cancelled; nothing was delivered after the cancel."""

    exit_code = EXIT_CANCELLED

    def __init__(self, message: str = "Cancelled.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
