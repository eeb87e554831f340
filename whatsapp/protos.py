"""Builders of real neonize 0.5.2 protobuf events (all proto2 required fields filled): the
shared pieces — JIDs, a message's source, the connection events, the round trip through
bytes — and the event classes by the names the gateway dispatches on.

Used by the simulator backend and by tests, so both exercise the same conversion code as
the live client; the builders of messages (protos_messages.py), of what a session syncs
(protos_sync.py) and of calls (protos_calls.py) build on these. Importing this module loads
neonize (and its Go library).
"""

from __future__ import annotations

import time
from typing import Any

from neonize.proto import Neonize_pb2 as N
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E2E

EMPTY_JID = N.JID(User="", Server="", Device=0, RawAgent=0, Integrator=0, IsEmpty=True)

#: Event type names as the gateway dispatches them, mapped to neonize's protobuf classes.
EVENT_TYPES: dict[str, type[Any]] = {
    "message": N.Message,
    "receipt": N.Receipt,
    "connected": N.Connected,
    "disconnected": N.Disconnected,
    "logged_out": N.LoggedOut,
    "stream_replaced": N.StreamReplaced,
    "client_outdated": N.ClientOutdated,
    "temporary_ban": N.TemporaryBan,
    "connect_failure": N.ConnectFailure,
    "pair_status": N.PairStatus,
    "keepalive_timeout": N.KeepAliveTimeout,
    "keepalive_restored": N.KeepAliveRestored,
    "history_sync": N.HistorySync,
    "joined_group": N.JoinedGroup,
    "group_info": N.GroupInfoEvent,
    "stream_error": N.StreamError,
    "picture": N.Picture,
    "offline_sync_completed": N.OfflineSyncCompleted,
    "call_offer": N.CallOffer,
    "call_offer_notice": N.CallOfferNotice,
    "call_accept": N.CallAccept,
    "call_terminate": N.CallTerminate,
    "undecryptable": N.UndecryptableMessage,
}


def jid(value: str) -> Any:
    """Build a JID protobuf from ``user[:device]@server``."""
    user, _, server = value.partition("@")
    user, _, device = user.partition(":")
    return N.JID(
        User=user,
        Server=server or "s.whatsapp.net",
        Device=int(device or 0),
        RawAgent=0,
        Integrator=0,
        IsEmpty=False,
    )


def source(chat: str, sender: str, *, from_me: bool = False, sender_alt: str | None = None) -> Any:
    """Build the ``MessageSource`` of a message or receipt: chat, sender, addressing mode."""
    chat_jid, sender_jid = jid(chat), jid(sender)
    return N.MessageSource(
        Chat=chat_jid,
        Sender=sender_jid,
        IsFromMe=from_me,
        IsGroup=chat_jid.Server == "g.us",
        AddressingMode=N.AddressingMode.LID if sender_jid.Server == "lid" else N.AddressingMode.PN,
        SenderAlt=jid(sender_alt) if sender_alt else EMPTY_JID,
        RecipientAlt=EMPTY_JID,
        BroadcastListOwner=EMPTY_JID,
    )


def simple(name: str, **fields: Any) -> Any:
    """Build a connection event by gateway name, e.g. ``simple("logged_out")``."""
    defaults: dict[str, dict[str, Any]] = {
        "connected": {"status": True},
        "disconnected": {"status": True},
        "logged_out": {"OnConnect": False, "Reason": N.ConnectFailureReason.LOGGED_OUT},
        "temporary_ban": {"Code": 1, "Expire": 3600},
        "keepalive_timeout": {"ErrorCount": 1, "LastSuccess": int(time.time())},
        "connect_failure": {
            "Reason": N.ConnectFailureReason.GENERIC,
            "Message": "",
            "Raw": N.Node(Tag="failure"),
        },
    }
    return EVENT_TYPES[name](**{**defaults.get(name, {}), **fields})


def roundtrip(ev: Any) -> Any:
    """Serialize and parse again, exactly as neonize's dispatcher does with Go's bytes."""
    return type(ev).FromString(ev.SerializeToString())


def media_message(field: str, payload: bytes) -> Any:
    """Rebuild the ``waE2E.Message`` holding one media field from a convert.py media ref."""
    if field not in E2E.Message.DESCRIPTOR.fields_by_name:
        raise ValueError("unknown media field")
    msg = E2E.Message()
    getattr(msg, field).MergeFromString(payload)
    return msg
