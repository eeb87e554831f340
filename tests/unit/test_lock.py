"""The single-instance lock on DATA_DIR."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from whatsapp.session import AlreadyRunning, DataDirLock


def test_second_holder_is_refused_with_the_pid_and_can_take_it_after_release(
    tmp_path: Path,
) -> None:
    first = DataDirLock(tmp_path)
    first.acquire()
    code = (
        f"from whatsapp.session import DataDirLock, AlreadyRunning\n"
        f"from pathlib import Path\n"
        f"try:\n    DataDirLock(Path({str(tmp_path)!r})).acquire()\nexcept AlreadyRunning as e:\n"
        f"    print(e); raise SystemExit(7)\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert other.returncode == 7 and "already using" in other.stdout
    import os

    assert f"pid {os.getpid()}" in other.stdout
    first.release()
    again = DataDirLock(tmp_path)
    again.acquire()
    again.release()


def test_lock_in_the_same_process_is_refused_too(tmp_path: Path) -> None:
    a = DataDirLock(tmp_path)
    a.acquire()
    with pytest.raises(AlreadyRunning):
        DataDirLock(tmp_path).acquire()
    a.release()
