"""Simulator → the real conversion → ingest → SQLite/PostgreSQL, and the WhatsApp outbox."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from peewee import fn

from assistant.pipeline import IngestHooks, IngestService
from assistant.sending import SendingService, SendStatus
from core.events import OutgoingMessage, WaMessage
from core.ids import ChatJid, MessageKind, WaMessageId
from core.tasks import Clock
from storage import Storage
from storage import db as storage_db
from storage.models import MessageRecord
from tests.fakes.clock import FakeClock
from tests.support import wait_until
from tests.texts import urgent
from whatsapp.simulator import SimulatedGateway, read_media_file

ME = "15550001111@s.whatsapp.net"
ALICE = "15550000002@s.whatsapp.net"
ALICE_LID = "987654321012345@lid"
GROUP = "120363000000000001@g.us"
ADMIN = 42


NO_HOOKS = IngestHooks()


@pytest.fixture
async def wire(storage: Storage, tmp_path: Path):
    """Make a connected simulated gateway with ingest subscribed (``hooks`` as given)."""
    made: list[tuple[SimulatedGateway, IngestService]] = []

    async def make(
        hooks: IngestHooks = NO_HOOKS, gateway: SimulatedGateway | None = None
    ) -> tuple[SimulatedGateway, IngestService]:
        gateway = gateway or SimulatedGateway(tmp_path, None, FakeClock())
        ingest = IngestService(storage, gateway, frozenset({ADMIN}), hooks=hooks)
        gateway.subscribe(ingest.on_event)
        await gateway.start()
        await gateway.play({"event": "connected", "jid": ME})
        await gateway.drain()
        made.append((gateway, ingest))
        return gateway, ingest

    yield make
    for gateway, ingest in made:
        await gateway.stop()
        await ingest.stop()


@pytest.fixture
async def wired(wire):
    return await wire()


async def settle(gateway: SimulatedGateway, ingest: IngestService) -> None:
    await gateway.drain()
    await ingest.idle()


def convert_text(i: int, jid: str, text: str) -> WaMessage:
    return WaMessage(
        id=WaMessageId(f"3EB0{i:04d}"),
        chat=ChatJid(jid),
        sender=ChatJid(jid),
        timestamp=datetime.now(UTC),
        text=text,
    )


def message(i: int, **kw) -> dict:
    return {
        "event": "message",
        "id": f"3EB0{i:04d}",
        "chat": ALICE,
        "sender": ALICE,
        "text": "hello",
        "push_name": "Alice",
        **kw,
    }


async def test_messages_are_stored_once_named_and_replay_changes_nothing(storage, wired) -> None:
    gateway, ingest = wired
    for _ in range(2):  # the same feed played twice
        await gateway.play(message(1))
        await gateway.play(message(2, text=urgent("call me back!")))
    await settle(gateway, ingest)
    assert await storage.messages.count() == 2
    chat = await storage.chats.by_jid(ALICE)
    assert chat is not None and chat.name == "Alice" and chat.unread == 2
    [plain, hot] = await storage.messages.last(chat.id)
    assert plain.importance is not None and plain.importance < 7
    assert hot.importance >= 7 and "urgent" in hot.reason
    [forward] = await storage.telegram_outbox.due(ingest.clock.now())
    assert forward.target == str(ADMIN) and forward.payload["message_id"] == hot.id


async def test_group_mention_is_forwarded_and_muted_chat_is_not(storage, wired) -> None:
    gateway, ingest = wired
    await gateway.play({"event": "group", "jid": GROUP, "name": "Family"})
    ask = "@15550001111 can you call the school before 3? they need to talk to you today"
    await gateway.play(message(1, chat=GROUP, text=ask, mentions=[ME]))
    await settle(gateway, ingest)
    chat = await storage.chats.by_jid(GROUP)
    assert chat.name == "Family" and chat.is_group
    assert len(await storage.telegram_outbox.due(ingest.clock.now())) == 1
    await storage.chats.set_muted_until(chat.id, ingest.clock.now().replace(year=2100))
    await gateway.play(message(2, chat=GROUP, text=ask + " (again)", mentions=[ME]))
    await settle(gateway, ingest)
    assert len(await storage.telegram_outbox.due(ingest.clock.now())) == 1


async def test_edit_reaction_revoke_and_lid_identity(storage, wired) -> None:
    gateway, ingest = wired
    await gateway.play(message(1, text="typo"))
    await gateway.play(
        {
            "event": "edit",
            "id": "E1",
            "chat": ALICE,
            "sender": ALICE,
            "target_id": "3EB00001",
            "text": "fixed",
        }
    )
    await gateway.play(
        {
            "event": "reaction",
            "id": "R1",
            "chat": ALICE,
            "sender": ALICE,
            "target_id": "3EB00001",
            "emoji": "❤️",
        }
    )
    await gateway.play(message(2, chat=ALICE_LID, sender=ALICE_LID, sender_alt=ALICE))
    await gateway.play(
        {"event": "revoke", "id": "X1", "chat": ALICE, "sender": ALICE, "target_id": "3EB00001"}
    )
    await settle(gateway, ingest)
    assert await storage.chats.count() == 1  # the LID message joined Alice's chat
    chat = await storage.chats.by_jid(ALICE_LID)
    first = (await storage.messages.last(chat.id))[0]
    assert first.text == "fixed" and first.edited and first.deleted
    assert first.reactions == {ALICE: "❤️"}


async def test_message_whose_chat_merged_before_triage_is_still_forwarded(storage, wired) -> None:
    gateway, ingest = wired
    await gateway.play(message(1))
    await settle(gateway, ingest)
    [hot] = await storage.messages.store(
        [convert_text(2, ALICE_LID, urgent("call me back"))], history=False
    )
    await storage.chats.link_identity(ALICE, ALICE_LID)  # its chat is merged away meanwhile
    await ingest.after.process([hot])
    [forward] = await storage.telegram_outbox.due(ingest.clock.now())
    assert forward.payload["message_id"] == hot.id
    moved = await storage.messages.get(hot.id)
    assert moved.chat_id == (await storage.chats.by_jid(ALICE)).id and moved.importance >= 7


async def test_media_is_downloaded_under_a_safe_name(storage, wired, tmp_path) -> None:
    gateway, ingest = wired
    src = tmp_path / "photo.jpg"
    src.write_bytes(b"\xff\xd8fake jpeg")
    await gateway.play(
        message(
            1,
            kind="image",
            text="",
            caption="look",
            mimetype="image/jpeg",
            media_file=str(src),
            file_name="../../etc/passwd",
        )
    )
    await settle(gateway, ingest)
    chat = await storage.chats.by_jid(ALICE)
    [stored] = await storage.messages.last(chat.id)
    assert stored.kind == MessageKind.IMAGE and stored.media_state == "done"
    path = Path(stored.media_path)
    assert path.parent == tmp_path / "media" and path.suffix == ".jpg"
    assert path.read_bytes() == b"\xff\xd8fake jpeg"


async def test_failed_media_is_recorded_and_retried(storage, wired, tmp_path) -> None:
    gateway, ingest = wired
    missing = tmp_path / "later.pdf"
    await gateway.play(
        message(1, kind="document", text="", mimetype="application/pdf", media_file=str(missing))
    )
    await settle(gateway, ingest)
    chat = await storage.chats.by_jid(ALICE)
    [stored] = await storage.messages.last(chat.id)
    assert stored.media_state == "failed"
    missing.write_bytes(b"%PDF")
    assert await ingest.media.retry() == 1
    again = await storage.messages.get(stored.id)
    assert again.media_state == "done" and again.media_path.endswith(".pdf")


async def test_history_sync_is_stored_in_bulk_without_forwards(storage, wire) -> None:
    progress = []

    async def on_progress(p):
        progress.append(p)

    gateway, ingest = await wire(IngestHooks(on_progress=on_progress))
    items = [
        {
            "id": f"H{i}",
            "chat": GROUP,
            "sender": ALICE,
            "text": "URGENT old news",
            "timestamp": 1_700_000_000 + i,
            "group_name": "Family",
        }
        for i in range(1500)
    ]
    await gateway.play({"event": "history_sync", "messages": items, "progress": 40})
    await gateway.play({"event": "history_sync", "messages": items, "progress": 100})
    await settle(gateway, ingest)
    assert await storage.messages.count() == 1500
    assert await storage.telegram_outbox.depth() == 0
    assert [(p.messages, p.new_messages, p.percent) for p in progress] == [
        (1500, 1500, 40),
        (3000, 1500, 100),
    ]


async def test_sends_queue_while_disconnected_and_flush_in_order_once(
    storage, wire, tmp_path
) -> None:
    gateway = SimulatedGateway(tmp_path, None, FakeClock())
    late = []

    async def on_late(item, outcome):
        late.append((item.id, outcome.status))

    sending = SendingService(storage, gateway, tmp_path, Clock(), on_late=on_late)
    gateway, ingest = await wire(IngestHooks(on_connected=sending.flush), gateway)
    ok = await sending.send(OutgoingMessage(to=ALICE, text="first"))
    assert ok.status == SendStatus.SENT and ok.wa_id
    await gateway.play({"event": "disconnected"})
    await gateway.drain()
    queued = [await sending.send(OutgoingMessage(to=ALICE, text=f"q{i}")) for i in range(5)]
    assert {q.status for q in queued} == {SendStatus.QUEUED}
    await gateway.play({"event": "connected", "jid": ME})
    await settle(gateway, ingest)
    lines = [json.loads(x) for x in gateway.sent_path.read_text().splitlines()]
    assert [x["text"] for x in lines] == ["first", "q0", "q1", "q2", "q3", "q4"]
    assert len({x["id"] for x in lines}) == 6
    assert late == [(q.outbox_id, SendStatus.SENT) for q in queued]
    assert await storage.whatsapp_outbox.depth() == 0
    await sending.flush()  # nothing is sent twice
    assert len(gateway.sent_path.read_text().splitlines()) == 6


async def test_lid_sender_without_alternate_is_joined_via_the_session_lid_map(
    storage, tmp_path
) -> None:
    class WithLidMap(SimulatedGateway):
        async def _phone_for_lid(self, lid):
            return ALICE if lid == ALICE_LID else None

    gateway = WithLidMap(tmp_path, None, FakeClock())
    ingest = IngestService(storage, gateway, frozenset({ADMIN}))
    gateway.subscribe(ingest.on_event)
    await gateway.start()
    await gateway.play({"event": "connected", "jid": ME})
    await gateway.play(message(1))  # by phone number
    await gateway.play(message(2, chat=ALICE_LID, sender=ALICE_LID))  # by LID, no SenderAlt
    await settle(gateway, ingest)
    assert await storage.chats.count() == 1
    await gateway.stop()
    await ingest.tasks.cancel_all()


async def test_reactions_and_read_marks_go_through_the_gateway(wired) -> None:
    gateway, _ = wired
    await gateway.react(ALICE, ALICE, "3EB0X", "👍")
    await gateway.mark_read(ALICE, ALICE, ["3EB0X"])
    [entry] = [json.loads(x) for x in gateway.sent_path.read_text().splitlines()]
    assert entry["kind"] == "reaction" and entry["text"] == "👍" and entry["quoted_id"] == "3EB0X"


async def last_stored(storage, jid: str = ALICE):
    chat = await storage.chats.by_jid(jid)
    [stored] = await storage.messages.last(chat.id)
    return stored


async def test_declared_size_over_the_limit_is_never_downloaded(storage, wire, tmp_path) -> None:
    src = tmp_path / "big.pdf"
    src.write_bytes(b"%PDF small really")
    asked: list[bytes] = []

    async def spy(ref: bytes) -> bytes:
        asked.append(ref)
        return await read_media_file(ref)

    gateway, ingest = await wire(
        gateway=SimulatedGateway(tmp_path, None, FakeClock(), download=spy)
    )
    declared = 2 * 1024**3  # "a 2 GB document"
    await gateway.play(
        message(
            1,
            kind="document",
            text="",
            mimetype="application/pdf",
            media_file=str(src),
            file_size=declared,
        )
    )
    await settle(gateway, ingest)
    stored = await last_stored(storage)
    assert stored.media_state == "too_large" and "declared 2147 MB" in stored.media_error
    assert asked == [] and await storage.messages.media_to_retry() == []


async def test_media_budget_skips_then_fetches_on_request(storage, tmp_path) -> None:
    gateway = SimulatedGateway(tmp_path, None, FakeClock())
    budget = [(0, 10_000)]  # 0 MB a day: nothing downloads by itself
    ingest = IngestService(storage, gateway, frozenset({ADMIN}), media_budget=lambda: budget[0])
    gateway.subscribe(ingest.on_event)
    await gateway.start()
    src = tmp_path / "photo.jpg"
    src.write_bytes(b"\xff\xd8" + b"x" * 5000)
    try:
        await gateway.play(
            message(
                1,
                kind="image",
                text="",
                mimetype="image/jpeg",
                media_file=str(src),
                file_size=5002,
            )
        )
        await settle(gateway, ingest)
        stored = await last_stored(storage)
        assert stored.media_state == "skipped" and "media_day_mb" in stored.media_error
        assert await ingest.media.retry() == 0  # not retried by itself
        assert await ingest.media.fetch(stored, on_request=True) == "done"
        assert await storage.messages.media_usage() == (5002, 5002)
        budget[0] = (1, 10_000)  # 1 MB a day: the next one fits
        await gateway.play(
            message(
                2,
                kind="image",
                text="",
                mimetype="image/jpeg",
                media_file=str(src),
                file_size=5002,
            )
        )
        await settle(gateway, ingest)
        chat = await storage.chats.by_jid(ALICE)
        states = [m.media_state for m in await storage.messages.last(chat.id)]
        assert sorted(states) == ["done", "done"]
    finally:
        await gateway.stop()
        await ingest.tasks.cancel_all()


async def test_attempt_counted_before_download_and_two_at_a_time(storage, wire, tmp_path) -> None:
    release = asyncio.Event()
    running, most, attempts_seen = 0, 0, []

    async def slow(ref: bytes) -> bytes:
        nonlocal running, most
        running += 1
        most = max(most, running)
        chat = await storage.chats.by_jid(ALICE)
        attempts_seen.append(
            await storage_db.run(
                lambda: (
                    MessageRecord.select(fn.MAX(MessageRecord.media_attempts))
                    .where(MessageRecord.chat == chat.id)
                    .scalar()
                )
            )
        )
        await release.wait()
        running -= 1
        return b"data"

    gateway, ingest = await wire(
        gateway=SimulatedGateway(tmp_path, None, FakeClock(), download=slow)
    )
    for i in range(5):
        await gateway.play(
            message(
                i,
                kind="document",
                text="",
                mimetype="application/pdf",
                media_file=str(tmp_path / "x.pdf"),
                file_size=4,
            )
        )
    await gateway.drain()
    fetches = [
        asyncio.create_task(ingest.media.fetch(m))
        for m in await storage.messages.last((await storage.chats.by_jid(ALICE)).id)
    ]

    await wait_until(lambda: running >= 2, what="two downloads waiting")
    assert running == 2 and attempts_seen[0] >= 1  # counted before the bytes arrived
    release.set()
    await asyncio.gather(*fetches)
    await settle(gateway, ingest)
    assert most == 2
