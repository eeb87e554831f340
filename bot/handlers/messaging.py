"""Answering WhatsApp from Telegram: replies to forwards, /send, /search, forward buttons."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

from telegram import CallbackQuery, Message, Update
from telegram.ext import (
    Application,
    CommandHandler,
    MessageHandler,
    MessageReactionHandler,
    filters,
)

from assistant.sending import NO_EDIT, TICKS_SHOWN, EditChance, SendOutcome, SendStatus
from bot import answers, keyboards, outgoing, render, render_messages, render_notice
from bot.buttons import button
from bot.callbacks import REACTIONS, EditAction, ForwardAction
from bot.context import BotContext, Services
from bot.emoji import one_emoji
from core.errors import AppError
from core.events import OutgoingMessage
from storage.domain import Chat, MediaState, StoredMessage


def origin_of(tg_chat_id: int, tg_message_id: int) -> str:
    """Where an outgoing WhatsApp message came from: the owner's Telegram message."""
    return f"tg:{tg_chat_id}:{tg_message_id}"


EDIT_ANSWERS = {
    EditChance.QUEUED: "✏️ It had not gone out yet: it will go to WhatsApp with the new text.",
    EditChance.LATE: (
        "✏️ That message went to WhatsApp more than 15 minutes ago, and WhatsApp no longer "
        "allows editing it. Nothing was sent again."
    ),
}


async def on_edited(update: Update, context: BotContext, not_sent: str) -> None:
    """An owner edited a Telegram message: never send it again; where it sent a WhatsApp
    text, change a queued one at once or offer ✏️ Edit on WhatsApp within WhatsApp's 15
    minutes; otherwise ``not_sent`` explains."""
    edited = update.edited_message
    origin = origin_of(edited.chat.id, edited.message_id)
    text = edited.text or ""
    if text.startswith("/"):  # a command's text is not what it sent: nothing to offer
        await edited.reply_text(not_sent)
        return
    chance, item_id = EditChance.NONE, None
    for account in context.services.accounts:  # the account whose outbox sent it
        chance, item_id = await account.sending.edit_chance(origin, text)
        if chance != EditChance.NONE:
            break
    if chance == EditChance.OFFER and item_id is not None:
        await edited.reply_text(
            "✏️ This was already sent to WhatsApp. Change it there too?",
            reply_markup=keyboards.edit_on_whatsapp(item_id),
        )
    else:
        await edited.reply_text(EDIT_ANSWERS.get(chance, not_sent))


#: The ➕ prompt starts with this; an answer to it is a reaction, not a message.
REACT_PROMPT = "➕ React to"


async def on_edit_action(update: Update, context: BotContext, data: EditAction) -> None:
    """✏️ Edit on WhatsApp: make the owner's Telegram edit on the WhatsApp message it sent."""
    query = update.callback_query
    why = NO_EDIT
    for account in context.services.accounts:  # the account whose outbox holds the item
        why = await account.sending.apply_edit(data.item_id)
        if why != NO_EDIT:
            break
    await query.answer("✅ Edited on WhatsApp." if not why else f"Not edited: {why}"[:200])


async def confirm(
    context: BotContext,
    post: Callable[[str], Awaitable[Message]],
    outcome: SendOutcome,
    chat: Chat,
) -> None:
    """Post the outcome of a send with ``post``; from then on that message shows its ticks
    (✓ sent, ✓✓ delivered, 👁 read), edited through the Telegram outbox."""
    shown = TICKS_SHOWN[outcome.status]
    sent = await post(render_notice.ticks_text(shown, chat.name, outcome.error))
    if await context.services.sending_for(chat).confirmed(outcome, sent.chat_id, sent.message_id):
        context.services.notifier.wake()  # a receipt came before the confirmation


async def send_all(
    update: Update, context: BotContext, outs: list[OutgoingMessage], chat: Chat
) -> None:
    """Send each message in order; answer once with how the first one that was not sent
    fared (or "Sent")."""
    origin = origin_of(update.effective_chat.id, update.effective_message.message_id)
    worst: SendOutcome | None = None
    try:
        for out in outs:
            outcome = await context.services.sending_for(chat).send(out, origin=origin)
            if worst is None or worst.status == SendStatus.SENT:
                worst = outcome
            if outcome.status == SendStatus.FAILED:
                break  # a caption never goes without its voice note or sticker
    except (ValueError, AppError) as exc:  # refused, or the chat's account is not running
        await answers.error(update, exc)
        return
    if worst is not None:
        await confirm(context, update.effective_message.reply_text, worst, chat)


async def on_reply(update: Update, context: BotContext) -> None:
    """The owner replied to a forward (or a chat list): send the reply to that chat, quoting the
    message, or react with the emoji answered to a ➕ prompt."""
    message = update.effective_message
    target = await context.services.chats.replied_message(
        message.chat.id, message.reply_to_message.message_id
    )
    if target is None:
        await message.reply_text(
            "Reply to a forwarded WhatsApp message (or a /chat list) "
            "to answer it; or use /send &lt;name or number&gt; &lt;text&gt;."
        )
        return
    chat, quoted = target
    if (message.reply_to_message.text or "").startswith(REACT_PROMPT):
        await _react_with(message, context, chat, quoted)
        return
    quote = {  # the quote bubble shows what was written, never a voice note's transcript
        "quoted_id": quoted.wa_id,
        "quoted_sender": quoted.sender,
        "quoted_text": quoted.text or quoted.caption,
    }
    try:
        outs = await outgoing.from_telegram(message, chat.jid, quote)
    except outgoing.Refused as exc:
        await answers.error(update, exc)
        return
    await send_all(update, context, outs, chat)
    if context.services.prefs.current.read_on_reply and not quoted.from_me:
        await context.services.sending_for(chat).mark_read(chat.jid, quoted.sender, [quoted.wa_id])


async def _react_with(
    message: Message, context: BotContext, chat: Chat, target: StoredMessage
) -> None:
    """The owner answered the ➕ prompt: react on WhatsApp with that emoji."""
    emoji = one_emoji(message.text or "")
    if emoji is None:
        await message.reply_text("That is not one emoji; tap ➕ again and send just the emoji.")
        return
    why = await context.services.sending_for(chat).react(
        chat.jid, target.sender, target.wa_id, emoji
    )
    await message.reply_text(
        f"Reacted {render.esc(emoji)} on WhatsApp." if not why else f"Not sent: {render.esc(why)}"
    )


async def cmd_search(update: Update, context: BotContext) -> None:
    """/search <text>: stored messages that contain the text."""
    s = context.services
    query = " ".join(context.args or [])
    try:
        hits = await s.chats.search(query)
    except AppError as exc:
        await answers.error(update, exc, mark="")
        return
    for chunk in render.split(render_messages.search_text(query, hits, s.tz, s.accounts.label_of)):
        await update.effective_message.reply_text(chunk)


async def _shows(s: Services, query: CallbackQuery, message_id: int) -> bool:
    """Whether the forward under which a button was pressed still shows that stored message
    (its link goes with the message: after an account is removed, SQLite may give the id to
    a new message, which the old button must not act on)."""
    shown = await s.storage.messages.linked(query.message.chat.id, query.message.message_id)
    return shown is not None and shown.id == message_id


async def on_forward_action(update: Update, context: BotContext, data: ForwardAction) -> None:
    """A button under a forward: react, mark not important or urgent, mute the chat, fetch its
    attachment, send its whole text, or ask for a reply."""
    query = update.callback_query
    s = context.services
    if data.action != "urgent" and not await _shows(s, query, data.message_id):
        await query.answer("This forward's message is no longer stored.", show_alert=True)
        return
    chat, msg = await s.chats.message(data.message_id)
    if data.action == "noimp":
        await s.chats.not_important(msg.id)
        if s.learner is not None:
            await s.learner.learn(msg, chat, "not_important")
        await query.answer(f"Noted: {chat.name} and messages like this will score lower.")
    elif data.action in {f"r{i}" for i in range(len(REACTIONS))}:
        emoji = REACTIONS[int(data.action[1:])]
        why = await s.sending_for(chat).react(chat.jid, msg.sender, msg.wa_id, emoji)
        await query.answer(f"Reacted {emoji} on WhatsApp." if not why else f"Not sent: {why}")
    elif data.action == "rmore":
        await query.answer()
        text = f"{REACT_PROMPT} <b>{render.esc(chat.name)}</b>:"
        await answers.ask_reply(update, context, text, "One emoji", msg.id)
    elif data.action == "urgent":
        if s.learner is None:
            await query.answer(answers.NO_LEARNER)
            return
        state = await s.learner.learn(msg, chat, "urgent")
        await s.storage.messages.set_feedback(msg.id, 2)
        await query.answer(
            f"Learned: messages like this are urgent ({state.corrections} correction(s); "
            "/settings triage_reset forgets them).",
            show_alert=True,
        )
    elif data.action == "mute":
        await s.chats.mute(chat.id, "mute8h")
        await query.answer(f"{chat.name} muted for 8 hours.")
    elif data.action == "full":  # the whole text, as a file: no page limit, one message
        await query.answer()
        body = io.BytesIO(msg.body.encode("utf-8"))
        await update.effective_chat.send_document(body, filename=f"message-{msg.id}.txt")
    elif data.action == "media":
        await query.answer("Downloading…")
        state = await s.accounts.running(chat.account_id).ingest.media.fetch(msg, on_request=True)
        if state == MediaState.DONE:  # the forward again, now with its file
            await s.notifier.forward_again(update.effective_chat.id, msg.id)
        else:
            fresh = await s.storage.messages.get(msg.id)
            why = fresh.media_error if fresh and fresh.media_error else state.value
            await update.effective_chat.send_message(f"Could not download it: {render.esc(why)}")
    else:
        await query.answer()
        text = f"Your answer to <b>{render.esc(chat.name)}</b>:"
        await answers.ask_reply(update, context, text, "Message", msg.id)


async def on_reaction(update: Update, context: BotContext) -> None:
    """👍 on a forward raises that chat's future scores (stored as feedback)."""
    reaction = update.message_reaction
    if reaction is None or not any(getattr(r, "emoji", "") == "👍" for r in reaction.new_reaction):
        return
    s = context.services
    target = await s.chats.replied_message(reaction.chat.id, reaction.message_id)
    if target is not None:
        chat, msg = target
        await s.chats.liked(msg.id)
        if s.learner is not None:
            await s.learner.learn(msg, chat, "liked")


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Register /send, /search, replies, reactions and the forward buttons."""
    app.add_handler(CommandHandler("search", cmd_search))
    app.add_handler(
        MessageHandler(
            filters.REPLY & ~filters.COMMAND,  # every kind: bot/outgoing.py refuses the rest
            on_reply,
        )
    )
    app.add_handler(button(ForwardAction, on_forward_action))
    app.add_handler(button(EditAction, on_edit_action))
    app.add_handler(MessageReactionHandler(on_reaction))
