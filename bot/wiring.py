"""The wiring: every object of the app built in one place (``build_services``), complete when
its constructor returns; the concrete WhatsApp backend, LLM and transcriber are chosen here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from telegram.ext import Application

from assistant.chats import ChatService
from assistant.digest import DigestService
from assistant.learning import TriageLearner
from assistant.llm.base import LLMError, LLMProvider
from assistant.llm.guard import GuardedLLM
from assistant.preferences import Preferences, PreferenceService
from assistant.replies import ReplyService
from assistant.sending import SendOutcome, SendStatus
from assistant.status import StatusService
from assistant.summarize import Summarizer
from assistant.triage import load_scorer
from assistant.triage_rules import TriageRules
from assistant.triage_service import LLMBatches
from assistant.voice import Transcriber, VoiceService
from bot import render_digest
from bot.account_factory import AccountFactory, cannot_start
from bot.config import Settings
from bot.context import Accounts, Services
from bot.history_progress import HistoryReporter
from bot.logs import configure_logging
from bot.notifier import TelegramNotifier
from core import notifications
from core.errors import InvalidInput
from core.notifications import AutoReplied, SendResult
from core.tasks import Clock
from storage import open_storage
from storage.domain import AccountInfo, Chat, Draft, OutboxItem, StoredMessage
from whatsapp.gateway import GatewayBase
from whatsapp.journal import EventJournal
from whatsapp.session import account_paths, session_store

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


def make_gateway(
    s: Settings,
    clock: Clock,
    on_give_up: Any,
    account: AccountInfo,
    tag: Callable[[], str | None],
    taken: Collection[str] = (),
) -> GatewayBase:
    """Build one account's WhatsApp backend (neonize is imported only when it is the one
    used). ``tag`` is the label sent.jsonl records (None with a single account); ``taken``:
    the devices the other accounts recorded (account 1 never resumes one of them)."""
    journal = EventJournal(account_paths(s.data_dir, account.id).create().journal_dir)
    if s.whatsapp_backend == "simulator":
        from whatsapp.simulator import SimulatedGateway

        gateway: GatewayBase = SimulatedGateway(
            s.data_dir,
            s.whatsapp_simulator_feed,
            clock,
            journal=journal,
            account_label=account.label,
            first=account.id == 1,
            account_tag=tag,
        )
    else:
        from whatsapp.neonize_backend import NeonizeGateway

        db_url = s.database_url.get_secret_value() if s.database_url else None
        gateway = NeonizeGateway(
            s.data_dir,
            session_store(s.data_dir, db_url, account.id),
            clock,
            on_give_up=on_give_up,
            journal=journal,
            account_id=account.id,
            device_jid=recorded_device(account),
            taken=taken,
        )
    configure_logging(s.log_level, s.secret_values())  # importing neonize reset the root logger
    return gateway


def recorded_device(account: AccountInfo) -> str | None:
    """The device JID recorded at the account's last connection (None: none yet)."""
    return str(account.settings.get("device_jid") or "") or None


def forget_account_files(data_dir: Path, account_id: int, media: list[str]) -> None:
    """Delete a removed account's session, journal and the media ``media`` lists (only
    files inside DATA_DIR/media); also run before a new account is built, so that an id
    used again never resumes an old session. The first account's files are never deleted."""
    if account_id == 1:
        raise ValueError("the first account's files are never deleted")
    paths = account_paths(data_dir, account_id)
    shutil.rmtree(paths.journal_dir.parent, ignore_errors=True)
    root = paths.media_dir.resolve()
    for name in media:
        path = Path(name).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)


async def build_services(app: Application, s: Settings, clock: Clock) -> Services:  # type: ignore[type-arg]
    """Open storage and build every service and one ``Account`` per linked WhatsApp account
    (concrete classes are named only here and in ``bot/account_factory.py``)."""
    storage = await open_storage(s.db_url)

    def give_up() -> None:
        app.bot_data["exit_code"] = EXIT_GAVE_UP
        stop = app.bot_data.get("stop")
        if stop is not None:
            stop.set()
        else:
            app.stop_running()

    rules = TriageRules(timezone=s.tz)
    scorer = load_scorer()
    learner = TriageLearner(storage, scorer, rules) if scorer is not None else None
    if learner is not None:
        await learner.load()
    defaults = Preferences(digest_time=s.digest_time.strftime("%H:%M"))
    prefs = PreferenceService(storage, defaults, rules, vet=functools.partial(vet_setting, s))
    await prefs.load()
    everyone = storage.all_accounts  # listings, search and digests cover every account
    chat_service = ChatService(everyone, clock, s.tz)
    stored = await storage.accounts.list()
    accounts = Accounts([], next((a.id for a in stored if a.is_default), stored[0].id))
    notifier = TelegramNotifier(app.bot, storage, s.tz, clock, s.owner_ids, accounts.label_of)
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
        everyone,
        llm,
        lambda account_id: accounts.running(account_id).sending,
        prefs,
        rules,
        clock,
        s.tz,
        on_draft=draft_ready,
        on_auto=auto_sent,
    )
    app.bot_data["voice"] = voice  # closed on shutdown
    factory = AccountFactory(
        settings=s,
        clock=clock,
        storage=storage,
        accounts=accounts,
        notifier=notifier,
        prefs=prefs,
        rules=rules,
        scorer=scorer,
        llm=LLMBatches(llm),
        replies=replies,
        voice=voice,
        # the devices recorded at start: account 1 picks its device once, at its start
        make_gateway=functools.partial(
            make_gateway,
            taken=frozenset(d for a in stored if a.id != 1 and (d := recorded_device(a))),
        ),
        on_give_up=give_up,
        on_late=late,
        on_progress=lambda account_id: HistoryReporter(
            app, s.owner_ids, lambda: accounts.label_of(account_id)
        ),
        forget=functools.partial(forget_account_files, s.data_dir),
    )
    for info in stored:
        try:
            accounts.add(factory.build(info))
        except Exception as exc:
            if info.id == 1:
                raise  # nothing to run without the first account: the start fails, as before
            logger.exception("WhatsApp account %d could not be built", info.id)
            await notifier.tell(cannot_start(info.label, exc))
    if accounts.find(accounts.default_id) is None:  # the default could not be built
        accounts.default_id = 1
    services = Services(
        storage=storage,
        accounts=accounts,
        factory=factory,
        chats=chat_service,
        digests=DigestService(
            everyone,
            clock,
            s.tz,
            rules,
            render_digest.text,
            lambda: prefs.current.unanswered_hours,  # read at each digest: applies at once
            Summarizer(llm),
            accounts.label_of,  # "💼 Work · " in front of chats when there are several
        ),
        status=StatusService(everyone, accounts, clock, s.tz, llm, learner),
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
