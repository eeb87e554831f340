"""The basics every Telegram page is made with: escaping, safe pages, times and phone numbers.

Every WhatsApp-sourced string goes through ``esc``. Pure: nothing here sends or reads anything.
What a page says lives beside it: ``render_session`` (connection, /status, login),
``render_chats`` (the chat list and cards), ``render_messages`` (message lines: /chat,
forwards, calls, drafts, /search), ``render_notice`` (notifications) and ``render_digest``.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import telegram_html
from storage import names

LIMIT = 4096
esc = html.escape


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


def title(label: str) -> str:
    """An account's label as a title ("work" → "Work")."""
    return label[:1].upper() + label[1:]
