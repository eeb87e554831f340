"""Call events (``CallOffer``, ``CallOfferNotice``, ``CallAccept``, ``CallTerminate``) to
``CallSeen``. Pure (no neonize import); the common fields are read by convert_fields.py."""

from __future__ import annotations

from typing import Any

from core.events import CallSeen
from core.ids import CallState, ChatJid, is_group_jid
from whatsapp.convert_fields import MAX_ID_LENGTH, from_ms, from_s, jid_str, read_origin

CALL_STATES = {
    "call_offer": CallState.RINGING,
    "call_offer_notice": CallState.RINGING,
    "call_accept": CallState.ANSWERED,
    "call_terminate": CallState.MISSED,  # unless it was answered: storage keeps that
}
#: A call timestamp above this is in milliseconds (whatsmeow sends either).
MS_TIMESTAMP_FROM = 100_000_000_000


def _has_tag(node: Any, tag: str, depth: int = 3) -> bool:
    """Whether a ``Node`` or one of its children (a few levels down) has this tag."""
    if node.Tag == tag:
        return True
    return depth > 0 and any(_has_tag(child, tag, depth - 1) for child in node.Nodes)


def call_event(name: str, ev: Any) -> CallSeen | None:
    """Convert ``CallOffer`` / ``CallOfferNotice`` (a group call) / ``CallAccept`` /
    ``CallTerminate``; None when the event names no call or no chat."""
    meta = ev.basicCallMeta
    origin = jid_str(getattr(meta, "from"))
    caller = jid_str(meta.callCreator) or origin
    group = is_group_jid(origin) or (name == "call_offer_notice" and ev.type == "group")
    stamp = int(meta.timestamp)
    when = from_ms(stamp) if stamp > MS_TIMESTAMP_FROM else from_s(stamp)
    call = read_origin(
        meta.callID[:MAX_ID_LENGTH],
        origin if is_group_jid(origin) else caller,
        "" if is_group_jid(caller) else caller,  # a group never calls
        when,
        "call event without call id or caller",
    )
    if call is None:
        return None
    video = False
    if name == "call_offer_notice":
        video = ev.media == "video"
    elif name == "call_offer":
        video = _has_tag(ev.data, "video")
    alt = jid_str(meta.callCreatorAlt)
    return CallSeen(
        id=call.id,
        chat=call.chat,
        caller=call.sender,
        timestamp=call.timestamp,
        state=CALL_STATES[name],
        video=video,
        group=group,
        caller_alt=ChatJid(alt) if alt and alt != caller else None,
    )
