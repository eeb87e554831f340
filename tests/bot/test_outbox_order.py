"""Order per Telegram chat holds at the edge of a retry: an item falling due while the outbox
is read is either sent first or holds the newer ones back — never overtaken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.notifier import TelegramNotifier
from core.notifications import Notice
from core.tasks import Clock
from tests.bot.conftest import ADMIN, Env


class Ticking(Clock):
    """A clock that moves on a second at every reading (a slow, loaded machine)."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


async def test_an_item_falling_due_mid_read_is_not_overtaken(env: Env) -> None:
    storage = env.services.storage
    await storage.telegram_outbox.add(Notice("first"), [ADMIN])
    await storage.telegram_outbox.add(Notice("second"), [ADMIN])
    first, _second = await storage.telegram_outbox.due(datetime.now(UTC) + timedelta(hours=1))
    await storage.telegram_outbox.retry_later([first.id], timedelta(seconds=60), "429")
    waiting_until = datetime.now(UTC) + timedelta(seconds=60)
    # The first reading is just before the retry is due, the next just after it.
    clock = Ticking(waiting_until - timedelta(seconds=1.5))
    notifier = TelegramNotifier(env.app.bot, storage, env.services.tz, clock, frozenset({ADMIN}))
    await notifier.drain_once()
    texts = [c.text for c in env.api.of("sendMessage") if c.text in ("first", "second")]
    assert texts in ([], ["first", "second"]), texts  # "second" alone would overtake
