"""Attachments on disk: the same file written twice at once (the automatic download and a
tap on ⬇️ Download) ends whole, and neither write fails."""

from __future__ import annotations

import threading
from pathlib import Path

from whatsapp.media import write_atomic


def test_two_writers_of_one_attachment_both_succeed(tmp_path: Path) -> None:
    path = tmp_path / "media" / "a.pdf"
    errors: list[Exception] = []
    start = threading.Barrier(8)

    def write(n: int) -> None:
        start.wait()
        try:
            for _ in range(50):
                write_atomic(path, b"%PDF" + bytes([n]) * 10_000)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    data = path.read_bytes()
    assert len(data) == 10_004 and len(set(data[4:])) == 1  # one writer's bytes, whole
    assert [p.name for p in path.parent.iterdir()] == ["a.pdf"]  # no leftovers
