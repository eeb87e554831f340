"""The simulator feed's lines (DESIGN §4) as real neonize protobuf events: each field
checked, then built with the protos_* builders. Pure: nothing here remembers a line (the
session's state is simulator_player.py's); a line that cannot be built raises ValueError."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from whatsapp import protos_calls, protos_messages, protos_sync

logger = logging.getLogger(__name__)

MESSAGE_FIELDS = {
    "id",
    "chat",
    "sender",
    "text",
    "push_name",
    "from_me",
    "timestamp",
    "kind",
    "caption",
    "file_name",
    "mimetype",
    "media_file",
    "mentions",
    "quoted_id",
    "group_name",
    "event",
    "options",
    "latitude",
    "longitude",
    "phone",
    "sender_alt",
    "file_size",
}
CALL_FIELDS = {"event", "id", "chat", "sender", "video", "group", "missed", "timestamp"}
CONTACT_FIELDS = {"event", "jid", "name", "lid", "push_name", "business_name"}
RECEIPT_FIELDS = {"event", "chat", "sender", "ids", "type", "timestamp"}
UNDECRYPTABLE_FIELDS = {"event", "id", "chat", "sender", "timestamp"}
#: The feed's receipt types, as neonize's ``ReceiptType`` numbers them.
RECEIPT_TYPES = {"delivered": 1, "read": 4, "played": 6}
MAX_RECEIPT_IDS = 256
MAX_ID_LENGTH = 128


def text_field(obj: dict[str, Any], key: str, default: str | None = None) -> str:
    """Return a string field; without ``default`` it must be there and not empty."""
    value = obj.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise ValueError(f"field {key!r} must be a non-empty string")
    return value


def warn_unknown(obj: dict[str, Any], known: set[str]) -> None:
    """Log the fields of a line this event does not know (they are ignored)."""
    unknown = sorted(set(obj) - known - {"account"})  # every line may name its account
    if unknown:
        logger.warning("feed: unknown field(s) %s ignored", ", ".join(unknown))


def _seconds(obj: dict[str, Any]) -> float | None:
    ts = obj.get("timestamp")
    if ts is not None and not isinstance(ts, int | float):
        raise ValueError("timestamp must be unix seconds")
    return ts


def _ms(obj: dict[str, Any]) -> int | None:
    ts = _seconds(obj)
    return int(ts * 1000) if ts is not None else None


def message(obj: dict[str, Any]) -> Any:
    """A ``message`` line: the live ``MessageEv``."""
    warn_unknown(obj, MESSAGE_FIELDS)
    msg = protos_messages.content(obj)
    return protos_messages.message_event(
        msg,
        text_field(obj, "chat"),
        text_field(obj, "sender"),
        mid=text_field(obj, "id"),
        ts_ms=_ms(obj),
        push=str(obj.get("push_name", "")),
        from_me=bool(obj.get("from_me", False)),
        sender_alt=obj.get("sender_alt"),
    )


def change(event: str, obj: dict[str, Any], own_jid: str | None) -> Any:
    """A ``reaction``, ``edit`` or ``revoke`` line: the ``MessageEv`` carrying it (from me
    when it says so or its sender is the session's own JID)."""
    chat, sender = text_field(obj, "chat"), text_field(obj, "sender")
    target = text_field(obj, "target_id")
    if event == "reaction":
        msg = protos_messages.reaction(chat, sender, target, str(obj.get("emoji", "")))
    elif event == "edit":
        msg = protos_messages.edit(chat, target, text_field(obj, "text", ""))
    else:
        msg = protos_messages.revoke(chat, target)
    mine = bool(obj.get("from_me")) or (bool(own_jid) and sender == own_jid)
    return protos_messages.message_event(
        msg, chat, sender, mid=text_field(obj, "id"), from_me=mine
    )


def undecryptable(obj: dict[str, Any]) -> Any:
    """An ``undecryptable`` line: the ``UndecryptableMessage``."""
    warn_unknown(obj, UNDECRYPTABLE_FIELDS)
    return protos_messages.undecryptable(
        text_field(obj, "chat"),
        text_field(obj, "sender"),
        mid=text_field(obj, "id"),
        ts_ms=_ms(obj),
    )


def history(obj: dict[str, Any]) -> Any:
    """A ``history_sync`` line: one chunk; a message that cannot be built is skipped."""
    items = obj.get("messages")
    if not isinstance(items, list):
        raise ValueError("history_sync needs messages: a list")
    conversations: dict[str, list[Any]] = defaultdict(list)
    names: dict[str, str] = {}
    for item in items:
        try:
            chat = text_field(item, "chat")
            text_field(item, "id")
            web = protos_sync.web_message(item, protos_messages.content(item))
            conversations[chat].append(web)
            if item.get("group_name"):
                names[chat] = str(item["group_name"])
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            logger.warning("history_sync: one message skipped: %s", exc)
    return protos_sync.history_sync(
        dict(conversations), names, progress=int(obj.get("progress", 100))
    )


def receipt(obj: dict[str, Any]) -> Any:
    """A ``receipt`` line: messages we sent were delivered, read or played."""
    warn_unknown(obj, RECEIPT_FIELDS)
    kind_name = obj.get("type")
    kind = RECEIPT_TYPES.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise ValueError(f"receipt type must be one of {', '.join(RECEIPT_TYPES)}")
    ids = obj.get("ids")
    if not isinstance(ids, list) or not 0 < len(ids) <= MAX_RECEIPT_IDS:
        raise ValueError(f"receipt needs ids: a list of 1 to {MAX_RECEIPT_IDS} message ids")
    if not all(isinstance(i, str) and 0 < len(i) <= MAX_ID_LENGTH for i in ids):
        raise ValueError(f"receipt ids must be strings of 1 to {MAX_ID_LENGTH} characters")
    ts = obj.get("timestamp")
    if ts is not None and (not isinstance(ts, int | float) or isinstance(ts, bool)):
        raise ValueError("timestamp must be unix seconds")
    return protos_messages.receipt(
        text_field(obj, "chat"),
        text_field(obj, "sender"),
        list(ids),
        kind,
        ts=int(ts) if ts is not None else None,
    )


def call(obj: dict[str, Any]) -> list[tuple[str, Any]]:
    """A ``call`` line: the offer, its acceptance on the phone unless ``missed``, its end —
    each a real neonize call event, by gateway name."""
    warn_unknown(obj, CALL_FIELDS)
    ts = _seconds(obj)
    defaults = {"video": False, "group": False, "missed": True}
    flags = {k: obj.get(k, d) for k, d in defaults.items()}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise ValueError("video, group and missed must be true or false")
    return protos_calls.call_events(
        text_field(obj, "id"),
        text_field(obj, "chat"),
        text_field(obj, "sender"),
        ts=int(ts) if ts is not None else None,
        **flags,
    )


def group(obj: dict[str, Any]) -> Any:
    """A ``group`` line: the ``GroupInfoEvent`` of a group, its members and admins."""
    members = obj.get("participants") or []
    if not isinstance(members, list):
        raise ValueError("participants must be a list of JIDs")
    admins = obj.get("admins") or []
    if not isinstance(admins, list):
        raise ValueError("admins must be a list of JIDs")
    return protos_sync.group_info(
        text_field(obj, "jid"),
        text_field(obj, "name"),
        [str(m) for m in members],
        promote=[str(a) for a in admins],
    )


def contact(obj: dict[str, Any]) -> Any:
    """A ``contact`` line: the contact-store entry (``Contact``) of one person."""
    warn_unknown(obj, CONTACT_FIELDS)
    text_field(obj, "jid")
    found = {k: text_field(obj, k, "") for k in ("name", "push_name", "business_name")}
    if not any(found.values()):
        raise ValueError("contact needs name, push_name or business_name")
    full = found["name"].strip()
    return protos_sync.contact(
        obj["jid"],
        full=full,
        first=full.split()[0] if full else "",
        push=found["push_name"],
        business=found["business_name"],
    )
