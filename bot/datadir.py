"""DATA_DIR is private: it holds the WhatsApp session keys, the database and the media.

At start the process umask becomes 077 (files 0600, folders 0700) and DATA_DIR itself 0700;
what an older release left readable by others is reported, once, with the fix.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

#: Enough to find a problem without walking a huge media folder at every start.
MAX_CHECKED = 5000


def secure(data_dir: Path) -> list[Path]:
    """Make new files private, create or tighten DATA_DIR; return paths others can read."""
    os.umask(0o077)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    wide: list[Path] = []
    for n, path in enumerate(data_dir.rglob("*")):
        if n >= MAX_CHECKED:
            break
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO) and not stat.S_ISLNK(mode):
            wide.append(path)
    if wide:
        logger.warning(
            "%d file(s) in DATA_DIR can be read by other local users (e.g. %s); fix with: "
            "chmod -R go-rwx %s",
            len(wide),
            wide[0].relative_to(data_dir),
            data_dir,
        )
    return wide
