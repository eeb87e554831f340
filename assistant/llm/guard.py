"""Bounded retry and a circuit breaker around any LLM provider.

When the LLM keeps failing, the breaker opens: calls fail fast (callers fall back to
heuristics) and the admin is told once — not once per message — and again when it recovers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from assistant.llm.base import ChatMessage, LLMError, LLMProvider
from whatsapp.tasks import Clock

logger = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]


class GuardedLLM:
    """An LLMProvider that retries a little and stops trying for a while after failures."""

    def __init__(
        self,
        inner: LLMProvider,
        clock: Clock,
        *,
        attempts: int = 2,
        failures_to_open: int = 3,
        open_seconds: float = 300.0,
        notify: Notify | None = None,
    ) -> None:
        self.inner = inner
        self.clock = clock
        self.attempts = attempts
        self.failures_to_open = failures_to_open
        self.open_seconds = open_seconds
        self.notify = notify
        self.failures = 0
        self.opened_at: float | None = None
        self.calls = 0
        self.failed_calls = 0
        self.bad_answers = 0  # answers nothing usable could be read from (shown in /status)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def is_local(self) -> bool:
        return self.inner.is_local

    @property
    def available(self) -> bool:
        """False for ``none`` and while the breaker is open."""
        if self.inner.name == "none":
            return False
        if self.opened_at is None:
            return True
        return self.clock.monotonic() - self.opened_at >= self.open_seconds  # half-open

    async def complete(self, messages: list[ChatMessage], **kwargs: object) -> str:
        if not self.available:
            raise LLMError("LLM unavailable (circuit open)")
        last: LLMError | None = None
        for _ in range(self.attempts):
            self.calls += 1
            try:
                answer = await self.inner.complete(messages, **kwargs)  # type: ignore[arg-type]
            except LLMError as exc:
                self.failed_calls += 1
                last = exc
                continue
            await self._succeeded()
            return answer
        await self._failed(last)
        raise last or LLMError("LLM failed")

    async def _succeeded(self) -> None:
        was_open = self.opened_at is not None
        self.failures, self.opened_at = 0, None
        if was_open and self.notify is not None:
            await self.notify("✅ The LLM answers again; smart triage and replies are back.")

    async def _failed(self, exc: LLMError | None) -> None:
        self.failures += 1
        logger.warning("LLM call failed (%d in a row): %s", self.failures, exc)
        if self.failures >= self.failures_to_open:
            first_time = self.opened_at is None
            self.opened_at = self.clock.monotonic()
            if first_time and self.notify is not None:
                await self.notify(
                    f"⚠️ The LLM ({self.inner.name}) is not answering ({exc}). Falling back to "
                    f"heuristics; I will try again in {int(self.open_seconds // 60)} min."
                )

    def note_bad_answer(self) -> None:
        """Count an answer that gave no usable verdict (heuristics stood in for it)."""
        self.bad_answers += 1
        logger.warning("the LLM's answer held nothing usable (%d so far)", self.bad_answers)

    async def ping(self) -> str:
        return await self.inner.ping()

    async def aclose(self) -> None:
        await self.inner.aclose()
