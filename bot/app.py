"""The composition root: settings → storage → assistant services → gateway → PTB Application.

The only module that names concrete classes. Startup order: storage, LLM client, services,
gateway subscriptions (ingest first, so every message is stored before anything reacts),
gateway start, the Telegram outbox worker, jobs, command menu. Shutdown in reverse.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

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

from assistant.chats import ChatService
from assistant.digest import DigestService
from assistant.learning import TriageLearner
from assistant.llm.base import LLMError, LLMProvider
from assistant.llm.guard import GuardedLLM
from assistant.pipeline import HistoryProgress, IngestHooks, IngestService, LLMBatches
from assistant.preferences import Preferences, PreferenceService
from assistant.recipients import RecipientService
from assistant.replies import ReplyService
from assistant.sending import SendingService, SendOutcome, SendStatus
from assistant.status import StatusService
from assistant.summarize import Summarizer
from assistant.triage import TriageRules, load_scorer
from assistant.voice import Transcriber, VoiceService
from bot import buttons, callbacks, commands, datadir, render, render_digest
from bot.config import Settings
from bot.context import BotContext, Services
from bot.handlers import access, chats, digest, messaging, replies, session, settings
from bot.health import HealthEndpoint, HealthMonitor
from bot.lifecycle import serve
from bot.logs import configure_logging
from bot.notifier import TelegramNotifier
from core import notifications
from core.errors import InvalidInput
from core.notifications import AutoReplied, SendResult
from core.tasks import Clock, TaskGroup
from storage import close_storage, open_storage
from storage.domain import Chat, Draft, OutboxItem, StoredMessage
from whatsapp.gateway import GatewayBase
from whatsapp.journal import EventJournal
from whatsapp.session import DataDirLock, session_store

logger = logging.getLogger(__name__)

EXIT_GAVE_UP = 3


def make_llm(s: Settings) -> LLMProvider:
    """Build the configured LLM provider."""
    if s.llm_provider == "openai":
        from assistant.llm.openai import OpenAIProvider

        key = s.openai_api_key.get_secret_value() if s.openai_api_key else None
        return OpenAIProvider(s.openai_model, key, s.openai_base_url)
    if s.llm_provider == "ollama":
        from assistant.llm.ollama import OllamaProvider

        return OllamaProvider(s.ollama_model, s.ollama_host)
    from assistant.llm.none import NoLLM

    return NoLLM()


def make_transcriber(s: Settings) -> Transcriber:
    """The speech-to-text endpoint (TRANSCRIBE_BASE_URL must be set)."""
    from assistant.llm.transcribe import OpenAITranscriber  # openai only when used

    key = s.transcribe_api_key.get_secret_value() if s.transcribe_api_key else None
    return OpenAITranscriber(s.transcribe_base_url or "", s.transcribe_model, key)


def make_gateway(s: Settings, clock: Clock, on_give_up: Any) -> GatewayBase:
    """Build the WhatsApp backend (neonize is imported only when it is the one used)."""
    journal = EventJournal(s.data_dir / "whatsapp" / "journal")
    if s.whatsapp_backend == "simulator":
        from whatsapp.simulator import SimulatedGateway

        gateway: GatewayBase = SimulatedGateway(
            s.data_dir, s.whatsapp_simulator_feed, clock, journal=journal
        )
    else:
        from whatsapp.neonize_backend import NeonizeGateway

        db_url = s.database_url.get_secret_value() if s.database_url else None
        gateway = NeonizeGateway(
            s.data_dir,
            session_store(s.data_dir, db_url),
            clock,
            on_give_up=on_give_up,
            journal=journal,
        )
    configure_logging(s.log_level, s.secret_values())  # importing neonize reset the root logger
    return gateway


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
    chats.register(app)
    messaging.register(app)
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
    if update.effective_message is None or update.effective_message.text is None:
        return
    command = update.effective_message.text.split()[0][:40]
    known = {f"/{c.name}" for c in commands.COMMANDS}
    if command.split("@")[0] not in known:
        await update.effective_message.reply_text(
            f"Unknown command {render.esc(command)}. See /help."
        )


async def on_plain_text(update: Update, context: BotContext) -> None:
    await update.effective_message.reply_text(
        "To answer a WhatsApp message, reply to its forward. To write to someone: "
        "/send &lt;name or number&gt; &lt;text&gt;. All commands: /help"
    )


async def on_error(update: object, context: BotContext) -> None:
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


class HistoryReporter:
    """One progress message per admin, edited as history batches arrive."""

    def __init__(self, app: Application, owner_ids: frozenset[int]) -> None:  # type: ignore[type-arg]
        self.app = app
        self.owner_ids = owner_ids
        self.messages: dict[int, int] = {}

    async def __call__(self, p: HistoryProgress) -> None:
        if not self.app.running:  # Telegram not reached yet: progress is not worth a queue
            return
        done = p.percent >= 100
        text = (
            f"{'✅ History sync done' if done else '⏳ Syncing history'}: "
            f"{p.messages} message(s) ({p.new_messages} new) in {p.chats} chat(s), "
            f"{p.percent}%"
        )
        for admin in sorted(self.owner_ids):
            try:
                if admin in self.messages:
                    await self.app.bot.edit_message_text(text, admin, self.messages[admin])
                else:
                    sent = await self.app.bot.send_message(admin, text)
                    self.messages[admin] = sent.message_id
            except Exception:
                logger.warning("could not update the history progress message", exc_info=True)
        if done:
            self.messages.clear()


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
    services.gateway.subscribe(services.ingest.on_event)  # first: stored before anyone reacts
    services.gateway.subscribe(session.SessionNotices(app.bot, services).on_event)
    await services.ingest.recover()
    await services.gateway.start()

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


async def build_services(app: Application, s: Settings, clock: Clock) -> Services:  # type: ignore[type-arg]
    """Open storage and build every service (concrete classes are named only here)."""
    storage = await open_storage(s.db_url)

    def give_up() -> None:
        app.bot_data["exit_code"] = EXIT_GAVE_UP
        stop = app.bot_data.get("stop")
        if stop is not None:
            stop.set()
        else:
            app.stop_running()

    gateway = make_gateway(s, clock, give_up)
    rules = TriageRules(timezone=s.tz)
    scorer = load_scorer()
    learner = TriageLearner(storage, scorer, rules) if scorer is not None else None
    if learner is not None:
        await learner.load()
    defaults = Preferences(digest_time=s.digest_time.strftime("%H:%M"))
    prefs = PreferenceService(storage, defaults, rules, vet=functools.partial(vet_setting, s))
    await prefs.load()
    chat_service = ChatService(storage, clock, s.tz)
    notifier = TelegramNotifier(app.bot, storage, s.tz, clock, s.owner_ids)
    llm = GuardedLLM(make_llm(s), clock, notify=notifier.notice)

    async def late(item: OutboxItem, outcome: SendOutcome) -> None:
        """A queued message went out or was given up: its confirmation's ticks move on; a
        message without one, and every failure, also gets a notice that makes a sound."""
        if await storage.ticks.settled(item.id):
            notifier.wake()
            if outcome.status == SendStatus.SENT:
                return
        await notifier.tell(SendResult(item.id, outcome.status.value, outcome.error))

    async def draft_ready(draft: Draft, chat: Chat, msg: StoredMessage) -> None:
        """Show the owner an AI draft with its buttons."""
        await notifier.tell(notifications.Draft(draft.id, chat.id, msg.id, draft.text))

    async def auto_sent(chat: Chat, text: str, outcome: SendOutcome) -> None:
        await notifier.tell(AutoReplied(chat.name, text, outcome.status.value, outcome.error))

    sending = SendingService(storage, gateway, s.data_dir, clock, on_late=late)
    voice = (
        VoiceService(
            storage,
            make_transcriber(s),
            lambda: prefs.current.voice_max_seconds,  # read for each note: applies at once
        )
        if s.transcribe_base_url
        else None
    )
    replies = ReplyService(
        storage, llm, sending, prefs, rules, clock, s.tz, on_draft=draft_ready, on_auto=auto_sent
    )
    app.bot_data["voice"] = voice  # closed on shutdown
    services = Services(
        storage=storage,
        gateway=gateway,
        ingest=IngestService(
            storage,
            gateway,
            s.owner_ids,
            rules,
            clock,
            media_budget=lambda: (prefs.current.media_day_mb, prefs.current.media_total_mb),
            scorer=scorer,
            hooks=IngestHooks(
                wake_notifier=notifier.wake,
                on_progress=HistoryReporter(app, s.owner_ids),
                on_connected=sending.flush,
                on_storage_problem=notifier.direct,
                replies=replies,
                voice=voice,
            ),
            llm=LLMBatches(llm),
        ),
        chats=chat_service,
        recipients=RecipientService(storage, gateway, chat_service, s.default_region),
        sending=sending,
        digests=DigestService(
            storage,
            clock,
            s.tz,
            rules,
            render_digest.text,
            lambda: prefs.current.unanswered_hours,  # read at each digest: applies at once
            Summarizer(llm),
        ),
        status=StatusService(storage, gateway, clock, s.tz, llm, learner),
        prefs=prefs,
        replies=replies,
        llm=llm,
        learner=learner,
        notifier=notifier,
        clock=clock,
        tz=s.tz,
        owner_ids=s.owner_ids,
    )
    app.bot_data["services"] = services
    return services


async def vet_setting(s: Settings, key: str, value: object) -> None:
    """Refuse an LLM provider that cannot work here, saying why, before it is stored."""
    if key != "llm_provider" or value == "none":
        return
    if value == "openai" and s.openai_api_key is None and s.openai_base_url is None:
        raise InvalidInput(
            "OPENAI_API_KEY is not set (or OPENAI_BASE_URL for a local server): "
            "the provider stays as it was"
        )
    candidate = make_llm(s.model_copy(update={"llm_provider": value}))
    try:
        await asyncio.wait_for(candidate.ping(), 10)
    except (LLMError, TimeoutError) as exc:
        where = s.ollama_host if value == "ollama" else "the OpenAI endpoint"
        raise InvalidInput(
            f"{value} does not answer at {where} ({str(exc)[:120]}): the provider stays as it was"
        ) from None
    finally:
        await candidate.aclose()


async def apply_llm_prefs(s: Settings, llm: GuardedLLM, p: Preferences) -> None:
    """Switch provider or model when /settings changed them (stored overrides)."""
    llm.set_budget(p.llm_day_calls, p.llm_day_tokens)
    if p.llm_provider and p.llm_provider != llm.inner.name:
        old = llm.inner
        llm.inner = make_llm(s.model_copy(update={"llm_provider": p.llm_provider}))
        await old.aclose()
        logger.info("LLM provider switched to %s", p.llm_provider)
    if p.llm_model and llm.inner.name != "none":
        llm.inner.model = p.llm_model


async def _retry_job(context: BotContext) -> None:
    s = context.services
    await s.sending.flush()
    await s.ingest.retry_media()


async def _address_book_job(context: BotContext) -> None:
    """Daily: read the saved contacts and the groups' subjects again (names change)."""
    await context.services.gateway.refresh_address_book()


async def on_shutdown(app: Application) -> None:  # type: ignore[type-arg]
    """post_shutdown: stop the session, the workers and the database, in reverse order."""
    endpoint: HealthEndpoint | None = app.bot_data.pop("health", None)
    if endpoint is not None:
        await endpoint.stop()
    services: Services | None = app.bot_data.get("services")
    if services is not None:
        await services.gateway.stop()
        tasks: TaskGroup | None = app.bot_data.get("tasks")
        if tasks is not None:
            await tasks.cancel_all()
        await services.ingest.stop()
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
    return asyncio.run(serve(app, app.bot_data["clock"], start_core, start_telegram, on_shutdown))
