"""Removing an added WhatsApp account from /accounts (🗑): asked first with what goes, then
its session is unlinked and stopped, its data and files deleted, the others untouched; the
first account can only be logged out; an id used again starts clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.wiring import forget_account_files
from tests.bot.accounts_setup import ANNA, BOSS, add_work_account, hold_replay
from tests.bot.conftest import ADMIN, Env, settings_for, start_app, stop_app
from tests.support import wait_until


async def ask_to_remove(env: Env) -> tuple[int, object]:
    """/accounts → 🗑 of the work account; its id and the question."""
    work_id = env.services.accounts.by_label("work").id
    env.api.send_text(ADMIN, "/accounts")
    listing = await env.api.wait_for(lambda c: "WhatsApp accounts</b> (2)" in c.text)
    bins = [b for b in listing.buttons() if b["text"] == "🗑"]
    assert [b["callback_data"] for b in bins] == [f"ac:{work_id}:remove"]  # never the first
    env.api.press(ADMIN, bins[0]["callback_data"])
    return work_id, await env.api.wait_for(lambda c: "Remove 💼 Work" in c.text)


async def test_removing_an_account_deletes_it_and_leaves_the_other_running(
    env: Env, tmp_path: Path
) -> None:
    await add_work_account(env)
    env.message("W1", "urgent: the offer, call me", chat=BOSS, push_name="Boss", account="work")
    env.message("W2", "and the contract", chat=BOSS, push_name="Boss", account="work")
    await env.api.wait_for(lambda c: "the offer" in c.text)
    work_id, ask = await ask_to_remove(env)
    assert "its 1 chat(s) and 2 message(s) stored here are deleted" in ask.text, ask.text
    home = env.data / "whatsapp" / "accounts" / str(work_id)
    assert home.is_dir()
    yes = next(b for b in ask.buttons() if b["text"].startswith("🗑 Yes"))
    env.api.press(ADMIN, yes["callback_data"])
    await env.api.wait_for(lambda c: "🗑 Work is removed with its chats and messages." in c.text)

    assert [a.label for a in env.services.accounts] == ["main"]
    assert [a.label for a in await env.services.storage.accounts.list()] == ["main"]
    assert not home.exists()
    assert (await env.services.storage.all_accounts.chats.list_page()).total == 0
    env.message("W3", "urgent: still there? call me", chat=BOSS, account="work")
    env.message("P1", "urgent: the flat, call me", chat=ANNA, push_name="Anna")
    forward = await env.api.wait_for(lambda c: "the flat" in c.text)
    assert "💼" not in forward.text  # one account again: no labels
    assert not any("still there" in c.text for c in env.api.sent_to(ADMIN))

    await stop_app(env.app)  # a restart does not bring it back
    env.app = await start_app(settings_for(tmp_path, env.api, env.feed))
    await env.settle()
    assert [a.label for a in env.services.accounts] == ["main"]


async def test_cancel_removes_nothing(env: Env) -> None:
    await add_work_account(env)
    _work_id, ask = await ask_to_remove(env)
    cancel = next(b for b in ask.buttons() if b["text"] == "Cancel")
    env.api.press(ADMIN, cancel["callback_data"])
    await env.api.wait_for(lambda c: "Nothing was removed." in c.text)
    assert sorted(a.label for a in env.services.accounts) == ["main", "work"]
    assert env.services.accounts.by_label("work").gateway.state.value == "connected"


async def test_the_first_account_cannot_be_removed(env: Env) -> None:
    await add_work_account(env)
    env.api.press(ADMIN, "ac:1:remove_yes")  # an old or forged button
    await env.api.wait_for(lambda c: "The first account cannot be removed" in c.text)
    assert env.services.accounts.by_label("main").gateway.state.value == "connected"
    assert len(await env.services.storage.accounts.list()) == 2


async def test_a_label_and_id_used_again_start_clean(env: Env) -> None:
    await add_work_account(env)
    work_id, ask = await ask_to_remove(env)
    yes = next(b for b in ask.buttons() if b["text"].startswith("🗑 Yes"))
    env.api.press(ADMIN, yes["callback_data"])
    await env.api.wait_for(lambda c: "Work is removed" in c.text)
    for left in (work_id, work_id + 1):  # as a removal cut short by a crash would leave
        home = env.data / "whatsapp" / "accounts" / str(left)
        home.mkdir(parents=True, exist_ok=True)
        (home / "session.db").write_text("an old device")
    before = len(env.api.calls)

    def new(text: str):
        return lambda c: text in c.text and env.api.calls.index(c) >= before

    env.api.send_text(ADMIN, "/accounts")
    listing = await env.api.wait_for(new("WhatsApp accounts</b> (1)"))
    add = next(b for b in listing.buttons() if "Add account" in b["text"])
    env.api.press(ADMIN, add["callback_data"])
    prompt = await env.api.wait_for(new("New WhatsApp account"))
    env.api.send_text(ADMIN, "work", reply_to=prompt.result["message_id"])
    await env.api.wait_for(new("Work added"))
    again = env.services.accounts.by_label("work")
    home = env.data / "whatsapp" / "accounts" / str(again.id)
    assert not (home / "session.db").exists()  # a new login, never the old device


def test_forgetting_files_deletes_only_the_accounts_own(tmp_path: Path) -> None:
    home = tmp_path / "whatsapp" / "accounts" / "2"
    (home / "journal").mkdir(parents=True)
    (home / "session.db").write_text("session")
    media = tmp_path / "media"
    media.mkdir()
    (media / "its.jpg").write_text("x")
    (media / "other.jpg").write_text("y")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("z")
    forget_account_files(tmp_path, 2, [str(media / "its.jpg"), str(outside)])
    assert not home.exists()
    assert not (media / "its.jpg").exists()
    assert (media / "other.jpg").exists() and outside.exists()
    with pytest.raises(ValueError):
        forget_account_files(tmp_path, 1, [])


async def test_a_session_stuck_at_removal_is_said_and_leaves_the_other_running(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_work_account(env)
    work = env.services.accounts.by_label("work").gateway
    # the real client's login call can stay stuck in Go after stop (an unused QR window)
    monkeypatch.setattr(type(work), "stuck", property(lambda g: int(g is work)))
    _work_id, ask = await ask_to_remove(env)
    yes = next(b for b in ask.buttons() if b["text"].startswith("🗑 Yes"))
    env.api.press(ADMIN, yes["callback_data"])
    done = await env.api.wait_for(lambda c: "🗑 Work is removed" in c.text)
    assert "Its WhatsApp connection did not end" in done.text
    assert "Restart wa-secretary when convenient" in done.text
    env.message("P2", "urgent: the keys, call me", chat=ANNA, push_name="Anna")
    await env.api.wait_for(lambda c: "the keys" in c.text)  # the first account runs on


async def test_a_removal_says_nothing_of_the_logout_it_makes(env: Env) -> None:
    await add_work_account(env)
    before = len(env.api.calls)
    _work_id, ask = await ask_to_remove(env)
    yes = next(b for b in ask.buttons() if b["text"].startswith("🗑 Yes"))
    env.api.press(ADMIN, yes["callback_data"])
    await env.api.wait_for(lambda c: "Work is removed" in c.text)
    await env.settle()
    said = [c.text for c in env.api.calls[before:] if c.text]
    assert not any("logged out" in t.lower() for t in said), said  # main is still linked


async def test_an_account_removed_while_it_starts_never_starts(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_work_account(env)
    work_id = env.services.accounts.by_label("work").id
    await stop_app(env.app)
    replaying, release = hold_replay(monkeypatch, work_id)
    env.app = await start_app(settings_for(tmp_path, env.api, env.feed))
    await wait_until(replaying.is_set, what="the work account's journal replay")
    work = env.services.accounts.find(work_id)
    env.api.press(ADMIN, f"ac:{work_id}:remove_yes")
    await env.api.wait_for(lambda c: "Work is removed" in c.text)
    release.set()
    assert work.starting is not None and work.starting.cancelled()
    env.message("P9", "urgent: the boiler, call me", chat=ANNA, push_name="Anna")
    await env.api.wait_for(lambda c: "the boiler" in c.text)
    said = [c.text for c in env.api.calls if c.text]
    assert not any("could not start" in t for t in said), said


async def test_an_old_forwards_buttons_never_act_on_a_message_that_took_its_id(
    env: Env,
) -> None:
    await add_work_account(env)
    env.message("W1", "urgent: the offer, call me", chat=BOSS, push_name="Boss", account="work")
    old = await env.api.wait_for(lambda c: "the offer" in c.text)
    thumbs = next(b for b in old.buttons() if b["text"] == "👍")
    _work_id, ask = await ask_to_remove(env)
    yes = next(b for b in ask.buttons() if b["text"].startswith("🗑 Yes"))
    env.api.press(ADMIN, yes["callback_data"])
    await env.api.wait_for(lambda c: "Work is removed" in c.text)
    env.message("P1", "urgent: the flat, call me", chat=ANNA, push_name="Anna")
    await env.api.wait_for(lambda c: "the flat" in c.text)  # SQLite may give it W1's id

    env.api.press(ADMIN, thumbs["callback_data"], message_id=old.result["message_id"])
    await env.api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "no longer stored" in str(c.params)
    )
    await env.settle()
    assert not any(x.get("kind") == "reaction" for x in env.sent())
