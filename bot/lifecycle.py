"""Running the bot: the store and WhatsApp first, Telegram whenever it answers, until a signal.

WhatsApp acknowledges what it delivers, so the session must run (and store) whether or not
Telegram is reachable: after a reboot the network may come up late, DNS may fail, Telegram
may be blocked for a while. Forwards, notices and digests wait in the durable Telegram
outbox meanwhile. A token Telegram rejects is a configuration error (exit code 2), not
something to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from core.errors import ConfigError
from core.tasks import Clock

logger = logging.getLogger(__name__)

#: How long the worker threads may take to end at exit before the process exits hard.
HARD_EXIT_AFTER = 10.0
TELEGRAM_RETRY_FIRST = 5.0
TELEGRAM_RETRY_MAX = 300.0
REJECTED_TOKEN = (
    "TELEGRAM_BOT_TOKEN: Telegram rejected this token (revoked, or mistyped); "
    "get the current one from @BotFather"
)

Step = Callable[[Application], Awaitable[None]]  # type: ignore[type-arg]


async def connect_telegram(app: Application, clock: Clock) -> None:  # type: ignore[type-arg]
    """Initialize PTB (its getMe) until Telegram answers, waiting longer after each failure
    (5 s doubling to 5 min), one log line an attempt. Raise ConfigError for a rejected token."""
    delay, attempt = TELEGRAM_RETRY_FIRST, 0
    while True:
        attempt += 1
        try:
            await app.initialize()
            return
        except InvalidToken:
            raise ConfigError([REJECTED_TOKEN]) from None
        except TelegramError as exc:
            logger.warning(
                "Telegram not reachable (attempt %d: %s); WhatsApp keeps running and forwards "
                "wait in the outbox; next try in %.0f s",
                attempt,
                exc.message[:200],
                delay,
            )
        await clock.sleep(delay)
        delay = min(TELEGRAM_RETRY_MAX, delay * 2)


async def serve(
    app: Application,  # type: ignore[type-arg]
    clock: Clock,
    start_core: Step,
    start_telegram: Step,
    stop_core: Step,
) -> int:
    """Run until SIGINT/SIGTERM or until a component asks to stop (``bot_data["stop"]``);
    return the exit code components left in ``bot_data["exit_code"]`` (0 by default)."""
    stop = asyncio.Event()
    app.bot_data["stop"] = stop
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    telegram: asyncio.Task[Any] | None = None
    try:
        await start_core(app)
        telegram = asyncio.create_task(_bring_up_telegram(app, clock, start_telegram))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({telegram, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if telegram.done():
            telegram.result()  # a rejected token raises here
            await stopped
        stopped.cancel()
    finally:
        if telegram is not None and not telegram.done():
            telegram.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await telegram
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await _stop_telegram(app)
        await stop_core(app)
    return int(app.bot_data.get("exit_code", 0))


async def _bring_up_telegram(app: Application, clock: Clock, start_telegram: Step) -> None:  # type: ignore[type-arg]
    await connect_telegram(app, clock)
    await app.start()
    await start_telegram(app)
    # bootstrap_retries=-1: a drop between getMe and the first poll is retried, not fatal.
    await app.updater.start_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=-1)  # type: ignore[union-attr]


async def _stop_telegram(app: Application) -> None:  # type: ignore[type-arg]
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    with contextlib.suppress(TelegramError):  # shutdown of a never-initialized app is a no-op
        await app.shutdown()


async def join_workers(
    executor: Executor,
    code: int,
    timeout: float = HARD_EXIT_AFTER,
    hard_exit: Callable[[int], object] = os._exit,
) -> bool:
    """At the process's end, after every session stopped: let the worker threads end
    (bounded); if one will not, exit hard with ``code`` (1 for 0). Return whether they
    ended.

    A WhatsApp session's Go call can stay stuck for good (neonize's login waits in Go
    after an unused QR window and ignores stop), and the interpreter joins every worker
    thread at exit: it would hang. One account's stop never exits (the other accounts run
    on); this, the process's last step, does — whichever account, even a removed one, left
    the thread behind."""
    loop = asyncio.get_running_loop()
    ended = loop.create_future()

    def shut_down() -> None:
        executor.shutdown(wait=True)
        with contextlib.suppress(RuntimeError):  # the loop may be gone by then
            loop.call_soon_threadsafe(lambda: ended.done() or ended.set_result(None))

    threading.Thread(target=shut_down, name="join-workers", daemon=True).start()
    try:
        await asyncio.wait_for(ended, timeout)
        return True
    except TimeoutError:
        logger.error(
            "a worker thread did not end within %.0f s (a WhatsApp session stuck in Go); "
            "exiting hard",
            timeout,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        hard_exit(code or 1)
        return False
