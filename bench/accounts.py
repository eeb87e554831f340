"""Several accounts in one process (issue 21): the whole bot (simulator backend, fake Bot API)
with 1 and then 10 linked accounts.

    python -m bench.accounts [--accounts 10] [--history 5000] [--messages 300] [--rounds 3]

Measured in one run:
- idle RSS per extra account: RSS with N accounts minus RSS with one, over N-1 (target ≤ 15 MB;
  simulated sessions: a real neonize client adds its Go session on top);
- history sync: N accounts each receiving ``--history`` messages at once, as messages stored a
  second, against one account receiving all N × ``--history`` alone, each into an empty
  store (target ≥ 0.8). Both sides get the same messages in the same chunks: each account
  has its own chats and message ids, and the single account receives every account's
  chunks one after another. ``--rounds`` alternates the two sides, each in a fresh store,
  and compares the best of each (the machine is shared and noisy);
- live forwards with all N accounts active (messages round-robin over them, paced so the
  figure is latency, not queueing): p99 (target < 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
from pathlib import Path

from bench.common import rss_mb, summary_ms, table
from bench.history_ingest import build_chunks
from bot.handlers.accounts import start_account
from tests.bot.conftest import settings_for, start_app, stop_app
from tests.fakes.bot_api import FakeBotApi
from whatsapp import protos

HISTORY_TYPE = protos.EVENT_TYPES["history_sync"]
#: Chats in each account's history.
CHATS = 50


def own(i: int) -> str:
    """The own number of account ``i``."""
    return f"1555900{i:04d}@s.whatsapp.net"


async def add_accounts(app, n: int) -> None:  # type: ignore[no-untyped-def]
    """Add accounts 2..n the way /accounts does, and connect each."""
    s = app.bot_data["services"]
    for i in range(2, n + 1):
        info = await s.storage.accounts.add(f"acct{i}")
        account = s.factory.build(info)
        s.accounts.add(account)
        await start_account(app, s, account)
        line = {"event": "connected", "jid": own(i), "account": account.label}
        await account.gateway.play(line)
        await account.gateway.drain()


def histories(n_accounts: int, n: int, chats: int) -> list[list[bytes]]:
    """Each account's history: ``n`` messages in ``chats`` chats of its own, with message ids
    of its own (two accounts share ids only for a group they are both in)."""
    return [build_chunks(n, chats, first=k * n, first_chat=k * chats) for k in range(n_accounts)]


async def history(app, accounts: list, feeds: list[list[bytes]]) -> float:  # type: ignore[no-untyped-def]
    """Every account in ``accounts`` receives its feed (serialized HistorySync chunks) at
    once; return the messages stored a second over all of them."""
    parsed = [[HISTORY_TYPE.FromString(raw) for raw in feed] for feed in feeds]
    s = app.bot_data["services"]
    before = await s.storage.messages.count()

    async def sync(account, chunks: list) -> None:  # type: ignore[no-untyped-def]
        for chunk in chunks:
            await account.gateway.receive("history_sync", chunk)
        await account.gateway.drain()
        await account.ingest.idle()

    expected = sum(
        len(c.messages) for chunks in parsed for h in chunks for c in h.Data.conversations
    )
    start = time.perf_counter()
    await asyncio.gather(*(sync(a, c) for a, c in zip(accounts, parsed, strict=True)))
    elapsed = time.perf_counter() - start
    stored = await s.storage.messages.count() - before
    assert stored == expected, (stored, expected)
    return stored / elapsed


async def live(app, api: FakeBotApi, n: int, interval: float) -> list[float]:  # type: ignore[no-untyped-def]
    """Forward latency of ``n`` important messages spread over every account."""
    s = app.bot_data["services"]
    accounts = list(s.accounts)
    samples, start = [], 0.0
    for i in range(n):
        account = accounts[i % len(accounts)]
        jid = f"1555{i % 40:07d}@s.whatsapp.net"
        marker = f"urgent please call {i}!"
        seen = len(api.calls)
        await asyncio.sleep(max(0.0, start + interval - time.perf_counter()))
        start = time.perf_counter()
        await account.gateway.play(
            {
                "event": "message",
                "id": f"L{i}",
                "chat": jid,
                "sender": jid,
                "text": marker,
                "account": account.label,
            }
        )
        while not any(marker in c.text for c in api.calls[seen:]):
            api.changed.clear()
            await asyncio.wait_for(api.changed.wait(), 5)
        samples.append(time.perf_counter() - start)
    return samples


async def started(tmp: Path, api: FakeBotApi):  # type: ignore[no-untyped-def]
    """The whole bot on a fresh data directory, its first account connected."""
    feed = tmp / "feed.jsonl"
    feed.write_text(json.dumps({"event": "connected", "jid": own(1)}) + "\n")
    app = await start_app(settings_for(tmp, api, feed))
    await app.bot_data["services"].account.gateway.drain()
    await api.wait_for(lambda c: c.method == "setMyCommands")
    return app


async def settled_rss() -> float:
    """RSS once garbage is collected and the loop has idled a moment."""
    gc.collect()
    await asyncio.sleep(1)
    return rss_mb()


async def concurrent(  # type: ignore[no-untyped-def]
    api: FakeBotApi, feeds: list[list[bytes]], n_live: int = 0, interval: float = 0.0, full=False
):
    """Every account syncs its history at once, in a fresh bot with ``len(feeds)`` accounts;
    when ``full``, idle RSS before and after adding them and ``n_live`` live forwards are
    measured too. Return (messages a second, idle RSS with one account, with all, samples)."""
    app = await started(Path(tempfile.mkdtemp(prefix="bench-accounts-")), api)
    s = app.bot_data["services"]
    rss_one = await settled_rss() if full else 0.0  # before any history has grown the heap
    await add_accounts(app, len(feeds))
    rss_all = await settled_rss() if full else 0.0
    rate = await history(app, list(s.accounts), feeds)
    samples = await live(app, api, n_live, interval) if full else []
    await stop_app(app)
    return rate, rss_one, rss_all, samples


async def alone(api: FakeBotApi, feeds: list[list[bytes]]) -> float:
    """One account receives every account's history chunks, one after another, in a fresh
    bot: the same messages in the same chunks; only the number of accounts differs."""
    app = await started(Path(tempfile.mkdtemp(prefix="bench-accounts-one-")), api)
    rate = await history(
        app, [app.bot_data["services"].account], [[raw for feed in feeds for raw in feed]]
    )
    await stop_app(app)
    return rate


async def run(
    n_accounts: int, n_history: int, n_live: int, interval: float, rounds: int = 1
) -> dict[str, float]:
    api = FakeBotApi()
    await api.start()
    feeds = histories(n_accounts, n_history, CHATS)
    rate_all, rss_one, rss_all, samples = await concurrent(api, feeds, n_live, interval, True)
    rates_all, rates_one = [rate_all], [await alone(api, feeds)]
    for r in range(1, rounds):  # alternate which side goes first, so neither is always warm
        if r % 2:
            rates_one.append(await alone(api, feeds))
            rates_all.append((await concurrent(api, feeds))[0])
        else:
            rates_all.append((await concurrent(api, feeds))[0])
            rates_one.append(await alone(api, feeds))
    await api.stop()
    lat = summary_ms(samples)
    return {
        "accounts": n_accounts,
        "idle_rss_one_mb": rss_one,
        "idle_rss_all_mb": rss_all,
        "idle_mb_per_extra_account": (rss_all - rss_one) / (n_accounts - 1),
        "history_rounds": rounds,
        "history_msgs_per_s_one_account": max(rates_one),
        "history_msgs_per_s_concurrent": max(rates_all),
        "history_ratio_concurrent_vs_one": max(rates_all) / max(rates_one),
        **{
            f"history_ratio_round_{r + 1}": a / o
            for r, (a, o) in enumerate(zip(rates_all, rates_one, strict=True))
        },
        **{f"live_{k}": v for k, v in lat.items()},
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--history", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--interval-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3, help="history: best of N, alternating")
    args = parser.parse_args(argv)
    result = asyncio.run(
        run(args.accounts, args.history, args.messages, args.interval_ms / 1000, args.rounds)
    )
    table(f"{args.accounts} accounts in one process", result.items())
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
