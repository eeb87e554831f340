"""The composition root: settings → storage → assistant services → gateway → PTB Application.

The only module that names concrete classes. Startup order: storage, LLM client, services,
gateway subscriptions (ingest first, so every message is stored before anything reacts),
gateway start, the Telegram outbox worker, jobs, command menu. Shutdown in reverse.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from assistant.preferences import Preferences
from assistant.voice import VoiceService
from bot import buttons, callbacks, commands, datadir, render
from bot.config import Settings
from bot.context import BotContext, Services
from bot.handlers import (
    access,
    accounts,
    chats,
    digest,
    messaging,
    replies,
    send,
    session,
    settings,
)
from bot.health import HealthEndpoint
from bot.health_report import HealthMonitor
from bot.lifecycle import join_workers, serve
from bot.logs import configure_logging
from bot.wiring import apply_llm_prefs, build_services
from core.tasks import Clock, TaskGroup
from storage import close_storage
from whatsapp.session import DataDirLock

logger = logging.getLogger(__name__)

#: Threads for blocking work: neonize sessions (one each), fsyncs, downloads, the store.
EXECUTOR_THREADS = 32


def build_application(s: Settings, clock: Clock | None = None) -> Application:  # type: ignore[type-arg]
    """Build the PTB Application with every handler; nothing starts here."""
    defaults = Defaults(
        parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    app = (
        ApplicationBuilder()
        .token(s.telegram_bot_token.get_secret_value())
        .base_url(s.telegram_api_base_url)
        .base_file_url(s.telegram_file_base_url)
        .defaults(defaults)
        .rate_limiter(AIORateLimiter(max_retries=0))
        .context_types(ContextTypes(context=BotContext))
        .post_init(on_startup)
        .post_shutdown(on_shutdown)
        .build()
    )
    app.bot_data["settings"] = s
    app.bot_data["clock"] = clock or Clock()
    # Order matters: the owner guard (group -2) first, then one module per feature.
    access.register(app)
    session.register(app)
    accounts.register(app)  # its prompt replies before messaging's general reply handler
    chats.register(app)
    messaging.register(app)
    send.register(app)
    replies.register(app)
    digest.register(app)
    settings.register(app)
    app.add_handler(MessageHandler(filters.COMMAND, on_unknown_command), group=1)
    unknown = "|".join(callbacks.KNOWN_PREFIXES)
    app.add_handler(CallbackQueryHandler(buttons.expired, pattern=f"^(?!({unknown}):)"))
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.COMMAND & ~filters.REPLY, on_plain_text
        ),
        group=1,
    )
    app.add_error_handler(on_error)
    return app


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """A command no handler knows: say so and point to /help."""
    if update.effective_message is None or update.effective_message.text is None:
        return
    command = update.effective_message.text.split()[0][:40]
    known = {f"/{c.name}" for c in commands.COMMANDS}
    if command.split("@")[0] not in known:
        await update.effective_message.reply_text(
            f"Unknown command {render.esc(command)}. See /help."
        )


async def on_plain_text(update: Update, context: BotContext) -> None:
    """A text that is no command and no reply: say how to answer or write."""
    await update.effective_message.reply_text(
        "To answer a WhatsApp message, reply to its forward. To write to someone: "
        "/send &lt;name or number&gt; &lt;text&gt;. All commands: /help"
    )


async def on_error(update: object, context: BotContext) -> None:
    """Log a handler's error (without message text) and tell the owner briefly."""
    logger.error("unhandled error in a Telegram handler", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                f"Something went wrong ({type(context.error).__name__}); it is logged. "
                "Please try again.",
                parse_mode=None,
            )
        except Exception:
            logger.exception("could not tell the admin about the error")


async def on_startup(app: Application) -> None:  # type: ignore[type-arg]
    """post_init (tests run the app this way; ``run`` does the two steps itself)."""
    await start_core(app)
    await start_telegram(app)


async def start_core(app: Application) -> None:  # type: ignore[type-arg]
    """Open the store, build the services, start the WhatsApp session and the jobs. Needs no
    Telegram: what is for the owner waits in the Telegram outbox."""
    s: Settings = app.bot_data["settings"]
    clock: Clock = app.bot_data["clock"]
    if "lock" not in app.bot_data:
        lock = DataDirLock(s.data_dir)
        lock.acquire()
        app.bot_data["lock"] = lock
    services = await build_services(app, s, clock)
    await apply_llm_prefs(s, services.llm, services.prefs.current)
    await start_accounts(app, services)

    async def reschedule(p: Preferences) -> None:
        digest.schedule(app, services, p)
        await apply_llm_prefs(s, services.llm, p)

    services.prefs.on_change(reschedule)
    digest.schedule(app, services, services.prefs.current)
    app.job_queue.run_repeating(_retry_job, interval=300, first=60, name="retries")
    app.job_queue.run_repeating(
        _address_book_job, interval=86_400, first=86_400, name="address-book"
    )
    await app.job_queue.start()  # digests are due whether or not Telegram answers
    await digest.catch_up_missed(services, services.prefs.current)
    if s.health_port is not None:
        endpoint = HealthEndpoint(
            HealthMonitor(services), asyncio.get_running_loop(), s.health_host, s.health_port
        )
        endpoint.start()
        app.bot_data["health"] = endpoint
    logger.info(
        "wa-secretary started (%s backend, %d admin(s))", s.whatsapp_backend, len(s.owner_ids)
    )


async def start_accounts(app: Application, services: Services) -> None:  # type: ignore[type-arg]
    """Start every account side by side, so that one slow journal replay never holds up
    another account's forwards. The added accounts start in the background (each reports
    its own failure and is left stopped); this returns once the first account started and
    raises its failure, as it always did — without it there is nothing to run."""
    starts = TaskGroup("account-starts")  # cancelled first at shutdown
    app.bot_data["account_starts"] = starts
    first = [a for a in services.accounts if a.id == 1]
    for account in services.accounts:
        if account.id != 1:
            account.starting = starts.spawn(
                accounts.start_safely(app, services, account), f"start-{account.id}"
            )
    for account in first:
        await accounts.start_safely(app, services, account)


async def start_telegram(app: Application) -> None:  # type: ignore[type-arg]
    """Once Telegram answers: deliver the outbox, register the command menu."""
    services: Services = app.bot_data["services"]
    tasks = TaskGroup("bot")
    tasks.spawn(services.notifier.run(), "telegram-outbox")
    app.bot_data["tasks"] = tasks
    try:
        await app.bot.set_my_commands(commands.menu())
    except TelegramError as exc:
        logger.warning("could not register the command menu: %s", exc.message[:200])
    logger.info("Telegram connected")


async def _retry_job(context: BotContext) -> None:
    """Every 5 minutes, for each account on its own: queued sends, then failed downloads."""
    for account in context.services.accounts:
        try:
            await account.sending.flush()
            await account.ingest.media.retry()
        except Exception:
            logger.exception("retries of WhatsApp account %d failed; the others go on", account.id)


async def _address_book_job(context: BotContext) -> None:
    """Daily: read the saved contacts and the groups' subjects again (names change)."""
    for account in context.services.accounts:
        try:
            await account.gateway.refresh_address_book()
        except Exception:
            logger.exception("address book of WhatsApp account %d not read", account.id)


async def on_shutdown(app: Application) -> None:  # type: ignore[type-arg]
    """post_shutdown: stop the session, the workers and the database, in reverse order."""
    endpoint: HealthEndpoint | None = app.bot_data.pop("health", None)
    if endpoint is not None:
        await endpoint.stop()
    services: Services | None = app.bot_data.get("services")
    if services is not None:
        starts: TaskGroup | None = app.bot_data.pop("account_starts", None)
        if starts is not None:  # an account still replaying its journal: not started
            await starts.cancel_all()
        for account in services.accounts:
            await account.gateway.stop()
        tasks: TaskGroup | None = app.bot_data.get("tasks")
        if tasks is not None:
            await tasks.cancel_all()
        for account in services.accounts:
            await account.ingest.stop()
        await services.llm.aclose()
        voice: VoiceService | None = app.bot_data.pop("voice", None)
        if voice is not None:
            await voice.transcriber.aclose()
        await close_storage()
    lock = app.bot_data.pop("lock", None)
    if lock is not None:
        lock.release()
    logger.info("wa-secretary stopped")


def run(s: Settings) -> int:
    """Run the bot until stopped; return the process exit code."""
    configure_logging(s.log_level, s.secret_values())
    datadir.secure(s.data_dir)
    lock = DataDirLock(s.data_dir)
    lock.acquire()
    app = build_application(s)
    app.bot_data["lock"] = lock

    async def main() -> int:
        # Each linked account's neonize client holds one executor thread for as long as it
        # runs (and an expired login may leave one parked): the default pool (6 threads on
        # 2 cores) would leave journal fsyncs and downloads waiting with a few accounts.
        workers = ThreadPoolExecutor(max_workers=EXECUTOR_THREADS, thread_name_prefix="worker")
        asyncio.get_running_loop().set_default_executor(workers)
        code = 1  # what a failure of serve() exits with
        try:
            code = await serve(app, app.bot_data["clock"], start_core, start_telegram, on_shutdown)
        finally:  # a thread stuck in Go must not hang the exit, however serve() ended
            await join_workers(workers, code)
        return code

    return asyncio.run(main())
