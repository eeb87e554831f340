"""Questions the live session answers: the contact store, the joined groups, a LID's phone
number, and which numbers are on WhatsApp. The store is local (readable after a connect
attempt); groups and numbers ask WhatsApp (only while connected)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from neonize.exc import NeonizeError

from core.errors import GatewayError, NotConnected
from core.ids import PERSON_SERVER, ChatJid, ConnectionState
from whatsapp import protos, protos_sync
from whatsapp.convert_fields import jid_str
from whatsapp.gateway import checkable_numbers
from whatsapp.neonize_client import GoClient, not_connected


class NeonizeQueries:
    """The session's answers, read through its ``GoClient``."""

    def __init__(self, go: GoClient, state: Callable[[], ConnectionState]) -> None:
        self._go = go
        self._state = state

    async def _ask(
        self, what: str, call: Callable[[Any], Awaitable[Any]], *, connected: bool = False
    ) -> Any:
        """Run ``call(client)`` under the lock; None when the client may not be called (or,
        for ``connected`` questions, the session is not connected)."""
        client = self._go.local()
        if client is None or (connected and self._state() != ConnectionState.CONNECTED):
            return None
        try:
            async with self._go.lock:
                return await call(client)
        except NeonizeError as exc:
            raise GatewayError(f"{what}: {str(exc)[:150]}") from exc

    async def contacts(self) -> list[Any]:
        """Every entry of the contact store ([] before a connect attempt)."""
        found = await self._ask("contact store", lambda c: c.contact.get_all_contacts())
        return list(found or [])

    async def contact(self, jid: ChatJid) -> list[Any]:
        """The contact-store entry of one person ([] when there is none)."""
        info = await self._ask("contact store", lambda c: c.contact.get_contact(protos.jid(jid)))
        return [protos_sync.contact_of(jid, info)] if info is not None and info.Found else []

    async def groups(self) -> list[Any]:
        """The ``GroupInfo`` of every joined group (asks WhatsApp: only while connected)."""
        found = await self._ask("joined groups", lambda c: c.get_joined_groups(), connected=True)
        return list(found or [])

    async def group(self, jid: ChatJid) -> list[Any]:
        """The ``GroupInfo`` of one group ([] while not connected)."""
        info = await self._ask(
            "group info", lambda c: c.get_group_info(protos.jid(jid)), connected=True
        )
        return [info] if info is not None else []

    async def phone_for_lid(self, lid: ChatJid) -> ChatJid | None:
        """The phone JID of a LID from the session's own map; None when unknown."""
        client = self._go.local()
        if client is None:
            return None
        try:
            found = await client.get_pn_from_lid(protos.jid(lid))
        except NeonizeError:
            return None
        phone = jid_str(found)
        return ChatJid(phone) if phone else None

    async def on_whatsapp(self, numbers: tuple[str, ...]) -> dict[str, ChatJid | None]:
        """Ask WhatsApp which of these numbers (international digits) have an account; the
        value is the JID to write to (WhatsApp's own, which may differ from the digits)."""
        client = self._go.live(self._state())
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
            if not_connected(exc):
                raise NotConnected(text[:200]) from exc
            raise GatewayError(f"could not ask WhatsApp about the number: {text[:150]}") from exc
        for answer in answers[: len(asked)]:
            query = "".join(ch for ch in answer.Query[:64] if ch.isdigit())
            if query not in found or not answer.IsIn:
                continue
            jid = jid_str(answer.JID)
            user, _, server = jid.partition("@")
            usable = server == PERSON_SERVER and user.isdigit() and len(user) <= 15
            found[query] = ChatJid(jid) if usable else ChatJid(f"{query}@{PERSON_SERVER}")
        return found
