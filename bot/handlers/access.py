"""The owner guard: group -2, before every other handler. Strangers get one short refusal
per chat, no data and no buttons; their button presses are refused and change nothing."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.context import BotContext

logger = logging.getLogger(__name__)

REFUSAL = "Sorry, this is a private bot."


async def guard(update: Update, context: BotContext) -> None:
    """Stop every update that does not come from an admin."""
    user = update.effective_user
    services = context.services
    if user is not None and user.id in services.owner_ids:
        return
    user_id = user.id if user else None
    logger.warning("refused update from Telegram user %s", user_id)
    if update.callback_query is not None:
        await update.callback_query.answer(REFUSAL, show_alert=False)
    else:
        chat = update.effective_chat
        if chat is not None and chat.id not in services.refused:
            services.refused.add(chat.id)
            if update.effective_message is not None and chat.type == "private":
                await update.effective_message.reply_text(REFUSAL)
    raise ApplicationHandlerStop


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(TypeHandler(Update, guard), group=-2)
