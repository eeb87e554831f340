"""The connection of one WhatsApp session: the state machine with its reasons, the QR login
window and the liveness watchdog.

It hears the session's connection events (through the handler table it offers the
dispatcher), announces each change as a ``ConnectionChanged`` and asks the backend, through
``SessionHooks``, for what only a backend can do (probe, reconnect, stop after a terminal
state). The reconnect loop with its backoff is the neonize backend's (``core.tasks.
backoff_delay``); the simulator has none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from core.events import ConnectionChanged, GatewayEvent, QrIssued, QrWindowEnded
from core.ids import TERMINAL_STATES, ChatJid, ConnectionState
from core.tasks import Clock, TaskGroup
from whatsapp.convert_fields import jid_str

logger = logging.getLogger(__name__)

QR_FIRST_SECONDS = 60.0
QR_NEXT_SECONDS = 20.0
QR_WINDOW_SECONDS = 170.0  # whatsmeow's ~160 s of codes plus a margin; it never tells us
WATCHDOG_IDLE_SECONDS = 600.0
WATCHDOG_EVERY_SECONDS = 60.0
REASONS = {
    ConnectionState.CONNECTED: "WhatsApp is connected.",
    ConnectionState.RECONNECTING: "The connection to WhatsApp dropped; reconnecting by itself.",
    ConnectionState.LOGGED_OUT: "WhatsApp logged this session out (unlinked on the phone). "
    "Send /login to link it again.",
    ConnectionState.REPLACED: "Another device or process took over this WhatsApp session. "
    "Stop the other one, then restart wa-secretary.",
    ConnectionState.OUTDATED: "WhatsApp rejects this client version as outdated (405). "
    "Upgrade wa-secretary (it bundles a newer neonize) and restart.",
    ConnectionState.BANNED: "WhatsApp temporarily banned this account.",
}
LOGOUT_REASONS = {2, 4, 5}  # ConnectFailureReason LOGGED_OUT, MAIN_DEVICE_GONE, UNKNOWN_LOGOUT
#: Connection events still heard in a terminal state (a new login).
HEARD_WHEN_TERMINAL = frozenset({"connected", "pair_status"})
#: Dropped-connection events: "reconnecting" when the session was connected.
DROPS = ("disconnected", "stream_error", "keepalive_timeout")
TERMINAL_EVENTS = {
    "logged_out": ConnectionState.LOGGED_OUT,
    "stream_replaced": ConnectionState.REPLACED,
    "client_outdated": ConnectionState.OUTDATED,
}

#: A handler of one raw event type: (event name, raw event).
RawHandler = Callable[[str, Any], Awaitable[None]]


async def _nothing(*_args: Any) -> None:
    return None


async def _alive() -> bool:
    return True


@dataclass(frozen=True)
class SessionHooks:
    """What the connection needs from the gateway and its backend."""

    #: Announce an event to the subscribers.
    emit: Callable[[GatewayEvent], Awaitable[None]]
    #: The session's own JID, once logged in (None when unknown).
    lookup_own_jid: Callable[[], Awaitable[ChatJid | None]] = _nothing
    #: Called with every state about to be set (the neonize backend resets its failures).
    on_state: Callable[[ConnectionState], Awaitable[None]] = _nothing
    #: A terminal state was reached: stop reconnecting.
    on_terminal: Callable[[ConnectionState], Awaitable[None]] = _nothing
    #: The QR window ended unused.
    on_qr_window_ended: Callable[[], Awaitable[None]] = _nothing
    #: The session connected (the gateway reads the address book).
    on_connected: Callable[[], None] = lambda: None
    #: Is a quiet session still alive?
    probe: Callable[[], Awaitable[bool]] = _alive
    #: Drop and re-open the connection.
    force_reconnect: Callable[[], Awaitable[None]] = _nothing


class Connection:
    """The state of one session, with its reason, the QR window and the watchdog."""

    def __init__(self, clock: Clock, tasks: TaskGroup, hooks: SessionHooks) -> None:
        self.clock = clock
        self.tasks = tasks
        self.hooks = hooks
        self.state = ConnectionState.STARTING
        self.reason = ""
        self.own_jid: ChatJid | None = None
        self.state_since = clock.now()  # when the state last changed
        self.reconnects = 0
        self.started_at: float | None = None
        self.last_event_at: float | None = None
        self._qr_index = 0
        self._qr_timer: asyncio.Task[Any] | None = None
        self._qr_window_ends = clock.now()

    def start(self) -> None:
        """Note the start time and start the watchdog."""
        self.started_at = self.clock.monotonic()
        self.tasks.spawn(self._watchdog(), "watchdog")

    def saw_event(self) -> None:
        """The session just reported something: it is alive."""
        self.last_event_at = self.clock.monotonic()

    def reset(self, state: ConnectionState) -> None:
        """Take ``state`` without announcing it (a backend starting a new login)."""
        self.state = state

    def learn_own_jid(self, jid: ChatJid | None) -> None:
        """Remember the session's own JID (the simulator knows it from its feed)."""
        self.own_jid = jid

    async def set_state(self, state: ConnectionState, reason: str = "") -> None:
        """Change the state (and its reason) and announce it; a repeat without a new
        reason is not announced."""
        await self.hooks.on_state(state)
        if state == self.state and not reason:
            return
        if state == ConnectionState.RECONNECTING and self.state == ConnectionState.CONNECTED:
            self.reconnects += 1
        if state != self.state:
            self.state_since = self.clock.now()
        self.state = state
        self.reason = reason or REASONS.get(state, "")
        logger.info("WhatsApp state: %s", state.value)
        if state in TERMINAL_STATES:
            await self.hooks.on_terminal(state)
        await self.hooks.emit(ConnectionChanged(state, self.reason, self.own_jid))

    # ------------------------------------------------------------------ events

    def handlers(self) -> dict[str, RawHandler]:
        """The handler of each connection event type, for the dispatcher."""
        table: dict[str, RawHandler] = {
            "connected": self._connected,
            "pair_status": self._pair_status,
            "keepalive_restored": self._restored,
            "temporary_ban": self._banned,
            "connect_failure": self._connect_failure,
            **dict.fromkeys(DROPS, self._dropped),
            **dict.fromkeys(TERMINAL_EVENTS, self._terminal),
        }
        guarded = {name: self._unless_terminal(handler) for name, handler in table.items()}
        return {**guarded, "qr": self._qr}

    def _unless_terminal(self, handler: RawHandler) -> RawHandler:
        async def guarded(name: str, raw: Any) -> None:
            if self.state in TERMINAL_STATES and name not in HEARD_WHEN_TERMINAL:
                logger.info("WhatsApp %s ignored in terminal state %s", name, self.state.value)
                return
            await handler(name, raw)

        return guarded

    async def _connected(self, _name: str, _raw: Any) -> None:
        self._cancel_qr_timer()
        self.own_jid = self.own_jid or await self.hooks.lookup_own_jid()
        await self.set_state(ConnectionState.CONNECTED)
        self.hooks.on_connected()

    async def _pair_status(self, _name: str, raw: Any) -> None:
        if int(raw.Status) == 2:  # SUCCESS
            self.own_jid = ChatJid(jid_str(raw.ID)) or self.own_jid
            self._cancel_qr_timer()
            await self.set_state(ConnectionState.CONNECTING, "Linked; finishing login.")

    async def _dropped(self, name: str, raw: Any) -> None:
        if name == "keepalive_timeout" and int(raw.ErrorCount) < 3:
            return
        if self.state == ConnectionState.CONNECTED:
            await self.set_state(ConnectionState.RECONNECTING)

    async def _restored(self, _name: str, _raw: Any) -> None:
        if self.state == ConnectionState.RECONNECTING:
            await self.set_state(ConnectionState.CONNECTED)

    async def _terminal(self, name: str, _raw: Any) -> None:
        await self.set_state(TERMINAL_EVENTS[name])

    async def _banned(self, _name: str, raw: Any) -> None:
        until = self.clock.now() + timedelta(seconds=int(raw.Expire))
        await self.set_state(
            ConnectionState.BANNED,
            REASONS[ConnectionState.BANNED] + f" It should end around {until:%Y-%m-%d %H:%M} UTC.",
        )

    async def _connect_failure(self, _name: str, raw: Any) -> None:
        reason = int(raw.Reason)
        if reason in LOGOUT_REASONS:
            await self.set_state(ConnectionState.LOGGED_OUT)
        elif reason == 3:
            await self.set_state(ConnectionState.BANNED)
        elif reason == 6:
            await self.set_state(ConnectionState.OUTDATED)
        else:
            logger.warning("WhatsApp connect failure %d", reason)
            await self.set_state(
                ConnectionState.RECONNECTING, "WhatsApp refused the connection; retrying."
            )

    # ------------------------------------------------------------------ QR login

    async def _qr(self, _name: str, codes: Any) -> None:
        if self.state not in {ConnectionState.WAITING_FOR_QR}:
            self._qr_index = 0
            await self.set_state(
                ConnectionState.WAITING_FOR_QR, "Scan the QR with WhatsApp → Linked devices."
            )
        if self._qr_timer is None:
            self._qr_window_ends = self.clock.now() + timedelta(seconds=QR_WINDOW_SECONDS)
            self._qr_timer = self.tasks.spawn(self._qr_window(), "qr-window")
        for code in list(codes):
            valid = QR_FIRST_SECONDS if self._qr_index == 0 else QR_NEXT_SECONDS
            await self.hooks.emit(QrIssued(code, self._qr_index, valid, self._qr_window_ends))
            self._qr_index += 1

    async def _qr_window(self) -> None:
        await self.clock.sleep(QR_WINDOW_SECONDS)
        self._qr_timer = None
        if self.state == ConnectionState.WAITING_FOR_QR:
            logger.info("QR window ended without a scan")
            await self.hooks.emit(QrWindowEnded())
            await self.hooks.on_qr_window_ended()

    def _cancel_qr_timer(self) -> None:
        if self._qr_timer is not None:
            self._qr_timer.cancel()
            self._qr_timer = None

    # ------------------------------------------------------------------ watchdog

    async def _watchdog(self) -> None:
        while True:
            await self.clock.sleep(WATCHDOG_EVERY_SECONDS)
            await self.check_liveness()

    async def check_liveness(self) -> bool:
        """Probe a quiet 'connected' session; force a reconnect when it is dead."""
        if self.state != ConnectionState.CONNECTED or self.last_event_at is None:
            return True
        idle = self.clock.monotonic() - self.last_event_at
        if idle < WATCHDOG_IDLE_SECONDS:
            return True
        if await self.hooks.probe():
            self.last_event_at = self.clock.monotonic()
            return True
        logger.warning("WhatsApp silent for %.0f s and the probe failed; reconnecting", idle)
        await self.set_state(
            ConnectionState.RECONNECTING, "WhatsApp stopped answering; reconnecting."
        )
        await self.hooks.force_reconnect()
        return False
