"""Digest content on fixtures, the missed-digest rule, and the schedule across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from assistant.digest import DigestService
from assistant.pipeline import IngestService
from assistant.triage_rules import TriageRules
from bot import render_digest as rd
from core.events import HistoryBatchReceived, MessageReceived, WaMessage
from core.ids import ChatJid, WaMessageId
from storage import Storage
from tests.fakes.clock import FakeClock


def make_digests(*args: object, **kwargs: object) -> DigestService:
    """The digest service as the wiring builds it: the bot renders what is stored."""
    return DigestService(*args, render=rd.text, **kwargs)  # type: ignore[arg-type]


BERLIN = ZoneInfo("Europe/Berlin")
ME = ChatJid("15550001111@s.whatsapp.net")
ALICE = ChatJid("15550000002@s.whatsapp.net")
BOB = ChatJid("15550000003@s.whatsapp.net")
GROUP = ChatJid("120363000000000001@g.us")


def wa(i: int, chat: str, sender: str, text: str, at: datetime, **kw) -> MessageReceived:
    return MessageReceived(
        WaMessage(
            WaMessageId(f"D{i}"),
            ChatJid(chat),
            ChatJid(sender),
            at,
            text=text,
            push_name=kw.pop("push", "Alice"),
            **kw,
        )
    )


async def fill(storage: Storage, clock: FakeClock) -> IngestService:
    rules = TriageRules(own_jids={ME})
    ingest = IngestService(storage, None, frozenset({1}), rules, clock)  # type: ignore[arg-type]
    t = clock.now() - timedelta(hours=10)
    events = [
        wa(1, ALICE, ALICE, "Can you send the invoice by Friday?", t),
        wa(2, ALICE, ALICE, "ok thanks", t + timedelta(minutes=5)),
        wa(3, GROUP, BOB, "lol", t + timedelta(minutes=6), push="Bob", group_name="Friends"),
        wa(
            4,
            GROUP,
            BOB,
            "@15550001111 are you coming tonight?",
            t + timedelta(minutes=7),
            push="Bob",
            mentions=(ME,),
        ),
        wa(5, BOB, BOB, "URGENT: server down", t + timedelta(hours=9), push="Bob"),
    ]
    for ev in events:
        await ingest.on_event(ev)
    await ingest.idle()
    return ingest


async def test_digest_groups_by_chat_importance_first_with_questions(storage: Storage) -> None:
    clock = FakeClock(datetime(2026, 5, 2, 8, 0, tzinfo=UTC))
    ingest = await fill(storage, clock)
    service = make_digests(storage, clock, BERLIN, ingest.rules, unanswered_hours=4)
    view = await service.build("daily")
    names = [s.name for s in view.report.chats]
    scores = [s.top_score for s in view.report.chats]
    assert scores == sorted(scores, reverse=True)  # the chat with the top message first
    assert set(names) == {"Bob", "Alice", "Friends"}
    alice = next(s for s in view.report.chats if s.name == "Alice")
    assert "⏳ waiting" in rd.section(alice) and "under Needs you" in rd.section(alice)
    # Questions to me lead, across chats, before any chat's section; not repeated below.
    assert rd.needs(view.report).startswith("<b>🙋 Needs you</b> (")
    assert "invoice" in rd.needs(view.report) and "Bob: @15550001111 are you coming" in rd.needs(
        view.report
    )
    assert "ok thanks" not in rd.needs(view.report) and "lol" not in rd.needs(view.report)
    assert "invoice" not in rd.section(alice)
    group = next(s for s in view.report.chats if s.name == "Friends")
    assert "lol" in rd.section(group) and "Bob" in rd.section(group)
    assert "5 new message(s) in 3 chat(s)" in rd.header(view.report)
    stored = await storage.digests.get(view.digest.id)
    assert stored is not None and stored.text.startswith("<b>Daily digest</b>")
    assert stored.text.index("Needs you") < stored.text.index("<b>Alice</b>")


async def test_unanswered_hours_changed_in_settings_apply_at_once(storage: Storage) -> None:
    clock = FakeClock(datetime(2026, 5, 2, 8, 0, tzinfo=UTC))
    ingest = await fill(storage, clock)
    hours = [4]
    service = make_digests(storage, clock, BERLIN, ingest.rules, unanswered_hours=lambda: hours[0])
    alice = lambda view: next(s for s in view.report.chats if s.name == "Alice")  # noqa: E731
    assert "⏳ waiting" in rd.section(alice(await service.build("manual")))
    hours[0] = 168  # /settings unanswered_hours 168, no restart
    assert "⏳ waiting" not in rd.section(alice(await service.build("manual")))


async def test_muted_and_excluded_chats_are_left_out_and_mark_moves_on_confirm(
    storage: Storage,
) -> None:
    clock = FakeClock(datetime(2026, 5, 2, 8, 0, tzinfo=UTC))
    ingest = await fill(storage, clock)
    alice = await storage.chats.by_jid(ALICE)
    group = await storage.chats.by_jid(GROUP)
    await storage.chats.set_flag(alice.id, "include_in_digest", False)
    await storage.chats.set_muted_until(group.id, clock.now() + timedelta(hours=8))
    service = make_digests(storage, clock, BERLIN, ingest.rules)
    view = await service.build("manual")
    assert [s.name for s in view.report.chats] == ["Bob"]
    assert "4 from muted or excluded chats left out" in rd.footer(view.report)
    before = await service.period_start()
    await service.mark_sent(view.digest.id)
    assert await service.period_start() == clock.now() != before
    await clock.advance(60)
    again = await service.build("manual")
    assert again.report.chats == () and "Nothing new" in rd.footer(again.report)


async def test_pages_split_under_the_limit_with_open_buttons(storage: Storage) -> None:
    clock = FakeClock(datetime(2026, 5, 2, 8, 0, tzinfo=UTC))
    rules = TriageRules(own_jids={ME})
    ingest = IngestService(storage, None, frozenset({1}), rules, clock)  # type: ignore[arg-type]
    t = clock.now() - timedelta(hours=2)
    for i in range(40):
        jid = f"1555100{i:04d}@s.whatsapp.net"
        await ingest.on_event(
            wa(100 + i, jid, jid, "Can you call me? " + "blah " * 150, t, push=f"P{i}")
        )
    view = await make_digests(storage, clock, BERLIN, rules).build("catchup", hours=3)
    chunks = rd.pages(view.report)
    assert len(chunks) > 1 and all(len(text) <= 4096 for text, _ in chunks)
    rows = [row for _, m in chunks if m for row in m.inline_keyboard]
    assert len(rows) == len(view.report.chats)  # each chat: 📂 open it, ‼️ one was urgent
    assert all(
        [b.callback_data.rsplit(":", 1)[1] for b in row] == ["open", "urgent"] for row in rows
    )


async def test_missed_digest_is_detected_once(storage: Storage) -> None:
    clock = FakeClock(datetime(2026, 5, 2, 10, 0, tzinfo=UTC))  # 12:00 in Berlin
    service = make_digests(storage, clock, BERLIN, TriageRules())
    scheduled = datetime(2026, 5, 2, 8, 0, tzinfo=BERLIN)
    assert not await service.missed(scheduled)  # first start ever: nothing was missed
    d = await storage.digests.add(
        "daily", clock.now() - timedelta(days=2), clock.now() - timedelta(days=1, hours=4), "x", 0
    )
    await storage.digests.mark_sent(d.id)
    # the last one ended Friday 08:00 (by the clock, whatever the wall time it was marked)
    assert await service.missed(scheduled)
    caught_up = await storage.digests.add(
        "daily", clock.now() - timedelta(days=1, hours=4), clock.now(), "y", 0
    )
    await storage.digests.mark_sent(caught_up.id)
    assert not await service.missed(scheduled)  # once sent, it is not missed again


def test_daily_trigger_fires_at_local_time_across_dst() -> None:
    from telegram.ext import ApplicationBuilder

    from tests.fakes.bot_api import TOKEN

    app = ApplicationBuilder().token(TOKEN).build()
    from datetime import time

    job = app.job_queue.run_daily(lambda c: None, time=time(8, 0, tzinfo=BERLIN), name="digest")
    trigger = job.job.trigger
    before = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # DST starts 29 March 2026 in Berlin
    first = trigger.get_next_fire_time(None, before)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert first.astimezone(BERLIN).hour == 8 and second.astimezone(BERLIN).hour == 8
    assert first.astimezone(UTC).hour == 7 and second.astimezone(UTC).hour == 6


async def test_llm_digest_map_reduce_stays_within_budget_and_call_count(storage: Storage) -> None:
    import json as _json

    from assistant.llm.guard import GuardedLLM
    from assistant.llm.openai import OpenAIProvider
    from assistant.summarize import Summarizer
    from tests.fakes.llm_server import FakeLLMServer

    def respond(messages) -> str:
        chats = _json.loads(messages[-1]["content"])["chats"]
        return _json.dumps(
            {"summaries": [{"i": c["i"], "summary": f"summary of {c['chat']}"} for c in chats]}
        )

    server = FakeLLMServer(respond)
    await server.start()
    clock = FakeClock(datetime(2026, 5, 2, 8, 0, tzinfo=UTC))
    llm = GuardedLLM(OpenAIProvider("gpt-4o-mini", "k", server.openai_url), clock)
    budget = 4000
    service = make_digests(
        storage,
        clock,
        BERLIN,
        TriageRules(own_jids={ME}),
        summarizer=Summarizer(llm, token_budget=budget),
    )
    start = clock.now() - timedelta(hours=20)
    batch = []
    for i in range(10_000):
        c = i % 40
        jid = ChatJid(f"1555200{c:04d}@s.whatsapp.net")
        batch.append(
            WaMessage(
                WaMessageId(f"T{i}"),
                jid,
                jid,
                start + timedelta(seconds=7 * i),
                text=f"message {i} about plans for the week " * 2,
                push_name=f"Friend {c:02d}",
            )
        )
    stored = await storage.messages.store(batch)
    await storage.messages.set_importance([(m.id, m.id % 10, "x") for m in stored])
    private = await storage.chats.by_jid("15552000007@s.whatsapp.net")
    await storage.chats.set_flag(private.id, "cloud_llm_allowed", False)
    try:
        view = await service.build("daily")
    finally:
        await llm.aclose()
        await server.stop()
    calls = server.requests
    assert 1 <= len(calls) <= 12
    assert all(len(r.text) / 4 <= budget for r in calls)  # no call exceeds the budget
    summarised = [s for s in view.report.chats if "📝 summary of" in rd.section(s)]
    assert len(summarised) == len(view.report.chats) - 1
    assert all("Friend 07" not in r.text for r in calls)  # cloud-shy chat never sent
    assert all(len(text) <= 4096 for text, _ in rd.pages(view.report))


async def test_scams_are_left_out_of_the_chats_and_counted_last_marked(storage: Storage) -> None:
    clock = FakeClock(datetime(2026, 5, 2, 8, 0, tzinfo=UTC))
    ingest = await fill(storage, clock)
    t = clock.now() - timedelta(hours=1)
    stranger = "15559990001@s.whatsapp.net"
    scam = "URGENT: your account is suspended, verify now at https://paypal-secure-login.com"
    await ingest.on_event(wa(90, stranger, stranger, scam, t, push="Service"))
    await ingest.on_event(wa(91, BOB, BOB, "Hi mum, this is my new number, send me 400 today", t))
    chain = "Forward this to 10 contacts or WhatsApp will start charging for every message!!"
    old = wa(92, GROUP, BOB, chain, t, push="Bob").message  # from a history sync: no live check
    await ingest.on_event(HistoryBatchReceived((old,), chats=1, progress=100))
    await ingest.idle()
    view = await make_digests(storage, clock, BERLIN, ingest.rules).build("manual")
    assert "paypal" not in "".join(rd.section(s) for s in view.report.chats) + rd.needs(
        view.report
    )
    assert "new number" not in "".join(rd.section(s) for s in view.report.chats) + rd.needs(
        view.report
    )
    assert rd.scams(view.report).startswith(
        "<b>⚠️ looks like a scam</b> — 3 message(s), left out above"
    )
    assert rd.scams(view.report).count(
        "⚠️ <b>"
    ) == 3 and "WhatsApp will start charging" in rd.scams(view.report)
    assert "8 new message(s) in 4 chat(s)" in rd.header(view.report)  # counted, not hidden
    stored = await storage.digests.get(view.digest.id)
    assert stored.text.index("looks like a scam") > max(
        stored.text.index(f"<b>{s.name}</b>") for s in view.report.chats
    )
    pages_text = "\n".join(text for text, _ in rd.pages(view.report))
    assert pages_text.index("looks like a scam") > pages_text.index("Needs you")
