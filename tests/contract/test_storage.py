"""Storage behaviour, the same bodies on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.digest_report import DigestReport
from core.errors import StorageError
from core.events import WaMessage
from core.ids import OWN_SENDER, ChatJid, MessageKind, WaMessageId
from core.notifications import DigestReady
from storage import Storage, close_storage, open_storage
from storage import db as storage_db
from storage.domain import OutboxState
from storage.migrations import LATEST_VERSION, current_version, migrate
from storage.models import SchemaVersionRecord
from storage.names import NAME_CONTACT
from storage.schema_steps import MIGRATIONS, POSTGRES_FTS, SQLITE_FTS

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ALICE = ChatJid("15550000002@s.whatsapp.net")
ALICE_LID = ChatJid("987654321012345@lid")
GROUP = ChatJid("120363000000000001@g.us")


def msg(i: int, chat: str = ALICE, sender: str = ALICE, text: str = "hello", **kw) -> WaMessage:
    return WaMessage(
        id=WaMessageId(f"3EB0{i:08d}"),
        chat=ChatJid(chat),
        sender=ChatJid(sender),
        timestamp=T0 + timedelta(minutes=i),
        text=text,
        push_name=kw.pop("push_name", "Alice"),
        **kw,
    )


async def test_migrations_run_once_and_are_recorded(storage: Storage, db_url: str) -> None:
    assert await storage_db.run(current_version) == LATEST_VERSION
    await close_storage()
    again = await open_storage(db_url)  # second start: nothing to apply, data kept
    assert await storage_db.run(current_version) == LATEST_VERSION
    rows = await storage_db.run(lambda: SchemaVersionRecord.select().count())
    assert rows == len(MIGRATIONS)  # one row per step (numbers may skip one reserved)
    assert again.schema_version == LATEST_VERSION


async def test_newer_database_is_refused(storage: Storage, db_url: str) -> None:
    await storage_db.run(lambda: SchemaVersionRecord.create(version=LATEST_VERSION + 1))
    await close_storage()
    with pytest.raises(StorageError, match="newer than this release"):
        await open_storage(db_url)


async def test_batch_insert_is_idempotent(storage: Storage) -> None:
    batch = [msg(i) for i in range(1200)]  # spans several chunks
    first = await storage.messages.store(batch, history=True)
    assert len(first) == 1200
    replay = await storage.messages.store(batch, history=True)
    assert replay == []
    assert await storage.messages.count() == 1200
    assert await storage.chats.count() == 1


async def test_history_across_many_chats_is_stored_scored_and_counted(storage: Storage) -> None:
    people = [f"1555{c:07d}@s.whatsapp.net" for c in range(260)]  # several chat passes
    batch = [msg(i, chat=people[i % 260], sender=people[i % 260]) for i in range(780)]
    seen: list[tuple[str, str]] = []

    def score(m: WaMessage, chat) -> tuple[int, str]:
        seen.append((m.chat, chat.jid))
        return 5, "plain"

    assert await storage.messages.store_history(batch, score) == 780
    assert await storage.messages.store_history(batch, score) == 0  # a replay adds nothing
    assert len(seen) == 780 and all(a == b for a, b in seen)  # each scored with its own chat
    assert await storage.chats.count() == 260
    chat = await storage.chats.by_jid(people[7])
    stored = await storage.messages.last(chat.id)
    assert [m.wa_id for m in stored] == [f"3EB0{i:08d}" for i in (7, 267, 527)]
    assert {(m.importance, m.reason, m.history) for m in stored} == {(5, "plain", True)}
    assert chat.last_activity == T0 + timedelta(minutes=527) and chat.unread == 0


async def test_same_id_from_other_sender_or_chat_is_another_message(storage: Storage) -> None:
    bob = "15550000003@s.whatsapp.net"
    stored = await storage.messages.store(
        [msg(1, chat=GROUP, sender=ALICE), msg(1, chat=GROUP, sender=bob), msg(1)]
    )
    assert len(stored) == 3


async def test_chat_list_orders_by_activity_pages_and_searches(storage: Storage) -> None:
    for i in range(20):
        await storage.messages.store(
            [
                msg(
                    i,
                    chat=f"1555{i:07d}@s.whatsapp.net",
                    sender=f"1555{i:07d}@s.whatsapp.net",
                    push_name=f"Person {i}",
                )
            ]
        )
    page0 = await storage.chats.list_page(page=0, per_page=8)
    assert page0.total == 20 and page0.pages == 3 and page0.has_next and not page0.has_prev
    assert [c.name for c in page0.items[:2]] == ["Person 19", "Person 18"]
    last = await storage.chats.list_page(page=9, per_page=8)  # clamped to the last page
    assert last.page == 2 and len(last.items) == 4
    found = await storage.chats.list_page(search="Person 1", per_page=50)
    assert {c.name for c in found.items} == {"Person 1"} | {f"Person {i}" for i in range(10, 20)}


async def test_unknown_person_gets_default_name_and_counts_unread(storage: Storage) -> None:
    await storage.messages.store([msg(1, push_name=""), msg(2, push_name="")])
    chat = await storage.chats.by_jid(ALICE)
    assert chat is not None and chat.name == "+1 555-000-0002" and chat.unread == 2
    await storage.chats.mark_read(chat.id)
    assert (await storage.chats.get(chat.id)).unread == 0


async def test_phone_and_lid_are_one_chat_and_keep_settings(storage: Storage) -> None:
    await storage.messages.store([msg(1, chat=ALICE_LID, sender=ALICE_LID)])
    lid_chat = await storage.chats.by_jid(ALICE_LID)
    assert lid_chat is not None
    await storage.chats.set_flag(lid_chat.id, "trusted", True)
    await storage.messages.store([msg(2)])  # seen by phone number: a second chat for now
    assert await storage.chats.count() == 2
    await storage.chats.link_identity(ALICE, ALICE_LID)
    assert await storage.chats.count() == 1
    merged = await storage.chats.by_jid(ALICE)
    assert merged is not None and merged.trusted
    assert set(merged.aliases) == {ALICE, ALICE_LID}
    assert len(await storage.messages.last(merged.id)) == 2


async def test_get_many_reads_chats_and_messages_in_bulk(storage: Storage) -> None:
    stored = await storage.messages.store([msg(1), msg(2, chat=GROUP), msg(3, chat=ALICE_LID)])
    ids = [m.chat_id for m in stored]
    chats = await storage.chats.get_many([*ids, ids[0], 999_999])  # repeats and unknowns
    assert sorted(chats) == sorted(ids)
    assert chats[ids[1]].is_group and chats[ids[0]].aliases == (ALICE,)
    await storage.chats.set_flag(ids[0], "trusted", True)
    await storage.chats.set_flag(ids[1], "include_in_digest", False)
    await storage.chats.set_muted_until(ids[1], datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    await storage.chats.adjust_bias(ids[0], -2)
    chats = await storage.chats.get_many(ids)
    for chat_id in ids:  # the bulk read and the one-by-one read agree field for field
        assert chats[chat_id] == await storage.chats.get(chat_id)
    assert chats[ids[0]].trusted and chats[ids[0]].score_bias == -2
    assert chats[ids[1]].muted_until == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    await storage.chats.link_identity(ALICE, ALICE_LID)  # the LID chat is folded into Alice's
    assert await storage.chats.get_many([ids[2]]) == {}
    again = await storage.messages.get_many([m.id for m in reversed(stored)] + [999_999])
    assert [m.id for m in again] == [m.id for m in stored]
    assert {m.chat_id for m in again} == {ids[0], ids[1]}


async def test_sender_alt_links_a_lid_message_to_the_phone_chat(storage: Storage) -> None:
    await storage.messages.store([msg(1)])
    await storage.messages.store(
        [msg(2, chat=ALICE_LID, sender=ALICE_LID, chat_alt=ALICE, sender_alt=ALICE)]
    )
    assert await storage.chats.count() == 1
    contact = await storage.chats.contact(ALICE_LID)
    assert contact is not None and contact.jid == ALICE


async def test_last_since_and_search(storage: Storage) -> None:
    texts = ["Dinner tomorrow?", "the invoice is attached", "Überweisung erledigt", "ok"]
    await storage.messages.store([msg(i, text=t) for i, t in enumerate(texts)])
    chat = await storage.chats.by_jid(ALICE)
    assert chat is not None
    last = await storage.messages.last(chat.id, 2)
    assert [m.text for m in last] == ["Überweisung erledigt", "ok"]
    since = await storage.messages.between(T0 + timedelta(minutes=1), T0 + timedelta(days=1))
    assert len(since) == 3
    assert [m.text for m in await storage.messages.search("invoice")] == [texts[1]]
    assert [m.text for m in await storage.messages.search("INVO")] == [texts[1]]
    assert [m.text for m in await storage.messages.search("überweisung")] == [texts[2]]
    assert await storage.messages.search("\"'*)(") == []


async def test_edit_revoke_reaction_and_delivery(storage: Storage) -> None:
    [stored] = await storage.messages.store([msg(1, text="typo")])
    assert await storage.messages.apply_edit(ALICE, stored.wa_id, ALICE, "fixed") == "applied"
    assert await storage.messages.apply_reaction(ALICE, stored.wa_id, ALICE, "👍")
    assert await storage.messages.set_delivery(ALICE, [stored.wa_id], "read") == 1
    assert await storage.messages.apply_revoke(ALICE, "3EB0UNKNOWN", ALICE, False) == "unknown"
    got = await storage.messages.get(stored.id)
    assert got is not None and got.text == "fixed" and got.edited
    assert got.reactions == {ALICE: "👍"} and got.delivery == "read"
    assert [m.id for m in await storage.messages.search("fixed")] == [stored.id]
    await storage.messages.apply_reaction(ALICE, stored.wa_id, ALICE, "")
    assert (await storage.messages.get(stored.id)).reactions == {}


async def test_media_state_and_retry_list(storage: Storage) -> None:
    from core.events import MediaInfo

    image = msg(
        1,
        kind=MessageKind.IMAGE,
        text="",
        media=MediaInfo(mimetype="image/jpeg", size=10, ref=b"ref"),
    )
    [stored] = await storage.messages.store([image])
    assert stored.media_state == "pending"
    assert await storage.messages.media_to_retry() == [(stored.id, b"ref")]


async def test_outboxes_survive_reopen_and_settle(storage: Storage, db_url: str) -> None:
    tg = await storage.telegram_outbox.add_row(42, "forward", {"message_id": 1}, "chat:1")
    wa = await storage.whatsapp_outbox.add(ALICE, {"text": "hi"})
    await close_storage()
    storage = await open_storage(db_url)
    now = datetime.now(UTC)
    assert [i.id for i in await storage.telegram_outbox.due(now)] == [tg]
    [item] = await storage.whatsapp_outbox.due(now)
    assert item.payload == {"text": "hi"} and item.target == ALICE
    await storage.whatsapp_outbox.retry_later([wa], timedelta(minutes=5), "not connected")
    assert await storage.whatsapp_outbox.due(now) == []
    await storage.whatsapp_outbox.mark_sent(wa, "3EB0SENT")
    got = await storage.whatsapp_outbox.get(wa)
    assert got is not None and got.state == OutboxState.SENT and got.result_id == "3EB0SENT"
    assert got.attempts == 1
    assert await storage.telegram_outbox.depth() == 1
    assert await storage.telegram_outbox.counts() == {"pending": 1}
    assert await storage.whatsapp_outbox.counts() == {"sent": 1}


async def test_settings_and_digests(storage: Storage) -> None:
    await storage.settings.set("digest_time", "07:30")
    await storage.settings.set("digest_time", "09:00")
    assert await storage.settings.all() == {"digest_time": "09:00"}
    d = await storage.digests.add("daily", T0, T0 + timedelta(days=1), "text", 3)
    assert await storage.digests.last_sent() is None
    await storage.digests.mark_sent(d.id)
    last = await storage.digests.last_sent()
    assert last is not None and last.id == d.id and last.period_end == T0 + timedelta(days=1)


async def test_a_digest_is_queued_and_marked_sent_together_or_not_at_all(
    storage: Storage,
) -> None:
    d = await storage.digests.add("daily", T0, T0 + timedelta(days=1), "text", 3)
    ready = DigestReady(d.id, DigestReport("daily", "Mon 04 May 08:00", 3, 1))
    broken = [7, 2**70]  # the second row (no 64-bit chat id) fails half-way through queueing
    with pytest.raises(Exception, match=r"(?i)too large|out of range"):
        await storage.digests.queue_and_mark_sent(ready, broken)
    assert await storage.telegram_outbox.depth() == 0  # nothing queued ...
    assert await storage.digests.last_sent() is None  # ... and still due, so sent later
    await storage.digests.queue_and_mark_sent(ready, [7, 8])
    assert await storage.telegram_outbox.depth() == 2
    assert (await storage.digests.last_sent()).id == d.id


async def test_message_links_map_telegram_to_whatsapp(storage: Storage) -> None:
    [stored] = await storage.messages.store([msg(1)])
    await storage.messages.link(42, 1001, stored.id)
    got = await storage.messages.linked(42, 1001)
    assert got is not None and got.wa_id == stored.wa_id
    assert await storage.messages.linked(42, 1002) is None


OWN_JID = ChatJid("15550001111@s.whatsapp.net")


async def test_own_messages_have_one_sender_known_jid_or_not(storage: Storage) -> None:
    before = msg(1, chat=GROUP, sender=OWN_SENDER, from_me=True, push_name="")
    after = msg(1, chat=GROUP, sender=OWN_JID, from_me=True, push_name="")  # after connected
    assert len(await storage.messages.store([before])) == 1
    assert await storage.messages.store([after]) == []  # the same message: not stored again
    assert await storage.messages.count() == 1


async def test_migration_merges_own_messages_stored_twice(storage: Storage) -> None:
    """Data stored by the old release: the same own message under the own JID and 'me'."""
    own = msg(1, chat=GROUP, sender=OWN_SENDER, from_me=True, push_name="")
    [first] = await storage.messages.store([own])
    p = storage_db.db.param
    sql = f"UPDATE messages SET sender = {p} WHERE id = {p}"
    await storage_db.run(lambda: storage_db.db.execute_sql(sql, (OWN_JID, first.id)))
    [second] = await storage.messages.store([own])  # the old dedupe key missed it
    await storage.messages.link(111, 5, second.id)
    await storage.messages.apply_reaction(GROUP, own.id, ALICE, "👍")  # lands on one of them
    other = msg(2, chat=GROUP, sender=OWN_JID, from_me=True, push_name="")
    [single] = await storage.messages.store([other])
    sql = f"UPDATE messages SET sender = {p} WHERE id = {p}"
    await storage_db.run(lambda: storage_db.db.execute_sql(sql, (OWN_JID, single.id)))
    assert await storage.messages.count() == 3

    def rerun_step_4() -> None:
        SchemaVersionRecord.delete().where(SchemaVersionRecord.version >= 4).execute()
        migrate()

    await storage_db.run(rerun_step_4)
    assert await storage.messages.count() == 2
    kept = await storage.messages.get(first.id)
    assert kept is not None and kept.sender == OWN_SENDER and kept.from_me
    assert kept.reactions == {ALICE: "👍"}
    linked = await storage.messages.linked(111, 5)
    assert linked is not None and linked.id == first.id  # the earliest row keeps the link
    moved = await storage.messages.get(single.id)
    assert moved is not None and moved.sender == OWN_SENDER


BOB = ChatJid("15550000003@s.whatsapp.net")
MALLORY = ChatJid("15550000666@s.whatsapp.net")


async def test_only_the_sender_edits_and_only_sender_or_known_admin_deletes(
    storage: Storage,
) -> None:
    [alice_says, bob_says, mine] = await storage.messages.store(
        [
            msg(1, chat=GROUP, sender=ALICE, text="meet at 5"),
            msg(2, chat=GROUP, sender=BOB, text="ok"),
            msg(3, chat=GROUP, sender=OWN_SENDER, text="my plan", from_me=True, push_name=""),
        ]
    )
    m = storage.messages
    # A group member rewrites someone else's message, or mine: refused, kept aside.
    assert await m.apply_edit(GROUP, alice_says.wa_id, MALLORY, "meet at 9") == "rejected"
    assert await m.apply_edit(GROUP, mine.wa_id, MALLORY, "I quit") == "rejected"
    assert await m.apply_revoke(GROUP, bob_says.wa_id, MALLORY, True) == "rejected"  # no admin
    assert await m.rejected_count() == 3
    assert (await m.get(alice_says.id)).text == "meet at 5"
    assert (await m.get(mine.id)).text == "my plan"
    # The sender edits: applied, the earlier text kept.
    assert await m.apply_edit(GROUP, alice_says.wa_id, ALICE, "meet at 6") == "applied"
    assert await m.apply_edit(GROUP, mine.wa_id, OWN_SENDER, "my better plan") == "applied"
    got = await m.get(alice_says.id)
    assert got.text == "meet at 6" and got.edited and got.edits == ("meet at 5",)
    # A known admin deletes another member's message.
    await storage.chats.set_group_admins(GROUP, (BOB,))
    assert await m.apply_revoke(GROUP, alice_says.wa_id, BOB, True) == "applied"
    gone = await m.get(alice_says.id)
    assert gone.deleted and gone.deleted_by == "admin"
    await storage.chats.set_group_admins(GROUP, None, demoted=(BOB,))
    assert await m.apply_revoke(GROUP, mine.wa_id, BOB, True) == "rejected"
    assert await m.apply_revoke(GROUP, mine.wa_id, OWN_SENDER, False) == "applied"
    assert (await m.get(mine.id)).deleted_by == "sender"


async def test_migration_7_keys_and_renames_chats_of_the_old_release(storage: Storage) -> None:
    """Data of the release before names: contact rank 2, group rank 3, "Contact 0002"
    fallbacks, no search keys. After step 7 every chat is found by its names and number."""
    await storage.messages.store([msg(1, push_name=""), msg(2, chat=GROUP, sender=ALICE)])
    await storage.chats.link_identity(ALICE, ChatJid("201000000000009@lid"))
    p = storage_db.db.param

    def old_release() -> None:
        db = storage_db.db
        db.execute_sql(
            f"UPDATE chats SET search_names = '', name = {p} WHERE jid = {p}",
            ("Contact 0002", ALICE),
        )
        db.execute_sql(
            f"UPDATE chats SET name_rank = 3, name = {p} WHERE jid = {p}", ("Book club", GROUP)
        )
        db.execute_sql("UPDATE chats SET search_names = ''")
        db.execute_sql(
            f"UPDATE contacts SET full_name = {p} WHERE jid = {p}", ("Alice Liddell", ALICE)
        )
        SchemaVersionRecord.delete().where(SchemaVersionRecord.version >= 7).execute()
        migrate()

    await storage_db.run(old_release)
    alice = await storage.chats.by_jid(ALICE)
    assert alice.name == "+1 555-000-0002"  # the fallback reads as a number now
    group = await storage.chats.by_jid(GROUP)
    assert group.name == "Book club"
    for typed, chat in [("alice", alice), ("15550000002", alice), ("book", group)]:
        found = await storage.chats.find(typed)
        assert [c.id for _, c in found] == [chat.id], typed
    assert (await storage.chats.list_page("club")).total == 1
    # The group's rank moved up with the others: a push name cannot rename it.
    await storage.chats.ensure(GROUP, name="Someone", rank=NAME_CONTACT)
    assert (await storage.chats.by_jid(GROUP)).name == "Book club"


async def test_migration_8_transcripts_are_stored_and_searchable(storage: Storage) -> None:
    """Data of the release before transcripts: no transcript columns, the full-text index
    over text and caption only. After step 8 the old messages are still found, and a voice
    note's transcript is found by /search as soon as it is stored."""
    voice = msg(2, text="", kind=MessageKind.VOICE)
    [old_text, note] = await storage.messages.store([msg(1, text="the plumber comes"), voice])

    def old_release() -> None:
        db = storage_db.db
        if storage_db.is_postgres():
            db.execute_sql("DROP INDEX IF EXISTS messages_fts_v8_idx")
            db.execute_sql(POSTGRES_FTS[0])
        else:
            for trigger in ("messages_fts_ai", "messages_fts_ad", "messages_fts_au"):
                db.execute_sql(f"DROP TRIGGER {trigger}")
            db.execute_sql("DROP TABLE messages_fts")
            for sql in SQLITE_FTS:
                db.execute_sql(sql)
            db.execute_sql("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
        for column in ("transcript", "transcript_error"):
            db.execute_sql(f"ALTER TABLE messages DROP COLUMN {column}")
        SchemaVersionRecord.delete().where(SchemaVersionRecord.version >= 8).execute()
        migrate()

    await storage_db.run(old_release)
    assert await storage_db.run(current_version) == LATEST_VERSION
    found = await storage.messages.search("plumber")
    assert [m.id for m in found] == [old_text.id]
    kept = await storage.messages.get(note.id)
    assert kept is not None and kept.transcript == "" and kept.transcript_error == ""
    await storage.messages.set_transcript(note.id, "the kitchen is flooding\x00 help", "")
    heard = await storage.messages.get(note.id)
    assert heard.transcript == "the kitchen is flooding help" and heard.body == heard.transcript
    assert [m.id for m in await storage.messages.search("flooding")] == [note.id]
    assert [m.id for m in await storage.messages.search("kitch")] == [note.id]  # prefix
    await storage.messages.set_transcript(note.id, "", "too long: 412 s (voice_max_seconds 300)")
    failed = await storage.messages.get(note.id)
    assert failed.transcript == "" and failed.transcript_error.startswith("too long")
    assert await storage.messages.search("flooding") == []  # the index follows the update
