"""The gateway port and the base both backends share: dispatch, state machine, QR timer,
watchdog and media saving.

A backend (neonize or simulator) only feeds raw neonize protobuf events into ``submit()``
and implements the few operations that touch the session. Everything that turns those
events into domain events happens here, in one ordered consumer, for both backends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.errors import GatewayError, StorageError
from core.events import (
    AddressBookRead,
    ConnectionChanged,
    GatewayEvent,
    HistoryBatchReceived,
    MediaDownloaded,
    MessageReceived,
    QrIssued,
    QrWindowEnded,
)
from core.ids import (
    TERMINAL_STATES,
    ChatJid,
    ConnectionState,
    WaMessageId,
    is_group_jid,
    is_lid_jid,
)
from core.tasks import Clock, TaskGroup
from core.transport import Handler
from whatsapp import convert, history
from whatsapp.journal import JOURNALED, EventJournal
from whatsapp.media import MEDIA_LIMIT_BYTES, media_file, write_atomic
from whatsapp.memory import release_freed_memory

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


def checkable_numbers(numbers: tuple[str, ...] | list[str]) -> list[str]:
    """The numbers worth asking WhatsApp about: international digits, 7 to 15 of them,
    each once (anything else is dropped)."""
    return [n for n in dict.fromkeys(numbers) if n.isascii() and n.isdigit() and 7 <= len(n) <= 15]


class GatewayBase:
    """Subscribers, state, the ordered event consumer, the QR timer and the watchdog."""

    def __init__(
        self,
        data_dir: Path,
        clock: Clock | None = None,
        media_limit: int = MEDIA_LIMIT_BYTES,
        journal: EventJournal | None = None,
    ) -> None:
        self.journal = journal
        self._storage_failed = False
        self.data_dir = data_dir
        self.media_dir = data_dir / "media"
        self.media_limit = media_limit
        self.clock = clock or Clock()
        self.tasks = TaskGroup(type(self).__name__)
        self._subscribers: list[Handler] = []
        self._state = ConnectionState.STARTING
        self.state_since = self.clock.now()  # when the state last changed
        self._reason = ""
        self._own_jid: ChatJid | None = None
        self._queue: asyncio.Queue[tuple[str, Any, int | None]] = asyncio.Queue()
        self._trim_due = False  # memory freed by a history sync to hand back once idle
        self._qr_index = 0
        self._qr_timer: asyncio.Task[Any] | None = None
        self._qr_window_ends = self.clock.now()
        self.reconnects = 0
        self.last_event_at: float | None = None
        self.started_at: float | None = None

    # ------------------------------------------------------------------ public surface

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def reason(self) -> str:
        return self._reason

    @property
    def own_jid(self) -> ChatJid | None:
        return self._own_jid

    def subscribe(self, handler: Handler) -> None:
        """Add a consumer of every domain event, called in order."""
        self._subscribers.append(handler)

    async def receive(self, name: str, raw: Any) -> None:
        """Take one event from the session: a data event is journaled and on disk (fsync,
        shared with whoever else waits) before this returns — the backends return to
        whatsmeow, which acknowledges the event to WhatsApp, only after this."""
        position = self.submit(name, raw)
        if position is not None and self.journal is not None and self.journal.durable:
            try:
                await asyncio.to_thread(self.journal.wait_durable, *position)
            except OSError as exc:
                logger.error("could not flush the event journal to disk: %s", exc)

    def submit(self, name: str, raw: Any) -> tuple[int, int] | None:
        """Journal a data event, then queue it for the consumer; never blocks, never raises.
        Return the journal position (generation, end) to wait on, or None.

        A history chunk that has to wait behind other events waits as the journal's bytes:
        parsed, it is ~15 times larger, and a burst of chunks would hold hundreds of MB."""
        end = None
        position = None
        if self.journal is not None and name in JOURNALED:
            try:
                payload = raw.SerializeToString()
                end = self.journal.append(name, payload)
                position = (self.journal.generation, end)
            except (OSError, AttributeError) as exc:
                logger.error("could not journal a WhatsApp %s event: %s", name, exc)
            else:
                if name == "history_sync" and not self._queue.empty():
                    raw = payload
        self._queue.put_nowait((name, raw, end))
        return position

    def _replay_journal(self) -> int:
        """Queue the journaled events a previous run did not finish handling (serialized:
        each is parsed only when its turn comes)."""
        if self.journal is None:
            return 0
        count = 0
        for name, payload, end in self.journal.pending():
            self._queue.put_nowait((name, payload, end))
            count += 1
        if count:
            logger.info("replaying %d WhatsApp event(s) not handled before the last stop", count)
        return count

    @staticmethod
    async def _parse(name: str, payload: bytes) -> Any | None:
        """Parse a queued serialized event (a history chunk off the loop: ~35 ms per 5 000
        messages); None, logged, when the bytes are not that event."""
        from whatsapp import protos  # the real protobuf classes (imports neonize)

        try:
            parse = protos.EVENT_TYPES[name].FromString
            if name == "history_sync":
                return await asyncio.to_thread(parse, payload)
            return parse(payload)
        except Exception as exc:  # protobuf's DecodeError is no ValueError
            logger.warning("queued WhatsApp %s event unreadable, skipped: %s", name, exc)
            return None

    async def drain(self) -> None:
        """Wait until every submitted event has been handled (tests, shutdown)."""
        await self._queue.join()

    def start_consumer(self) -> None:
        """Start the ordered consumer and the watchdog (backends call this from start())."""
        self.started_at = self.clock.monotonic()
        self._replay_journal()
        self.tasks.spawn(self._consume(), "consumer")
        self.tasks.spawn(self._watchdog(), "watchdog")

    async def stop_consumer(self) -> None:
        """Handle what is queued (bounded), then stop the background tasks."""
        try:
            await asyncio.wait_for(self.drain(), timeout=10)
        except TimeoutError:
            logger.warning(
                "gateway stopped with %d event(s) unhandled (journaled: they are "
                "handled at the next start)",
                self._queue.qsize(),
            )
        await self.tasks.cancel_all()
        if self.journal is not None:
            self.journal.close()

    # ------------------------------------------------------------------ dispatch

    async def _emit(self, event: GatewayEvent) -> None:
        for handler in self._subscribers:
            try:
                await handler(event)
            except StorageError as exc:
                # Not stored: the consumer retries it; the journal keeps it across a restart.
                self._storage_failed = True
                logger.error(
                    "could not store a WhatsApp %s (%s); retrying", type(event).__name__, exc
                )
            except Exception:
                logger.exception(
                    "gateway subscriber %r failed on %s", handler, type(event).__name__
                )

    async def _consume(self) -> None:
        while True:
            name, raw, end = await self._queue.get()
            try:
                self.last_event_at = self.clock.monotonic()
                if isinstance(raw, bytes):
                    raw = await self._parse(name, raw)
                if raw is not None:
                    await self._handle_until_stored(name, raw)
            except Exception:
                logger.exception("could not handle WhatsApp %s event; skipped", name)
            finally:
                if end is not None and self.journal is not None:
                    try:
                        self.journal.mark_handled(end)
                    except OSError as exc:
                        logger.error("could not advance the event journal: %s", exc)
                self._queue.task_done()
            del raw  # a history chunk is megabytes: not kept while waiting for the next event
            self._trim_due = self._trim_due or name == "history_sync"
            if self._trim_due and self._queue.empty():  # a history burst is over
                self._trim_due = False
                await asyncio.to_thread(release_freed_memory)

    async def _handle_until_stored(self, name: str, raw: Any) -> None:
        """Handle an event; while storage fails (disk full, database locked) wait and try the
        same event again, so nothing is skipped and order is kept. Ingest is idempotent."""
        attempt = 0
        while True:
            self._storage_failed = False
            await self._handle(name, raw)
            if not self._storage_failed:
                if attempt:
                    logger.info("storage works again; the held WhatsApp event is stored")
                return
            attempt += 1
            await self.clock.sleep(min(60.0, 2.0**attempt))

    async def _handle(self, name: str, raw: Any) -> None:
        if name == "message":
            event = convert.message_event(raw)
            if event is None:
                logger.debug("protocol-only message skipped")
            else:
                if isinstance(event, MessageReceived):
                    event = await self._with_phone_alternate(event)
                await self._emit(event)
        elif name in convert.CALL_STATES:
            if (call := convert.call_event(name, raw)) is not None:
                await self._emit(call)
        elif name == "undecryptable":
            if (waiting := convert.undecryptable_event(raw)) is not None:
                await self._emit(await self._with_phone_alternate(waiting))
        elif name == "receipt":
            if (receipt := convert.receipt_event(raw)) is not None:
                await self._emit(receipt)
        elif name in {"group_info", "joined_group"}:
            if (group := convert.group_event(raw)) is not None:
                await self._emit(group)
        elif name == "history_sync":
            await self._history(raw)
        elif name == "address_book":
            await self._address_book(*raw)
        elif name == "picture":  # a contact or a group changed: read its names again
            if jid := convert.jid_str(raw.JID):
                self.tasks.spawn(self.refresh_address_book(ChatJid(jid)), "address-book")
        elif name == "offline_sync_completed":  # the backlog (app state too) is in
            self.tasks.spawn(self.refresh_address_book(), "address-book")
        elif name == "qr":
            await self._qr(list(raw))
        else:
            await self._connection_event(name, raw)

    async def _history(self, raw: Any) -> None:
        parts = await asyncio.to_thread(history.history_parts, raw.Data)
        for link in parts.links:
            await self._emit(link)
        for contact in parts.contacts:
            await self._emit(contact)
        for group in parts.groups:
            await self._emit(group)
        if parts.skipped:
            logger.info("history chunk: %d item(s) without content skipped", parts.skipped)
        await self._emit(
            HistoryBatchReceived(
                parts.messages,
                parts.chats,
                parts.progress,
                parts.links,
                parts.contacts,
            )
        )

    # ------------------------------------------------------------------ address book

    async def refresh_address_book(self, only: ChatJid | None = None) -> int:
        """Read the contacts saved in the session's store and the joined groups' subjects,
        and queue them, to be handled in order with every other event. ``only``: one person
        or group that changed. Return how many entries were read."""
        if only is None:
            contacts = await self._safely(self._read_contacts())
            groups = await self._safely(self._read_groups())
        elif is_group_jid(only):
            contacts, groups = [], await self._safely(self._read_group(only))
        else:
            contacts, groups = await self._safely(self._read_contact(only)), []
        if contacts or groups:
            self.submit("address_book", (contacts, groups))
        logger.info("address book read: %d contact(s), %d group(s)", len(contacts), len(groups))
        return len(contacts) + len(groups)

    @staticmethod
    async def _safely(read: Awaitable[list[Any]]) -> list[Any]:
        try:
            return await read
        except GatewayError as exc:
            logger.warning("could not read the address book: %s", str(exc)[:200])
            return []

    async def _address_book(self, contacts: list[Any], groups: list[Any]) -> None:
        entries = []
        for raw in contacts:
            try:
                if (entry := convert.contact_entry(raw)) is not None:
                    entries.append(entry)
            except (AttributeError, ValueError, TypeError):
                logger.warning("unreadable contact-store entry skipped")
        if entries:
            await self._emit(AddressBookRead(tuple(entries)))
        for raw in groups:
            try:
                group = convert.group_info(raw)
            except (AttributeError, ValueError, TypeError):
                logger.warning("unreadable group info skipped")
                continue
            if group is not None:
                await self._emit(group)

    # ------------------------------------------------------------------ state machine

    async def _set_state(self, state: ConnectionState, reason: str = "") -> None:
        if state == self._state and not reason:
            return
        if state == ConnectionState.RECONNECTING and self._state == ConnectionState.CONNECTED:
            self.reconnects += 1
        if state != self._state:
            self.state_since = self.clock.now()
        self._state = state
        self._reason = reason or REASONS.get(state, "")
        logger.info("WhatsApp state: %s", state.value)
        if state in TERMINAL_STATES:
            await self._on_terminal(state)
        await self._emit(ConnectionChanged(state, self._reason, self._own_jid))

    async def _connection_event(self, name: str, raw: Any) -> None:
        if self._state in TERMINAL_STATES and name not in {"connected", "pair_status"}:
            logger.info("WhatsApp %s ignored in terminal state %s", name, self._state.value)
            return
        if name == "connected":
            self._cancel_qr_timer()
            self._own_jid = self._own_jid or await self._lookup_own_jid()
            await self._set_state(ConnectionState.CONNECTED)
            self.tasks.spawn(self.refresh_address_book(), "address-book")
        elif name == "pair_status":
            if int(raw.Status) == 2:  # SUCCESS
                self._own_jid = ChatJid(convert.jid_str(raw.ID)) or self._own_jid
                self._cancel_qr_timer()
                await self._set_state(ConnectionState.CONNECTING, "Linked; finishing login.")
        elif name in {"disconnected", "stream_error", "keepalive_timeout"}:
            if name == "keepalive_timeout" and int(raw.ErrorCount) < 3:
                return
            if self._state == ConnectionState.CONNECTED:
                await self._set_state(ConnectionState.RECONNECTING)
        elif name == "keepalive_restored":
            if self._state == ConnectionState.RECONNECTING:
                await self._set_state(ConnectionState.CONNECTED)
        elif name == "logged_out":
            await self._set_state(ConnectionState.LOGGED_OUT)
        elif name == "stream_replaced":
            await self._set_state(ConnectionState.REPLACED)
        elif name == "client_outdated":
            await self._set_state(ConnectionState.OUTDATED)
        elif name == "temporary_ban":
            until = self.clock.now() + timedelta(seconds=int(raw.Expire))
            await self._set_state(
                ConnectionState.BANNED,
                REASONS[ConnectionState.BANNED]
                + f" It should end around {until:%Y-%m-%d %H:%M} UTC.",
            )
        elif name == "connect_failure":
            await self._connect_failure(int(raw.Reason), raw.Message)
        else:
            logger.debug("WhatsApp %s event ignored", name)

    async def _connect_failure(self, reason: int, message: str) -> None:
        if reason in LOGOUT_REASONS:
            await self._set_state(ConnectionState.LOGGED_OUT)
        elif reason == 3:
            await self._set_state(ConnectionState.BANNED)
        elif reason == 6:
            await self._set_state(ConnectionState.OUTDATED)
        else:
            logger.warning("WhatsApp connect failure %d", reason)
            await self._set_state(
                ConnectionState.RECONNECTING, "WhatsApp refused the connection; retrying."
            )

    # ------------------------------------------------------------------ QR login

    async def _qr(self, codes: list[str]) -> None:
        if self._state not in {ConnectionState.WAITING_FOR_QR}:
            self._qr_index = 0
            await self._set_state(
                ConnectionState.WAITING_FOR_QR, "Scan the QR with WhatsApp → Linked devices."
            )
        if self._qr_timer is None:
            self._qr_window_ends = self.clock.now() + timedelta(seconds=QR_WINDOW_SECONDS)
            self._qr_timer = self.tasks.spawn(self._qr_window(), "qr-window")
        for code in codes:
            valid = QR_FIRST_SECONDS if self._qr_index == 0 else QR_NEXT_SECONDS
            await self._emit(QrIssued(code, self._qr_index, valid, self._qr_window_ends))
            self._qr_index += 1

    async def _qr_window(self) -> None:
        await self.clock.sleep(QR_WINDOW_SECONDS)
        self._qr_timer = None
        if self._state == ConnectionState.WAITING_FOR_QR:
            logger.info("QR window ended without a scan")
            await self._emit(QrWindowEnded())
            await self._on_qr_window_ended()

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
        if self._state != ConnectionState.CONNECTED or self.last_event_at is None:
            return True
        idle = self.clock.monotonic() - self.last_event_at
        if idle < WATCHDOG_IDLE_SECONDS:
            return True
        if await self._probe():
            self.last_event_at = self.clock.monotonic()
            return True
        logger.warning("WhatsApp silent for %.0f s and the probe failed; reconnecting", idle)
        await self._set_state(
            ConnectionState.RECONNECTING, "WhatsApp stopped answering; reconnecting."
        )
        await self._force_reconnect()
        return False

    # ------------------------------------------------------------------ media

    async def fetch_media(
        self, chat: ChatJid, sender: ChatJid, message_id: WaMessageId, ref: bytes, mimetype: str
    ) -> MediaDownloaded:
        """Download an attachment into DATA_DIR/media; failures are returned, not raised."""
        path = media_file(self.media_dir, chat, sender, message_id, mimetype)
        try:
            data = await self._download(ref)
        except (GatewayError, OSError, ValueError) as exc:
            return MediaDownloaded(chat, sender, message_id, None, 0, str(exc)[:200])
        if len(data) > self.media_limit:
            return MediaDownloaded(chat, sender, message_id, None, len(data), "too large")
        await asyncio.to_thread(write_atomic, path, data)
        return MediaDownloaded(chat, sender, message_id, str(path), len(data))

    async def _with_phone_alternate(self, event: MessageReceived) -> MessageReceived:
        """Fill a LID sender's phone-number alternate from the session's LID map when
        WhatsApp did not send one (SenderAlt is sometimes empty)."""
        msg = event.message
        if msg.from_me or msg.sender_alt or not is_lid_jid(msg.sender):
            return event
        phone = await self._phone_for_lid(msg.sender)
        if not phone:
            return event
        chat_alt = msg.chat_alt if msg.is_group or msg.chat != msg.sender else phone
        return replace(event, message=replace(msg, sender_alt=phone, chat_alt=chat_alt))

    # ------------------------------------------------------------------ backend hooks

    async def _phone_for_lid(self, lid: ChatJid) -> ChatJid | None:
        """Look a LID up in the session's own mapping (neonize); None when unknown."""
        return None

    async def _read_contacts(self) -> list[Any]:
        """Every entry of the session's contact store (neonize ``Contact`` protobufs)."""
        return []

    async def _read_contact(self, jid: ChatJid) -> list[Any]:
        """The contact-store entry of one person ([] when there is none)."""
        return []

    async def _read_groups(self) -> list[Any]:
        """The ``GroupInfo`` of every joined group ([] when it cannot be asked now)."""
        return []

    async def _read_group(self, jid: ChatJid) -> list[Any]:
        """The ``GroupInfo`` of one group ([] when it cannot be asked now)."""
        return []

    async def _lookup_own_jid(self) -> ChatJid | None:
        return None

    async def _on_terminal(self, state: ConnectionState) -> None:
        """Stop reconnecting (the neonize backend stops its supervisor)."""

    async def _on_qr_window_ended(self) -> None:
        """React to an unused QR window (the neonize backend stops the client)."""

    async def _probe(self) -> bool:
        return True

    async def _force_reconnect(self) -> None:
        """Drop and re-open the connection."""

    async def _download(self, ref: bytes) -> bytes:
        raise GatewayError("this backend cannot download media")
