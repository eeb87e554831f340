"""Telegram HTML of /accounts: each linked WhatsApp account with its label, number, state,
the age of its last event and today's messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.render import esc, phone_of, title
from bot.render_session import STATE_WORDS
from core.ids import ConnectionState


@dataclass(frozen=True)
class AccountRow:
    """What /accounts shows of one account."""

    label: str
    own_jid: str | None
    state: ConnectionState
    last_event_age: timedelta | None
    messages_today: int
    is_default: bool


def age(delta: timedelta | None) -> str:
    """How long ago, in the largest whole unit ("12 s", "4 min", "3 h", "2 d")."""
    if delta is None:
        return "no event yet"
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"last event {seconds // size} {unit} ago"
    return f"last event {seconds} s ago"


def accounts_text(rows: list[AccountRow]) -> str:
    """The /accounts page."""
    lines = [f"<b>WhatsApp accounts</b> ({len(rows)})"]
    for row in rows:
        number = phone_of(row.own_jid) if row.own_jid else "not linked yet"
        star = " ⭐ default" if row.is_default and len(rows) > 1 else ""
        lines.append(
            f"💼 <b>{esc(title(row.label))}</b>{star} · {esc(number)}\n"
            f"   {STATE_WORDS[row.state]} · {age(row.last_event_age)} · "
            f"{row.messages_today} message(s) today"
        )
    lines.append(
        "\nAdd a second number (a work phone, a business number) with ➕; replies go out "
        "from the account that received the message."
    )
    return "\n".join(lines)


def logout_question(label: str) -> str:
    """The question before one account is logged out (/logout or 🚪 in /accounts)."""
    return f"Unlink the bot from {esc(title(label))}? The other accounts keep running."
