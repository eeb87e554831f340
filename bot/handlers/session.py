"""/start /help /status /login /pair /logout, and the login QR / connection notices."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import segno
from telegram import Bot, InlineKeyboardMarkup, InputMediaPhoto, Update
from telegram.error import BadRequest
from telegram.ext import Application, CommandHandler

from bot import answers, commands, keyboards, render, render_session
from bot.buttons import button
from bot.callbacks import SessionAction
from bot.context import Account, BotContext, LoginView, Services
from core.errors import AppError
from core.events import ConnectionChanged, GatewayEvent, QrIssued, QrWindowEnded
from core.ids import ConnectionState
from core.notifications import ConnectionNotice

logger = logging.getLogger(__name__)

QUIET_STATES = {
    ConnectionState.STARTING,
    ConnectionState.CONNECTING,
    ConnectionState.WAITING_FOR_QR,
}


def qr_png(code: str) -> bytes:
    """Render a login QR as PNG (segno, as neonize itself does)."""
    buf = io.BytesIO()
    segno.make_qr(code).save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


async def cmd_start(update: Update, context: BotContext) -> None:
    """/start: a greeting with the WhatsApp session's state."""
    await update.effective_message.reply_text(
        render_session.start_text(context.services.gateway.state)
    )


async def cmd_help(update: Update, context: BotContext) -> None:
    """/help: every command, from the command table."""
    await update.effective_message.reply_text(commands.help_text())


async def cmd_status(update: Update, context: BotContext) -> None:
    """/status: the session, today's traffic, the outboxes, the LLM and the next digest."""
    s = context.services
    jobs = context.job_queue.get_jobs_by_name("digest") if context.job_queue else ()
    next_run = min((j.next_t for j in jobs if j.next_t), default=None)
    snapshot = await s.status.snapshot(next_run)
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


async def cmd_pair(update: Update, context: BotContext) -> None:
    """/pair <number>: link WhatsApp with a pairing code instead of a QR."""
    usage = "Usage: /pair +4915112345678 (your WhatsApp number, international format)"
    phone = await answers.argument(update, context, usage)
    if not phone:
        return
    try:
        code = await context.services.gateway.pair_phone(phone)
    except (AppError, ValueError) as exc:
        await answers.error(update, exc)
        return
    digits = "".join(ch for ch in phone if "0" <= ch <= "9")
    await update.effective_message.reply_text(render_session.pairing_text(code, digits))


async def cmd_logout(update: Update, context: BotContext) -> None:
    """/logout: ask for confirmation before unlinking WhatsApp."""
    await update.effective_message.reply_text(
        "Unlink this bot from your WhatsApp? You will need /login to link it again.",
        reply_markup=keyboards.logout_confirm(),
    )


async def on_session(update: Update, context: BotContext, action: SessionAction) -> None:
    """A session button: confirm or cancel logout, or ask for a new QR."""
    query = update.callback_query
    await query.answer()
    s = context.services
    if action.action == "logout_no":
        await query.edit_message_text("Logout cancelled.")
    elif action.action == "logout_yes":
        await log_out(update, s.account, "Logged out. Send /login to link WhatsApp again.")
    else:
        s.logins[query.message.chat.id] = LoginView(query.message.chat.id)
        try:
            await s.gateway.request_login()
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


class SessionNotices:
    """Shows login QRs and tells the admins about every connection change."""

    def __init__(self, bot: Bot, services: Services, account: Account) -> None:
        self.bot = bot
        self.s = services
        self.account = account
        self.last_state: ConnectionState | None = None

    async def on_event(self, event: GatewayEvent) -> None:
        """Show a login QR, say when the QR window ended, or tell of a connection change."""
        match event:
            case QrIssued():
                await self._show_qr(event)
            case QrWindowEnded():
                await self._qr_ended()
            case ConnectionChanged(state=state, reason=reason):
                await self._state(state, reason)
            case _:
                pass

    async def _show_qr(self, qr: QrIssued) -> None:
        if not self.account.logins:  # not linked yet and nobody asked: show every admin
            for admin in sorted(self.s.owner_ids):
                self.account.logins[admin] = LoginView(admin)
        png = qr_png(qr.code)
        caption = self._labelled(render_session.qr_caption(qr, self.s.clock.now()))
        for view in list(self.account.logins.values()):
            if view.message_id is not None and view.is_photo:
                try:
                    await self.bot.edit_message_media(
                        InputMediaPhoto(png, caption=caption), view.chat_id, view.message_id
                    )
                    continue
                except BadRequest as exc:
                    if answers.not_modified(exc):
                        continue
                    logger.info("could not edit the QR photo; sending a new one")
            sent = await self.bot.send_photo(view.chat_id, png, caption=caption)
            view.message_id, view.is_photo = sent.message_id, True

    async def _qr_ended(self) -> None:
        for view in list(self.account.logins.values()):
            text = self._labelled(
                "The QR expired without a scan. Tap for a new one, or send /login."
            )
            mine = self.account.id if self.s.accounts.several else None
            await self._caption_or_send(view, text, keyboards.new_qr(mine))

    async def _caption_or_send(
        self, view: LoginView, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Put ``text`` under the login QR photo, or send it when there is no photo to edit."""
        if view.message_id is not None and view.is_photo:
            try:
                await self.bot.edit_message_caption(
                    view.chat_id, view.message_id, caption=text, reply_markup=markup
                )
                return
            except BadRequest:
                pass
        await self.bot.send_message(view.chat_id, text, reply_markup=markup)

    async def _state(self, state: ConnectionState, reason: str) -> None:
        if state == ConnectionState.CONNECTED:  # remembered for /accounts and the next start
            accounts = self.s.storage.accounts
            await accounts.set_own_jid(self.account.id, self.account.gateway.own_jid)
            device = self.account.gateway.device_jid
            if device:
                await accounts.set_setting(self.account.id, "device_jid", device)
        if state == ConnectionState.CONNECTED and self.account.logins:
            who = render.esc(render.phone_of(self.account.gateway.own_jid))
            for view in list(self.account.logins.values()):
                await self._caption_or_send(
                    view, self._labelled(f"✅ WhatsApp connected as {who}.")
                )
            self.account.logins.clear()
            self.last_state = state
            return
        if state == self.last_state or state in QUIET_STATES:
            return
        if self.last_state is None and state == ConnectionState.CONNECTED:
            self.last_state = state
            return  # the normal start: no need to announce it
        self.last_state = state
        await self.s.notifier.tell(ConnectionNotice(state.value, self._labelled(reason)))

    def _labelled(self, text: str) -> str:
        """``text`` after the account's label when there are several ("💼 Work: …")."""
        label = self.s.accounts.label_of(self.account.id)
        return f"💼 {render.title(label)}: {text}" if label else text


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Register the session commands and buttons."""
    app.add_handler(CommandHandler("start", cmd_start))
    app.add_handler(CommandHandler("help", cmd_help))
    app.add_handler(CommandHandler("status", cmd_status))
    app.add_handler(CommandHandler("login", cmd_login))
    app.add_handler(CommandHandler("pair", cmd_pair))
    app.add_handler(CommandHandler("logout", cmd_logout))
    app.add_handler(button(SessionAction, on_session))
