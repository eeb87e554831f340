"""Logging set-up: one format, chatty libraries quieted, and secrets masked in every record.

Secrets are kept out of log calls by construction (they live in ``SecretStr``), but a library
can still put one in a message: an exception that quotes a URL with the bot token in its path,
a DEBUG dump of request options. ``SecretFilter`` is the net under that: it sits on the root
handlers and replaces each known secret value with ``***`` in the formatted message and in
any traceback, whichever logger the record came from.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

QUIET = (
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "peewee",  # every statement with its parameters: message text, at a history sync's rate
    "apscheduler",
    "telegram",
    "neonize",
    "whatsmeow",
    "Whatsmeow",
    "aiohttp",
)
MASK = "***"


class SecretFilter(logging.Filter):
    """Replace every secret value in a record with ``***`` (message, arguments and traceback)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the secrets in the record; never drop it."""
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = self._mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self._mask(record.stack_info)
        return True


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Configure the root logger (force: importing neonize calls basicConfig itself)."""
    logging.basicConfig(
        level=level, force=True, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    secret_filter = SecretFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(secret_filter)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    # The rate limiter hands every 429 on to the outbox (max_retries=0), which reschedules it
    # and says so at INFO; the limiter itself would log each one as an ERROR with a traceback.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
