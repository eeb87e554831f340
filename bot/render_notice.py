"""Telegram HTML for the notifications that need nothing from the store (see
``core.notifications``), and how a send fared (its ticks, a queued or automatic reply);
forwards, calls and drafts are rendered in ``bot/render_messages.py`` from the messages they
point at. Every string from a notification is escaped here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.render import esc
from bot.render_session import state_notice
from core.ids import ConnectionState
from core.notifications import (
    AutoReplied,
    ConnectionNotice,
    Notice,
    Prepared,
    SendResult,
    Ticks,
)


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


def auto_text_named(chat_name: str, text: str, status: str, error: str = "") -> str:
    """The notice of an AI reply sent on the owner's behalf."""
    return f"🤖 Auto-reply to <b>{esc(chat_name)}</b>: {esc(text)}\n{send_result(status, error)}"


def notice(n: Notice) -> str:
    """A plain notice, escaped."""
    return esc(n.text)


def connection(n: ConnectionNotice) -> str:
    """A connection change in plain words with what to do (an unknown state is named)."""
    try:
        return state_notice(ConnectionState(n.state), n.reason)
    except ValueError:
        return f"⚠️ WhatsApp: <b>{esc(n.state)}</b>\n{esc(n.reason)}"


def sent_late(n: SendResult) -> str:
    """What became of a queued WhatsApp message."""
    return f"Queued WhatsApp message #{n.item_id}: {send_result(n.status, n.error)}"


def auto_replied(n: AutoReplied) -> str:
    """An AI reply sent on its own, and whether it went out."""
    return auto_text_named(n.chat_name, n.text, n.status, n.error)


def ticks(n: Ticks) -> str:
    """A sent message's confirmation with its latest ticks."""
    return ticks_text(n.state, n.chat, n.error)


def prepared(n: Prepared) -> str:
    """An old row: its HTML was made by the bot when it was queued."""
    return n.text


#: The text of each notification that needs nothing but itself.
TEXT: dict[type, Callable[[Any], str]] = {
    Notice: notice,
    ConnectionNotice: connection,
    SendResult: sent_late,
    AutoReplied: auto_replied,
    Ticks: ticks,
    Prepared: prepared,
}


def text_of(n: Any) -> str:
    """Render a self-contained notification (KeyError for one that needs the store)."""
    return TEXT[type(n)](n)
