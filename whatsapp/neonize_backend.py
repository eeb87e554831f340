"""The live WhatsApp backend over neonize 0.5.2 — the only module that imports ``neonize``.

See shared/docs/neonize.md for why it looks like this: every handler is registered before
connect() and only journals (fsync) and queues the event, and Go waits for it before
whatsmeow acknowledges the event (neonize swallows handler exceptions and a slow handler
stalls the connection); a supervisor retries the first connect (neonize does not) with
capped backoff and gives up after a bound (each failed connect leaks a store handle); no
Go call is made before the first connect or after stop() (both can abort the process);
stop() has its own timeout and a hard-exit fallback (it can hang).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neonize.aioze import events as neonize_events
from neonize.aioze.client import NewAClient
from neonize.exc import NeonizeError
from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E2E
from neonize.utils.enum import ReceiptType

from core.errors import GatewayError, NotConnected, SendFailed
from core.events import OutgoingMessage, PairingCodeIssued, SendReceipt
from core.ids import PERSON_SERVER, TERMINAL_STATES, ChatJid, ConnectionState, WaMessageId
from core.tasks import Clock, backoff_delay
from whatsapp import convert, outbound, protos
from whatsapp.gateway import GatewayBase, checkable_numbers
from whatsapp.journal import EventJournal
from whatsapp.media import split_media_ref

logger = logging.getLogger(__name__)

MAX_CONNECT_FAILURES = 100
STOP_TIMEOUT = 20.0
HARD_EXIT_AFTER = 10.0
#: Fresh logins after an unused QR window, per process: each leaves one thread parked in Go.
MAX_FRESH_LOGINS = 3
#: How long Go waits for a handler (journal + fsync) before it acknowledges anyway.
HANDLER_TIMEOUT = 30.0
#: neonize event classes, by the names GatewayBase dispatches on.
HANDLED = {name: cls for name, cls in protos.EVENT_TYPES.items()}


def wait_for_handlers(
    client: NewAClient, loop: asyncio.AbstractEventLoop, timeout: float = HANDLER_TIMEOUT
) -> None:
    """Make Go wait for our handler of each event before it goes on.

    neonize's ``Event.execute`` (called on Go's callback thread) only schedules the handler
    and returns at once, and whatsmeow acknowledges the event to WhatsApp when it returns:
    a data event would be acknowledged before it is journaled. This replacement, installed
    before ``connect()`` builds the callback from it, parses the event the same way and
    blocks the Go thread until the handler (which journals and fsyncs) has finished."""
    original = client.event.execute

    def execute(uuid: int, binary: int, size: int, code: int) -> None:
        handler = client.event.list_func.get(code)
        if code == 0 or code not in neonize_events.INT_TO_EVENT or handler is None:
            original(uuid, binary, size, code)  # the device event, unknown codes: as before
            return
        message = neonize_events.INT_TO_EVENT[code].FromString(ctypes.string_at(binary, size))
        if code == 3:
            client.connected = True  # what neonize's own execute does for ConnectedEv
        future = asyncio.run_coroutine_threadsafe(handler(client, message), loop)
        try:
            future.result(timeout=timeout)
        except Exception:  # a stuck loop must not stop the session for good
            logger.exception("WhatsApp event %d not handled in time; acknowledged anyway", code)

    client.event.execute = execute  # type: ignore[method-assign]


def quiet_neonize_logging() -> None:
    """Stop neonize forwarding Go DEBUG logs across the FFI (its default is NOTSET)."""
    logging.getLogger("neonize.utils.log").setLevel(logging.WARNING)
    for name in ("whatsmeow", "Whatsmeow", "neonize"):
        logging.getLogger(name).setLevel(logging.WARNING)


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
    ) -> None:
        super().__init__(data_dir, clock, journal=journal)
        self.store = store
        self.max_failures = max_failures
        self.on_give_up = on_give_up
        self.device_name = device_name
        self.failures = 0
        self.gave_up = False
        #: The QR window ended unused: Go's login call now waits for good (see
        #: ``_on_qr_window_ended``); the next request_login starts a fresh one.
        self.login_expired = False
        self.fresh_logins = 0
        #: Connect tasks of expired logins: their Go call never returns.
        self._parked: list[asyncio.Task[Any]] = []
        self._parked_refs: list[Any] = []  # the callbacks those Go calls still hold
        self.client: NewAClient | None = None
        self._connect_task: asyncio.Task[Any] | None = None
        self._supervisor: asyncio.Task[Any] | None = None
        self._attempted = False
        self._stopping = False
        self._paired_once = False
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Create the client, register every handler, then start the supervisor."""
        quiet_neonize_logging()
        if not self.store.startswith("postgres"):
            Path(self.store).parent.mkdir(parents=True, exist_ok=True)
        # neonize keeps the first loop it saw forever; a new loop (tests, restarts) must reset it.
        neonize_events.event_global_loop = None
        self.client = self.make_client()
        self.start_consumer()
        self._supervisor = self.tasks.spawn(self._supervise(), "supervisor")

    def make_client(self) -> NewAClient:
        """Create the client with every handler registered and Go waiting for each."""
        props = DeviceProps(os=self.device_name, platformType=DeviceProps.SAFARI)
        client = NewAClient(self.store, props=props)
        for name, cls in HANDLED.items():
            client.event(cls)(self._handler(name))
        client.qr(self._on_qr)
        wait_for_handlers(client, asyncio.get_running_loop())
        return client

    def _handler(self, name: str) -> Callable[[Any, Any], Any]:
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

    async def _supervise(self) -> None:
        assert self.client is not None
        while not self._stopping and self.state not in TERMINAL_STATES:
            try:
                async with self._lock:
                    self._attempted = True
                    self._connect_task = await self.client.connect()
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
            if self._stopping or self.state in TERMINAL_STATES:
                break
            if self.failures >= self.max_failures:
                self.gave_up = True
                await self._set_state(
                    ConnectionState.RECONNECTING,
                    f"Gave up after {self.failures} failed connects; "
                    "exiting so the process supervisor restarts it.",
                )
                if self.on_give_up is not None:
                    self.on_give_up()
                return
            delay = backoff_delay(max(1, self.failures))
            await self._set_state(
                ConnectionState.RECONNECTING,
                f"Cannot reach WhatsApp (attempt {self.failures}); retrying in {delay:.0f} s.",
            )
            await self.clock.sleep(delay)

    async def _on_state(self, state: ConnectionState) -> None:
        if state == ConnectionState.CONNECTED:
            self.failures = 0
            self._paired_once = True

    async def _stop_client(self) -> None:
        if self.client is None or not self._attempted:
            return
        try:
            async with self._lock:
                await asyncio.wait_for(self.client.stop(), STOP_TIMEOUT)
        except TimeoutError:
            logger.error("neonize stop() did not return within %.0f s", STOP_TIMEOUT)
        except NeonizeError as exc:
            logger.warning("neonize stop() failed: %s", exc)

    async def stop(self) -> None:
        """Stop the session (bounded); arm a hard exit if neonize's thread will not end."""
        self._stopping = True
        await self._stop_client()
        if self._connect_task is not None and not self._connect_task.done():
            with contextlib.suppress(TimeoutError, NeonizeError):
                await asyncio.wait_for(asyncio.shield(self._connect_task), 5)
        stuck = [t for t in (self._connect_task, *self._parked) if t and not t.done()]
        if stuck:
            # Go is stuck (e.g. FetchMe after a QR timeout): the interpreter would hang
            # joining its executor thread at exit.
            logger.error("neonize is stuck; the process will hard-exit in %.0f s", HARD_EXIT_AFTER)
            timer = threading.Timer(HARD_EXIT_AFTER, os._exit, args=(1,))
            timer.daemon = True
            timer.start()
        await self.stop_consumer()

    # ------------------------------------------------------------------ state hooks

    async def _lookup_own_jid(self) -> ChatJid | None:
        me = self.client.me if self.client is not None else None
        jid = convert.jid_str(me.JID) if me is not None and me.HasField("JID") else ""
        return ChatJid(jid) if jid else None

    async def _on_terminal(self, state: ConnectionState) -> None:
        self.tasks.spawn(self._stop_client(), "stop-after-terminal")

    async def _on_qr_window_ended(self) -> None:
        # whatsmeow disconnected after its last code, and neonize's Go call now waits in
        # FetchMe for a login that cannot come (it ignores stop()): the supervisor would
        # wait on it for good. request_login leaves that call behind and starts a new one.
        self.login_expired = True

    async def _phone_for_lid(self, lid: ChatJid) -> ChatJid | None:
        if self.client is None or not self._attempted or self._stopping:
            return None
        try:
            found = await self.client.get_pn_from_lid(protos.jid(lid))
        except NeonizeError:
            return None
        phone = convert.jid_str(found)
        return ChatJid(phone) if phone else None

    def _local(self) -> NewAClient | None:
        """The client, when calls into its local store are safe (after a connect attempt,
        before stop(): otherwise Go aborts the process)."""
        if self.client is None or not self._attempted or self._stopping:
            return None
        return self.client

    async def _read_contacts(self) -> list[Any]:
        client = self._local()
        if client is None:
            return []
        try:
            async with self._lock:
                return list(await client.contact.get_all_contacts())
        except NeonizeError as exc:
            raise GatewayError(f"contact store: {str(exc)[:150]}") from exc

    async def _read_contact(self, jid: ChatJid) -> list[Any]:
        client = self._local()
        if client is None:
            return []
        try:
            async with self._lock:
                info = await client.contact.get_contact(protos.jid(jid))
        except NeonizeError as exc:
            raise GatewayError(f"contact store: {str(exc)[:150]}") from exc
        return [protos.contact_of(jid, info)] if info.Found else []

    async def _read_groups(self) -> list[Any]:
        client = self._local()
        if client is None or self.state != ConnectionState.CONNECTED:
            return []  # asks WhatsApp: only while connected
        try:
            async with self._lock:
                return list(await client.get_joined_groups())
        except NeonizeError as exc:
            raise GatewayError(f"joined groups: {str(exc)[:150]}") from exc

    async def _read_group(self, jid: ChatJid) -> list[Any]:
        client = self._local()
        if client is None or self.state != ConnectionState.CONNECTED:
            return []
        try:
            async with self._lock:
                return [await client.get_group_info(protos.jid(jid))]
        except NeonizeError as exc:
            raise GatewayError(f"group info: {str(exc)[:150]}") from exc

    async def _probe(self) -> bool:
        if self.client is None or not self._attempted:
            return False
        try:
            return bool(await self.client.is_connected)
        except NeonizeError:
            return False

    async def _force_reconnect(self) -> None:
        await self._stop_client()  # the supervisor sees the task end and connects again

    # ------------------------------------------------------------------ operations

    def _live(self) -> NewAClient:
        if self.client is None or not self._attempted or self._stopping:
            raise NotConnected("the WhatsApp session is not running")
        if self.state != ConnectionState.CONNECTED:
            raise NotConnected(f"WhatsApp is {self.state.value}")
        return self.client

    async def request_login(self) -> None:
        """Start a fresh login (after a logout) so a new QR arrives."""
        if self.state == ConnectionState.CONNECTED:
            return
        if self.login_expired:
            await self._fresh_login()
            return
        if self.state in TERMINAL_STATES or self._supervisor is None or self._supervisor.done():
            await self._stop_client()
            self.connection.reset(ConnectionState.STARTING)
            self._supervisor = self.tasks.spawn(self._supervise(), "supervisor")

    async def _fresh_login(self) -> None:
        """A new login after an unused QR window: forget the Go client (Stop: disconnect,
        cancel, drop it from Go's maps), leave its call parked in FetchMe — it holds only
        its own device store, never read again — and connect anew: a blank device, new QR."""
        if self.fresh_logins >= MAX_FRESH_LOGINS:
            raise GatewayError(
                f"{self.fresh_logins} login windows ended unused since the start; restart "
                "wa-secretary for a new QR (each unused window leaves a thread behind)"
            )
        await self._stop_client()
        if self._connect_task is not None and not self._connect_task.done():
            self._parked.append(self._connect_task)
            if self.client is not None:  # Go may still call them: keep them alive
                self._parked_refs.append(getattr(self.client, "_connect_refs", None))
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        self.fresh_logins += 1
        self.login_expired = False
        self._connect_task = None
        await self._set_state(ConnectionState.CONNECTING, "Starting a new login.")
        self._supervisor = self.tasks.spawn(self._supervise(), "supervisor")

    async def pair_phone(self, phone: str) -> str:
        """Request a pairing code; valid only after connect and the first QR (whatsmeow rule)."""
        digits = "".join(ch for ch in phone if ch.isdigit())
        if not 7 <= len(digits) <= 15:
            raise ValueError("give the phone number in international format, e.g. +4915112345678")
        if self.client is None or self.state != ConnectionState.WAITING_FOR_QR:
            raise NotConnected(
                "a pairing code can be requested only while the login QR is "
                "showing; send /login first"
            )
        try:
            async with self._lock:
                code = await self.client.PairPhone(digits, True)
        except NeonizeError as exc:
            raise GatewayError(f"WhatsApp refused the pairing request: {exc}") from exc
        await self._emit(PairingCodeIssued(code, digits))
        return code

    async def logout(self) -> None:
        """Unlink this device (whatsmeow emits no LoggedOut event for our own logout)."""
        client = self._live()
        try:
            async with self._lock:
                await client.logout()
        except NeonizeError as exc:
            raise GatewayError(f"logout failed: {exc}") from exc
        await self._set_state(
            ConnectionState.LOGGED_OUT, "Logged out from Telegram. Send /login to link again."
        )

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        """Send any kind of OutgoingMessage (built by outbound.py); quoted when it is a reply."""
        client = self._live()
        try:
            built = await outbound.build(client, message)
            resp = await client.send_message(protos.jid(message.to), built)
        except NeonizeError as exc:
            text = str(exc)
            if "not connected" in text or "client is nil" in text:
                raise NotConnected(text[:200]) from exc
            raise SendFailed(text[:200]) from exc
        except (ValueError, OSError) as exc:  # media WhatsApp cannot take (PIL, our checks)
            why = f"the {message.kind.value} could not be prepared: {exc}"
            raise SendFailed(why[:200]) from exc
        return SendReceipt(WaMessageId(resp.ID), convert.from_s(int(resp.Timestamp)))

    async def is_on_whatsapp(self, *numbers: str) -> dict[str, ChatJid | None]:
        """Ask WhatsApp which of these numbers (international digits) have an account; the
        value is the JID to write to (WhatsApp's own, which may differ from the digits)."""
        client = self._live()
        asked = checkable_numbers(numbers)
        found: dict[str, ChatJid | None] = dict.fromkeys(asked)
        if not asked:
            return found
        try:
            answers = await client.is_on_whatsapp(*("+" + n for n in asked))
        except NeonizeError as exc:
            text = str(exc)
            if "returned nothing" in text:  # Go's answer to an empty result
                return found
            if "not connected" in text or "client is nil" in text:
                raise NotConnected(text[:200]) from exc
            raise GatewayError(f"could not ask WhatsApp about the number: {text[:150]}") from exc
        for answer in answers[: len(asked)]:
            query = "".join(ch for ch in answer.Query[:64] if ch.isdigit())
            if query not in found or not answer.IsIn:
                continue
            jid = convert.jid_str(answer.JID)
            user, _, server = jid.partition("@")
            usable = server == PERSON_SERVER and user.isdigit() and len(user) <= 15
            found[query] = ChatJid(jid) if usable else ChatJid(f"{query}@{PERSON_SERVER}")
        return found

    async def react(self, chat: ChatJid, sender: ChatJid, target: WaMessageId, emoji: str) -> None:
        """React to a message on WhatsApp ("" removes the reaction)."""
        client = self._live()
        try:
            msg = await client.build_reaction(protos.jid(chat), protos.jid(sender), target, emoji)
            await client.send_message(protos.jid(chat), msg)
        except NeonizeError as exc:
            raise SendFailed(str(exc)[:200]) from exc

    async def edit(self, chat: ChatJid, target: WaMessageId, text: str) -> None:
        """Edit one of my sent texts (WhatsApp allows it for 15 minutes)."""
        client = self._live()
        try:
            await client.edit_message(protos.jid(chat), target, E2E.Message(conversation=text))
        except NeonizeError as exc:
            message = str(exc)
            if "not connected" in message or "client is nil" in message:
                raise NotConnected(message[:200]) from exc
            raise SendFailed(message[:200]) from exc

    async def mark_read(self, chat: ChatJid, sender: ChatJid, ids: list[WaMessageId]) -> None:
        """Mark these messages read on WhatsApp (their sender sees blue ticks)."""
        client = self._live()
        try:
            await client.mark_read(
                *ids, chat=protos.jid(chat), sender=protos.jid(sender), receipt=ReceiptType.READ
            )
        except NeonizeError as exc:
            raise GatewayError(str(exc)[:200]) from exc

    async def _download(self, ref: bytes) -> bytes:
        client = self._live()
        msg = protos.media_message(*split_media_ref(ref))
        try:
            data = await client.download_any(msg)
        except NeonizeError as exc:
            raise GatewayError(f"download failed: {str(exc)[:150]}") from exc
        return bytes(data or b"")
