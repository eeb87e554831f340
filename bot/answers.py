"""What the handlers say in the same way: an error in one line, a command's usage when its
argument is missing, a prompt the owner answers by replying, and the test for Telegram's
"message is not modified". Only Telegram plumbing; the words of each feature stay in its
handler."""

from __future__ import annotations

from telegram import ForceReply, Update
from telegram.error import BadRequest

from bot import render
from bot.context import BotContext

#: Said when the owner corrects triage but its model file could not be read.
NO_LEARNER = "Triage cannot learn: its model file could not be read."


async def error(update: Update, exc: Exception, mark: str = "❌ ") -> None:
    """Answer the update's message with the error's text, escaped, after ``mark``."""
    await update.effective_message.reply_text(f"{mark}{render.esc(str(exc))}")


async def argument(update: Update, context: BotContext, usage: str) -> str:
    """The command's arguments as one text; when there are none, answer with ``usage`` and
    return ""."""
    text = " ".join(context.args or [])
    if not text:
        await update.effective_message.reply_text(usage)
    return text


async def ask_reply(
    update: Update, context: BotContext, text: str, placeholder: str, message_id: int
) -> None:
    """Send ``text`` with a reply field; the owner's reply to it concerns the stored WhatsApp
    message ``message_id``."""
    prompt = await update.effective_chat.send_message(
        text, reply_markup=ForceReply(selective=True, input_field_placeholder=placeholder)
    )
    await context.services.storage.messages.link(prompt.chat.id, prompt.message_id, message_id)


def not_modified(exc: BadRequest) -> bool:
    """Whether Telegram refused an edit only because nothing would change."""
    return "not modified" in str(exc).lower()
