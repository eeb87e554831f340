"""/chats, /chat and the chat card with its Trusted / AI / mute / digest toggles."""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CommandHandler

from bot import answers, keyboards, render, render_chats, render_messages
from bot.account_args import split_account
from bot.buttons import button
from bot.callbacks import ChatAction, ChatList
from bot.context import BotContext
from core.errors import NotFound


async def _edit(update: Update, text: str, markup: object = None) -> None:
    """Edit the pressed message in place; ignore only "message is not modified"."""
    try:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if not answers.not_modified(exc):
            await update.effective_chat.send_message(text, reply_markup=markup)


async def _chat_list(
    update: Update, context: BotContext, search: str, page_no: int, account_id: int
) -> tuple[str, object]:
    """A /chats page: its text and buttons (``account_id`` 0: every account)."""
    s = context.services
    page = await s.chats.page(search, page_no, account_id or None)
    label = s.accounts.label_of(account_id) if account_id else ""
    return (
        render_chats.chat_list_text(page.total, page.page, page.pages, search, label),
        keyboards.chat_list(page, search, s.accounts.label_of, account_id),
    )


async def cmd_chats(update: Update, context: BotContext) -> None:
    """/chats [account] [search]: the first page of chats, most recently active first; with
    several accounts, an account's label first narrows it to that account."""
    account, rest = split_account(context.services.accounts, context.args or [])
    search = " ".join(rest)[:40]
    text, markup = await _chat_list(update, context, search, 0, account.id if account else 0)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def cmd_status_updates(update: Update, context: BotContext) -> None:
    """Who posted WhatsApp status updates in the last day (they are not chats)."""
    posters = await context.services.chats.status_posters(24)
    await update.effective_message.reply_text(
        render_chats.status_posters_text(posters, context.services.tz)
    )


async def cmd_chat(update: Update, context: BotContext) -> None:
    """/chat <name>: the chat's last messages, or a choice when several chats match."""
    name = await answers.argument(
        update, context, "Usage: /chat &lt;name&gt; — or pick one in /chats"
    )
    if not name:
        return
    try:
        chat, candidates = await context.services.chats.find_one(name)
    except NotFound as exc:
        await answers.error(update, exc, mark="")
        return
    if chat is None:
        await update.effective_message.reply_text(
            f"Several chats match “{render.esc(name)}”. Which one?",
            reply_markup=keyboards.choose(candidates, context.services.accounts.label_of),
        )
        return
    await show_last(update, context, chat.id, reply=True)


async def show_last(update: Update, context: BotContext, chat_id: int, reply: bool) -> None:
    """Send the chat's last 10 messages; replying to the list answers the newest incoming one."""
    s = context.services
    chat, messages = await s.chats.last_messages(chat_id, 10)
    label = s.accounts.label_of(chat.account_id)
    chunks = render.split(render_messages.messages_text(chat, messages, s.tz, label))
    target = update.effective_chat
    for i, chunk in enumerate(chunks):
        markup = keyboards.open_chat(chat.id) if i == len(chunks) - 1 else None
        sent = await target.send_message(chunk, reply_markup=markup)
    if messages:  # replying to this list answers the newest message of the chat
        incoming = [m for m in messages if not m.from_me] or messages
        await s.storage.messages.link(target.id, sent.message_id, incoming[-1].id)


async def ask_which_urgent(update: Update, context: BotContext, chat_id: int) -> None:
    """List the chat's latest messages that were not forwarded, to pick the urgent one."""
    s = context.services
    query = update.callback_query
    if s.learner is None:
        await query.answer(answers.NO_LEARNER)
        return
    chat, candidates = await s.chats.not_forwarded(chat_id, s.prefs.current.threshold)
    if not candidates:
        await query.answer("Every recent message of this chat was forwarded.")
        return
    await query.answer()
    await update.effective_chat.send_message(
        f"Which message from <b>{render.esc(chat.name)}</b> should I have forwarded at once?",
        reply_markup=keyboards.urgent_choices(candidates),
    )


async def on_chat_list(update: Update, context: BotContext, data: ChatList) -> None:
    """A page button of /chats: show that page in place."""
    query = update.callback_query
    await query.answer()
    text, markup = await _chat_list(update, context, data.search, data.page, data.account)
    await _edit(update, text, markup)


async def on_chat_action(update: Update, context: BotContext, data: ChatAction) -> None:
    """A button on a chat: open its card, flip a switch, mute, show its last messages, or pick
    the urgent one."""
    query = update.callback_query
    s = context.services
    if data.action == "open":
        chat = await s.chats.get(data.chat_id)
    elif data.action.startswith(("mute", "unmute")):
        chat = await s.chats.mute(data.chat_id, data.action)
    elif data.action == "last":
        await query.answer()
        await show_last(update, context, data.chat_id, reply=False)
        return
    elif data.action == "urgent":
        await ask_which_urgent(update, context, data.chat_id)
        return
    else:
        chat = await s.chats.toggle(data.chat_id, data.action)
    await query.answer()
    now = s.clock.now()
    label = s.accounts.label_of(chat.account_id)
    await _edit(
        update, render_chats.card_text(chat, now, s.tz, label), keyboards.chat_card(chat, now)
    )


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Register the chat commands and buttons."""
    app.add_handler(CommandHandler("chats", cmd_chats))
    app.add_handler(CommandHandler("chat", cmd_chat))
    app.add_handler(CommandHandler("status_updates", cmd_status_updates))
    app.add_handler(button(ChatList, on_chat_list))
    app.add_handler(button(ChatAction, on_chat_action))
