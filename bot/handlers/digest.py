"""/digest, /catchup, the daily digest job and its schedule. With several accounts, an
account whose digest settings are its own (``/settings <label> digest_time …``) gets its own
daily digest at its time and is left out of the digest of the others."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from assistant.digest import DigestView
from assistant.preferences import Preferences
from bot import keyboards, render, render_digest
from bot.account_args import split_account
from bot.buttons import button
from bot.callbacks import DigestAction
from bot.context import BotContext, Services
from core.errors import NotFound
from core.notifications import DigestReady

logger = logging.getLogger(__name__)

JOB_NAME = "digest"
#: The digest settings that give an account a daily digest of its own.
OWN_DIGEST = frozenset({"digest_enabled", "digest_time"})


def own_digests(services: Services) -> frozenset[int]:
    """The linked accounts with digest settings of their own (only with several accounts):
    they are left out of the digest of every account."""
    if not services.accounts.several:
        return frozenset()
    overrides = services.prefs.overrides
    return frozenset(
        a.id for a in services.accounts if OWN_DIGEST & overrides.get(a.id, {}).keys()
    )


async def send_daily(services: Services, account_id: int | None = None) -> None:
    """Build the daily digest (of one account with a digest of its own, else of the others),
    queue it to every admin (durable), and move its mark."""
    if account_id is None:
        view = await services.digests.build("daily", exclude=own_digests(services))
    else:
        view = await services.digests.build("daily", account_id=account_id)
    ready = DigestReady(view.digest.id, view.report)
    await services.storage.digests.queue_and_mark_sent(ready, services.owner_ids)
    services.notifier.wake()
    logger.info("daily digest %d queued (%d messages)", view.digest.id, view.digest.message_count)


async def digest_job(context: BotContext) -> None:
    """The scheduled daily digest (``job.data``: the account id of an account's own one,
    skipped once that account has no digest of its own any more)."""
    job = context.job
    account_id = job.data if job is not None else None
    if account_id is not None and account_id not in own_digests(context.services):
        logger.info("digest of account %d skipped: it has no digest of its own", account_id)
        return
    await send_daily(context.services, account_id)


def _run_daily(
    app: Application, services: Services, p: Preferences, name: str, data: object
) -> None:  # type: ignore[type-arg]
    at = time(p.digest_clock.hour, p.digest_clock.minute, tzinfo=services.tz)
    days = tuple((d + 1) % 7 for d in p.digest_weekdays)  # PTB: 0 = Sunday
    app.job_queue.run_daily(digest_job, time=at, days=days, name=name, data=data)


def is_digest_job(name: str | None) -> bool:
    """Whether a job is a daily digest: the one of every account or an account's own."""
    return name == JOB_NAME or (name or "").startswith(f"{JOB_NAME}:")


def schedule(app: Application, services: Services, prefs: Preferences) -> None:  # type: ignore[type-arg]
    """(Re)schedule the daily digest from the current preferences, and each account's own."""
    jq = app.job_queue
    for job in jq.jobs():
        if is_digest_job(job.name):
            job.schedule_removal()
    if prefs.digest_enabled:
        _run_daily(app, services, prefs, JOB_NAME, None)
    for account_id in sorted(own_digests(services)):
        own = services.prefs.for_account(account_id)
        if own.digest_enabled:
            _run_daily(app, services, own, f"{JOB_NAME}:{account_id}", account_id)


def next_run(app: Application) -> datetime | None:  # type: ignore[type-arg]
    """When the next daily digest goes out: the one of every account or an account's own."""
    times = [
        job.next_t
        for job in app.job_queue.jobs()
        if is_digest_job(job.name) and job.next_t is not None and not job.removed
    ]
    return min(times, default=None)


def last_scheduled(services: Services, prefs: Preferences) -> datetime:
    """Return the most recent past scheduled digest time (local)."""
    now = services.clock.now().astimezone(services.tz)
    at = datetime.combine(now.date(), prefs.digest_clock, services.tz)
    while at > now or at.weekday() not in prefs.digest_weekdays:
        at -= timedelta(days=1)
    return at


async def catch_up_missed(services: Services, prefs: Preferences) -> bool:
    """Send each daily digest once whose time passed while the process was down: the one of
    every account, and each account's own (by its own time and "since" mark)."""
    sent = False
    if prefs.digest_enabled and await services.digests.missed(last_scheduled(services, prefs)):
        logger.info("a scheduled digest was missed while down; sending it now")
        await send_daily(services)
        sent = True
    for account_id in sorted(own_digests(services)):
        own = services.prefs.for_account(account_id)
        due = last_scheduled(services, own)
        if own.digest_enabled and await services.digests.missed(due, account_id):
            logger.info("account %d's own digest was missed while down; sending it", account_id)
            await send_daily(services, account_id)
            sent = True
    return sent


async def accounts_changed(app: Application, services: Services) -> None:  # type: ignore[type-arg]
    """Reschedule the digests after an account was added or removed while the bot runs: an
    account's own digest starts or stops with it, and with one account left every account's
    digest is the one daily digest again. The per-account settings are read again first (a
    removed account's go with it; an id used again starts with none)."""
    await services.prefs.load()
    schedule(app, services, services.prefs.current)


async def _reply_digest(update: Update, view: DigestView, confirm: bool) -> None:
    chunks = render_digest.pages(view.report)
    for i, (text, markup) in enumerate(chunks):
        if confirm and i == len(chunks) - 1:
            rows = list(markup.inline_keyboard) if markup else []
            rows += keyboards.digest_confirm(view.digest.id).inline_keyboard
            markup = InlineKeyboardMarkup(rows)
        await update.effective_message.reply_text(text, reply_markup=markup)


async def cmd_digest(update: Update, context: BotContext) -> None:
    """/digest [account]: a digest since the last one now (``/digest last`` shows the last
    one again); with several accounts, a label narrows it to that account."""
    account, _ = split_account(context.services.accounts, context.args or [])
    if account is not None:  # one account's part: no ✅, the mark is the digest of them all
        view = await context.services.digests.build("manual", account_id=account.id)
        await _reply_digest(update, view, confirm=False)
        return
    if context.args and context.args[0].lower() == "last":
        last = await context.services.digests.latest()
        text = last.text if last else "No digest has been made yet. Send /digest for one."
        for chunk in render.split(text):
            await update.effective_message.reply_text(chunk)
        return
    view = await context.services.digests.build("manual")
    await _reply_digest(update, view, confirm=True)


async def cmd_catchup(update: Update, context: BotContext) -> None:
    """/catchup [hours] [account]: a digest of the last hours (8 unless given), without moving
    the mark; with several accounts, a label after the hours narrows it to that account."""
    args = context.args or ["8"]
    account, rest = split_account(context.services.accounts, args[1:])
    arg = args[0] if not rest else "bad"
    try:
        hours = float(arg)
        if not 0 < hours <= 24 * 14:
            raise ValueError
    except ValueError:
        await update.effective_message.reply_text("Usage: /catchup [hours], e.g. /catchup 4")
        return
    account_id = account.id if account is not None else None
    view = await context.services.digests.build("catchup", hours=hours, account_id=account_id)
    await _reply_digest(update, view, confirm=False)


async def on_digest(update: Update, context: BotContext, data: DigestAction) -> None:
    """✅ Mark as read: the next digest starts after this one."""
    query = update.callback_query
    digest = await context.services.digests.get(data.digest_id)
    if digest is None:
        raise NotFound("that digest is gone")
    await context.services.digests.mark_sent(digest.id)
    await query.answer("Marked as read: the next digest starts from here.")


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Register the digest commands and button."""
    app.add_handler(CommandHandler("digest", cmd_digest))
    app.add_handler(CommandHandler("catchup", cmd_catchup))
    app.add_handler(button(DigestAction, on_digest))
