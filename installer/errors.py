"""The installer's one error type: a message for the user plus what to do about it."""

from __future__ import annotations


class InstallError(Exception):
    """A failure the user can act on; ``exit_code`` 1 = error, 2 = usage / no host found."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message + (f"\n  -> {self.hint}" if self.hint else "")
