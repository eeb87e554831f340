"""The login QR and the connection notices of one WhatsApp account: the QR photo shown to
the admins (edited in place as codes refresh) and every connection change in plain words."""

from __future__ import annotations

import io
import logging

import segno
from telegram import Bot, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest

from bot import answers, keyboards, render, render_session
from bot.context import Account, LoginView, Services
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


def labelled(s: Services, account: Account, text: str) -> str:
    """``text`` after the account's label when there are several ("💼 Work: …")."""
    label = s.accounts.label_of(account.id)
    return f"💼 {render.esc(render.title(label))}: {text}" if label else text


class SessionNotices:
    """Shows login QRs and tells the admins about every connection change."""

    def __init__(self, bot: Bot, services: Services, account: Account) -> None:
        self.bot = bot
        self.s = services
        self.account = account
        self.last_state: ConnectionState | None = None

    async def on_event(self, event: GatewayEvent) -> None:
        """Show a login QR, say when the QR window ended, or tell of a connection change;
        nothing once the account is being removed (its logout is no news to the owner)."""
        if self.s.accounts.find(self.account.id) is None:
            return
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
        return labelled(self.s, self.account, text)
