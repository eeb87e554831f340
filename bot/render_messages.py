"""Telegram HTML of stored WhatsApp messages: one message's body and sender, a chat's last
messages (/chat), forwards (one or merged), missed calls, AI drafts and /search results.

Pure functions; every WhatsApp-sourced string is escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.render import esc, phone_of, title
from core.ids import MessageKind
from storage.domain import Chat, MediaState, StoredMessage

#: A forward shows this much of a message; the rest is one /chat away (a 64 000-character
#: message would otherwise be 17 Telegram messages, all sent again after a 429).
FORWARD_BODY = 3500
NOT_DOWNLOADED = frozenset({MediaState.SKIPPED, MediaState.TOO_LARGE, MediaState.FAILED})
KIND_ICON = {
    MessageKind.IMAGE: "🖼",
    MessageKind.VIDEO: "🎬",
    MessageKind.AUDIO: "🎵",
    MessageKind.VOICE: "🎤",
    MessageKind.DOCUMENT: "📄",
    MessageKind.STICKER: "🏷",
    MessageKind.LOCATION: "📍",
    MessageKind.CONTACT: "👤",
    MessageKind.POLL: "📊",
}


def body_text(msg: StoredMessage, limit: int | None = None) -> str:
    """A message's body as HTML; with ``limit``, the plain text is cut there first."""
    if msg.kind == MessageKind.WAITING:
        return "⏳ <i>Waiting for this message (WhatsApp could not decrypt it yet)</i>"
    icon = KIND_ICON.get(msg.kind, "")
    text = msg.body
    if msg.kind == MessageKind.DOCUMENT and msg.media_file_name:
        text = f"{msg.media_file_name}" + (f" — {text}" if text else "")
    more = len(text) - limit if limit is not None and len(text) > limit else 0
    shown = esc(text[: len(text) - more]) if text else f"<i>[{msg.kind.value}]</i>"
    if more:
        shown += f"… <i>({more} more characters: /chat shows it all)</i>"
    if msg.media_state in NOT_DOWNLOADED:
        shown += f" <i>(file not downloaded: {esc(msg.media_error or msg.media_state.value)})</i>"
    if msg.transcript_error and not msg.transcript:
        shown += f" <i>(not transcribed: {esc(msg.transcript_error)})</i>"
    deleted = " <i>(deleted by admin)</i>" if msg.deleted_by == "admin" else " <i>(deleted)</i>"
    flags = (" <i>(edited)</i>" if msg.edited else "") + (deleted if msg.deleted else "")
    return f"{icon} {shown}{flags}".strip()


def sender_of(msg: StoredMessage, chat: Chat) -> str:
    """Who wrote a message, as shown in a chat's history ("me" for the owner)."""
    if msg.from_me:
        return "You"
    return msg.sender_name or (chat.name if not chat.is_group else phone_of(msg.sender))


def messages_text(
    chat: Chat, messages: list[StoredMessage], tz: ZoneInfo, account: str = ""
) -> str:
    """A chat's last messages, as /chat shows them (after its account's label when there
    are several)."""
    name = f"{account_tag(account)}<b>{esc(chat.name)}</b>"
    if not messages:
        return f"{name}: no stored messages yet."
    lines = [f"{name} — last {len(messages)} message(s)"]
    for msg in messages:
        ts = msg.timestamp.astimezone(tz).strftime("%d.%m %H:%M")
        lines.append(f"<i>{ts}</i> <b>{esc(sender_of(msg, chat))}</b>: {body_text(msg)}")
    return "\n".join(lines)


def account_tag(account: str) -> str:
    """ "💼 Work · " in front of a chat of a labelled account ("" with a single account)."""
    return f"💼 {esc(title(account))} · " if account else ""


def chat_title(chat: Chat, account: str = "") -> str:
    """A chat's icon and bold name, after its account's label when there are several
    ("💼 Work · 👤 <b>Anna</b>")."""
    icon = "👥" if chat.is_group else "👤"
    return f"{account_tag(account)}{icon} <b>{esc(chat.name)}</b>"


def forward_header(chat: Chat, msg: StoredMessage, tz: ZoneInfo, account: str = "") -> str:
    """The first line of a forward: account, chat, in a group the sender, and the time."""
    ts = msg.timestamp.astimezone(tz).strftime("%H:%M")
    who = f" · {esc(sender_of(msg, chat))}" if chat.is_group else ""
    return f"{chat_title(chat, account)}{who} · {ts}"


def forward_text(
    chat: Chat, msg: StoredMessage, reason: str, tz: ZoneInfo, account: str = ""
) -> str:
    """A forwarded message as Telegram HTML: header, text cut to fit, why it came."""
    body = body_text(msg, FORWARD_BODY)
    head = forward_header(chat, msg, tz, account)
    return f"{head}\n{body}\n<i>Why: {esc(reason[:300])}</i>"


def call_notice(
    chat: Chat, call: StoredMessage, burst: tuple[datetime, ...], tz: ZoneInfo, account: str = ""
) -> str:
    """A missed call ("📞 Missed voice call from Mom · 14:02"), or repeated calls within
    minutes ("‼️ 📞 Mom called 3 times in 6 min")."""
    at = call.timestamp.astimezone(tz).strftime("%H:%M")
    name = f"{account_tag(account)}<b>{esc(chat.name)}</b>"
    if len(burst) > 1:
        minutes = max(1, round((burst[-1] - burst[0]).total_seconds() / 60))
        return f"‼️ 📞 {name} called {len(burst)} times in {minutes} min · last at {at}"
    where = "in" if chat.is_group else "from"
    return f"{esc(call.text)} {where} {name} · {at}"


def merged_text(
    chat: Chat, items: list[tuple[StoredMessage, str]], tz: ZoneInfo, account: str = ""
) -> str:
    """Several forwards of one chat merged into one message."""
    lines = [f"{chat_title(chat, account)} — {len(items)} important messages"]
    for msg, _reason in items:
        ts = msg.timestamp.astimezone(tz).strftime("%H:%M")
        who = f"{esc(sender_of(msg, chat))}: " if chat.is_group else ""
        lines.append(f"<i>{ts}</i> {who}{body_text(msg, FORWARD_BODY)}")
    reasons = sorted({r for _, r in items})
    lines.append(f"<i>Why: {esc('; '.join(reasons)[:300])}</i>")
    return "\n".join(lines)


def draft_text(chat: Chat, msg: StoredMessage, text: str, tz: ZoneInfo, account: str = "") -> str:
    """An AI draft shown for approval, under the message it answers."""
    return (
        f"🤖 Draft reply — {forward_header(chat, msg, tz, account)}\n"
        f"<i>{body_text(msg)[:500]}</i>\n\n{esc(text)}"
    )


def search_text(
    query: str,
    hits: list[tuple[Chat, StoredMessage]],
    tz: ZoneInfo,
    label_of: Callable[[int], str] = lambda _account_id: "",
) -> str:
    """The /search results page; with several accounts each chat after its account's label."""
    if not hits:
        return f"Nothing found for “{esc(query)}”."
    lines = [f"<b>Search</b> “{esc(query)}” — {len(hits)} newest match(es)"]
    for chat, msg in hits:
        ts = msg.timestamp.astimezone(tz).strftime("%d.%m %H:%M")
        lines.append(
            f"<i>{ts}</i> {account_tag(label_of(chat.account_id))}<b>{esc(chat.name)}</b> · "
            f"{esc(sender_of(msg, chat))}: "
            f"{body_text(msg)[:300]}"
        )
    return "\n".join(lines)
