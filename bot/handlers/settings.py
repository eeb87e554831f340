"""/settings: show and change the stored preferences."""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CommandHandler

from assistant.preferences import PER_ACCOUNT, Preferences
from bot import answers, keyboards, render
from bot.account_args import split_account
from bot.buttons import button
from bot.callbacks import SettingAction
from bot.context import Account, BotContext
from core.errors import InvalidInput, NotFound
from core.setting_keys import EDITABLE

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def settings_text(p: Preferences) -> str:
    """The /settings page: every setting with its current value."""
    return "\n".join(
        [
            "<b>Settings</b> (stored; they override the environment)",
            f"threshold = {p.threshold} (forward at this score or above)",
            f"digest_enabled = {'on' if p.digest_enabled else 'off'}",
            f"digest_time = {p.digest_time}",
            f"digest_weekdays = {','.join(DAYS[d] for d in p.digest_weekdays)}",
            f"ai_replies = {'on' if p.ai_replies else 'off'} (switches every AI reply)",
            f"read_on_reply = {'on' if p.read_on_reply else 'off'} "
            "(your reply from Telegram marks the message read on WhatsApp: blue ticks)",
            f"vip = {render.esc(', '.join(p.vip)) or '—'}",
            f"keywords = {render.esc(', '.join(p.keywords)) or '—'}",
            f"unanswered_hours = {p.unanswered_hours}",
            f"voice_max_seconds = {p.voice_max_seconds} (longer voice notes are not transcribed)",
            "",
            "Change one with <code>/settings key value</code>, e.g. "
            "<code>/settings digest_time 07:30</code> or "
            "<code>/settings keywords invoice,rent</code>; "
            "<code>/settings triage_reset</code> forgets what triage learned from your "
            "👎, 👍 and ‼️ corrections",
        ]
    )


def _shown(key: str, value: object) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def account_settings_text(p: Preferences, own: dict[str, object], label: str) -> str:
    """One account's page: its effective ``PER_ACCOUNT`` settings, and which it overrides."""
    name = render.esc(render.title(label))
    lines = [f"<b>Settings of {name}</b> (its own override the global ones)"]
    for key in PER_ACCOUNT:
        whose = "this account's own" if key in own else "global"
        lines.append(f"{key} = {_shown(key, getattr(p, key))} ({whose})")
    code = render.esc(label)
    lines += [
        "",
        f"Change one with <code>/settings {code} key value</code>, e.g. "
        f"<code>/settings {code} threshold 5</code>; "
        f"<code>/settings {code} key default</code> goes back to the global value",
    ]
    return "\n".join(lines)


async def _account_settings(
    update: Update, context: BotContext, account: Account, rest: list[str]
) -> None:
    """/settings <label> [key value|default]: change or show one account's overrides."""
    prefs = context.services.prefs
    if rest:
        key, value = rest[0].lower(), " ".join(rest[1:])
        try:
            await prefs.set_for(account.id, key, None if value.lower() == "default" else value)
        except InvalidInput as exc:
            await answers.error(update, exc)
            return
    own = prefs.overrides.get(account.id, {})
    text = account_settings_text(prefs.for_account(account.id), own, account.label)
    await update.effective_message.reply_text(text)


async def cmd_settings(update: Update, context: BotContext) -> None:
    """/settings [key value]: change a setting (or ``triage_reset``), then show them all;
    ``/settings <account> [key value]`` with several accounts: that account's own."""
    prefs = context.services.prefs
    args = context.args or []
    account, rest = split_account(context.services.accounts, args)
    if account is not None:
        await _account_settings(update, context, account, rest)
        return
    if args and args[0].lower() == "triage_reset":
        learner = context.services.learner
        forgot = learner.state.corrections if learner is not None else 0
        if learner is not None:
            await learner.reset()
        await update.effective_message.reply_text(
            f"Triage forgot your {forgot} correction(s): it scores with the shipped model again."
        )
        return
    if args:
        key, value = args[0].lower(), " ".join(args[1:])
        if key not in EDITABLE:
            await update.effective_message.reply_text(
                f"Unknown setting “{render.esc(key)}”. Known: {', '.join(EDITABLE)}"
            )
            return
        try:
            await prefs.set(key, value)
        except InvalidInput as exc:
            await answers.error(update, exc)
            return
    p = prefs.current
    await update.effective_message.reply_text(settings_text(p), reply_markup=keyboards.settings(p))


async def on_setting(update: Update, context: BotContext, data: SettingAction) -> None:
    """A /settings button: flip or step a setting, then show the page again."""
    query = update.callback_query
    prefs = context.services.prefs
    try:
        if data.key == "noop":
            await query.answer()
            return
        if data.value == "toggle":
            await prefs.toggle(data.key)
        else:
            await prefs.set(data.key, data.value)
    except (InvalidInput, KeyError) as exc:  # a button from before the settings changed
        raise NotFound(str(exc)) from exc
    await query.answer("Saved.")
    p = prefs.current
    try:
        await query.edit_message_text(settings_text(p), reply_markup=keyboards.settings(p))
    except BadRequest as exc:
        if not answers.not_modified(exc):
            raise


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Register /settings and its buttons."""
    app.add_handler(CommandHandler("settings", cmd_settings))
    app.add_handler(button(SettingAction, on_setting))
