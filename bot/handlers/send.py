"""/send: a WhatsApp message to a chat by name (in any account) or to any phone number."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from assistant.chats import Ambiguous
from assistant.sending import MAX_TEXT
from bot import answers, keyboards, render
from bot.context import BotContext, Services
from bot.handlers.messaging import send_all
from core.errors import AppError, NotFound
from core.events import OutgoingMessage
from storage.domain import Chat


async def cmd_send(update: Update, context: BotContext) -> None:
    """/send <name|number> <text>: to a chat by name, or to any phone number."""
    words = context.args or []
    if len(words) < 2:
        await update.effective_message.reply_text(
            "Usage: /send &lt;name or number&gt; &lt;text&gt;, e.g. /send Anna Hi or "
            "/send +49 151 12345678 Hi"
        )
        return
    text = update.effective_message.text.split(None, 1)[1] if update.effective_message.text else ""
    try:
        chat, body = await recipient(context.services, text)
    except Ambiguous as exc:
        await update.effective_message.reply_text(
            f"Several chats match “{render.esc(exc.name)}”. Which one? Tap it, then reply "
            'to its messages — or quote the full name: /send "Name" text',
            reply_markup=keyboards.choose(exc.candidates, context.services.accounts.label_of),
        )
        return
    except NotFound as exc:
        await answers.error(update, exc, mark="")
        return
    except AppError as exc:  # not a readable number, or WhatsApp cannot be asked now
        await answers.error(update, exc)
        return
    if len(body) > MAX_TEXT:
        await update.effective_message.reply_text(
            f"❌ That text is too long for WhatsApp ({len(body)} characters; the limit is "
            f"{MAX_TEXT})."
        )
        return
    await send_all(update, context, [OutgoingMessage(to=chat.jid, text=body)], chat)


async def recipient(s: Services, text: str) -> tuple[Chat, str]:
    """/send's chat and text. A number goes from the default account; a name is looked up in
    every account, and a name found in several accounts is asked about (``Ambiguous``)."""
    if not s.accounts.several or text.lstrip()[:1] in "+0123456789":
        return await s.recipients.split(text)
    found: list[tuple[Chat, str]] = []
    candidates: list[Chat] = []
    missing: NotFound | None = None
    for account in sorted(s.accounts, key=lambda a: a.id != s.accounts.default_id):
        try:
            found.append(await account.recipients.split(text))
        except Ambiguous as exc:
            candidates.extend(exc.candidates)
        except NotFound as exc:
            missing = missing or exc
    if len(found) == 1 and not candidates:
        return found[0]
    if found or candidates:
        name = text.split(None, 1)[0]
        raise Ambiguous(name, [chat for chat, _ in found] + candidates)
    raise missing or NotFound(f"No chat matches “{text.split(None, 1)[0]}”")


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Register /send."""
    app.add_handler(CommandHandler("send", cmd_send))
