"""Queries at scale: chat-list page with unread counts, last 50 of a chat, full-text search.

    python -m bench.queries [--messages 1000000] [--chats 5000] [--runs 200]

The store is filled with raw executemany (not timed). Each query runs through the real
repository. Baseline in the same run: a primary-key lookup on the same database.
Target (issue 7): p99 < 20 ms each.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.common import summary_ms, table
from storage import db as storage_db
from storage.chats import PeeweeChatRepository
from storage.messages import PeeweeMessageRepository
from storage.migrations import migrate

WORDS = [
    "meeting",
    "invoice",
    "dinner",
    "tomorrow",
    "project",
    "report",
    "call",
    "payment",
    "photo",
    "birthday",
    "weekend",
    "school",
    "train",
    "coffee",
    "budget",
    "contract",
    "holiday",
    "doctor",
]


def fill(path: Path, n: int, chats: int) -> None:
    storage_db.bind(storage_db.make_database(f"sqlite:///{path}"))
    migrate()
    storage_db.db.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("PRAGMA synchronous=off")
    t0 = 1_700_000_000_000
    conn.executemany(
        "INSERT INTO chats (id, jid, name, name_rank, is_group, trusted, ai_enabled, ai_auto,"
        " cloud_llm_allowed, include_in_digest, unread, score_bias, created_at, last_activity,"
        " search_names) VALUES (?, ?, ?, 1, 0, 0, 0, 0, 1, 1, ?, 0, 0, ?, ?)",
        [
            (
                c,
                f"1555{c:07d}@s.whatsapp.net",
                f"Person {c}",
                c % 7,
                t0 + c * 1000,
                f"|person {c}|1555{c:07d}|",  # as storage/names.py keys them
            )
            for c in range(1, chats + 1)
        ],
    )
    conn.executemany(
        "INSERT INTO chat_aliases (jid, chat_id) VALUES (?, ?)",
        [(f"1555{c:07d}@s.whatsapp.net", c) for c in range(1, chats + 1)],
    )
    rnd = random.Random(7)
    sql = (
        "INSERT INTO messages (chat_id, wa_id, sender, sender_name, kind, text, caption,"
        " from_me, timestamp, history, view_once, media_mimetype, media_file_name,"
        " media_size, media_state, media_attempts, mentions, edited, deleted, reactions,"
        " delivery, reason, feedback) VALUES (?, ?, ?, '', 'text', ?, '', 0, ?, 1, 0, '', '',"
        " 0, 'none', 0, '[]', 0, 0, '{}', '', '', 0)"
    )
    batch = []
    for i in range(n):
        c = 1 + i % chats
        words = rnd.sample(WORDS, 4)
        text = ("the " if rnd.random() < 0.8 else "") + " ".join(words) + f" number {i}"
        batch.append((c, f"3EB0{i:012d}", f"1555{c:07d}@s.whatsapp.net", text, t0 + i * 1000))
        if len(batch) == 50_000:
            with conn:
                conn.executemany(sql, batch)
            batch = []
    with conn:
        conn.executemany(sql, batch)
    conn.close()


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return samples


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    path = Path(tempfile.mkdtemp(prefix="bench-queries-")) / "q.db"
    start = time.perf_counter()
    fill(path, args.messages, args.chats)
    fill_s = time.perf_counter() - start
    storage_db.bind(storage_db.make_database(f"sqlite:///{path}"))
    chats, msgs = PeeweeChatRepository(), PeeweeMessageRepository()
    rnd = random.Random(3)
    n = args.messages
    results: dict[str, float] = {"messages": float(n), "fill_seconds": fill_s}
    cases = {
        "pk_lookup_baseline": lambda i: msgs.get.sync(msgs, rnd.randint(1, n)),
        "chat_list_page": lambda i: chats.list_page.sync(chats, "", i % 50, 8),
        "chat_list_search": lambda i: chats.list_page.sync(chats, f"Person {i % 90}", 0, 8),
        "last_50_of_chat": lambda i: msgs.last.sync(msgs, 1 + rnd.randrange(args.chats), 50),
        "search_common_word": lambda i: msgs.search.sync(msgs, "the", 20),
        "search_rare_term": lambda i: msgs.search.sync(msgs, f"number {rnd.randrange(n)}", 20),
        "search_two_words": lambda i: msgs.search.sync(msgs, "invoice tomorrow", 20),
    }
    base_p99 = None
    for name, fn in cases.items():
        fn(0)  # warm the cache
        s = summary_ms(timed(fn, args.runs))
        results[f"{name}_p50_ms"] = s["p50_ms"]
        results[f"{name}_p99_ms"] = s["p99_ms"]
        if base_p99 is None:
            base_p99 = s["p99_ms"]
        else:
            results[f"{name}_p99_ratio"] = s["p99_ms"] / base_p99
    storage_db.db.close()
    table(f"Queries: {n} messages in {args.chats} chats", results.items())
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
