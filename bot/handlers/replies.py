"""AI reply drafts: Send / Edit / Discard."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application

from bot import answers
from bot.buttons import button
from bot.callbacks import DraftAction
from bot.context import BotContext
from bot.handlers.messaging import confirm


async def on_draft(update: Update, context: BotContext, data: DraftAction) -> None:
    """A button under an AI draft: send it, discard it, or ask the owner for their own version."""
    query = update.callback_query
    s = context.services
    draft = await s.storage.drafts.get(data.draft_id)
    if draft is None or draft.state != "draft":
        await query.answer("This draft was already handled.")
        return
    await query.answer()
    if data.action == "send":
        result = await s.replies.send_draft(draft.id)
        if result is None:
            return
        chat, outcome = result
        await query.edit_message_reply_markup(None)
        await confirm(context, update.effective_chat.send_message, outcome, chat)
    elif data.action == "discard":
        await s.replies.discard(draft.id)
        await query.edit_message_reply_markup(None)
        await update.effective_chat.send_message("Draft discarded.")
    else:
        await s.replies.discard(draft.id)
        text = "Write your version as a reply to this message:"
        await answers.ask_reply(update, context, text, "Your reply", draft.message_id)


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Register the AI draft buttons."""
    app.add_handler(button(DraftAction, on_draft))
