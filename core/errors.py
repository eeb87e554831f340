"""The error hierarchy every layer shares (standard library only)."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error the application can explain to a human."""


class NotFound(AppError):
    """The thing asked for does not exist."""


class InvalidInput(AppError):
    """The input cannot be used; the message says why."""


class ConfigError(AppError):
    """The configuration is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class GatewayError(AppError):
    """WhatsApp could not do what was asked."""


class NotConnected(GatewayError):
    """The session is not connected right now; the operation can be retried later."""


class NotPaired(GatewayError):
    """The session has no logged-in account."""


class SendFailed(GatewayError):
    """WhatsApp refused the message; retrying the same message will not help."""


class StorageError(AppError):
    """The database could not do what was asked (locked, full, broken)."""


class LLMError(AppError):
    """The language model could not answer."""
