"""The typed handler context: ``context.services`` is the one ``Services`` bundle."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
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
from core.errors import InvalidInput
from core.labels import label_key
from core.tasks import Clock
from core.transport import WhatsAppGateway
from storage import Storage
from storage.domain import Chat

if TYPE_CHECKING:
    from bot.account_factory import AccountFactory
    from bot.notifier import TelegramNotifier


@dataclass
class LoginView:
    """The login message shown to one admin (edited in place as QR codes refresh)."""

    chat_id: int
    message_id: int | None = None
    is_photo: bool = False


@dataclass
class Account:
    """Everything that belongs to one linked WhatsApp account: its session (the gateway with
    its journal and connection), what stores its events, what sends from it, and how /send
    finds its recipients. ``id`` is the account's row in the store; ``label`` ("main",
    "work") changes when the owner renames it."""

    gateway: WhatsAppGateway
    ingest: IngestService
    sending: SendingService
    recipients: RecipientService
    label: str = "main"
    id: int = 1
    #: The login messages shown to admins for this account (edited as QR codes refresh).
    logins: dict[int, LoginView] = field(default_factory=dict)
    #: Its start while it runs in the background (a removal cancels it).
    starting: asyncio.Task[None] | None = None
    #: Its start failed (the owner was told): /healthz does not count it as unhealthy.
    failed: bool = False


class Accounts:
    """Every linked account of this process, by id, and which one is the default (the one
    /send and /login use when the owner does not say). Labels are shown only when there is
    more than one account, so a single-account user sees no change."""

    ICON = "💼"

    def __init__(self, accounts: list[Account], default_id: int) -> None:
        self._by_id = {a.id: a for a in accounts}
        self.default_id = default_id

    def __iter__(self) -> Iterator[Account]:
        return iter(sorted(self._by_id.values(), key=lambda a: a.id))

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def default(self) -> Account:
        """The account used when the owner names none."""
        return self._by_id[self.default_id]

    @property
    def several(self) -> bool:
        """True when more than one account is linked (labels are shown then)."""
        return len(self._by_id) > 1

    def running(self, account_id: int) -> Account:
        """The account to act for (send, fetch, log in); ``InvalidInput`` when it is not
        running — never another account in its place."""
        account = self._by_id.get(account_id)
        if account is None:
            raise InvalidInput(
                "the WhatsApp account of this chat is not running (see /accounts): "
                "nothing was sent from another number"
            )
        return account

    def find(self, account_id: int) -> Account | None:
        """The account with this id, or None when it is not linked (any more)."""
        return self._by_id.get(account_id)

    def by_label(self, label: str) -> Account | None:
        """The account with this label compared by ``label_key`` (any case, width or
        spacing, as the store compares them), or None."""
        wanted = label_key(label)
        return next((a for a in self._by_id.values() if label_key(a.label) == wanted), None)

    def add(self, account: Account) -> None:
        """Take in an account added while the bot runs."""
        self._by_id[account.id] = account

    def remove(self, account_id: int) -> Account | None:
        """Forget an account (logged out and removed); the default moves to the lowest id."""
        gone = self._by_id.pop(account_id, None)
        if self.default_id == account_id and self._by_id:
            self.default_id = min(self._by_id)
        return gone

    def label_of(self, account_id: int) -> str:
        """The label to show in front of a chat of this account ("" with one account)."""
        if not self.several:
            return ""
        account = self._by_id.get(account_id)
        return account.label if account is not None else ""


@dataclass(frozen=True)
class Services:
    """Everything handlers may call, built once in bot/wiring.py."""

    storage: Storage
    accounts: Accounts
    #: Builds an account added while the bot runs.
    factory: AccountFactory
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
    refused: set[int] = field(default_factory=set)

    @property
    def account(self) -> Account:
        """The default account (the only one for most users)."""
        return self.accounts.default

    @property
    def gateway(self) -> WhatsAppGateway:
        """The default account's WhatsApp session."""
        return self.account.gateway

    @property
    def logins(self) -> dict[int, LoginView]:
        """The default account's login messages."""
        return self.account.logins

    def sending_for(self, chat: Chat) -> SendingService:
        """The outbox of the account the chat belongs to: a reply leaves from the account
        that received the message."""
        return self.accounts.running(chat.account_id).sending

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
