"""Bounded retry, a circuit breaker and a daily budget around any LLM provider.

When the LLM keeps failing, the breaker opens: calls fail fast (callers fall back to
heuristics) and the admin is told once — not once per message — and again when it recovers.
The daily budget (calls and tokens, per provider, counted from UTC midnight in this process)
works the same way: past it, heuristics until the next day, and the admin is told once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from assistant.llm.base import ChatMessage, LLMError, LLMProvider
from core.tasks import Clock

logger = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]
DEFAULT_DAY_CALLS = 2000
DEFAULT_DAY_TOKENS = 2_000_000
CHARS_PER_TOKEN = 4  # an estimate: the providers' own counts are not read


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
        self.day_calls = DEFAULT_DAY_CALLS
        self.day_tokens = DEFAULT_DAY_TOKENS
        self._day = ""
        self._used: dict[str, tuple[int, int]] = {}  # provider → (calls, tokens) today
        self._told_over = ""  # the day the admin was told the budget is used up

    @property
    def name(self) -> str:
        """The wrapped provider's name."""
        return self.inner.name

    @property
    def model(self) -> str:
        """The wrapped provider's model."""
        return self.inner.model

    @property
    def is_local(self) -> bool:
        """Whether the wrapped provider keeps the text on this machine or its private network."""
        return self.inner.is_local

    def set_budget(self, calls: int, tokens: int) -> None:
        """Set the daily budget (/settings llm_day_calls, llm_day_tokens)."""
        self.day_calls, self.day_tokens = calls, tokens

    def used_today(self) -> tuple[int, int]:
        """(calls, estimated tokens) of the current provider today."""
        today = self.clock.now().date().isoformat()
        if today != self._day:
            self._day, self._used = today, {}
        return self._used.get(self.inner.name, (0, 0))

    @property
    def over_budget(self) -> bool:
        """Whether today's calls or tokens have reached the daily budget."""
        calls, tokens = self.used_today()
        return calls >= self.day_calls or tokens >= self.day_tokens

    def _spend(self, messages: list[ChatMessage], answer: str) -> None:
        calls, tokens = self.used_today()
        chars = sum(len(m.content) for m in messages) + len(answer)
        self._used[self.inner.name] = (calls + 1, tokens + chars // CHARS_PER_TOKEN + 1)

    @property
    def available(self) -> bool:
        """False for ``none``, while the breaker is open and past the daily budget."""
        if self.inner.name == "none" or self.over_budget:
            return False
        if self.opened_at is None:
            return True
        return self.clock.monotonic() - self.opened_at >= self.open_seconds  # half-open

    async def complete(self, messages: list[ChatMessage], **kwargs: object) -> str:
        """Ask the wrapped provider, retrying a little; raise ``LLMError`` at once while the
        breaker is open or the budget is used up."""
        if self.over_budget:
            await self._tell_over_budget()
            raise LLMError("the daily LLM budget is used up")
        if not self.available:
            raise LLMError("LLM unavailable (circuit open)")
        last: LLMError | None = None
        for _ in range(self.attempts):
            self.calls += 1
            try:
                answer = await self.inner.complete(messages, **kwargs)  # type: ignore[arg-type]
            except LLMError as exc:
                self.failed_calls += 1
                self._spend(messages, "")
                last = exc
                continue
            self._spend(messages, answer)
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

    async def _tell_over_budget(self) -> None:
        if self._told_over == self._day:
            return
        self._told_over = self._day
        calls, tokens = self.used_today()
        logger.warning("daily LLM budget used up (%d calls, ~%d tokens)", calls, tokens)
        if self.notify is not None:
            await self.notify(
                f"⚠️ Today's LLM budget is used up ({calls} calls, about {tokens} tokens; "
                "/settings llm_day_calls, llm_day_tokens). Heuristics until midnight UTC."
            )

    def note_bad_answer(self) -> None:
        """Count an answer that gave no usable verdict (heuristics stood in for it)."""
        self.bad_answers += 1
        logger.warning("the LLM's answer held nothing usable (%d so far)", self.bad_answers)

    async def ping(self) -> str:
        """Check that the wrapped provider answers (see ``LLMProvider.ping``)."""
        return await self.inner.ping()

    async def aclose(self) -> None:
        """Release the wrapped provider's connections."""
        await self.inner.aclose()
