"""The owner guard: group -2, before every other handler. Strangers get one short refusal
per chat, no data and no buttons; their button presses are refused and change nothing.
The bot is controlled only in an owner's private chat with it: in a group or channel it
answers nothing and leaves; Telegram Business updates are ignored; an edited Telegram
message is never acted on again (it would send a second WhatsApp message)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.context import BotContext
from bot.handlers import messaging

logger = logging.getLogger(__name__)

REFUSAL = "Sorry, this is a private bot."
EDIT_NOTE = (
    "✏️ Edited Telegram messages are not acted on again, so nothing was sent twice. "
    "To correct something, send it again."
)


async def guard(update: Update, context: BotContext) -> None:
    """Stop every update that is not an owner's new message or button press in private."""
    user = update.effective_user
    chat = update.effective_chat
    user_id = user.id if user else None
    if _is_business(update):
        logger.warning("ignored a Telegram Business update (user %s)", user_id)
        raise ApplicationHandlerStop
    if chat is not None and chat.type != ChatType.PRIVATE:
        await _leave(update, context, chat.id, chat.type)
        raise ApplicationHandlerStop
    if user is None or user.id not in context.services.owner_ids:
        await _refuse(update, context, user_id)
        raise ApplicationHandlerStop
    if update.edited_message is not None:
        await messaging.on_edited(update, context, EDIT_NOTE)
        raise ApplicationHandlerStop


async def _refuse(update: Update, context: BotContext, user_id: int | None) -> None:
    logger.warning("refused update from Telegram user %s", user_id)
    if update.callback_query is not None:
        await update.callback_query.answer(REFUSAL, show_alert=False)
        return
    chat, refused = update.effective_chat, context.services.refused
    if chat is not None and chat.id not in refused and update.message is not None:
        refused.add(chat.id)
        await update.message.reply_text(REFUSAL)


async def _leave(update: Update, context: BotContext, chat_id: int, kind: str) -> None:
    logger.warning("ignored an update from Telegram %s %s; leaving it", kind, chat_id)
    if update.callback_query is not None:
        await update.callback_query.answer(REFUSAL, show_alert=False)
    try:
        await context.bot.leave_chat(chat_id)
    except TelegramError as exc:
        logger.warning("could not leave Telegram chat %s: %s", chat_id, exc.message[:100])


def _is_business(update: Update) -> bool:
    return any(
        getattr(update, name, None) is not None
        for name in (
            "business_connection",
            "business_message",
            "edited_business_message",
            "deleted_business_messages",
        )
    )


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Put the owner guard before every other handler (group -2)."""
    app.add_handler(TypeHandler(Update, guard), group=-2)
