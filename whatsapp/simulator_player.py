"""Playing the simulator feed: each line's events handed to the session in order, and what
the simulated session learns on the way — its own JID, the pending QR codes, the contact
store, the LID map, the group subjects and the numbers known to be on WhatsApp.

The events themselves are built by simulator_lines.py; following the file is
simulator_feed.py's job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from core.ids import ChatJid
from whatsapp import protos, protos_sync, simulator_lines
from whatsapp.gateway import checkable_numbers
from whatsapp.simulator_lines import text_field

SIMPLE_EVENTS = {"connected", "disconnected", "logged_out", "stream_replaced", "client_outdated"}
#: Events that carry a live message, as the gateway names them.
CHANGES = {"reaction", "edit", "revoke"}

Receive = Callable[[str, Any], Awaitable[None]]
Submit = Callable[[str, Any], object]


class FeedPlayer:
    """Turns feed objects into neonize events for one simulated session, and keeps what the
    session knows from them."""

    def __init__(
        self, receive: Receive, submit: Submit, learn_own_jid: Callable[[ChatJid], None]
    ) -> None:
        self._receive = receive
        self._submit = submit
        self._learn_own_jid = learn_own_jid
        self.own_jid: ChatJid | None = None
        #: The feed's QR codes not yet followed by a login.
        self.pending_codes: list[str] = []
        self.book: dict[str, Any] = {}  # JID → contact-store entry (protobuf)
        self.lid_map: dict[str, ChatJid] = {}  # LID → phone JID, as whatsmeow's lid map
        self._subjects: dict[str, str] = {}  # group JID → the subject last announced
        #: The numbers (digits) the simulated WhatsApp knows as registered: every person in
        #: the feed, and those an ``on_whatsapp`` line lists.
        self.registered: set[str] = set()

    async def play(self, obj: dict[str, Any]) -> None:
        """Turn one feed object into neonize events and hand them on; the person numbers of
        a line played without error count as on WhatsApp."""
        await self._play(obj)
        self._learn_numbers(obj)

    async def _deliver(self, name: str, ev: Any) -> None:
        """Hand an event on as Go's bytes would arrive: serialized and parsed again."""
        await self._receive(name, protos.roundtrip(ev))

    async def _play(self, obj: dict[str, Any]) -> None:
        event = obj.get("event")
        if event == "sleep":
            await asyncio.sleep(min(float(obj.get("seconds", 0)), 3600))
        elif event == "qr":
            codes = obj.get("codes")
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise ValueError("qr needs codes: a list of strings")
            self.pending_codes = list(codes)
            await self._receive("qr", codes)
        elif event == "connected":
            self.pending_codes = []
            self.own_jid = ChatJid(text_field(obj, "jid"))
            self._learn_own_jid(self.own_jid)
            await self._deliver("connected", protos.simple("connected"))
        elif event in SIMPLE_EVENTS:
            await self._deliver(event, protos.simple(event))
        elif event == "message":
            await self._group_subject(obj)
            await self._deliver("message", simulator_lines.message(obj))
        elif event in CHANGES:
            await self._deliver("message", simulator_lines.change(event, obj, self.own_jid))
        elif event == "history_sync":
            await self._deliver("history_sync", simulator_lines.history(obj))
        elif event == "contact":
            await self._contact(obj)
        elif event == "call":
            for name, ev in simulator_lines.call(obj):
                await self._deliver(name, ev)
        elif event == "receipt":
            await self._deliver("receipt", simulator_lines.receipt(obj))
        elif event == "undecryptable":
            await self._deliver("undecryptable", simulator_lines.undecryptable(obj))
        elif event == "on_whatsapp":
            self._on_whatsapp(obj)
        elif event == "group":
            await self._deliver("group_info", simulator_lines.group(obj))
        else:
            raise ValueError(f"unknown event {event!r}")

    def _on_whatsapp(self, obj: dict[str, Any]) -> None:
        simulator_lines.warn_unknown(obj, {"event", "numbers", "account"})
        numbers = obj.get("numbers")
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
            raise ValueError("on_whatsapp needs numbers: a list of strings")
        for number in numbers[:10_000]:
            digits = "".join(ch for ch in number.partition("@")[0] if ch.isdigit())
            self.registered.update(checkable_numbers([digits]))

    async def _group_subject(self, obj: dict[str, Any]) -> None:
        """A live message's ``group_name``: the subject the session knows, announced as a
        group-info event when it is new (a live MessageEv carries no subject)."""
        chat, subject = obj.get("chat"), obj.get("group_name")
        if not isinstance(chat, str) or not chat.endswith("@g.us") or not subject:
            return
        if self._subjects.get(chat) != str(subject):
            self._subjects[chat] = str(subject)
            await self._deliver("group_info", protos_sync.group_info(chat, str(subject)))

    async def _contact(self, obj: dict[str, Any]) -> None:
        """An entry of the owner's address book: it goes into the simulated contact store
        (read as the real client reads whatsmeow's), its LID into the LID map."""
        entry = simulator_lines.contact(obj)
        jid = obj["jid"]
        if obj.get("lid"):
            lid = text_field(obj, "lid")
            self.lid_map[lid] = ChatJid(jid)
            ev = protos_sync.history_sync({}, lid_links={jid: lid}, sync_type=4)
            await self._deliver("history_sync", ev)
        self.book[jid] = protos.roundtrip(entry)
        self._submit("address_book", ([self.book[jid]], []))

    def _learn_numbers(self, obj: dict[str, Any]) -> None:
        """Remember every person JID a feed line names as a number on WhatsApp."""
        found: list[Any] = [obj.get(k) for k in ("jid", "chat", "sender", "sender_alt")]
        for key in ("participants", "messages"):
            items = obj.get(key)
            if isinstance(items, list):
                found += items[:10_000]
        for item in found:
            if isinstance(item, dict):
                found_in = [item.get(k) for k in ("chat", "sender", "sender_alt")]
            else:
                found_in = [item]
            for jid in found_in:
                if isinstance(jid, str) and jid.endswith("@s.whatsapp.net"):
                    self.registered.update(checkable_numbers([jid.partition("@")[0]]))
