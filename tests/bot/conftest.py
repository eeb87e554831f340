"""A real PTB Application polling a fake Bot API over HTTP, with the simulator backend."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import build_application
from bot.config import load_settings
from bot.context import Services
from tests.fakes.bot_api import TOKEN, FakeBotApi
from tests.support import wait_until

ADMIN = 111111
STRANGER = 999999
ME = "15550001111@s.whatsapp.net"
ALICE = "15550000002@s.whatsapp.net"


@dataclass
class Env:
    api: FakeBotApi
    app: object
    feed: Path
    data: Path

    @property
    def services(self) -> Services:
        return self.app.bot_data["services"]  # type: ignore[attr-defined]

    def feed_line(self, **obj) -> None:
        with self.feed.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(obj) + "\n")

    def message(self, wa_id: str, text: str, chat: str = ALICE, **fields) -> None:
        """Feed one incoming WhatsApp message (from Alice's person chat by default)."""
        self.feed_line(
            event="message",
            id=wa_id,
            chat=chat,
            sender=fields.pop("sender", chat),
            text=text,
            push_name=fields.pop("push_name", "Alice"),
            **fields,
        )

    def sent(self) -> list[dict]:
        path = self.data / "simulator" / "sent.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text().splitlines()]

    async def settle(self) -> None:
        """Wait until every feed line written so far is played, its events handled, every
        message stored and scored, and every Telegram delivery due now made."""
        s = self.services
        written = self.feed.read_bytes().count(b"\n")
        accounts = list(s.accounts)
        await wait_until(
            lambda: all(a.gateway.lines_done >= written for a in accounts),
            what="the feed to be played",
        )
        while True:
            for account in accounts:
                await account.gateway.drain()
                await account.ingest.idle()
            if not await s.notifier.drain_once():
                return

    async def handled(self) -> None:
        """Wait until every Telegram update sent so far is handled: the bot handles updates
        one at a time, in order, so once it answers the owner's /help, all before it are done."""

        def answers() -> int:
            return sum("— this list" in (c.text or "") for c in self.api.sent_to(ADMIN))

        seen = answers()
        self.api.send_text(ADMIN, "/help")
        await wait_until(lambda: answers() > seen, what="the bot to answer /help")


def bot_env(tmp: Path, api: FakeBotApi, feed: Path, **extra: str) -> dict[str, str]:
    """The environment of a whole bot on the simulator backend, talking to ``api``."""
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_ADMIN_IDS": str(ADMIN),
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DATA_DIR": str(tmp / "data"),
        "WHATSAPP_BACKEND": "simulator",
        "WHATSAPP_SIMULATOR_FEED": str(feed),
        **extra,
    }


def settings_for(tmp: Path, api: FakeBotApi, feed: Path):
    return load_settings(bot_env(tmp, api, feed, TIMEZONE="Europe/Berlin"))


async def start_app(settings) -> object:
    app = build_application(settings)
    await app.initialize()
    await app.post_init(app)
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    return app


async def stop_app(app) -> None:
    await app.updater.stop()
    await app.stop()
    await app.post_shutdown(app)
    await app.shutdown()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    api = FakeBotApi()
    await api.start()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    app = await start_app(settings_for(tmp_path, api, feed))
    e = Env(api, app, feed, tmp_path / "data")
    yield e
    await stop_app(e.app)  # a test may have restarted it
    await api.stop()
