"""Building one linked WhatsApp account (part of the wiring): its session, its store view,
its outbox, its ingest and its /send resolver — at start for every stored account, and while
the bot runs when the owner adds one. Nothing here is shared between accounts except what
the constructor is given (the store, the notifier, the LLM, the rules)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.chats import ChatService
from assistant.pipeline import IngestHooks, IngestService
from assistant.preferences import PreferenceService
from assistant.recipients import RecipientService
from assistant.replies import ReplyService
from assistant.scorer import Scorer
from assistant.sending import SendingService
from assistant.triage_rules import TriageRules
from assistant.triage_service import LLMBatches
from assistant.voice import VoiceService
from bot.config import Settings
from bot.context import Account, Accounts
from bot.notifier import TelegramNotifier
from bot.render import title
from core.notifications import Notice
from core.tasks import Clock
from storage import Storage
from storage.domain import AccountInfo

logger = logging.getLogger(__name__)

#: Builds the transport of one account: (settings, clock, give-up hook, account, the tag
#: sent.jsonl records) → gateway.
GatewayMaker = Callable[..., Any]


def cannot_start(label: str, exc: BaseException) -> Notice:
    """What the owner is told of an added account that could not be built or started (the
    others run)."""
    return Notice(
        f"💼 {title(label)}: could not start ({type(exc).__name__}); "
        "the other accounts run. See the log."
    )


@dataclass(frozen=True)
class AccountFactory:
    """Everything an account's parts need that is the same for every account."""

    settings: Settings
    clock: Clock
    storage: Storage
    accounts: Accounts
    notifier: TelegramNotifier
    prefs: PreferenceService
    rules: TriageRules
    scorer: Scorer | None
    llm: LLMBatches
    replies: ReplyService
    voice: VoiceService | None
    make_gateway: GatewayMaker
    on_give_up: Callable[[], None]
    on_late: Any
    #: The history progress reporter of an account id.
    on_progress: Any
    #: Deletes a removed account's files: (account id, media files only it used) → None.
    forget: Callable[[int, list[str]], None]

    def _gave_up(self, info: AccountInfo) -> Callable[[], None]:
        """An added account whose session cannot go on: said in the log; its state notice
        tells the owner. Only the first account's session may stop the process (a stuck Go
        client is cured by a restart), never an added one."""

        def gave_up() -> None:
            logger.error(
                "WhatsApp account %d gave up connecting; the others keep running", info.id
            )

        return gave_up

    def build(self, info: AccountInfo) -> Account:
        """The account's parts, complete; the caller subscribes and starts the gateway."""
        s = self.settings
        same = self.storage.account_id == info.id  # the first account: the store as opened
        store = self.storage if same else self.storage.for_account(info.id)
        gateway = self.make_gateway(
            s,
            self.clock,
            self.on_give_up if info.id == 1 else self._gave_up(info),
            info,
            lambda: self.accounts.label_of(info.id) or None,
        )
        sending = SendingService(store, gateway, s.data_dir, self.clock, on_late=self.on_late)
        prefs = self.prefs
        ingest = IngestService(
            store,
            gateway,
            s.owner_ids,
            self.rules,
            self.clock,
            media_budget=lambda: (prefs.current.media_day_mb, prefs.current.media_total_mb),
            scorer=self.scorer,
            hooks=IngestHooks(
                wake_notifier=self.notifier.wake,
                on_progress=self.on_progress(info.id),
                on_connected=sending.flush,
                on_storage_problem=self.notifier.direct,
                replies=self.replies,
                voice=self.voice,
            ),
            llm=self.llm,
            # this account's own threshold when /settings <label> set one, read per message
            threshold=lambda: prefs.for_account(info.id).threshold,
        )
        recipients = RecipientService(
            store, gateway, ChatService(store, self.clock, s.tz), s.default_region
        )
        return Account(gateway, ingest, sending, recipients, label=info.label, id=info.id)
