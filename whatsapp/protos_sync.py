"""Builders of what a session syncs, as neonize delivers it: history-sync chunks, entries
of the contact store, and group info. Importing this module loads neonize."""

from __future__ import annotations

import time
from typing import Any

from neonize.proto import Neonize_pb2 as N
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waHistorySync import WAWebProtobufsHistorySync_pb2 as HS
from neonize.proto.waWeb.WAWebProtobufsWeb_pb2 import WebMessageInfo

from whatsapp.protos import EMPTY_JID, jid


def web_message(fields: dict[str, Any], msg: Any) -> Any:
    """Build a history-sync ``WebMessageInfo`` (timestamps in seconds)."""
    chat = str(fields["chat"])
    sender = str(fields.get("sender", chat))
    ts = int(fields.get("timestamp", time.time()))
    key = MessageKey(
        remoteJID=chat, fromMe=bool(fields.get("from_me", False)), ID=str(fields["id"])
    )
    if chat.endswith("@g.us"):
        key.participant = sender
    return WebMessageInfo(
        key=key, message=msg, messageTimestamp=ts, pushName=str(fields.get("push_name", ""))
    )


def history_sync(
    conversations: dict[str, list[Any]],
    names: dict[str, str] | None = None,
    *,
    progress: int = 100,
    pushnames: dict[str, str] | None = None,
    lid_links: dict[str, str] | None = None,
    sync_type: int = HS.HistorySync.RECENT,
) -> Any:
    """Build a ``HistorySyncEv`` from ``{chat: [WebMessageInfo, ...]}``."""
    data = HS.HistorySync(syncType=sync_type, progress=progress, chunkOrder=1)
    for order, (chat, messages) in enumerate(conversations.items()):
        conv = data.conversations.add(ID=chat)
        if names and chat in names:
            conv.name = names[chat]
        for i, web in enumerate(messages):
            conv.messages.add(msgOrderID=order * 1_000_000 + i).message.CopyFrom(web)
    for jid_, name in (pushnames or {}).items():
        data.pushnames.add(ID=jid_, pushname=name)
    for pn, lid in (lid_links or {}).items():
        data.phoneNumberToLidMappings.add(pnJID=pn, lidJID=lid)
    return N.HistorySync(Data=data)


def group_info(
    group: str,
    name: str,
    participants: list[str] | None = None,
    promote: list[str] | None = None,
    demote: list[str] | None = None,
) -> Any:
    """Build a ``GroupInfoEvent`` announcing a group's name (joins, admins promoted/demoted)."""
    ev = N.GroupInfoEvent(
        JID=jid(group),
        Notify="",
        Timestamp=int(time.time()),
        Name=N.GroupName(Name=name, NameSetAt=int(time.time()), NameSetBy=EMPTY_JID),
        PrevParticipantsVersionID="",
        ParticipantVersionID="",
        JoinReason="",
    )
    ev.Join.extend(jid(p) for p in participants or [])
    ev.Promote.extend(jid(p) for p in promote or [])
    ev.Demote.extend(jid(p) for p in demote or [])
    if not name:
        ev.ClearField("Name")
    return ev


def contact(jid_: str, full: str = "", first: str = "", push: str = "", business: str = "") -> Any:
    """Build one entry of the session's contact store (``Contact``), as
    ``client.contact.get_all_contacts()`` returns them."""
    info = N.ContactInfo(
        Found=True,
        FirstName=first,
        FullName=full,
        PushName=push,
        BusinessName=business,
        RedactedPhone="",
    )
    return N.Contact(JID=jid(jid_), Info=info)


def contact_of(jid_: str, info: Any) -> Any:
    """Wrap the ``ContactInfo`` of ``client.contact.get_contact(jid)`` into a ``Contact``."""
    return N.Contact(JID=jid(jid_), Info=info)
