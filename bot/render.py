"""Pure functions from domain objects to Telegram HTML text.

Every WhatsApp-sourced string goes through ``esc``. Nothing here sends or reads anything.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from assistant.status import Status
from bot import telegram_html
from core.events import QrIssued
from core.ids import ConnectionState, MessageKind
from storage import names
from storage.domain import Chat, MediaState, StoredMessage

LIMIT = 4096
#: A forward shows this much of a message; the rest is one /chat away (a 64 000-character
#: message would otherwise be 17 Telegram messages, all sent again after a 429).
FORWARD_BODY = 3500
NOT_DOWNLOADED = frozenset({MediaState.SKIPPED, MediaState.TOO_LARGE, MediaState.FAILED})
esc = html.escape

STATE_WORDS = {
    ConnectionState.STARTING: "starting",
    ConnectionState.WAITING_FOR_QR: "waiting for the QR to be scanned",
    ConnectionState.CONNECTING: "connecting",
    ConnectionState.CONNECTED: "connected",
    ConnectionState.RECONNECTING: "reconnecting",
    ConnectionState.LOGGED_OUT: "logged out",
    ConnectionState.REPLACED: "replaced by another session",
    ConnectionState.OUTDATED: "client outdated",
    ConnectionState.BANNED: "temporarily banned",
}
NEXT_STEP = {
    ConnectionState.WAITING_FOR_QR: "Scan the QR: /login (or /pair +phone for a code).",
    ConnectionState.LOGGED_OUT: "Link WhatsApp again: /login",
    ConnectionState.STARTING: "Scan the QR: /login",
    ConnectionState.CONNECTING: "If this takes long, try /login",
    ConnectionState.CONNECTED: "See your chats: /chats",
    ConnectionState.RECONNECTING: "Nothing to do; messages are queued meanwhile.",
}
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


def split(text: str, limit: int = LIMIT) -> list[str]:
    """Split Telegram HTML into pages ≤ ``limit``, never inside a tag or entity."""
    return telegram_html.split(text, limit)


def ago(delta: timedelta | None) -> str:
    """Return a short human duration ("3 min", "2 h", "5 d")."""
    if delta is None:
        return "never"
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d"


def when(ts: datetime | None, tz: ZoneInfo) -> str:
    """A time in the owner's zone ("Fri 04 Dec 07:00"), or "never"."""
    return ts.astimezone(tz).strftime("%a %d %b %H:%M") if ts else "never"


def phone_of(jid: str | None) -> str:
    """A person JID as a phone number for reading (``+49 1511 2345678``)."""
    digits = names.phone_digits(jid or "")
    return names.format_phone(digits) if digits else (jid or "unknown")


def chat_phone(chat: Chat) -> str:
    """A person chat's number: from its JID, or from a phone JID it is linked to (a chat
    known by its hidden id shows the number once the link is known)."""
    for jid in (chat.jid, *chat.aliases):
        if names.phone_digits(jid):
            return phone_of(jid)
    return "number not known yet"


def state_notice(state: ConnectionState, reason: str) -> str:
    """The line told to the owner when the WhatsApp connection changes."""
    icon = "✅" if state == ConnectionState.CONNECTED else "⚠️"
    text = f"{icon} WhatsApp: <b>{STATE_WORDS[state]}</b>\n{esc(reason)}"
    step = NEXT_STEP.get(state)
    return text + (f"\n{step}" if step and step not in reason else "")


def start_text(state: ConnectionState) -> str:
    """The /start greeting: the connection state and the next step."""
    return (
        "👋 Hi! I am your WhatsApp secretary.\n"
        f"WhatsApp is <b>{STATE_WORDS[state]}</b>.\n"
        f"{NEXT_STEP.get(state, 'See /help for what I can do.')}\n/help lists every command."
    )


def session_line(
    state: ConnectionState, since: datetime, last_event_age: timedelta | None, tz: ZoneInfo
) -> str:
    """The session in one line: "connected since Fri 04 Dec 07:00 · last WhatsApp event
    12 s ago"."""
    if last_event_age is None:
        last = "no WhatsApp event yet"
    else:
        last = f"last WhatsApp event {ago(last_event_age)} ago"
    return f"{STATE_WORDS[state]} since {when(since, tz)} · {last}"


def status_text(s: Status, tz: ZoneInfo) -> str:
    """The /status page: connection, traffic, queues, LLM, learning, next digest."""
    return "\n".join(
        [
            f"<b>Status</b>: {session_line(s.state, s.state_since, s.last_event_age, tz)}",
            f"Account: {esc(phone_of(s.own_jid))}",
            f"Uptime: {ago(s.uptime)}",
            f"Reconnects: {s.reconnects}",
            f"Messages today: {s.messages_today} in {s.chats} chat(s) known",
            f"Outbox: {s.telegram_outbox} to Telegram, {s.whatsapp_outbox} to WhatsApp",
            *(
                [f"⚠️ Messages the database refused (kept as placeholders): {s.unstorable}"]
                if s.unstorable
                else []
            ),
            f"LLM: {esc(s.llm)}",
            f"Triage: learned from {s.corrections} correction(s) of yours"
            + (" (/settings triage_reset forgets them)" if s.corrections else ""),
            f"Next digest: {when(s.next_digest, tz)}",
        ]
    )


def qr_caption(qr: QrIssued, now: datetime) -> str:
    """The caption under a login QR: how to scan it and how long it lasts."""
    left = max(0, int((qr.window_ends_at - now).total_seconds()))
    return (
        "Scan in WhatsApp → Settings → Linked devices → Link a device.\n"
        f"Code {qr.index + 1} refreshes in about {int(qr.valid_for)} s; "
        f"the login window closes in about {left} s."
    )


def pairing_text(code: str, phone: str) -> str:
    """How to type the pairing code on the phone."""
    return (
        f"Pairing code for +{esc(phone)}: <code>{esc(code)}</code>\n"
        "On the phone: WhatsApp → Linked devices → Link a device → "
        "<i>Link with phone number instead</i>, then type the code."
    )


def chat_label(chat: Chat) -> str:
    """A chat's button label in /chats, with its trusted and AI marks."""
    marks = ("⭐" if chat.trusted else "") + ("🤖" if chat.ai_enabled else "")
    unread = f" ({chat.unread})" if chat.unread else ""
    icon = "👥" if chat.is_group else "👤"
    return f"{icon} {chat.name}{unread} {marks}".strip()[:60]


def chat_list_text(total: int, page: int, pages: int, search: str) -> str:
    """The header of a /chats page."""
    if total == 0:
        return (
            "No chat matches “" + esc(search) + "”."
            if search
            else "No chats yet. They appear as WhatsApp messages arrive."
        )
    head = f"<b>Chats</b> matching “{esc(search)}”" if search else "<b>Chats</b> by last activity"
    return f"{head} — page {page + 1}/{pages}, {total} in all. Tap one to open its card."


def card_text(chat: Chat, now: datetime, tz: ZoneInfo) -> str:
    """A chat's card: its kind, marks, mute state and last activity."""
    mute = f"muted until {when(chat.muted_until, tz)}" if chat.is_muted(now) else "not muted"
    return "\n".join(
        [
            f"<b>{esc(chat.name)}</b>",
            ("Group · group chat" if chat.is_group else f"Person · {esc(chat_phone(chat))}"),
            f"Last activity: {when(chat.last_activity, tz)} · unread: {chat.unread}",
            f"Trusted: {'on' if chat.trusted else 'off'} · AI replies: "
            f"{'on' if chat.ai_enabled else 'off'} ({'auto' if chat.ai_auto else 'draft'})",
            f"Digest: {'included' if chat.include_in_digest else 'left out'} · {mute}",
        ]
    )


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


def messages_text(chat: Chat, messages: list[StoredMessage], tz: ZoneInfo) -> str:
    """A chat's last messages, as /chat shows them."""
    if not messages:
        return f"<b>{esc(chat.name)}</b>: no stored messages yet."
    lines = [f"<b>{esc(chat.name)}</b> — last {len(messages)} message(s)"]
    for msg in messages:
        ts = msg.timestamp.astimezone(tz).strftime("%d.%m %H:%M")
        lines.append(f"<i>{ts}</i> <b>{esc(sender_of(msg, chat))}</b>: {body_text(msg)}")
    return "\n".join(lines)


def forward_header(chat: Chat, msg: StoredMessage, tz: ZoneInfo) -> str:
    """The first line of a forward: time, chat and, in a group, the sender."""
    ts = msg.timestamp.astimezone(tz).strftime("%H:%M")
    who = f" · {esc(sender_of(msg, chat))}" if chat.is_group else ""
    icon = "👥" if chat.is_group else "👤"
    return f"{icon} <b>{esc(chat.name)}</b>{who} · {ts}"


def forward_text(chat: Chat, msg: StoredMessage, reason: str, tz: ZoneInfo) -> str:
    """A forwarded message as Telegram HTML: header, text cut to fit, why it came."""
    body = body_text(msg, FORWARD_BODY)
    return f"{forward_header(chat, msg, tz)}\n{body}\n<i>Why: {esc(reason[:300])}</i>"


def call_notice(chat: Chat, call: StoredMessage, burst: tuple[datetime, ...], tz: ZoneInfo) -> str:
    """A missed call ("📞 Missed voice call from Mom · 14:02"), or repeated calls within
    minutes ("‼️ 📞 Mom called 3 times in 6 min")."""
    at = call.timestamp.astimezone(tz).strftime("%H:%M")
    name = f"<b>{esc(chat.name)}</b>"
    if len(burst) > 1:
        minutes = max(1, round((burst[-1] - burst[0]).total_seconds() / 60))
        return f"‼️ 📞 {name} called {len(burst)} times in {minutes} min · last at {at}"
    where = "in" if chat.is_group else "from"
    return f"{esc(call.text)} {where} {name} · {at}"


def merged_text(chat: Chat, items: list[tuple[StoredMessage, str]], tz: ZoneInfo) -> str:
    """Several forwards of one chat merged into one message."""
    lines = [
        f"{'👥' if chat.is_group else '👤'} <b>{esc(chat.name)}</b> — "
        f"{len(items)} important messages"
    ]
    for msg, _reason in items:
        ts = msg.timestamp.astimezone(tz).strftime("%H:%M")
        who = f"{esc(sender_of(msg, chat))}: " if chat.is_group else ""
        lines.append(f"<i>{ts}</i> {who}{body_text(msg, FORWARD_BODY)}")
    reasons = sorted({r for _, r in items})
    lines.append(f"<i>Why: {esc('; '.join(reasons)[:300])}</i>")
    return "\n".join(lines)


def status_posters_text(posters: list[tuple[str, int, datetime]], tz: ZoneInfo) -> str:
    """The /status_updates list: who posted, how often, when last."""
    if not posters:
        return "No status updates in the last 24 hours."
    lines = ["<b>Status updates, last 24 hours</b>"]
    for name, n, at in posters:
        lines.append(f"{esc(name)} — {n} post(s), last at {at.astimezone(tz):%H:%M}")
    return "\n".join(lines)


def search_text(query: str, hits: list[tuple[Chat, StoredMessage]], tz: ZoneInfo) -> str:
    """The /search results page."""
    if not hits:
        return f"Nothing found for “{esc(query)}”."
    lines = [f"<b>Search</b> “{esc(query)}” — {len(hits)} newest match(es)"]
    for chat, msg in hits:
        ts = msg.timestamp.astimezone(tz).strftime("%d.%m %H:%M")
        lines.append(
            f"<i>{ts}</i> <b>{esc(chat.name)}</b> · {esc(sender_of(msg, chat))}: "
            f"{body_text(msg)[:300]}"
        )
    return "\n".join(lines)


def send_result(status: str, error: str = "") -> str:
    """How a send fared, in a few words (sent, queued, or why not)."""
    if status == "sent":
        return "✅ Sent."
    if status == "queued":
        return "⏳ Queued: WhatsApp is not connected right now. It goes out when it reconnects."
    return f"❌ Not sent: {esc(error or 'WhatsApp refused the message')}"


#: What a confirmation of a message sent from Telegram shows, state by state.
TICKS = {
    "queued": "🕓 Queued: WhatsApp is not connected right now. It goes out when it reconnects.",
    "sent": "✓ Sent",
    "delivered": "✓✓ Delivered",
    "read": "👁 Read",
}


def ticks_text(state: str, chat_name: str, error: str = "") -> str:
    """The confirmation of a message sent to ``chat_name``, with its ticks."""
    head = TICKS.get(state) or f"❌ Not sent: {esc(error or 'WhatsApp refused the message')}"
    return f"{head} → {esc(chat_name)}"


def draft_text(chat: Chat, msg: StoredMessage, text: str, tz: ZoneInfo) -> str:
    """An AI draft shown for approval, under the message it answers."""
    return (
        f"🤖 Draft reply — {forward_header(chat, msg, tz)}\n"
        f"<i>{body_text(msg)[:500]}</i>\n\n{esc(text)}"
    )


def auto_text_named(chat_name: str, text: str, status: str, error: str = "") -> str:
    """The notice of an AI reply sent on the owner's behalf."""
    return f"🤖 Auto-reply to <b>{esc(chat_name)}</b>: {esc(text)}\n{send_result(status, error)}"
