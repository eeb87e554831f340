"""Buttons, routed: each kind of button data (``bot/callbacks.py``) has one handler that gets
the data already unpacked. A forged or stale button, or one whose chat, message, digest or
draft is gone (``NotFound``), gets the one answer "This menu expired." — in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, Self, TypeVar

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.callbacks import InvalidCallback
from bot.context import BotContext
from core.errors import NotFound

EXPIRED = "This menu expired."


class Packed(Protocol):
    """Button data: a prefix and a way back from the 64 bytes Telegram keeps."""

    PREFIX: str

    @classmethod
    def unpack(cls, raw: str) -> Self:
        """Read the button's data back; raise ``InvalidCallback`` when it is stale, forged or
        malformed."""


D = TypeVar("D", bound=Packed)
ButtonHandler = Callable[[Update, BotContext, D], Awaitable[None]]


def button(kind: type[D], handler: ButtonHandler[D]) -> CallbackQueryHandler:  # type: ignore[type-arg]
    """The PTB handler for buttons of ``kind``: unpacks the data and calls ``handler``."""

    async def run(update: Update, context: BotContext) -> None:
        query = update.callback_query
        try:
            data = kind.unpack(query.data or "")
        except InvalidCallback:
            await query.answer(EXPIRED)
            return
        try:
            await handler(update, context, data)
        except NotFound:
            await query.answer(EXPIRED)

    return CallbackQueryHandler(run, pattern=f"^{kind.PREFIX}:")


async def expired(update: Update, context: BotContext) -> None:
    """A button no handler knows (forged, or from an older release)."""
    await update.callback_query.answer(EXPIRED)
