"""SQLite write-ahead log: checkpoints run on their own thread, never inside a commit on the
database thread (they fsync, and every query would wait behind them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import storage as storage_pkg
from core.events import WaMessage
from core.ids import ChatJid, WaMessageId
from storage import close_storage, open_storage, wal
from storage import db as storage_db
from tests.support import wait_until

ALICE = ChatJid("15550000002@s.whatsapp.net")


async def test_checkpoints_run_beside_the_database_thread(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(wal, "CHECKPOINT_EVERY", 0.05)
    path = tmp_path / "secretary.db"
    storage = await open_storage(storage_db.sqlite_url(path))
    try:
        pragma = await storage_db.run(
            lambda: storage_db.db.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0]
        )
        assert pragma == 0  # no checkpoint inside our commits
        t0 = datetime(2026, 5, 1, tzinfo=UTC)
        batch = [
            WaMessage(
                WaMessageId(f"3EB0{i:08d}"), ALICE, ALICE, t0 + timedelta(seconds=i), text=f"m {i}"
            )
            for i in range(3000)
        ]
        await storage.messages.store_history(batch, lambda m, c: (1, "x"))
        checkpointer = storage_pkg._checkpointer
        assert checkpointer is not None
        await wait_until(
            lambda: checkpointer.last[1] > 0 and checkpointer.last[1] == checkpointer.last[2],
            what="the log to be checkpointed",
        )
        assert await storage.messages.count() == 3000
    finally:
        await close_storage()
    assert storage_pkg._checkpointer is None
    assert not path.with_name("secretary.db-wal").exists()  # the last close folded the log in
