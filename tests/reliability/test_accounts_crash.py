"""kill -9 of the whole `wa-secretary run` with TWO WhatsApp accounts (issue 21) while both
play a large history sync at the same time, plus live traffic on each, restart, repeat:
for each account every message stored exactly once and under that account only (the two
address books share chats with the same JIDs and group messages with the same ids), and
every live urgent message forwarded, labelled with its account."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from bench.memory import stored as stored_count
from storage import close_storage, open_storage
from tests.fakes.bot_api import FakeBotApi
from tests.reliability.process_kill import checked_db, forwarded, kill_rounds, process_env
from tests.reliability.test_process_crash import OWN, history_item
from tests.support import wait_until
from tests.texts import urgent

HISTORY, CHUNK, LIVE = 2400, 600, 12
#: Each account's own JID; "main" plays the lines without an account (a single user's feed).
OWN_JID = {"main": OWN, "work": "15550002222@s.whatsapp.net"}
LIVE_CHAT = "15559990000@s.whatsapp.net"  # the same person writes to both numbers
EXPECTED = HISTORY + LIVE  # messages of each account


def account_item(account: str, i: int) -> dict[str, object]:
    """The i-th history message of ``account``: the same chats, senders and ids in both
    accounts (a group both numbers are in delivers one message id to each); the text
    names the account, so a message stored under the other one shows."""
    item = history_item(i)
    if item["from_me"]:
        item["sender"] = OWN_JID[account]
    return {**item, "text": f"{account} old {i}"}


def tagged(account: str, line: dict[str, object]) -> str:
    """A feed line of ``account`` (main's carry no account, like a single user's feed)."""
    return json.dumps(line if account == "main" else {**line, "account": account})


def feed_lines() -> list[str]:
    """Both accounts' history chunks side by side, so their syncs run at the same time;
    each connects after its first chunk; live urgent messages between the chunks."""
    lines = []
    for start in range(0, HISTORY, CHUNK):
        for account, own in OWN_JID.items():
            items = [account_item(account, i) for i in range(start, start + CHUNK)]
            lines.append(tagged(account, {"event": "history_sync", "messages": items}))
            if start == 0:
                lines.append(tagged(account, {"event": "connected", "jid": own}))
        for j in range(LIVE * start // HISTORY, LIVE * (start + CHUNK) // HISTORY):
            for account in OWN_JID:
                live = {
                    "event": "message",
                    "id": f"L{j}",
                    "chat": LIVE_CHAT,
                    "sender": LIVE_CHAT,
                    "text": urgent(f"live {account} {j}"),
                    "push_name": "Live",
                }
                lines.append(tagged(account, live))
    return lines


#: The chats of each account (the same JIDs in both).
CHATS = {str(history_item(i)["chat"]) for i in range(HISTORY)} | {LIVE_CHAT}

PER_ACCOUNT = """
    SELECT a.label, COUNT(*), COUNT(DISTINCT m.chat_id || '/' || m.wa_id),
           SUM(instr(m.text, a.label) = 0)
    FROM messages m JOIN chats c ON c.id = m.chat_id JOIN account a ON a.id = c.account_id
    GROUP BY a.label
"""


#: Per account: forwards queued in the Telegram outbox, and the distinct messages they show.
QUEUED = """
    SELECT a.label, COUNT(*), COUNT(DISTINCT m.id)
    FROM telegram_outbox t JOIN messages m ON m.id = json_extract(t.payload, '$.message_id')
    JOIN chats c ON c.id = m.chat_id JOIN account a ON a.id = c.account_id
    WHERE t.kind = 'forward'
    GROUP BY a.label
"""


def per_account(db: Path) -> dict[str, tuple[int, int, int]]:
    """Per account label: messages stored, distinct (chat, id), and messages whose text
    does not name its own account; empty while the database cannot be read."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return {row[0]: tuple(row[1:]) for row in conn.execute(PER_ACCOUNT)}
        finally:
            conn.close()
    except sqlite3.Error:
        return {}


async def add_work_account(db: Path) -> None:
    """The second account, stored before the first start: the process restores it at start
    like a user's second account after a restart."""
    db.parent.mkdir(parents=True)
    storage = await open_storage(f"sqlite:///{db}")
    try:
        await storage.accounts.add("work")
    finally:
        await close_storage()


def live_pattern(account: str) -> str:
    return rf"URGENT live {account} (\d+):"


async def run_rounds(tmp_path: Path, rounds: int) -> dict[str, object]:
    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(feed_lines()) + "\n")
    db = tmp_path / "data" / "secretary.db"
    await add_work_account(db)
    rnd = random.Random(21)
    total = len(OWN_JID) * EXPECTED

    async def mid_sync(r: int) -> None:
        """Kill once the round's share of the two syncs is stored: always in the middle."""
        low, high = total * r // (rounds + 1), total * (r + 1) // (rounds + 1)
        target = max(1, rnd.randint(low, high))
        await wait_until(lambda: stored_count(db) >= target, timeout=60, what="the syncs")

    def finished() -> bool:
        done = {label: counts[0] for label, counts in per_account(db).items()}
        return done == dict.fromkeys(OWN_JID, EXPECTED) and all(
            len(set(forwarded(api, live_pattern(a)))) == LIVE for a in OWN_JID
        )

    try:
        await kill_rounds(process_env(tmp_path, api, feed), tmp_path, rounds, mid_sync, finished)
    finally:
        await api.stop()
    conn = checked_db(db)
    try:
        (shared,) = conn.execute(
            "SELECT COUNT(*) FROM chats a JOIN chats b ON a.jid = b.jid AND a.id < b.id"
        ).fetchone()
        queued = {row[0]: tuple(row[1:]) for row in conn.execute(QUEUED)}
    finally:
        conn.close()
    return {
        "rounds": rounds,
        "shared_chats": shared,
        "queued": queued,
        **forward_result(api),
        **per_account(db),
    }


def forward_result(api: FakeBotApi) -> dict[str, object]:
    """Per account: live messages forwarded, repeats (a retry after a timeout may send one
    twice) and forwards that mix accounts or miss their label."""
    result: dict[str, object] = {}
    for account, other in (("main", "work"), ("work", "main")):
        shown = forwarded(api, live_pattern(account))
        wrong = [
            c
            for c in api.of("sendMessage")
            if f"URGENT live {account} " in c.text
            and (f"💼 {account.title()}" not in c.text or f"URGENT live {other} " in c.text)
        ]
        result[f"{account}_forwarded"] = len(set(shown))
        result[f"{account}_repeats"] = len(shown) - len(set(shown))
        result[f"{account}_mislabelled"] = len(wrong)
    return result


def check(result: dict[str, object]) -> None:
    assert result["shared_chats"] == len(CHATS)  # every chat's JID is a chat of both accounts
    for account in OWN_JID:
        # stored, distinct (chat, id), naming the other account: each exactly once, no stray
        assert result[account] == (EXPECTED, EXPECTED, 0), (account, result)
        # Queued once each; a send the kill cut off before it was marked sent is sent again
        # (like a retry after a timeout): the only repeat allowed, not counted here.
        assert result["queued"][account] == (LIVE, LIVE), result
        assert result[f"{account}_forwarded"] == LIVE, result
        assert result[f"{account}_mislabelled"] == 0, result


async def test_kill_9_two_accounts_syncing_three_rounds(tmp_path: Path) -> None:
    result = await run_rounds(tmp_path, rounds=3)
    print("two-account process crash:", result)
    check(result)


@pytest.mark.soak
async def test_kill_9_two_accounts_syncing_fifteen_rounds(tmp_path: Path) -> None:
    result = await run_rounds(tmp_path, rounds=15)
    print("two-account process crash:", result)
    check(result)
