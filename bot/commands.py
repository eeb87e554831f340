"""The commands, once: the Telegram command menu and /help are both made from this table, and
a test checks every registered command has a line here (and every line a handler)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from telegram import BotCommand


@dataclass(frozen=True, slots=True)
class Command:
    """One slash command: its name, the arguments it takes, the menu line and the /help line."""

    name: str
    menu: str
    help: str
    args: str = ""

    def help_line(self) -> str:
        """The /help line, as Telegram HTML."""
        usage = f"/{self.name}" + (f" {escape(self.args)}" if self.args else "")
        return f"{usage} — {escape(self.help)}"


COMMANDS = (
    Command(
        "start",
        "Greeting, connection state and next step",
        "greeting, connection state and the next step",
    ),
    Command(
        "status",
        "Connection, traffic, queues, next digest",
        "connection, uptime, traffic, queues, LLM, next digest",
    ),
    Command(
        "login",
        "Link WhatsApp with a QR",
        "link WhatsApp: shows a QR to scan in WhatsApp → Linked devices",
        "[account]",
    ),
    Command(
        "pair",
        "Link WhatsApp with a code: /pair +phone",
        "link with an 8-character code instead of a QR",
        "<phone>",
    ),
    Command("logout", "Unlink WhatsApp", "unlink this bot from WhatsApp (asks first)"),
    Command(
        "accounts",
        "Your WhatsApp accounts: add, rename, log out",
        "every linked WhatsApp account (personal, work …): add one, rename, log out, default",
    ),
    Command(
        "chats",
        "Chats by last activity: /chats [search]",
        "your chats by last activity; tap one for its card",
        "[search]",
    ),
    Command(
        "chat", "Last messages of a chat: /chat name", "the last messages of a chat", "<name>"
    ),
    Command(
        "send",
        "Send a message: /send name-or-number text",
        "send a WhatsApp message (any number: +49 151 …, 0151 …)",
        "<name or number> <text>",
    ),
    Command("search", "Search stored messages", "full-text search over stored messages", "<text>"),
    Command(
        "status_updates",
        "Who posted WhatsApp status updates today",
        "who posted WhatsApp status updates in the last 24 hours (they are not chats)",
    ),
    Command(
        "digest",
        "Digest since the last one",
        "a digest of everything since the last one (/digest last shows it again)",
    ),
    Command(
        "catchup",
        "What I missed: /catchup [hours]",
        "what you missed in the last hours (default 8)",
        "[hours]",
    ),
    Command(
        "settings",
        "Threshold, digest, AI switch",
        "threshold, digest time, AI switch, VIPs, keywords",
    ),
    Command("help", "What each command does", "this list"),
)

HELP_TAIL = (
    "Reply (Telegram reply) to a forwarded message to answer it in WhatsApp; photos and\n"
    "documents sent as replies go too. Chat cards have <b>Trusted</b> and <b>AI</b> toggles."
)


def menu() -> list[BotCommand]:
    """The Telegram command menu (setMyCommands)."""
    return [BotCommand(c.name, c.menu) for c in COMMANDS]


def help_text() -> str:
    """The /help page."""
    lines = "\n".join(c.help_line() for c in COMMANDS)
    return (
        f"<b>WhatsApp Secretary</b> — your WhatsApp, run from Telegram.\n\n{lines}\n\n{HELP_TAIL}"
    )
