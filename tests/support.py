"""Helpers every test may use: waiting for a condition instead of sleeping."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

Check = Callable[[], object] | Callable[[], Awaitable[object]]


async def wait_until(check: Check, timeout: float = 10.0, every: float = 0.01, what: str = "") -> object:
    """Return the first truthy result of ``check`` (sync or async), polled every ``every`` s;
    fail the test after ``timeout`` s with ``what`` (or the check's name)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or getattr(check, '__name__', 'a condition')}")
        await asyncio.sleep(every)
