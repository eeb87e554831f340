"""Peewee models (``*Record``). They never leave storage/: repositories return domain objects."""

from __future__ import annotations

import peewee

from storage.models_base import MAIN_ACCOUNT as MAIN_ACCOUNT
from storage.models_base import AccountRecord as AccountRecord
from storage.models_base import BaseRecord as BaseRecord
from storage.models_base import SchemaVersionRecord as SchemaVersionRecord
from storage.models_base import UtcField, account_column
from storage.models_base import utcnow as utcnow


class ChatRecord(BaseRecord):
    """One WhatsApp chat (a person or a group): its name, the owner's switches for it, its
    activity and unread count."""

    id = peewee.AutoField()

    account = account_column()
    account_id: int  # peewee's accessor of the foreign key's value
    jid = peewee.CharField(max_length=128)
    name = peewee.CharField(max_length=256, default="")
    name_rank = peewee.SmallIntegerField(default=0)
    is_group = peewee.BooleanField(default=False)
    trusted = peewee.BooleanField(default=False)
    ai_enabled = peewee.BooleanField(default=False)
    ai_auto = peewee.BooleanField(default=False)
    cloud_llm_allowed = peewee.BooleanField(default=True)
    include_in_digest = peewee.BooleanField(default=True)
    muted_until = UtcField(null=True)
    last_activity = UtcField(null=True, index=True)
    unread = peewee.IntegerField(default=0)
    score_bias = peewee.SmallIntegerField(default=0)
    created_at = UtcField(default=utcnow)
    admins = peewee.TextField(default="[]", constraints=[peewee.SQL("DEFAULT '[]'")])  # step 5
    #: The owner has written in this chat (step 6): a known person, not a first contact.
    owner_wrote = peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])
    #: Step 7. Every name the chat was known by, folded, and its phone digits: ``|a|b|``
    #: (storage/names.py). What /chat, /send and /chats <search> look in.
    search_names = peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])

    class Meta:
        table_name = "chats"
        indexes = ((("account", "jid"), True),)


class ChatAliasRecord(BaseRecord):
    """Every JID a chat is known by (phone number, LID), pointing at its one chat row."""

    account = account_column()
    jid = peewee.CharField(max_length=128)
    chat = peewee.ForeignKeyField(ChatRecord, backref="aliases", on_delete="CASCADE")
    chat_id: int

    class Meta:
        table_name = "chat_aliases"
        primary_key = peewee.CompositeKey("account", "jid")


class ContactRecord(BaseRecord):
    """What the address book and WhatsApp say about one person: JIDs and names."""

    account = account_column()
    account_id: int
    jid = peewee.CharField(max_length=128)
    lid = peewee.CharField(max_length=128, null=True, index=True)
    phone_jid = peewee.CharField(max_length=128, null=True, index=True)
    push_name = peewee.CharField(max_length=256, default="")
    full_name = peewee.CharField(max_length=256, default="")
    updated_at = UtcField(default=utcnow)
    # Step 7: the rest of what the address book and WhatsApp say about the person.
    first_name = peewee.CharField(
        max_length=256, default="", constraints=[peewee.SQL("DEFAULT ''")]
    )
    business_name = peewee.CharField(
        max_length=256, default="", constraints=[peewee.SQL("DEFAULT ''")]
    )

    class Meta:
        table_name = "contacts"
        primary_key = peewee.CompositeKey("account", "jid")


class MessageRecord(BaseRecord):
    """One WhatsApp message of a chat: who sent it, its text or media, and what the secretary
    made of it (score, reactions, edits, delivery)."""

    id = peewee.AutoField()

    chat = peewee.ForeignKeyField(ChatRecord, backref="messages", on_delete="CASCADE")
    chat_id: int
    wa_id = peewee.CharField(max_length=128)
    sender = peewee.CharField(max_length=128)
    sender_name = peewee.CharField(max_length=256, default="")
    kind = peewee.CharField(max_length=16, default="text")
    text = peewee.TextField(default="")
    caption = peewee.TextField(default="")
    from_me = peewee.BooleanField(default=False)
    timestamp = UtcField(index=True)
    history = peewee.BooleanField(default=False)
    view_once = peewee.BooleanField(default=False)
    media_path = peewee.CharField(max_length=512, null=True)
    media_mimetype = peewee.CharField(max_length=128, default="")
    media_file_name = peewee.CharField(max_length=256, default="")
    media_size = peewee.BigIntegerField(default=0)
    media_state = peewee.CharField(max_length=16, default="none")
    media_error = peewee.CharField(max_length=256, null=True)
    media_attempts = peewee.SmallIntegerField(default=0)
    media_ref = peewee.BlobField(null=True)
    quoted_id = peewee.CharField(max_length=128, null=True)
    mentions = peewee.TextField(default="[]")
    edited = peewee.BooleanField(default=False)
    deleted = peewee.BooleanField(default=False)
    reactions = peewee.TextField(default="{}")
    delivery = peewee.CharField(max_length=16, default="")
    importance = peewee.SmallIntegerField(null=True)
    reason = peewee.CharField(max_length=256, default="")
    feedback = peewee.SmallIntegerField(default=0)
    # Step 5. Earlier texts, oldest first (JSON); who deleted it: "sender" or "admin". The
    # SQL defaults matter: the bulk insert (storage/message_rows.py) names only the older columns.
    edits = peewee.TextField(default="[]", constraints=[peewee.SQL("DEFAULT '[]'")])
    deleted_by = peewee.CharField(
        max_length=16, default="", constraints=[peewee.SQL("DEFAULT ''")]
    )
    #: Step 7. A call's state (JSON: state, video, group); "" for every other message.
    call_info = peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])
    #: Step 8. What a voice note says (from the transcription endpoint), or why it has no
    #: transcript ("too long", "local-only chat", "endpoint: HTTP 500", ...).
    transcript = peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])
    transcript_error = peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])

    class Meta:
        table_name = "messages"
        indexes = (
            (("chat", "sender", "wa_id"), True),
            (("chat", "timestamp"), False),
            (("wa_id",), False),
        )


class SettingRecord(BaseRecord):
    """One setting of the owner, by key, its value as JSON."""

    key = peewee.CharField(max_length=64, primary_key=True)
    value = peewee.TextField()

    class Meta:
        table_name = "settings"


class DigestRecord(BaseRecord):
    """One digest that was written: its period, text, message count and when it was sent."""

    id = peewee.AutoField()

    kind = peewee.CharField(max_length=16, default="daily")
    period_start = UtcField()
    period_end = UtcField()
    text = peewee.TextField()
    message_count = peewee.IntegerField(default=0)
    created_at = UtcField(default=utcnow)
    sent_at = UtcField(null=True)

    class Meta:
        table_name = "digests"


class TelegramOutboxRecord(BaseRecord):
    """One notice waiting to be sent to a Telegram chat, or already sent or failed (the Telegram
    outbox)."""

    id = peewee.AutoField()

    chat_id = peewee.BigIntegerField()
    kind = peewee.CharField(max_length=16)
    payload = peewee.TextField()
    merge_key = peewee.CharField(max_length=128, null=True)
    state = peewee.CharField(max_length=16, default="pending")
    attempts = peewee.SmallIntegerField(default=0)
    next_attempt_at = UtcField(default=utcnow)
    created_at = UtcField(default=utcnow)
    sent_at = UtcField(null=True)
    last_error = peewee.CharField(max_length=256, null=True)

    class Meta:
        table_name = "telegram_outbox"
        indexes = ((("state", "next_attempt_at"), False),)


class WhatsAppOutboxRecord(BaseRecord):
    """One message waiting to be sent on WhatsApp, or already sent or failed (the WhatsApp
    outbox), with its ticks."""

    id = peewee.AutoField()

    account = account_column()
    account_id: int
    to_jid = peewee.CharField(max_length=128)
    payload = peewee.TextField()
    state = peewee.CharField(max_length=16, default="pending")
    attempts = peewee.SmallIntegerField(default=0)
    next_attempt_at = UtcField(default=utcnow)
    created_at = UtcField(default=utcnow)
    sent_at = UtcField(null=True)
    wa_message_id = peewee.CharField(max_length=128, null=True)
    last_error = peewee.CharField(max_length=256, null=True)
    origin = peewee.CharField(max_length=64, default="")
    #: Step 9. The best receipt seen ("", delivered, read), the ticks state shown on the
    #: Telegram confirmation ("", queued, sent, delivered, read, failed) and where that is.
    receipt = peewee.CharField(max_length=16, default="", constraints=[peewee.SQL("DEFAULT ''")])
    ticks = peewee.CharField(max_length=16, default="", constraints=[peewee.SQL("DEFAULT ''")])
    confirm_chat = peewee.BigIntegerField(null=True)
    confirm_message = peewee.BigIntegerField(null=True)

    class Meta:
        table_name = "whatsapp_outbox"
        indexes = ((("state", "id"), False),)


class MessageLinkRecord(BaseRecord):
    """Which Telegram message shows which stored WhatsApp message (for replies)."""

    tg_chat_id = peewee.BigIntegerField()
    tg_message_id = peewee.BigIntegerField()
    message = peewee.ForeignKeyField(MessageRecord, on_delete="CASCADE")
    message_id: int

    class Meta:
        table_name = "message_links"
        primary_key = peewee.CompositeKey("tg_chat_id", "tg_message_id")


class DraftRecord(BaseRecord):
    """An AI reply: drafted (waiting for the admin), sent, discarded, or sent automatically."""

    id = peewee.AutoField()

    chat = peewee.ForeignKeyField(ChatRecord, on_delete="CASCADE")
    message = peewee.ForeignKeyField(MessageRecord, on_delete="CASCADE")
    chat_id: int
    message_id: int
    text = peewee.TextField()
    state = peewee.CharField(max_length=16, default="draft")
    created_at = UtcField(default=utcnow, index=True)

    class Meta:
        table_name = "drafts"


class RejectedEventRecord(BaseRecord):
    """An edit or a revoke that was not applied: its sender may not change that message."""

    id = peewee.AutoField()

    account = account_column()
    chat_jid = peewee.CharField(max_length=128)
    sender = peewee.CharField(max_length=128)
    target_id = peewee.CharField(max_length=128)
    kind = peewee.CharField(max_length=16)
    text = peewee.TextField(default="")
    created_at = UtcField(default=utcnow)

    class Meta:
        table_name = "rejected_events"


TABLES_V1: list[type[BaseRecord]] = [
    ChatRecord,
    ChatAliasRecord,
    ContactRecord,
    MessageRecord,
    SettingRecord,
    DigestRecord,
    TelegramOutboxRecord,
    WhatsAppOutboxRecord,
    MessageLinkRecord,
]

#: The tables keyed by a WhatsApp JID: each row belongs to one account (step 10).
ACCOUNT_TABLES: list[type[BaseRecord]] = [
    ChatRecord,
    ChatAliasRecord,
    ContactRecord,
    WhatsAppOutboxRecord,
    RejectedEventRecord,
]
