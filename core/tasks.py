"""Background tasks that are kept referenced, logged when they fail, and cancelled on stop.

Also the injectable ``Clock`` that everything time-based uses, so tests never sleep, and the
backoff every retry loop waits by.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)


class Clock:
    """Wall time and sleeping; tests pass a fake."""

    def now(self) -> datetime:
        """Return the current aware UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return a monotonic reading in seconds."""
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        await asyncio.sleep(seconds)


class TaskGroup:
    """A set of background tasks owned by one component."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Start ``coro`` in the background; its failure is logged, never lost."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def cancel_all(self, timeout: float = 5.0) -> None:
        """Cancel every task and wait (bounded) for them to finish."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def join(self) -> None:
        """Wait for the tasks running now to finish (without cancelling them)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    def __len__(self) -> int:
        return len(self._tasks)


def backoff_delay(
    failures: int, base: float = 1.0, cap: float = 300.0, rnd: Callable[[], float] = random.random
) -> float:
    """Return the wait before reconnect attempt ``failures`` (1-based): capped doubling, ±20%."""
    raw = min(cap, base * 2.0 ** max(0, failures - 1))
    return raw * (0.8 + 0.4 * rnd())
