"""The typed handler context: ``context.services`` is the one ``Services`` bundle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, CallbackContext, ExtBot

from assistant.chats import ChatService
from assistant.digest import DigestService
from assistant.learning import TriageLearner
from assistant.llm.guard import GuardedLLM
from assistant.pipeline import IngestService
from assistant.preferences import PreferenceService
from assistant.recipients import RecipientService
from assistant.replies import ReplyService
from assistant.sending import SendingService
from assistant.status import StatusService
from core.tasks import Clock
from core.transport import WhatsAppGateway
from storage import Storage

if TYPE_CHECKING:
    from bot.notifier import TelegramNotifier


@dataclass
class LoginView:
    """The login message shown to one admin (edited in place as QR codes refresh)."""

    chat_id: int
    message_id: int | None = None
    is_photo: bool = False


@dataclass(frozen=True)
class Account:
    """Everything that belongs to one linked WhatsApp account: its session (the gateway with
    its journal and connection), what stores its events, what sends from it, and how /send
    finds its recipients. Several accounts will each have one (issue 21); today there is
    one, labelled "" (no label shown)."""

    gateway: WhatsAppGateway
    ingest: IngestService
    sending: SendingService
    recipients: RecipientService
    label: str = ""


@dataclass(frozen=True)
class Services:
    """Everything handlers may call, built once in bot/wiring.py."""

    storage: Storage
    account: Account
    chats: ChatService
    digests: DigestService
    status: StatusService
    prefs: PreferenceService
    replies: ReplyService
    llm: GuardedLLM
    #: The owner's corrections of triage; None when the model file cannot be read.
    learner: TriageLearner | None
    notifier: TelegramNotifier
    clock: Clock
    tz: ZoneInfo
    owner_ids: frozenset[int]
    logins: dict[int, LoginView] = field(default_factory=dict)
    refused: set[int] = field(default_factory=set)

    @property
    def gateway(self) -> WhatsAppGateway:
        """The account's WhatsApp session."""
        return self.account.gateway

    @property
    def ingest(self) -> IngestService:
        """What stores the account's events and triages its messages."""
        return self.account.ingest

    @property
    def sending(self) -> SendingService:
        """What sends from the account (the WhatsApp outbox)."""
        return self.account.sending

    @property
    def recipients(self) -> RecipientService:
        """How /send finds a recipient on the account."""
        return self.account.recipients


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB context with a typed ``services`` property."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        """The app's services, put in ``bot_data`` by the wiring."""
        return self.application.bot_data["services"]  # type: ignore[no-any-return]
