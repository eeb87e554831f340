"""The history-sync progress message: one per admin and account, edited as batches arrive."""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram.ext import Application

from assistant.pipeline import HistoryProgress
from bot.render import title

logger = logging.getLogger(__name__)


class HistoryReporter:
    """One progress message per admin and account, edited as history batches arrive."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        owner_ids: frozenset[int],
        label: Callable[[], str] = lambda: "",
    ) -> None:
        """``label`` names the account in the message ("" with a single account)."""
        self.app = app
        self.owner_ids = owner_ids
        self.label = label
        self.messages: dict[int, int] = {}

    async def __call__(self, p: HistoryProgress) -> None:
        if not self.app.running:  # Telegram not reached yet: progress is not worth a queue
            return
        done = p.percent >= 100
        label = self.label()
        where = f" of {title(label)}" if label else ""
        text = (
            f"{'✅ History sync' if done else '⏳ Syncing history'}{where}"
            f"{' done' if done else ''}: "
            f"{p.messages} message(s) ({p.new_messages} new) in {p.chats} chat(s), "
            f"{p.percent}%"
        )
        for admin in sorted(self.owner_ids):
            try:
                if admin in self.messages:
                    await self.app.bot.edit_message_text(text, admin, self.messages[admin])
                else:
                    sent = await self.app.bot.send_message(admin, text)
                    self.messages[admin] = sent.message_id
            except Exception:
                logger.warning("could not update the history progress message", exc_info=True)
        if done:
            self.messages.clear()
