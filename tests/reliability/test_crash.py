"""Crash consistency: kill -9 while events are journaled but not yet stored, restart,
and every message is stored exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.conftest import fill
from whatsapp.journal import EventJournal

ROOT = Path(__file__).resolve().parents[2]


def child(data: Path, count: int, stall_after: int, prefix: str = "x") -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.reliability.crash_child",
            str(data),
            str(count),
            str(stall_after),
            prefix,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_line(proc: subprocess.Popen, *words: str, timeout: float = 60) -> str:
    """Read until the child printed every word (in any order); return the last such line."""
    deadline = time.monotonic() + timeout
    missing, last = set(words), ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        for word in list(missing):
            if line.startswith(word):
                missing.discard(word)
                last = line
        if not missing:
            return last
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"child never printed {missing}")


def stored(data: Path) -> list[tuple[str, int]]:
    conn = sqlite3.connect(data / "db.sqlite")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return conn.execute(
            "SELECT wa_id, COUNT(*) FROM messages GROUP BY chat_id, sender, wa_id"
        ).fetchall()
    finally:
        conn.close()


def crash_rounds(tmp_path: Path, rounds: int, per_round: int) -> tuple[int, int]:
    expected: set[str] = set()
    for r in range(rounds):
        proc = child(tmp_path, per_round, stall_after=(r * 37) % per_round, prefix=str(r))
        # all acknowledged by "WhatsApp" (journaled and on disk), and handling is stuck
        wait_line(proc, "SUBMITTED", "STALLED")
        os.kill(proc.pid, signal.SIGKILL)  # acknowledged by "WhatsApp", not stored yet
        proc.wait()
        expected |= {f"K{r}-{i}" for i in range(per_round)}
    proc = child(tmp_path, 0, stall_after=-1)  # a clean start replays the journal
    line = wait_line(proc, "COUNT")
    proc.wait(timeout=60)
    rows = stored(tmp_path)
    assert int(line.split()[1]) == len(rows)
    assert {wa_id for wa_id, _ in rows} == expected  # nothing lost
    assert all(n == 1 for _, n in rows)  # nothing twice
    return len(rows), rounds


def test_kill_9_before_storing_loses_nothing(tmp_path: Path) -> None:
    messages, rounds = crash_rounds(tmp_path, rounds=3, per_round=200)
    print(f"crash rounds {rounds}, messages checked {messages}, lost 0, duplicated 0")


@pytest.mark.soak
def test_kill_9_soak_twenty_rounds(tmp_path: Path) -> None:
    messages, rounds = crash_rounds(tmp_path, rounds=20, per_round=500)
    print(f"crash rounds {rounds}, messages checked {messages}, lost 0, duplicated 0")


def test_torn_journal_tail_is_dropped_and_later_records_survive(tmp_path: Path) -> None:
    journal = EventJournal(tmp_path)
    journal.append("message", b"one")
    journal.close()
    with open(tmp_path / "events.journal", "ab") as handle:
        handle.write(b"\x00\x00\x10\x00\x00")  # half a header: killed mid-write
    journal = EventJournal(tmp_path)
    journal.append("message", b"two")
    assert [p for _, p, _ in journal.pending()] == [b"one", b"two"]
    _, _, end = next(iter(journal.pending()))
    journal.mark_handled(end)
    assert [p for _, p, _ in journal.pending()] == [b"two"]
    journal.mark_handled(journal.end)
    assert list(journal.pending()) == [] and (tmp_path / "events.journal").stat().st_size == 0


def test_journal_on_a_full_disk_keeps_whole_records_only(small_disk: Path) -> None:
    journal = EventJournal(small_disk / "journal")
    journal.append("message", b"kept")
    filler = fill(small_disk)
    with pytest.raises(OSError):
        journal.append("message", b"x" * 100_000)  # only part of it fits
    assert (small_disk / "journal" / "events.journal").stat().st_size == journal.end
    with pytest.raises(OSError):  # nor can the checkpoint be written; the file stays whole
        journal.mark_handled(journal.end)
    filler.unlink()  # space returns
    journal.append("message", b"after")
    journal.close()
    reopened = EventJournal(small_disk / "journal")
    assert [p for _, p, _ in reopened.pending()] == [b"kept", b"after"]
