"""/digest, /catchup, the daily digest job and its schedule."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from assistant.digest import DigestView
from assistant.preferences import Preferences
from bot import keyboards, render, render_digest
from bot.buttons import button
from bot.callbacks import DigestAction
from bot.context import BotContext, Services
from core.errors import NotFound
from core.notifications import DigestReady

logger = logging.getLogger(__name__)

JOB_NAME = "digest"


async def send_daily(services: Services) -> None:
    """Build the daily digest, queue it to every admin (durable), and move the mark."""
    view = await services.digests.build("daily")
    ready = DigestReady(view.digest.id, view.report)
    await services.storage.digests.queue_and_mark_sent(ready, services.owner_ids)
    services.notifier.wake()
    logger.info("daily digest %d queued (%d messages)", view.digest.id, view.digest.message_count)


async def digest_job(context: BotContext) -> None:
    """The scheduled daily digest."""
    await send_daily(context.services)


def schedule(app: Application, services: Services, prefs: Preferences) -> None:  # type: ignore[type-arg]
    """(Re)schedule the daily digest from the current preferences."""
    jq = app.job_queue
    for job in jq.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()
    if not prefs.digest_enabled:
        return
    at = time(prefs.digest_clock.hour, prefs.digest_clock.minute, tzinfo=services.tz)
    days = tuple((d + 1) % 7 for d in prefs.digest_weekdays)  # PTB: 0 = Sunday
    jq.run_daily(digest_job, time=at, days=days, name=JOB_NAME)


def last_scheduled(services: Services, prefs: Preferences) -> datetime:
    """Return the most recent past scheduled digest time (local)."""
    now = services.clock.now().astimezone(services.tz)
    at = datetime.combine(now.date(), prefs.digest_clock, services.tz)
    while at > now or at.weekday() not in prefs.digest_weekdays:
        at -= timedelta(days=1)
    return at


async def catch_up_missed(services: Services, prefs: Preferences) -> bool:
    """Send the digest once if its time passed while the process was down."""
    if prefs.digest_enabled and await services.digests.missed(last_scheduled(services, prefs)):
        logger.info("a scheduled digest was missed while down; sending it now")
        await send_daily(services)
        return True
    return False


async def _reply_digest(update: Update, view: DigestView, confirm: bool) -> None:
    chunks = render_digest.pages(view.report)
    for i, (text, markup) in enumerate(chunks):
        if confirm and i == len(chunks) - 1:
            rows = list(markup.inline_keyboard) if markup else []
            rows += keyboards.digest_confirm(view.digest.id).inline_keyboard
            markup = InlineKeyboardMarkup(rows)
        await update.effective_message.reply_text(text, reply_markup=markup)


async def cmd_digest(update: Update, context: BotContext) -> None:
    """/digest: a digest since the last one now (``/digest last`` shows the last one again)."""
    if context.args and context.args[0].lower() == "last":
        last = await context.services.digests.latest()
        text = last.text if last else "No digest has been made yet. Send /digest for one."
        for chunk in render.split(text):
            await update.effective_message.reply_text(chunk)
        return
    view = await context.services.digests.build("manual")
    await _reply_digest(update, view, confirm=True)


async def cmd_catchup(update: Update, context: BotContext) -> None:
    """/catchup [hours]: a digest of the last hours (8 unless given), without moving the mark."""
    arg = (context.args or ["8"])[0]
    try:
        hours = float(arg)
        if not 0 < hours <= 24 * 14:
            raise ValueError
    except ValueError:
        await update.effective_message.reply_text("Usage: /catchup [hours], e.g. /catchup 4")
        return
    view = await context.services.digests.build("catchup", hours=hours)
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
