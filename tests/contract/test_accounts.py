"""Several WhatsApp accounts in one database, SQLite and PostgreSQL: the accounts repository,
repositories bound to one account (storage/scope.py), the all-accounts view, and removing an
account with everything of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.events import ContactSeen, MediaInfo, WaMessage
from core.ids import STATUS_BROADCAST, ChatJid, MessageKind, WaMessageId
from core.labels import label_key, skeleton
from storage import Storage
from storage.accounts import check_label
from storage.domain import MediaState

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ALICE = ChatJid("15550000002@s.whatsapp.net")
BOB = ChatJid("15550000003@s.whatsapp.net")
CASES = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def msg(i: int, chat: str = ALICE, text: str = "hello", wa_id: str = "", **kw) -> WaMessage:
    return WaMessage(
        id=WaMessageId(wa_id or f"3EB0{i:08d}"),
        chat=ChatJid(chat),
        sender=ChatJid(kw.pop("sender", chat)),
        timestamp=T0 + timedelta(minutes=i),
        text=text,
        push_name=kw.pop("push_name", "Alice"),
        **kw,
    )


async def two(storage: Storage) -> tuple[Storage, Storage]:
    """Account 1 (the storage itself) and a second one, "work"."""
    work = await storage.accounts.add("Work")
    return storage, storage.for_account(work.id)


async def test_the_first_account_is_main_and_default(storage: Storage) -> None:
    assert storage.account_id == 1
    [main] = await storage.accounts.list()
    assert (main.id, main.label, main.is_default, main.own_jid, main.settings) == (
        1,
        "main",
        True,
        None,
        {},
    )
    assert await storage.accounts.by_label(" MAIN ") == main
    assert await storage.accounts.get(2) is None


async def test_accounts_are_added_renamed_defaulted_and_configured(storage: Storage) -> None:
    a = storage.accounts
    work = await a.add("  Work Phone ")
    assert (work.label, work.is_default) == ("work phone", False)
    assert (await a.by_label("WORK PHONE")).id == work.id
    for bad in ("", "   ", "x" * 21, "a/b", "tab\there", "main", "MAIN"):
        with pytest.raises(InvalidInput):
            await a.add(bad)
    with pytest.raises(InvalidInput, match="already used"):
        await a.rename(work.id, "Main")
    renamed = await a.rename(work.id, "office_2")
    assert renamed.label == "office_2"
    assert (await a.rename(work.id, "OFFICE_2")).label == "office_2"  # its own label is free
    await a.set_default(work.id)
    assert [(x.id, x.is_default) for x in await a.list()] == [(1, False), (work.id, True)]
    paired = await a.set_own_jid(work.id, "15550009999@s.whatsapp.net")
    assert paired.own_jid == "15550009999@s.whatsapp.net"
    assert (await a.set_own_jid(work.id, None)).own_jid is None
    await a.set_setting(work.id, "digest_time", "18:00")
    got = await a.set_setting(work.id, "quiet", True)
    assert got.settings == {"digest_time": "18:00", "quiet": True}
    assert (await a.set_setting(work.id, "quiet", None)).settings == {"digest_time": "18:00"}


async def test_removing_refuses_the_last_and_moves_the_default(storage: Storage) -> None:
    a = storage.accounts
    with pytest.raises(InvalidInput, match="last account"):
        await a.remove(1)
    second, third = await a.add("two"), await a.add("three")
    await a.set_default(second.id)
    await a.remove(second.id)
    assert [(x.id, x.is_default) for x in await a.list()] == [(1, True), (third.id, False)]


async def test_the_same_jid_in_two_accounts_is_two_chats(storage: Storage) -> None:
    main, work = await two(storage)
    [mine] = await main.messages.store([msg(1, text="personal news")])
    [theirs] = await work.messages.store([msg(1, text="personal news")])  # same WhatsApp id
    assert mine.id != theirs.id and mine.chat_id != theirs.chat_id
    assert await main.messages.store([msg(1)]) == []  # deduplicated within each account
    assert await work.messages.store([msg(1)]) == []
    a, b = await main.chats.by_jid(ALICE), await work.chats.by_jid(ALICE)
    assert (a.id, a.account_id) == (mine.chat_id, 1)
    assert (b.id, b.account_id) == (theirs.chat_id, work.account_id)
    await work.messages.store([msg(2, text="work news")])
    assert [m.text for m in await main.messages.last(a.id)] == ["personal news"]
    assert [m.text for m in await work.messages.last(b.id)] == ["personal news", "work news"]
    # Reads by row id work from any account's storage (Telegram buttons carry ids).
    assert (await main.chats.get(b.id)).account_id == work.account_id
    assert (await main.messages.get(theirs.id)).text == "personal news"


async def test_scoped_lookups_never_see_the_other_account(storage: Storage) -> None:
    main, work = await two(storage)
    await main.messages.store([msg(1, text="the plumber comes")])
    await work.messages.store([msg(2, chat=BOB, text="the plumber invoice", push_name="Bob")])
    await work.messages.store([msg(3, chat=STATUS_BROADCAST, sender=BOB, push_name="Bob")])
    await work.chats.upsert_contacts([ContactSeen(jid=BOB, name="Bob Builder")])
    await work.chats.link_identity(BOB, ChatJid("201000000000009@lid"))
    assert await main.chats.by_jid(BOB) is None
    assert await main.chats.find("bob") == []
    assert await main.chats.find(BOB) == []
    assert [c.jid for c in (await main.chats.list_page()).items] == [ALICE]
    assert await main.chats.count() == 1
    assert await main.chats.contact(BOB) is None
    assert (await work.chats.contact(BOB)).full_name == "Bob Builder"
    assert [m.text for m in await main.messages.search("plumber")] == ["the plumber comes"]
    assert [m.text for m in await work.messages.search("plumb")] == ["the plumber invoice"]
    assert await main.messages.status_posters(T0) == []
    assert [p[0] for p in await work.messages.status_posters(T0)] == [BOB]
    day = (T0, T0 + timedelta(days=1))
    assert [m.text for m in await main.messages.between(*day)] == ["the plumber comes"]
    assert await main.messages.count_since(T0) == 1
    assert await main.messages.apply_edit(BOB, "3EB000000002", BOB, "changed") == "unknown"


async def test_what_is_left_to_do_after_a_crash_is_each_accounts_own(storage: Storage) -> None:
    """Each account's start finishes its own unscored messages and retries its own downloads
    with its own session: another account's are never handed to it (a kill -9 leaves both)."""
    main, work = await two(storage)
    image = {"kind": MessageKind.IMAGE, "media": MediaInfo(mimetype="image/jpeg", ref=b"r")}
    [mine] = await main.messages.store([msg(1, text="", **image)])
    [theirs] = await work.messages.store([msg(1, text="", **image)])  # same chat, same id
    assert [m.id for m in await main.messages.unscored()] == [mine.id]
    assert [m.id for m in await work.messages.unscored()] == [theirs.id]
    assert await main.messages.media_to_retry() == [(mine.id, b"r")]
    assert await work.messages.media_to_retry() == [(theirs.id, b"r")]
    assert len(await storage.all_accounts.messages.unscored()) == 2
    assert len(await storage.all_accounts.messages.media_to_retry()) == 2


async def test_the_all_accounts_view_lists_every_account_or_one(storage: Storage) -> None:
    main, work = await two(storage)
    await main.messages.store([msg(1, text="the plumber comes")])
    await work.messages.store([msg(2, chat=BOB, text="the plumber invoice", push_name="Bob")])
    every = storage.all_accounts
    assert every.account_id is None
    assert [c.jid for c in (await every.chats.list_page()).items] == [BOB, ALICE]
    narrowed = await every.chats.list_page(account_id=work.account_id)
    assert [(c.jid, c.account_id) for c in narrowed.items] == [(BOB, work.account_id)]
    assert (await every.chats.list_page("bob")).total == 1
    assert len(await every.messages.search("plumber")) == 2
    assert [m.text for m in await every.messages.search("plumber", account_id=1)] == [
        "the plumber comes"
    ]
    day = (T0, T0 + timedelta(days=1))
    assert len(await every.messages.between(*day)) == 2
    assert len(await every.messages.between(*day, account_id=work.account_id)) == 1
    assert await every.messages.count_since(T0) == 2
    # A scoped storage asked for another account lists nothing of it.
    assert (await main.chats.list_page(account_id=work.account_id)).total == 0
    assert await main.messages.search("plumber", account_id=work.account_id) == []
    with pytest.raises(ValueError, match="one account"):
        await every.chats.by_jid(ALICE)
    with pytest.raises(ValueError, match="one account"):
        await every.messages.store([msg(9)])


async def test_each_account_sends_its_own_outbox(storage: Storage) -> None:
    main, work = await two(storage)
    first = await main.whatsapp_outbox.add(ALICE, {"text": "from me"})
    second = await work.whatsapp_outbox.add(ALICE, {"text": "from work"})
    later = T0 + timedelta(days=1)
    [mine] = await main.whatsapp_outbox.due(later)
    [theirs] = await work.whatsapp_outbox.due(later)
    assert (mine.id, mine.account_id) == (first, 1)
    assert (theirs.id, theirs.account_id) == (second, work.account_id)
    assert await main.whatsapp_outbox.depth() == 1
    assert (await main.whatsapp_outbox.get(second)).account_id == work.account_id
    assert len(await storage.all_accounts.whatsapp_outbox.due(later)) == 2


async def test_removing_an_account_removes_only_its_data(storage: Storage) -> None:
    main, work = await two(storage)
    [kept] = await main.messages.store([msg(1)])
    [gone] = await work.messages.store([msg(1)])
    await main.chats.upsert_contacts([ContactSeen(jid=ALICE, name="Alice Liddell")])
    await work.chats.upsert_contacts([ContactSeen(jid=ALICE, name="Alice at work")])
    await main.whatsapp_outbox.add(ALICE, {"text": "a"})
    await work.whatsapp_outbox.add(ALICE, {"text": "b"})
    await storage.accounts.remove(work.account_id)
    assert await storage.messages.get(gone.id) is None
    assert await storage.messages.get(kept.id) is not None
    assert (await main.chats.contact(ALICE)).full_name == "Alice Liddell"
    assert await work.chats.contact(ALICE) is None
    assert await work.chats.by_jid(ALICE) is None
    assert len(await storage.all_accounts.whatsapp_outbox.due(T0 + timedelta(days=1))) == 1
    assert (await storage.all_accounts.chats.list_page()).total == 1


async def test_removing_an_account_hands_back_its_media_files_and_frees_their_budget(
    storage: Storage,
) -> None:
    main, work = await two(storage)
    [kept] = await main.messages.store([msg(1)])
    [gone, also] = await work.messages.store([msg(1), msg(2)])
    await main.messages.set_media(kept.id, MediaState.DONE, "/d/media/kept.jpg", 300, None)
    await work.messages.set_media(gone.id, MediaState.DONE, "/d/media/gone.jpg", 1_000, None)
    await work.messages.set_media(also.id, MediaState.DONE, "/d/media/kept.jpg", 300, None)
    assert (await storage.messages.media_usage())[1] == 1_600

    files = await storage.accounts.remove(work.account_id)

    assert files == ["/d/media/gone.jpg"]  # kept.jpg is the main account's too (same group)
    assert (await storage.messages.media_usage())[1] == 300
    assert (await main.messages.get(kept.id)).media_path == "/d/media/kept.jpg"


#: Latin letters, their Cyrillic and Greek look-alikes, invisible fillers and joiners,
#: combining marks, and what the old rule took or refused.
LOOKALIKES = "maino pcxаоіМΑΟνı\u200b\u3164\u115f\u0338_-1"
LABELS = st.one_of(
    st.text(max_size=25),
    st.text(alphabet="aZ09 _-é/İß\t.", max_size=25),
    st.text(alphabet=LOOKALIKES, min_size=1, max_size=5),
)


@settings(CASES, max_examples=40)
@given(steps=st.lists(st.tuples(st.booleans(), LABELS), min_size=1, max_size=6))
async def test_a_refused_label_is_never_stored_and_no_two_labels_look_alike(
    storage: Storage, steps: list[tuple[bool, str]]
) -> None:
    for rename, label in steps:
        before = await storage.accounts.list()
        target = before[-1]
        others = [a.label for a in before if not rename or a.id != target.id]
        try:
            expected = check_label(label, others)
        except InvalidInput:
            expected = None
        if expected is None:
            with pytest.raises(InvalidInput):
                if rename:
                    await storage.accounts.rename(target.id, label)
                else:
                    await storage.accounts.add(label)
            assert await storage.accounts.list() == before
            continue
        if rename:
            got = await storage.accounts.rename(target.id, label)
        else:
            got = await storage.accounts.add(label)
        assert got.label == expected == check_label(expected)
        assert await storage.accounts.by_label(label) == got
    labels = [a.label for a in await storage.accounts.list()]
    assert len({skeleton(label_key(x)) for x in labels}) == len(labels), labels


async def test_a_label_stored_before_the_rule_is_kept_and_found_by_its_key(
    storage: Storage,
) -> None:
    from storage.db import run
    from storage.models import AccountRecord

    def old() -> None:  # the earlier rule kept "ß" (lower-case, not case-folded)
        AccountRecord.create(label="straße", is_default=False, settings="{}")

    await run(old)
    kept = await storage.accounts.by_label("STRASSE")
    assert kept is not None and kept.label == "straße"
    with pytest.raises(InvalidInput, match="already used"):
        await storage.accounts.add("Strasse")
    with pytest.raises(InvalidInput, match="looks like the account “straße”"):
        await storage.accounts.add("ѕtrasse")  # Cyrillic ѕ
    assert [a.label for a in await storage.accounts.list()] == ["main", "straße"]


async def test_an_account_id_is_never_given_twice(storage: Storage) -> None:
    # a removed account's buttons and prompts carry its id: SQLite would reuse the highest
    first = await storage.accounts.add("work")
    await storage.accounts.remove(first.id)
    again = await storage.accounts.add("work")
    assert again.id > first.id
    await storage.accounts.remove(again.id)
    assert (await storage.accounts.add("office")).id > again.id
