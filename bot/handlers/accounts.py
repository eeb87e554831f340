"""/accounts: several WhatsApp accounts under one bot — list them, add one (a label, then its
login QR), rename, log out, choose the default; and starting an account's session."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from telegram import ForceReply, Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot import answers, keyboards, render
from bot.buttons import button
from bot.callbacks import AccountAction
from bot.context import Account, BotContext, Services
from bot.handlers import session
from bot.render_accounts import AccountRow, accounts_text, title
from core.errors import AppError
from core.notifications import Notice

logger = logging.getLogger(__name__)

ADD_PROMPT = "➕ New WhatsApp account"
RENAME_PROMPT = "✏️ Rename account"
RENAME_ID = re.compile(rf"^{re.escape(RENAME_PROMPT)} #(\d{{1,9}})\b")


async def start_account(app: Application, services: Services, account: Account) -> None:  # type: ignore[type-arg]
    """Subscribe an account's ingest (first: stored before anyone reacts) and its session
    notices, replay its journal, start its session."""
    account.gateway.subscribe(account.ingest.on_event)
    account.gateway.subscribe(session.SessionNotices(app.bot, services, account).on_event)
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
        name = title(account.label)
        await services.notifier.tell(
            Notice(
                f"💼 {name}: could not start ({type(exc).__name__}); the others run. See the log."
            )
        )


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
        reply_markup=keyboards.accounts(
            [(a.id, a.label) for a in s.accounts], s.accounts.default_id
        ),
    )


async def on_account(update: Update, context: BotContext, data: AccountAction) -> None:
    """An /accounts button: add, rename, log out (asks first), default, or log in."""
    query = update.callback_query
    await query.answer()
    s = context.services
    chat_id = query.message.chat.id
    if data.action == "add":
        await context.bot.send_message(
            chat_id,
            f"{ADD_PROMPT}: reply with a short name for it (e.g. work).",
            reply_markup=ForceReply(selective=True, input_field_placeholder="work"),
        )
        return
    account = s.accounts.find(data.account_id)
    if account is None:
        await query.edit_message_text("That account is no longer linked. See /accounts.")
        return
    name = render.esc(title(account.label))
    if data.action == "rename":
        await context.bot.send_message(
            chat_id,
            f"{RENAME_PROMPT} #{account.id} ({name}): reply with its new name.",
            reply_markup=ForceReply(selective=True, input_field_placeholder=account.label),
        )
    elif data.action == "logout":
        await query.edit_message_text(
            f"Unlink the bot from {name}? The other accounts keep running.",
            reply_markup=keyboards.account_logout_confirm(account.id, account.label),
        )
    elif data.action == "logout_no":
        await query.edit_message_text("Logout cancelled.")
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
    prompt = message.reply_to_message.text or ""
    s = context.services
    label = (message.text or "").strip()
    try:
        if prompt.startswith(ADD_PROMPT):
            info = await s.storage.accounts.add(label)
            account = s.factory.build(info)
            s.accounts.add(account)
            account.logins[message.chat.id] = session.LoginView(message.chat.id)
            await start_safely(context.application, s, account)
            await message.reply_text(
                f"💼 {render.esc(title(info.label))} added. Waiting for its login QR — scan it "
                "in WhatsApp → Linked devices on that phone (or /pair there)."
            )
            return
        found = RENAME_ID.match(prompt)
        account = s.accounts.find(int(found.group(1))) if found else None
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
    prompts = filters.REPLY & filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(prompts & AccountPrompt(), on_account_reply))


class AccountPrompt(filters.MessageFilter):
    """A reply to the bot's "new account" or "rename account" prompt."""

    def filter(self, message) -> bool:  # type: ignore[no-untyped-def]
        """True for a reply to one of this module's prompts."""
        text = message.reply_to_message.text if message.reply_to_message else None
        return bool(text) and text.startswith((ADD_PROMPT, RENAME_PROMPT))
