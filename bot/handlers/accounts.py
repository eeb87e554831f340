"""/accounts: several WhatsApp accounts under one bot — list them, add one (a label, then its
login QR), rename, log out, choose the default; and starting an account's session."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import ForceReply, Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot import account_removal, answers, keyboards_accounts, render
from bot.account_factory import cannot_start
from bot.buttons import button
from bot.callbacks import AccountAction
from bot.context import Account, BotContext, Services
from bot.handlers import digest, session
from bot.render import title
from bot.render_accounts import AccountRow, accounts_text, logout_question
from bot.session_notices import SessionNotices
from core.errors import AppError

logger = logging.getLogger(__name__)

ADD_PROMPT = "➕ New WhatsApp account"
RENAME_PROMPT = "✏️ Rename account"


async def start_account(app: Application, services: Services, account: Account) -> None:  # type: ignore[type-arg]
    """Subscribe an account's ingest (first: stored before anyone reacts) and its session
    notices, replay its journal, start its session."""
    account.gateway.subscribe(account.ingest.on_event)
    account.gateway.subscribe(SessionNotices(app.bot, services, account).on_event)
    await account.ingest.recover()
    await account.gateway.start()


async def start_safely(app: Application, services: Services, account: Account) -> None:  # type: ignore[type-arg]
    """Start an account; an added account that cannot start is reported and left stopped,
    so the others still run (the first account's failure stops the start, as it always
    did: without it there is nothing to run)."""
    if account.id == 1:
        await start_account(app, services, account)
        return
    try:
        await start_account(app, services, account)
    except Exception as exc:
        logger.exception("WhatsApp account %d could not start", account.id)
        account.failed = True
        await services.notifier.tell(cannot_start(account.label, exc))


async def rows(s: Services) -> list[AccountRow]:
    """What /accounts shows of each account."""
    now = s.clock.monotonic()
    midnight = s.clock.now().astimezone(s.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for a in s.accounts:
        g = a.gateway
        last = timedelta(seconds=max(0.0, now - g.last_event_at)) if g.last_event_at else None
        today = await s.storage.for_account(a.id).messages.count_since(midnight)
        default = a.id == s.accounts.default_id
        out.append(AccountRow(a.label, g.own_jid, g.state, last, today, default))
    return out


async def cmd_accounts(update: Update, context: BotContext) -> None:
    """/accounts: every linked account with its buttons."""
    s = context.services
    await update.effective_message.reply_text(
        accounts_text(await rows(s)),
        reply_markup=keyboards_accounts.accounts(
            [(a.id, a.label) for a in s.accounts], s.accounts.default_id
        ),
    )


async def on_account(update: Update, context: BotContext, data: AccountAction) -> None:
    """An /accounts button: add, rename, log out or remove (each asks first), default, or
    log in."""
    query = update.callback_query
    await query.answer()
    s = context.services
    chat_id = query.message.chat.id
    if data.action == "add":
        sent = await context.bot.send_message(
            chat_id,
            f"{ADD_PROMPT}: reply with a short name for it (e.g. work).",
            reply_markup=ForceReply(selective=True, input_field_placeholder="work"),
        )
        prompts_of(context).ask(chat_id, sent.message_id, 0)
        return
    account = s.accounts.find(data.account_id)
    if account is None:
        await query.edit_message_text("That account is no longer linked. See /accounts.")
        return
    name = render.esc(title(account.label))
    if data.action == "rename":
        sent = await context.bot.send_message(
            chat_id,
            f"{RENAME_PROMPT} ({name}): reply with its new name.",
            reply_markup=ForceReply(selective=True, input_field_placeholder=account.label),
        )
        prompts_of(context).ask(chat_id, sent.message_id, account.id)
    elif data.action == "logout":
        await query.edit_message_text(
            logout_question(account.label),
            reply_markup=keyboards_accounts.account_logout_confirm(account.id, account.label),
        )
    elif data.action == "logout_no":
        await query.edit_message_text("Logout cancelled.")
    elif data.action == "remove":
        await query.edit_message_text(
            await account_removal.question(s, account),
            reply_markup=keyboards_accounts.account_remove_confirm(account.id, account.label)
            if account.id != keyboards_accounts.FIRST
            else None,
        )
    elif data.action == "remove_no":
        await query.edit_message_text("Nothing was removed.")
    elif data.action == "remove_yes":
        answer = await account_removal.remove(s, account)
        await digest.accounts_changed(context.application, s)
        await query.edit_message_text(answer)
    elif data.action == "logout_yes":
        again = f"/login {render.esc(account.label)}"
        await session.log_out(
            update,
            account,
            f"{name} is logged out; its stored messages stay. {again} links it again.",
        )
    elif data.action == "default":
        await s.storage.accounts.set_default(account.id)
        s.accounts.default_id = account.id
        await query.edit_message_text(f"⭐ {name} is now the default account (/send, /login).")
    elif data.action == "login":
        await session.begin_login(chat_id, context, account)


async def on_account_reply(update: Update, context: BotContext) -> None:
    """The owner named a new account (then its login QR comes) or renamed one."""
    message = update.effective_message
    account_id = prompts_of(context).answered(message.chat.id, message.reply_to_message.message_id)
    s = context.services
    label = (message.text or "").strip()
    try:
        if account_id == 0:
            info = await s.storage.accounts.add(label)
            try:
                # an id used before (its account removed) must not resume that session
                await asyncio.to_thread(s.factory.forget, info.id, [])
                account = s.factory.build(info)
            except Exception:
                await s.storage.accounts.remove(info.id)  # no account left half made
                raise
            s.accounts.add(account)
            account.logins[message.chat.id] = session.LoginView(message.chat.id)
            await start_safely(context.application, s, account)
            await digest.accounts_changed(context.application, s)
            await message.reply_text(
                f"💼 {render.esc(title(info.label))} added. Waiting for its login QR — scan it "
                "in WhatsApp → Linked devices on that phone."
            )
            return
        account = s.accounts.find(account_id) if account_id is not None else None
        if account is None:
            await message.reply_text("That account is no longer linked. See /accounts.")
            return
        info = await s.storage.accounts.rename(account.id, label)
        account.label = info.label
        account.gateway.rename(info.label)
        await message.reply_text(f"Renamed to {render.esc(title(info.label))}.")
    except AppError as exc:
        await answers.error(update, exc)


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Register /accounts, its buttons and the replies to its prompts (before the general
    reply handler, which would take them for answers to WhatsApp messages)."""
    app.add_handler(CommandHandler("accounts", cmd_accounts))
    app.add_handler(button(AccountAction, on_account))
    prompts = Prompts()
    app.bot_data["account_prompts"] = prompts
    replies = filters.REPLY & filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(replies & AccountPrompt(prompts), on_account_reply))


class Prompts:
    """The bot's open "new account" / "rename account" prompts, by the Telegram message that
    asked (never by its text: a WhatsApp chat may be named like a prompt). Kept in memory:
    after a restart a prompt is answered as an ordinary reply, and the owner asks again."""

    LIMIT = 100

    def __init__(self) -> None:
        self._open: dict[tuple[int, int], int] = {}

    def ask(self, chat_id: int, message_id: int, account_id: int) -> None:
        """Remember a prompt: ``account_id`` 0 for a new account, else the one to rename."""
        if len(self._open) >= self.LIMIT:
            self._open.pop(next(iter(self._open)))
        self._open[(chat_id, message_id)] = account_id

    def is_open(self, chat_id: int, message_id: int) -> bool:
        """Whether that message is an open prompt."""
        return (chat_id, message_id) in self._open

    def answered(self, chat_id: int, message_id: int) -> int | None:
        """The prompt's account id (0: a new one), now closed; None if it was not one."""
        return self._open.pop((chat_id, message_id), None)


class AccountPrompt(filters.MessageFilter):
    """A reply to one of the bot's open account prompts."""

    def __init__(self, prompts: Prompts) -> None:
        super().__init__()
        self.prompts = prompts

    def filter(self, message) -> bool:  # type: ignore[no-untyped-def]
        """True for a reply to an open prompt of this module."""
        replied = message.reply_to_message
        return replied is not None and self.prompts.is_open(message.chat.id, replied.message_id)


def prompts_of(context: BotContext) -> Prompts:
    """This application's open account prompts."""
    return context.application.bot_data["account_prompts"]  # type: ignore[no-any-return]
