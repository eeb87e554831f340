"""The ticks of sent messages in storage, on SQLite and (when configured) PostgreSQL:
only forward, one edit per change, in the same transaction as the state it shows."""

from __future__ import annotations

from datetime import UTC, datetime

from core.events import WaMessage
from core.ids import ChatJid, WaMessageId
from storage import Storage
from storage import db as storage_db
from storage.migrations import migrate
from storage.models import SchemaVersionRecord, WhatsAppOutboxRecord

ADMIN = 111111
ALICE = ChatJid("15550000002@s.whatsapp.net")
ALICE_LID = ChatJid("987654321012345@lid")
BOB = ChatJid("15550000003@s.whatsapp.net")
NOW = datetime(2030, 1, 1, tzinfo=UTC)


async def sent_to(storage: Storage, chat: ChatJid, wa_id: str) -> int:
    """A chat the store knows, and an outbox item WhatsApp accepted as ``wa_id``."""
    incoming = WaMessage(
        id=WaMessageId(f"IN-{wa_id}"), chat=chat, sender=chat, timestamp=NOW, text="hi"
    )
    await storage.messages.store([incoming])
    item = await storage.whatsapp_outbox.add(chat, {"text": "hello"}, "tg:1:2")
    await storage.whatsapp_outbox.mark_sent(item, wa_id)
    return item


async def edits(storage: Storage) -> list[dict]:
    due = await storage.telegram_outbox.due(NOW)
    return [{"to": int(i.target), **i.payload} for i in due if i.kind == "ticks"]


async def test_a_receipt_before_the_confirmation_is_shown_once_it_exists(
    storage: Storage,
) -> None:
    item = await sent_to(storage, ALICE, "3EB0A")
    assert await storage.ticks.receipt(ALICE, ["3EB0A"], "read") == 0  # nothing to edit yet
    assert await storage.ticks.confirm(item, ADMIN, 500, "sent") == 1
    assert await edits(storage) == [
        {
            "to": ADMIN,
            "message_id": 500,
            "state": "read",
            "chat": "+1 555-000-0002",
            "error": "",
            "item_id": item,
        }
    ]
    assert await storage.ticks.confirm(item, ADMIN, 501, "sent") == 0  # one confirmation
    assert await storage.ticks.receipt(ALICE, ["3EB0A"], "delivered") == 0  # never back


async def test_receipts_find_the_chat_by_any_of_its_ids_and_only_that_chat(
    storage: Storage,
) -> None:
    item = await sent_to(storage, ALICE, "3EB0B")
    await storage.messages.store(
        [WaMessage(id=WaMessageId("B1"), chat=BOB, sender=BOB, timestamp=NOW, text="hey")]
    )
    await storage.chats.link_identity(ALICE, ALICE_LID)
    await storage.ticks.confirm(item, ADMIN, 600, "sent")
    assert await storage.ticks.receipt(BOB, ["3EB0B"], "read") == 0
    assert await storage.ticks.receipt(ALICE, ["3EB0UNKNOWN"], "read") == 0
    assert await storage.ticks.receipt(ALICE_LID, ["3EB0B"], "delivered") == 1
    assert await storage.ticks.receipt(ALICE, ["3EB0B"], "delivered") == 0
    assert await storage.ticks.receipt(ALICE_LID, ["3EB0B"], "played") == 1
    assert [e["state"] for e in await edits(storage)] == ["delivered", "read"]


async def test_a_queued_message_given_up_shows_why(storage: Storage) -> None:
    await sent_to(storage, ALICE, "3EB0C")  # the chat
    item = await storage.whatsapp_outbox.add(ALICE, {"text": "later"}, "tg:1:3")
    assert await storage.ticks.confirm(item, ADMIN, 700, "queued") == 0
    await storage.whatsapp_outbox.mark_failed(item, "not on WhatsApp <any more>")
    assert await storage.ticks.settled(item) == 1
    assert await storage.ticks.settled(item) == 0
    [edit] = await edits(storage)
    assert (edit["state"], edit["error"]) == ("failed", "not on WhatsApp <any more>")


async def test_migration_9_adds_the_ticks_to_an_outbox_of_the_old_release(
    storage: Storage,
) -> None:
    """An outbox without the step-9 columns keeps its rows; they start with no ticks."""
    item = await sent_to(storage, ALICE, "3EB0D")

    def old_release() -> None:
        db = storage_db.db
        db.execute_sql("DROP INDEX IF EXISTS whatsapp_outbox_wa_id")
        for column in ("receipt", "ticks", "confirm_chat", "confirm_message"):
            db.execute_sql(f"ALTER TABLE whatsapp_outbox DROP COLUMN {column}")
        SchemaVersionRecord.delete().where(SchemaVersionRecord.version >= 9).execute()
        assert migrate() == [9, 10]  # step 10 (accounts) follows it again

    await storage_db.run(old_release)
    rec = await storage_db.run(lambda: WhatsAppOutboxRecord.get_by_id(item))
    assert (rec.receipt, rec.ticks, rec.confirm_message, rec.wa_message_id) == (
        "",
        "",
        None,
        "3EB0D",
    )
    assert await storage.ticks.confirm(item, ADMIN, 800, "sent") == 0
    assert await storage.ticks.receipt(ALICE, ["3EB0D"], "delivered") == 1
