"""The command menu, /help and the registered handlers come from one table and cannot drift."""

from __future__ import annotations

from pathlib import Path

from telegram.ext import CommandHandler

from bot import commands
from bot.app import build_application
from tests.bot.conftest import settings_for
from tests.fakes.bot_api import FakeBotApi


def test_every_registered_command_is_in_the_menu_and_help_and_back(tmp_path: Path) -> None:
    app = build_application(settings_for(tmp_path, FakeBotApi(), tmp_path / "feed.jsonl"))
    registered = {
        name
        for group in app.handlers.values()
        for handler in group
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }
    table = {c.name for c in commands.COMMANDS}
    assert registered == table
    assert {c.command for c in commands.menu()} == table
    help_page = commands.help_text()
    for name in table:
        assert f"\n/{name}" in help_page
    assert "&lt;name or number&gt; &lt;text&gt;" in help_page  # arguments escaped for HTML
