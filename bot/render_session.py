"""Telegram HTML about the WhatsApp session: its state in words, /start, /status and login.

Pure functions; every WhatsApp-sourced string is escaped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from assistant.status import SessionStatus, Status
from bot.render import ago, esc, phone_of, title, when
from core.events import QrIssued
from core.ids import ConnectionState

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


#: States in which linking the account (again) is the next step.
NEEDS_LOGIN = {
    ConnectionState.STARTING,
    ConnectionState.WAITING_FOR_QR,
    ConnectionState.LOGGED_OUT,
}


def start_text_accounts(accounts: list[tuple[str, ConnectionState]]) -> str:
    """The /start greeting with several accounts: each one's (label, state), and /login
    with its label where linking it is the next step."""
    lines = ["👋 Hi! I am your WhatsApp secretary."]
    for label, state in accounts:
        step = f" · /login {esc(label)}" if state in NEEDS_LOGIN else ""
        lines.append(f"💼 {esc(title(label))}: <b>{STATE_WORDS[state]}</b>{step}")
    lines.append("/accounts manages them; /help lists every command.")
    return "\n".join(lines)


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
    """The /status page: connection, traffic, queues, LLM, learning, next digest; with
    several accounts each one's session and traffic, then the shared parts once."""
    if len(s.sessions) > 1:
        head = [
            f"<b>Status</b>: {len(s.sessions)} WhatsApp accounts",
            *(account_status(x, tz) for x in s.sessions),
            f"Uptime: {ago(s.uptime)}",
            f"Messages today: {s.messages_today} in {s.chats} chat(s) known, all accounts",
        ]
    else:
        head = [
            f"<b>Status</b>: {session_line(s.state, s.state_since, s.last_event_age, tz)}",
            f"Account: {esc(phone_of(s.own_jid))}",
            f"Uptime: {ago(s.uptime)}",
            f"Reconnects: {s.reconnects}",
            f"Messages today: {s.messages_today} in {s.chats} chat(s) known",
        ]
    return "\n".join(
        [
            *head,
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


def account_status(x: SessionStatus, tz: ZoneInfo) -> str:
    """One account in /status: label, number, session line, today's traffic, reconnects."""
    number = phone_of(x.own_jid) if x.own_jid else "not linked yet"
    star = " ⭐ default" if x.is_default else ""
    return (
        f"💼 <b>{esc(title(x.label))}</b>{star} · {esc(number)}: "
        f"{session_line(x.state, x.state_since, x.last_event_age, tz)}\n"
        f"   {x.messages_today} message(s) today in {x.chats} chat(s) · "
        f"{x.reconnects} reconnect(s)"
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
