"""The live WhatsApp backend over neonize 0.5.2: ``NeonizeGateway``, composed of the
client and when Go may be called (neonize_client.py), the supervisor of connects and
logins (neonize_login.py), the session's answers (neonize_queries.py) and what it sends
(neonize_sending.py).

See shared/docs/neonize.md for why it looks like this: every handler is registered before
connect() and Go waits for it; no Go call is made before the first connect or after stop()
(both can abort the process); stop() has its own timeout and a hard-exit fallback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

from neonize.aioze.client import NewAClient
from neonize.exc import NeonizeError

from core.errors import GatewayError, NotConnected
from core.events import OutgoingMessage, PairingCodeIssued, SendReceipt
from core.ids import TERMINAL_STATES, ChatJid, ConnectionState, WaMessageId
from core.tasks import Clock
from whatsapp import neonize_client
from whatsapp.convert_fields import jid_str
from whatsapp.gateway import GatewayBase
from whatsapp.journal import EventJournal
from whatsapp.neonize_client import GoClient, device_for, device_jid_str
from whatsapp.neonize_login import MAX_CONNECT_FAILURES, Supervisor
from whatsapp.neonize_queries import NeonizeQueries
from whatsapp.neonize_sending import NeonizeSending
from whatsapp.session import DeviceChoice, choose_device, is_postgres, stored_devices

logger = logging.getLogger(__name__)


class NeonizeGateway(GatewayBase):
    """One NewAClient on the application's event loop."""

    def __init__(
        self,
        data_dir: Path,
        store: str,
        clock: Clock | None = None,
        max_failures: int = MAX_CONNECT_FAILURES,
        on_give_up: Callable[[], None] | None = None,
        device_name: str = "WA Secretary",
        journal: EventJournal | None = None,
        client: NewAClient | None = None,
        account_id: int = 1,
        device_jid: str | None = None,
        taken: Collection[str] = (),
    ) -> None:
        """``client``: a client already connected by the caller (one that drives Go
        itself), called as after a connect attempt; by default start() makes the
        session's own from ``store``. ``account_id``: which linked account this session
        is (1 the first); ``device_jid``: its device as recorded after its last login
        (``self.device_jid``) and ``taken``: the devices the other accounts recorded — in
        a shared PostgreSQL store they pick its device at start() (``choose_device``)."""
        super().__init__(data_dir, clock, journal=journal)
        self.store = store
        self.account_id = account_id
        self.recorded = device_jid
        self.taken = frozenset(taken)
        self.device = device_for(store, account_id, self._choose(None))
        self.device_name = device_name
        self.go = GoClient(client)
        self.supervisor = Supervisor(
            self.go,
            self.tasks,
            self.clock,
            lambda: self.state,
            self._set_state,
            max_failures,
            on_give_up,
        )
        self.queries = NeonizeQueries(self.go, lambda: self.state)
        self.sending = NeonizeSending(self.go, lambda: self.state)

    # ------------------------------------------------------------------ what tests observe

    @property
    def client(self) -> NewAClient | None:
        """The neonize client (None before start())."""
        return self.go.client

    @property
    def device_jid(self) -> str | None:
        """The logged-in device's JID (``user:device@server``) to keep for the next start
        (None before a login)."""
        me = self.go.client.me if self.go.client is not None else None
        jid = device_jid_str(me.JID) if me is not None and me.HasField("JID") else ""
        return jid or None

    @property
    def failures(self) -> int:
        """Failed connects in a row."""
        return self.supervisor.failures

    @property
    def gave_up(self) -> bool:
        """Whether the supervisor gave up connecting."""
        return self.supervisor.gave_up

    @property
    def login_expired(self) -> bool:
        """Whether the QR window ended unused (the next login request starts afresh)."""
        return self.supervisor.login_expired

    @property
    def stuck(self) -> int:
        """Go calls that did not end after stop() (a restart frees their threads)."""
        return self.supervisor.stuck

    @property
    def parked(self) -> tuple[Any, ...]:
        """The connect tasks of expired logins (their Go call never returns)."""
        return tuple(self.supervisor.parked)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Create the client, register every handler, then start the supervisor."""
        neonize_client.quiet_neonize_logging()
        if not is_postgres(self.store):
            Path(self.store).parent.mkdir(parents=True, exist_ok=True)
        else:
            stored = await asyncio.to_thread(stored_devices, self.store)
            if stored is None:
                logger.warning("session store of account %d did not answer", self.account_id)
            self.device = device_for(self.store, self.account_id, self._choose(stored))
        neonize_client.use_this_loop()
        self.go.client = self.make_client()
        self.start_consumer()
        self.supervisor.start()

    def _choose(self, stored: list[str] | None) -> DeviceChoice:
        return choose_device(self.account_id, self.recorded, self.taken, stored)

    def make_client(self) -> NewAClient:
        """Create the client with every handler registered and Go waiting for each."""
        return neonize_client.make_client(
            self.store, self.device_name, self._handler, self._on_qr, self.device
        )

    def _handler(self, name: str) -> Callable[[Any, Any], Awaitable[None]]:
        async def handle(_client: Any, event: Any) -> None:
            try:
                await self.receive(name, event)
            except Exception:  # neonize would swallow it silently
                logger.exception("could not queue WhatsApp %s event", name)

        return handle

    async def _on_qr(self, _client: Any, data: bytes) -> None:
        try:
            self.submit("qr", [data.decode("ascii", "replace")])
        except Exception:
            logger.exception("could not queue the login QR")

    async def stop(self) -> None:
        """Stop the session (bounded). A Go call that will not end is left parked and said
        (``stuck``): the other accounts' sessions run on, and the process's end exits hard
        if it must (``bot.lifecycle.join_workers``)."""
        self.go.stopping = True
        await self.go.stop()
        stuck = await self.supervisor.wait_stopped()
        if stuck:
            logger.error(
                "WhatsApp account %d stopped, but %d neonize call(s) are stuck in Go (an "
                "unused login); left parked until the process ends",
                self.account_id,
                stuck,
            )
        await self.stop_consumer()

    # ------------------------------------------------------------------ state hooks

    async def _on_state(self, state: ConnectionState) -> None:
        if state == ConnectionState.CONNECTED:
            self.supervisor.connected()
        if self.go.client is None or not is_postgres(self.store):
            return  # an account's own file holds its device alone
        if state == ConnectionState.CONNECTED and self.go.client.me is not None:
            neonize_client.pin_device(self.go.client, self.go.client.me.JID)
        elif state == ConnectionState.LOGGED_OUT:  # the device is gone: never the first one
            neonize_client.pin_device(self.go.client, None)

    async def _lookup_own_jid(self) -> ChatJid | None:
        me = self.go.client.me if self.go.client is not None else None
        jid = jid_str(me.JID) if me is not None and me.HasField("JID") else ""
        return ChatJid(jid) if jid else None

    async def _on_terminal(self, state: ConnectionState) -> None:
        self.tasks.spawn(self.go.stop(), "stop-after-terminal")

    async def _on_qr_window_ended(self) -> None:
        # whatsmeow disconnected after its last code, and neonize's Go call now waits in
        # FetchMe for a login that cannot come (it ignores stop()): the supervisor would
        # wait on it for good. request_login leaves that call behind and starts a new one.
        self.supervisor.login_expired = True

    async def _probe(self) -> bool:
        if self.go.client is None or not self.go.attempted:
            return False
        try:
            return bool(await self.go.client.is_connected)
        except NeonizeError:
            return False

    async def _force_reconnect(self) -> None:
        await self.go.stop()  # the supervisor sees the task end and connects again

    async def _phone_for_lid(self, lid: ChatJid) -> ChatJid | None:
        return await self.queries.phone_for_lid(lid)

    async def _read_contacts(self) -> list[Any]:
        return await self.queries.contacts()

    async def _read_contact(self, jid: ChatJid) -> list[Any]:
        return await self.queries.contact(jid)

    async def _read_groups(self) -> list[Any]:
        return await self.queries.groups()

    async def _read_group(self, jid: ChatJid) -> list[Any]:
        return await self.queries.group(jid)

    async def _download(self, ref: bytes) -> bytes:
        return await self.sending.download(ref)

    # ------------------------------------------------------------------ operations

    async def request_login(self) -> None:
        """Start a fresh login (after a logout) so a new QR arrives."""
        if self.state == ConnectionState.CONNECTED:
            return
        if self.supervisor.login_expired:
            await self.supervisor.fresh_login()
            return
        if self.state in TERMINAL_STATES or not self.supervisor.running:
            await self.go.stop()
            self.connection.reset(ConnectionState.STARTING)
            self.supervisor.start()

    async def pair_phone(self, phone: str) -> str:
        """Request a pairing code; valid only after connect and the first QR (whatsmeow rule)."""
        digits = "".join(ch for ch in phone if ch.isdigit())
        if not 7 <= len(digits) <= 15:
            raise ValueError("give the phone number in international format, e.g. +4915112345678")
        client = self.go.client
        if client is None or self.state != ConnectionState.WAITING_FOR_QR:
            raise NotConnected(
                "a pairing code can be requested only while the login QR is "
                "showing; send /login first"
            )
        try:
            async with self.go.lock:
                code = str(await client.PairPhone(digits, True))
        except NeonizeError as exc:
            raise GatewayError(f"WhatsApp refused the pairing request: {exc}") from exc
        await self._emit(PairingCodeIssued(code, digits))
        return code

    async def logout(self) -> None:
        """Unlink this device (whatsmeow emits no LoggedOut event for our own logout)."""
        client = self.go.live(self.state)
        try:
            async with self.go.lock:
                await client.logout()
        except NeonizeError as exc:
            raise GatewayError(f"logout failed: {exc}") from exc
        await self._set_state(
            ConnectionState.LOGGED_OUT, "Logged out from Telegram. Send /login to link again."
        )

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        """Send any kind of OutgoingMessage (built by outbound.py); quoted when it is a reply."""
        return await self.sending.send(message)

    async def is_on_whatsapp(self, *numbers: str) -> dict[str, ChatJid | None]:
        """Ask WhatsApp which of these numbers (international digits) have an account; the
        value is the JID to write to (WhatsApp's own, which may differ from the digits)."""
        return await self.queries.on_whatsapp(numbers)

    async def react(self, chat: ChatJid, sender: ChatJid, target: WaMessageId, emoji: str) -> None:
        """React to a message on WhatsApp ("" removes the reaction)."""
        await self.sending.react(chat, sender, target, emoji)

    async def edit(self, chat: ChatJid, target: WaMessageId, text: str) -> None:
        """Edit one of my sent texts (WhatsApp allows it for 15 minutes)."""
        await self.sending.edit(chat, target, text)

    async def mark_read(self, chat: ChatJid, sender: ChatJid, ids: list[WaMessageId]) -> None:
        """Mark these messages read on WhatsApp (their sender sees blue ticks)."""
        await self.sending.mark_read(chat, sender, ids)
