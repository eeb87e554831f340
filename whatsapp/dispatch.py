"""From raw neonize events to domain events: one handler per raw event type, and the
subscribers that hear the domain events.

``Dispatcher`` looks the handler up by the event's name (one name per neonize event class,
``protos.EVENT_TYPES``, plus the gateway's own ``qr`` and ``address_book``) and calls it
alone: a handler that fails is logged and the next event is handled as usual.
``Subscribers`` calls each subscriber in its own try, so one broken consumer cannot stall
the session; a subscriber's ``StorageError`` is remembered so the inbox handles the same
event again. ``DataEvents`` holds the handlers of the data events (messages, calls,
receipts, groups, history, the address book).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import replace
from typing import Any

from core.errors import StorageError
from core.events import AddressBookRead, GatewayEvent, HistoryBatchReceived, MessageReceived
from core.ids import ChatJid, is_lid_jid
from core.tasks import TaskGroup
from core.transport import Handler
from whatsapp import convert_history
from whatsapp.connection import RawHandler
from whatsapp.convert_calls import CALL_STATES, call_event
from whatsapp.convert_contacts import contact_entry, group_event, group_info
from whatsapp.convert_fields import jid_str
from whatsapp.convert_messages import message_event, undecryptable_event
from whatsapp.convert_receipts import receipt_event

logger = logging.getLogger(__name__)


class Subscribers:
    """The consumers of every domain event, called in order."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._storage_failed = False

    def add(self, handler: Handler) -> None:
        """Add a consumer; it hears every event after those added before it."""
        self._handlers.append(handler)

    async def emit(self, event: GatewayEvent) -> None:
        """Hand ``event`` to each subscriber; a failing one is logged, the rest still hear it."""
        for handler in self._handlers:
            try:
                await handler(event)
            except StorageError as exc:
                # Not stored: the inbox retries it; the journal keeps it across a restart.
                self._storage_failed = True
                logger.error(
                    "could not store a WhatsApp %s (%s); retrying", type(event).__name__, exc
                )
            except Exception:
                logger.exception(
                    "gateway subscriber %r failed on %s", handler, type(event).__name__
                )

    def take_storage_failure(self) -> bool:
        """Whether a subscriber could not store since the last call (and forget it)."""
        failed, self._storage_failed = self._storage_failed, False
        return failed


class Dispatcher:
    """Calls the one handler of each raw event type, isolated from the others."""

    def __init__(self, handlers: Mapping[str, RawHandler], subscribers: Subscribers) -> None:
        self._handlers = dict(handlers)
        self._subscribers = subscribers

    async def dispatch(self, name: str, raw: Any) -> bool:
        """Handle one raw event. Return False when a subscriber could not store what it
        produced (the caller tries the same event again), else True — also when the
        handler failed: that event is logged and skipped."""
        handler = self._handlers.get(name)
        if handler is None:
            logger.debug("WhatsApp %s event ignored", name)
            return True
        self._subscribers.take_storage_failure()
        try:
            await handler(name, raw)
        except Exception:
            logger.exception("could not handle WhatsApp %s event; skipped", name)
            self._subscribers.take_storage_failure()
            return True
        return not self._subscribers.take_storage_failure()


class DataEvents:
    """The handlers of data events: each turns one raw event into domain events."""

    def __init__(
        self,
        emit: Callable[[GatewayEvent], Awaitable[None]],
        tasks: TaskGroup,
        refresh_address_book: Callable[[ChatJid | None], Coroutine[Any, Any, int]],
        phone_for_lid: Callable[[ChatJid], Awaitable[ChatJid | None]],
    ) -> None:
        self._emit = emit
        self._tasks = tasks
        self._refresh = refresh_address_book
        self._phone_for_lid = phone_for_lid

    def handlers(self) -> dict[str, RawHandler]:
        """The handler of each data event type, for the dispatcher."""
        return {
            "message": self._message,
            **dict.fromkeys(CALL_STATES, self._call),
            "undecryptable": self._undecryptable,
            "receipt": self._receipt,
            "group_info": self._group,
            "joined_group": self._group,
            "history_sync": self._history,
            "address_book": self._address_book,
            "picture": self._picture,
            "offline_sync_completed": self._offline_sync_completed,
        }

    async def _message(self, _name: str, raw: Any) -> None:
        event = message_event(raw)
        if event is None:
            logger.debug("protocol-only message skipped")
            return
        if isinstance(event, MessageReceived):
            event = await self._with_phone_alternate(event)
        await self._emit(event)

    async def _call(self, name: str, raw: Any) -> None:
        if (call := call_event(name, raw)) is not None:
            await self._emit(call)

    async def _undecryptable(self, _name: str, raw: Any) -> None:
        if (waiting := undecryptable_event(raw)) is not None:
            await self._emit(await self._with_phone_alternate(waiting))

    async def _receipt(self, _name: str, raw: Any) -> None:
        if (receipt := receipt_event(raw)) is not None:
            await self._emit(receipt)

    async def _group(self, _name: str, raw: Any) -> None:
        if (group := group_event(raw)) is not None:
            await self._emit(group)

    async def _picture(self, _name: str, raw: Any) -> None:
        """A contact or a group changed: read its names again."""
        if jid := jid_str(raw.JID):
            self._tasks.spawn(self._refresh(ChatJid(jid)), "address-book")

    async def _offline_sync_completed(self, _name: str, _raw: Any) -> None:
        """The backlog (app state too) is in: read the whole address book."""
        self._tasks.spawn(self._refresh(None), "address-book")

    async def _history(self, _name: str, raw: Any) -> None:
        parts = await asyncio.to_thread(convert_history.history_parts, raw.Data)
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

    async def _address_book(self, _name: str, raw: Any) -> None:
        contacts, groups = raw
        entries = []
        for item in contacts:
            try:
                if (entry := contact_entry(item)) is not None:
                    entries.append(entry)
            except (AttributeError, ValueError, TypeError):
                logger.warning("unreadable contact-store entry skipped")
        if entries:
            await self._emit(AddressBookRead(tuple(entries)))
        for item in groups:
            try:
                group = group_info(item)
            except (AttributeError, ValueError, TypeError):
                logger.warning("unreadable group info skipped")
                continue
            if group is not None:
                await self._emit(group)

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
