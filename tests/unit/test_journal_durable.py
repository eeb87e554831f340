"""The event journal puts a record on disk before its event is acknowledged, and concurrent
waiters share one fsync (group commit)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from whatsapp.journal import EventJournal


class SlowDisk:
    """An fsync hook that records each call and can hold it until released."""

    def __init__(self) -> None:
        self.calls: list[int] = []  # file size on disk at each fsync
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, fd: int) -> None:
        self.entered.set()
        assert self.release.wait(10)
        self.calls.append(os.fstat(fd).st_size)


def test_concurrent_waiters_share_one_fsync(tmp_path: Path) -> None:
    disk = SlowDisk()
    journal = EventJournal(tmp_path, fsync=disk)
    first = (journal.generation, journal.append("message", b"a" * 10))
    holder = threading.Thread(target=journal.wait_durable, args=first)
    holder.start()
    assert disk.entered.wait(10)  # the first fsync is on its way; ten more events arrive
    waiters = []
    for _ in range(10):
        position = (journal.generation, journal.append("message", b"b" * 10))
        waiters.append(threading.Thread(target=journal.wait_durable, args=position))
        waiters[-1].start()
    disk.release.set()
    for t in [holder, *waiters]:
        t.join(10)
        assert not t.is_alive()
    assert len(disk.calls) == 2  # one for the first, one shared by the ten
    assert disk.calls[-1] == journal.end  # ... covering every record


def test_not_durable_journal_never_fsyncs_and_compaction_starts_a_new_generation(
    tmp_path: Path,
) -> None:
    disk = SlowDisk()
    disk.release.set()
    quick = EventJournal(tmp_path / "quick", durable=False, fsync=disk)
    quick.wait_durable(quick.generation, quick.append("message", b"x"))
    assert disk.calls == []
    journal = EventJournal(tmp_path / "durable", fsync=disk)
    old = (journal.generation, journal.append("message", b"x"))
    journal.mark_handled(old[1])  # everything handled: the file is emptied
    assert journal.end == 0 and journal.generation == old[0] + 1
    journal.wait_durable(*old)  # handled and stored: nothing to sync
    assert disk.calls == []
    new = (journal.generation, journal.append("message", b"y"))
    journal.wait_durable(*new)
    assert len(disk.calls) == 1
