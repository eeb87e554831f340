"""/start /help /status /login /pair /logout (the login QR and connection notices are in
bot/session_notices.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import answers, commands, keyboards, keyboards_accounts, render, render_session
from bot.account_args import split_account
from bot.buttons import button
from bot.callbacks import SessionAction
from bot.context import Account, Accounts, BotContext, LoginView, Services
from bot.handlers import digest
from bot.render_accounts import logout_question
from bot.session_notices import labelled
from core.errors import AppError
from core.ids import ConnectionState

logger = logging.getLogger(__name__)


async def cmd_start(update: Update, context: BotContext) -> None:
    """/start: a greeting with the WhatsApp session's state (each account's, when several)."""
    s = context.services
    if s.accounts.several:
        states = [(a.label, a.gateway.state) for a in s.accounts]
        text = render_session.start_text_accounts(states)
    else:
        text = render_session.start_text(s.gateway.state)
    await update.effective_message.reply_text(text)


async def cmd_help(update: Update, context: BotContext) -> None:
    """/help: every command, from the command table."""
    await update.effective_message.reply_text(commands.help_text())


async def cmd_status(update: Update, context: BotContext) -> None:
    """/status: the session, today's traffic, the outboxes, the LLM and the next digest."""
    s = context.services
    snapshot = await s.status.snapshot(digest.next_run(context.application))
    await update.effective_message.reply_text(render_session.status_text(snapshot, s.tz))


async def cmd_login(update: Update, context: BotContext) -> None:
    """/login [account]: link WhatsApp; the QR codes follow as events arrive. With several
    accounts and none named, ask which one (or a new one)."""
    s = context.services
    label = " ".join(context.args or [])
    if label:
        account = s.accounts.by_label(label)
        if account is None:
            await update.effective_message.reply_text(
                f"There is no account “{render.esc(label)}”. See /accounts."
            )
            return
    elif s.accounts.several:
        await update.effective_message.reply_text(
            "Which account do you want to link?",
            reply_markup=keyboards.login_choice([(a.id, a.label) for a in s.accounts]),
        )
        return
    else:
        account = s.account
    await begin_login(update.effective_chat.id, context, account)


async def begin_login(chat_id: int, context: BotContext, account: Account) -> None:
    """Ask ``account``'s session for a login QR, shown in ``chat_id`` as it comes."""
    s = context.services
    if account.gateway.state == ConnectionState.CONNECTED:
        number = render.esc(render.phone_of(account.gateway.own_jid))
        await context.bot.send_message(
            chat_id,
            f"Already connected as {number}: {session_line(s, account)}.\n"
            "Use /logout first to link another number to it, or ➕ in /accounts to add one.",
        )
        return
    account.logins[chat_id] = LoginView(chat_id)
    try:
        await account.gateway.request_login()
    except AppError as exc:
        await context.bot.send_message(chat_id, f"❌ {render.esc(str(exc))}")
        return
    await context.bot.send_message(chat_id, "Waiting for a login QR from WhatsApp…")


def session_line(s: Services, account: Account | None = None) -> str:
    """The session's state, since when, and how long ago WhatsApp last sent anything."""
    g = (account or s.account).gateway
    age = None
    if g.last_event_at is not None:
        age = timedelta(seconds=max(0.0, s.clock.monotonic() - g.last_event_at))
    return render_session.session_line(g.state, g.state_since, age, s.tz)


def pair_arguments(accounts: Accounts, args: list[str]) -> tuple[str, str]:
    """``/pair [account] <number>`` as (label, number): the label is the words before the
    first one made of digits and ``+-().`` only, so a number is never read as a label;
    "" with one account, where every word is the number (as always)."""
    if not accounts.several:
        return "", " ".join(args)
    first = next((i for i, w in enumerate(args) if not w.strip(PHONE_CHARS)), len(args))
    return " ".join(args[:first]), " ".join(args[first:])


PHONE_CHARS = "+-().0123456789"


async def cmd_pair(update: Update, context: BotContext) -> None:
    """/pair [account] <number>: link WhatsApp with a pairing code instead of a QR; with
    several accounts and none named, the default one (the answer names it)."""
    s, reply = context.services, update.effective_message.reply_text
    label, phone = pair_arguments(s.accounts, context.args or [])
    account = s.accounts.by_label(label) if label else s.account
    if account is None:
        await reply(f"There is no account “{render.esc(label)}”. See /accounts.")
        return
    if not phone:
        other = " — or /pair work +49… for the account labelled work" if s.accounts.several else ""
        await reply(
            f"Usage: /pair +4915112345678 (your WhatsApp number, international format){other}"
        )
        return
    named = labelled(s, account, "")
    try:
        code = await account.gateway.pair_phone(phone)
    except (AppError, ValueError) as exc:
        await answers.error(update, exc, f"❌ {named}")
        return
    digits = "".join(ch for ch in phone if "0" <= ch <= "9")
    await reply(named + render_session.pairing_text(code, digits))


async def cmd_logout(update: Update, context: BotContext) -> None:
    """/logout [account]: ask for confirmation before unlinking WhatsApp; with several
    accounts and none named, ask which one first (its button leads to the same question as
    🚪 Log out in /accounts, whose answer carries the account)."""
    s, reply = context.services, update.effective_message.reply_text
    account, rest = split_account(s.accounts, context.args or [])
    if account is not None:
        await reply(
            logout_question(account.label),
            reply_markup=keyboards_accounts.account_logout_confirm(account.id, account.label),
        )
    elif rest and s.accounts.several:
        await reply(f"There is no account “{render.esc(' '.join(rest))}”. See /accounts.")
    elif s.accounts.several:
        await reply(
            "Which account do you want to log out? The others keep running.",
            reply_markup=keyboards.logout_choice([(a.id, a.label) for a in s.accounts]),
        )
    else:
        await reply(
            "Unlink this bot from your WhatsApp? You will need /login to link it again.",
            reply_markup=keyboards.logout_confirm(),
        )


async def on_session(update: Update, context: BotContext, action: SessionAction) -> None:
    """A session button: confirm or cancel logout, or ask for a new QR."""
    query = update.callback_query
    await query.answer()
    s = context.services
    # these buttons are only shown while there is one account, which is always the first:
    # pressed after more were added, they still mean it (never the default of now)
    account = s.accounts.find(1) or s.account
    if action.action == "logout_no":
        await query.edit_message_text("Logout cancelled.")
    elif action.action == "logout_yes":
        again = f"/login {render.esc(account.label)}" if s.accounts.several else "/login"
        done = labelled(s, account, f"Logged out. Send {again} to link WhatsApp again.")
        await log_out(update, account, done)
    else:
        account.logins[query.message.chat.id] = LoginView(query.message.chat.id)
        try:
            await account.gateway.request_login()
        except AppError as exc:
            await context.bot.send_message(query.message.chat.id, f"❌ {render.esc(str(exc))}")


async def log_out(update: Update, account: Account, done: str) -> None:
    """Unlink ``account`` (the owner confirmed with a button) and say ``done``, or why not."""
    query = update.callback_query
    try:
        await account.gateway.logout()
    except AppError as exc:
        await query.edit_message_text(f"❌ Logout failed: {render.esc(str(exc))}")
        return
    await query.edit_message_text(done)


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Register the session commands and buttons."""
    app.add_handler(CommandHandler("start", cmd_start))
    app.add_handler(CommandHandler("help", cmd_help))
    app.add_handler(CommandHandler("status", cmd_status))
    app.add_handler(CommandHandler("login", cmd_login))
    app.add_handler(CommandHandler("pair", cmd_pair))
    app.add_handler(CommandHandler("logout", cmd_logout))
    app.add_handler(button(SessionAction, on_session))
