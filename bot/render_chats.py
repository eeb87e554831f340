"""Telegram HTML about chats: their button labels, the /chats list, a chat's card and the
status posters. Pure functions; every WhatsApp-sourced string is escaped.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.render import esc, phone_of, title, when
from storage import names
from storage.domain import Chat


def chat_phone(chat: Chat) -> str:
    """A person chat's number: from its JID, or from a phone JID it is linked to (a chat
    known by its hidden id shows the number once the link is known)."""
    for jid in (chat.jid, *chat.aliases):
        if names.phone_digits(jid):
            return phone_of(jid)
    return "number not known yet"


def chat_label(chat: Chat, account: str = "") -> str:
    """A chat's button label in /chats, with its trusted and AI marks, after its account's
    label when there are several ("💼 work · 👤 Anna")."""
    marks = ("⭐" if chat.trusted else "") + ("🤖" if chat.ai_enabled else "")
    unread = f" ({chat.unread})" if chat.unread else ""
    icon = "👥" if chat.is_group else "👤"
    where = f"💼 {account} · " if account else ""
    return f"{where}{icon} {chat.name}{unread} {marks}".strip()[:60]


def chat_list_text(total: int, page: int, pages: int, search: str, account: str = "") -> str:
    """The header of a /chats page; ``account`` is the label it is narrowed to, if any."""
    where = f" in {esc(title(account))}" if account else ""
    if total == 0:
        return (
            "No chat" + where + " matches “" + esc(search) + "”."
            if search
            else f"No chats{where} yet. They appear as WhatsApp messages arrive."
        )
    head = (
        f"<b>Chats</b>{where} matching “{esc(search)}”"
        if search
        else (f"<b>Chats</b>{where} by last activity")
    )
    return f"{head} — page {page + 1}/{pages}, {total} in all. Tap one to open its card."


def card_text(chat: Chat, now: datetime, tz: ZoneInfo, account: str = "") -> str:
    """A chat's card: its account (when there are several), kind, marks, mute state and last
    activity."""
    mute = f"muted until {when(chat.muted_until, tz)}" if chat.is_muted(now) else "not muted"
    where = f"💼 {esc(title(account))} · " if account else ""
    return "\n".join(
        [
            f"{where}<b>{esc(chat.name)}</b>",
            ("Group · group chat" if chat.is_group else f"Person · {esc(chat_phone(chat))}"),
            f"Last activity: {when(chat.last_activity, tz)} · unread: {chat.unread}",
            f"Trusted: {'on' if chat.trusted else 'off'} · AI replies: "
            f"{'on' if chat.ai_enabled else 'off'} ({'auto' if chat.ai_auto else 'draft'})",
            f"Digest: {'included' if chat.include_in_digest else 'left out'} · {mute}",
        ]
    )


def status_posters_text(posters: list[tuple[str, int, datetime]], tz: ZoneInfo) -> str:
    """The /status_updates list: who posted, how often, when last."""
    if not posters:
        return "No status updates in the last 24 hours."
    lines = ["<b>Status updates, last 24 hours</b>"]
    for name, n, at in posters:
        lines.append(f"{esc(name)} — {n} post(s), last at {at.astimezone(tz):%H:%M}")
    return "\n".join(lines)
