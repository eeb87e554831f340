"""Following the simulator's JSON-lines feed like ``tail -f``: complete lines only, each
parsed and played in order, a bad or oversized line logged and skipped, and how far the
feed is played counted (``lines_played``, ``lines_done``); which lines belong to which
linked account (``AccountRoute``: a line's optional ``"account"`` label)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from core.labels import label_key

logger = logging.getLogger(__name__)

#: A feed line longer than this is skipped (a history chunk of 10 000 messages is ~2 MB).
MAX_LINE = 64 * 1024 * 1024
READ_LIMIT = 1024 * 1024  # read a line in pieces: a huge one is never in memory at once

Play = Callable[[dict[str, Any]], Awaitable[None]]


async def play_line(play: Play, line: str, number: int = 0) -> None:
    """Parse one feed line and play it; a bad line is logged and skipped."""
    try:
        obj = json.loads(line)
        if not isinstance(obj, dict):
            raise ValueError("a feed line must be a JSON object")
        await play(obj)
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:
        logger.warning("feed line %d skipped: %s", number, str(exc)[:200])
    except Exception:  # the follower must outlive any line
        logger.exception("feed line %d skipped: unexpected error", number)


class FeedFollower:
    """Reads a feed file as it grows and plays each complete line."""

    def __init__(self, feed: Path, play: Play, poll_interval: float) -> None:
        self.feed = feed
        self.poll_interval = poll_interval
        self._play = play
        self.lines_played = 0
        #: Lines whose events are submitted (or that were skipped): how far the feed is played.
        self.lines_done = 0

    async def follow(self) -> None:
        """Wait for the file, then play its lines for good (cancel to stop)."""
        feed = self.feed
        while not await asyncio.to_thread(feed.exists):  # noqa: ASYNC110 - polling a file
            await asyncio.sleep(self.poll_interval)
        with feed.open("r", encoding="utf-8", errors="replace") as handle:
            pending, skipping = "", False
            while True:
                chunk = handle.readline(READ_LIMIT)
                if not chunk:
                    await asyncio.sleep(self.poll_interval)
                    continue
                if skipping:  # the rest of a line that was too long
                    skipping = not chunk.endswith("\n")
                    continue
                pending += chunk
                if not pending.endswith("\n"):
                    if len(pending) > MAX_LINE:  # no sane event is this big: drop it
                        self.lines_played += 1
                        logger.warning(
                            "feed line %d skipped: over %d bytes", self.lines_played, MAX_LINE
                        )
                        pending, skipping = "", True
                    continue  # a line still being written
                line, pending = pending.strip(), ""
                self.lines_played += 1
                if line:
                    await play_line(self._play, line, self.lines_played)
                self.lines_done = self.lines_played


class AccountRoute:
    """Which feed lines one simulated account plays: those whose ``"account"`` label is its
    own (compared by ``core.labels.label_key``, as the store compares labels), and, for the
    first account, those without one.

    Every account's gateway follows the whole feed; a line for another account is skipped
    silently (the first account's gateway notes each other label once, at DEBUG)."""

    def __init__(self, label: str, first: bool) -> None:
        self.label = label
        self.first = first
        self._noted: set[str] = set()

    def rename(self, label: str) -> None:
        """Play the lines of the new label from now on (the account was renamed)."""
        self.label = label

    def mine(self, obj: dict[str, Any]) -> bool:
        """Whether this account plays the line; a malformed label is an error of the
        first account's line (the others skip it)."""
        account = obj.get("account")
        if account is None:
            return self.first
        if not isinstance(account, str) or not account.strip():
            if self.first:
                raise ValueError("account must be a non-empty string (an account's label)")
            return False
        key = label_key(account)
        if key == label_key(self.label):
            return True
        if self.first and key not in self._noted:
            self._noted.add(key)
            logger.debug("feed: lines for account %r are not played by %r", account, self.label)
        return False
