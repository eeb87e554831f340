"""Connecting and logging in with neonize: the supervisor that retries the first connect
(neonize does not) with capped backoff and gives up after a bound (each failed connect
leaks a store handle), the fresh login after an unused QR window, and how many Go calls
would not let go at stop (see shared/docs/neonize.md; the process's end exits hard over
them, never one session's stop: the other accounts run on)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from neonize.exc import NeonizeError

from core.errors import GatewayError
from core.ids import TERMINAL_STATES, ConnectionState
from core.tasks import Clock, TaskGroup, backoff_delay
from whatsapp.neonize_client import GoClient

logger = logging.getLogger(__name__)

MAX_CONNECT_FAILURES = 100
#: How long stop waits for the connect call to end before counting it stuck.
STOP_WAIT = 5.0
#: Fresh logins after an unused QR window, per process: each leaves one thread parked in Go.
MAX_FRESH_LOGINS = 3

SetState = Callable[[ConnectionState, str], Awaitable[None]]


class Supervisor:
    """Keeps one session's connect call running: retries, gives up, and starts fresh
    logins; the gateway tells it when the state changes."""

    def __init__(
        self,
        go: GoClient,
        tasks: TaskGroup,
        clock: Clock,
        state: Callable[[], ConnectionState],
        set_state: SetState,
        max_failures: int = MAX_CONNECT_FAILURES,
        on_give_up: Callable[[], None] | None = None,
    ) -> None:
        self._go = go
        self._tasks = tasks
        self._clock = clock
        self._state = state
        self._set_state = set_state
        self.max_failures = max_failures
        self.on_give_up = on_give_up
        self.failures = 0
        self.gave_up = False
        #: The QR window ended unused: Go's login call now waits for good; the next
        #: login request starts a fresh one.
        self.login_expired = False
        self.fresh_logins = 0
        #: Connect tasks of expired logins: their Go call never returns.
        self.parked: list[asyncio.Task[Any]] = []
        self._parked_refs: list[Any] = []  # the callbacks those Go calls still hold
        self._connect_task: asyncio.Task[Any] | None = None
        self._task: asyncio.Task[Any] | None = None

    @property
    def running(self) -> bool:
        """Whether the supervisor task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start (or start again) the supervisor task."""
        self._task = self._tasks.spawn(self._supervise(), "supervisor")

    def _ended(self) -> bool:
        return self._go.stopping or self._state() in TERMINAL_STATES

    async def _supervise(self) -> None:
        while not self._ended():
            client = self._go.client
            assert client is not None
            try:
                async with self._go.lock:
                    self._go.attempted = True
                    self._connect_task = await client.connect()
                # Shielded: dropping a supervisor (a fresh login) must not cancel the Go call
                # under it — neonize would answer a cancel with a Stop of the new client.
                await asyncio.shield(self._connect_task)
            except NeonizeError as exc:
                self.failures += 1
                logger.warning(
                    "WhatsApp connect attempt %d failed: %s", self.failures, str(exc)[:200]
                )
            except asyncio.CancelledError:
                raise
            if self._ended():
                break
            if self.failures >= self.max_failures:
                await self._give_up()
                return
            delay = backoff_delay(max(1, self.failures))
            await self._set_state(
                ConnectionState.RECONNECTING,
                f"Cannot reach WhatsApp (attempt {self.failures}); retrying in {delay:.0f} s.",
            )
            await self._clock.sleep(delay)

    async def _give_up(self) -> None:
        self.gave_up = True
        await self._set_state(
            ConnectionState.RECONNECTING,
            f"Gave up after {self.failures} failed connects; "
            "exiting so the process supervisor restarts it.",
        )
        if self.on_give_up is not None:
            self.on_give_up()

    def connected(self) -> None:
        """The session connected: the failures are forgiven."""
        self.failures = 0

    async def fresh_login(self) -> None:
        """A new login after an unused QR window: forget the Go client (Stop: disconnect,
        cancel, drop it from Go's maps), leave its call parked in FetchMe — it holds only
        its own device store, never read again — and connect anew: a blank device, new QR."""
        if self.fresh_logins >= MAX_FRESH_LOGINS:
            raise GatewayError(
                f"{self.fresh_logins} login windows ended unused since the start; restart "
                "wa-secretary for a new QR (each unused window leaves a thread behind)"
            )
        await self._go.stop()
        if self._connect_task is not None and not self._connect_task.done():
            self.parked.append(self._connect_task)
            if self._go.client is not None:  # Go may still call them: keep them alive
                self._parked_refs.append(getattr(self._go.client, "_connect_refs", None))
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.fresh_logins += 1
        self.login_expired = False
        self._connect_task = None
        await self._set_state(ConnectionState.CONNECTING, "Starting a new login.")
        self.start()

    async def wait_stopped(self) -> int:
        """After the client's stop: let its connect call end (bounded); return how many of
        its Go calls are stuck (e.g. FetchMe after a QR timeout: they never end). They are
        left parked: ending the process here would end every account's session; the
        process's own end makes sure they cannot hang it (``bot.lifecycle.join_workers``)."""
        if self._connect_task is not None and not self._connect_task.done():
            with contextlib.suppress(TimeoutError, NeonizeError):
                await asyncio.wait_for(asyncio.shield(self._connect_task), STOP_WAIT)
        return self.stuck

    @property
    def stuck(self) -> int:
        """Go calls of this session that did not end after its stop (0 while it runs)."""
        if not self._go.stopping:
            return 0
        return sum(1 for t in (self._connect_task, *self.parked) if t and not t.done())
