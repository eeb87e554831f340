"""A fake Telegram Bot API over real HTTP on 127.0.0.1 (aiohttp).

python-telegram-bot reaches it through TELEGRAM_API_BASE_URL. It answers the methods the bot
uses, records every call, lets a test inject updates (messages, commands, button presses),
and can answer 429 / 5xx / slow on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.telegram_html_rules import problems

BOT_ID = 7000000001
PTB_READ_TIMEOUT = 5.0  # python-telegram-bot's default
CHAOS_KINDS = ("429", "500", "reset", "accepted_reset", "accepted_timeout")
TOKEN = "7000000001:AAFakeTokenForTestsOnly_abcdefghijklmnop"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    result: Any = None  # what the fake answered (e.g. the message with its message_id)

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def markup(self) -> dict[str, Any]:
        raw = self.params.get("reply_markup")
        return json.loads(raw) if isinstance(raw, str) else (raw or {})

    def buttons(self) -> list[dict[str, Any]]:
        return [b for row in self.markup.get("inline_keyboard", []) for b in row]


@dataclass
class Fault:
    method: str
    status: int
    count: int
    retry_after: int = 1
    delay: float = 0.0
    description: str = ""
    after: int = 0  # let this many matching calls through first


def html_problems(method: str, params: dict[str, Any]) -> list[str]:
    """Telegram's HTML rules for a message text or a caption sent in HTML parse mode."""
    if params.get("parse_mode") != "HTML":
        return []
    if "text" in params and (method == "sendMessage" or method.startswith("editMessage")):
        return problems(str(params["text"]))
    if "caption" in params:
        return problems(str(params["caption"]), limit=1024)
    return []


class FakeBotApi:
    """Start with ``await api.start()``; ``api.base_url`` goes into TELEGRAM_API_BASE_URL."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        #: Updates not yet confirmed: as Telegram, getUpdates hands them out until a later call's
        #: ``offset`` confirms them, so a poll whose client went away loses nothing.
        self.updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self.faults: list[Fault] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.changed = asyncio.Event()
        self.files: dict[str, tuple[bytes, str]] = {}  # file_id → (bytes, file_path)
        self.downloads: list[str] = []  # file paths fetched from the file server
        self._closing = asyncio.Event()  # set by stop(): long polls answer at once

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 (a free port unless ``port`` is given)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Answer the long polls still open (their client has gone), then close the server:
        otherwise the server waits out each poll's timeout before it stops."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ test helpers

    def fail(
        self,
        method: str,
        status: int = 429,
        count: int = 1,
        retry_after: int = 1,
        delay: float = 0.0,
        description: str = "",
        after: int = 0,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (after ``after`` good ones) fail with
        ``status`` (or hang ``delay``)."""
        self.faults.append(Fault(method, status, count, retry_after, delay, description, after))

    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    def add_file(self, file_id: str, data: bytes, path: str = "") -> dict[str, Any]:
        """Keep ``data`` on the fake file server (getFile + download); return the fields a
        message's attachment carries (file_id, file_unique_id, file_size)."""
        self.files[file_id] = (data, path or f"documents/{file_id}")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data)}

    def send_text(self, user_id: int, text: str, reply_to: int | None = None) -> int:
        """Inject a private message (or command) from ``user_id``; return its message id."""
        return self.send_message(user_id, reply_to, text=text)

    def send_message(self, user_id: int, reply_to: int | None = None, **content: Any) -> int:
        """Inject a private message of any kind (``voice={...}``, ``location={...}``, ...)
        from ``user_id``, optionally as a reply; return its message id."""
        mid = next(self._message_ids)
        msg: dict[str, Any] = {
            "message_id": mid,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self._user(user_id),
            **content,
        }
        text = str(content.get("text", ""))
        if text.startswith("/"):
            cmd = text.split()[0]
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(cmd)}]
        if reply_to is not None:
            msg["reply_to_message"] = {
                "message_id": reply_to,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Secretary"},
                "text": self._text_of(reply_to),  # as Telegram does: the message replied to
            }
        self.add_update({"update_id": next(self._update_ids), "message": msg})
        return mid

    def _text_of(self, message_id: int) -> str:
        """The text of a message the bot sent ("forwarded" when the fake never saw it)."""
        for call in reversed(self.calls):
            if isinstance(call.result, dict) and call.result.get("message_id") == message_id:
                return call.text
        return "forwarded"

    def inject(self, kind: str, payload: dict[str, Any]) -> None:
        """Inject any update (``kind`` is its field: edited_message, business_message, ...)."""
        self.add_update({"update_id": next(self._update_ids), kind: payload})

    def press(self, user_id: int, data: str, message_id: int | None = None) -> str:
        """Inject an inline-button press, from the message that carries that button (as
        Telegram does: the newest one sent or edited with it; 1 for a button no message
        carries); return the callback query id."""
        if message_id is None:
            message_id = self._carrier(data)
        qid = str(next(self._update_ids) + 10_000)
        query = {
            "id": qid,
            "from": self._user(user_id),
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "text": "card",
            },
        }
        self.add_update({"update_id": next(self._update_ids), "callback_query": query})
        return qid

    def _carrier(self, data: str) -> int:
        """The id of the newest message shown with a button of ``data``."""
        for call in reversed(self.calls):
            if any(b.get("callback_data") == data for b in call.buttons()):
                if "message_id" in call.params:  # an edit
                    return int(call.params["message_id"])
                if isinstance(call.result, dict) and "message_id" in call.result:
                    return int(call.result["message_id"])
        return 1

    def of(self, *methods: str) -> list[Call]:
        return [c for c in self.calls if c.method in methods]

    def sent_to(self, chat_id: int) -> list[Call]:
        return [c for c in self.calls if str(c.params.get("chat_id")) == str(chat_id)]

    async def wait_for(self, predicate, timeout: float = 10.0) -> Call:
        """Wait until a recorded call satisfies ``predicate``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            for call in self.calls:
                if predicate(call):
                    return call
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(c.method, c.text[:60]) for c in self.calls[-15:]]
                raise AssertionError(f"no matching Bot API call; last calls: {seen}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))

    # ------------------------------------------------------------------ HTTP

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                else:
                    params[key] = value
        return params, files

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params.get("chat_id", 0)), "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Secretary"},
            **extra,
        }

    def chaos(
        self, rate: float, seed: int = 1, methods: tuple[str, ...] = ("sendMessage",)
    ) -> None:
        """Fail ~``rate`` of calls at random: 429, 500, a connection reset before or after
        accepting, or an accepted call whose answer comes after the client's 5 s timeout."""
        import random

        self._chaos = (rate, random.Random(seed), methods)
        self.chaos_counts: dict[str, int] = {}

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._params(request)
        chaos = getattr(self, "_chaos", None)
        if chaos is not None and method in chaos[2] and chaos[1].random() < chaos[0]:
            kind = CHAOS_KINDS[sum(self.chaos_counts.values()) % len(CHAOS_KINDS)]  # each in turn
            self.chaos_counts[kind] = self.chaos_counts.get(kind, 0) + 1
            if kind.startswith("accepted"):  # Telegram took it, the answer never arrived
                self.calls.append(Call(method, params, files))
                self.changed.set()
            if kind == "accepted_timeout":
                await asyncio.sleep(PTB_READ_TIMEOUT + 0.5)
                return web.json_response({"ok": False, "error_code": 504, "description": "late"})
            if kind in {"reset", "accepted_reset"}:
                request.transport.close()  # type: ignore[union-attr]
                return web.Response(status=500)
            status = int(kind)
            body = {"ok": False, "error_code": status, "description": f"Chaos {status}"}
            if status == 429:
                body["parameters"] = {"retry_after": 1}
            return web.json_response(body, status=status)
        for fault in self.faults:
            if fault.method == method and fault.count > 0 and fault.after > 0:
                fault.after -= 1
                break
            if fault.method == method and fault.count > 0:
                fault.count -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                    break
                self.calls.append(Call(f"!{method}", params, files))
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": fault.status,
                    "description": fault.description or f"Fake error {fault.status}",
                }
                if fault.status == 429:
                    body["parameters"] = {"retry_after": fault.retry_after}
                    body["description"] = "Too Many Requests: retry after 1"
                return web.json_response(body, status=fault.status)
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        if method == "getFile" and self._too_big(str(params.get("file_id"))):
            body = {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"}
            self.calls.append(Call(f"!{method}", params, files))
            return web.json_response(body, status=400)
        refused = html_problems(method, params)
        if refused:  # what Telegram answers to HTML it cannot parse
            self.calls.append(Call(f"!{method}", params, files))
            description = f"Bad Request: can't parse entities: {refused[0]}"
            body = {"ok": False, "error_code": 400, "description": description}
            return web.json_response(body, status=400)
        call = Call(method, params, files)
        call.result = self._result(method, params, files)
        self.calls.append(call)
        self.changed.set()
        return web.json_response({"ok": True, "result": call.result})

    def _too_big(self, file_id: str) -> bool:
        """Telegram hands a bot files up to 20 MB only."""
        return len(self.files.get(file_id, (b"", ""))[0]) > 20 * 1024 * 1024

    def add_update(self, update: dict[str, Any]) -> None:
        """Queue an update for the bot's next getUpdates."""
        self.updates.append(update)
        self._new_update.set()

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Telegram's long poll: confirm the updates before ``offset``, return the rest, or wait
        up to ``timeout`` for one."""
        offset = int(params.get("offset", 0) or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and not self._closing.is_set():
            self._new_update.clear()
            waits = {
                asyncio.ensure_future(self._new_update.wait()),
                asyncio.ensure_future(self._closing.wait()),
            }
            timeout = max(float(params.get("timeout", 0) or 0), 0.05)
            try:
                await asyncio.wait(waits, timeout=timeout, return_when="FIRST_COMPLETED")
            finally:
                for w in waits:
                    w.cancel()
        return list(self.updates)

    def _result(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Secretary",
                "username": "secretary_test_bot",
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method in {"sendMessage"}:
            return self._message(params, text=params.get("text", ""))
        if method in {"sendPhoto"}:
            return self._message(
                params,
                photo=[{"file_id": "p1", "file_unique_id": "p1", "width": 1, "height": 1}],
                caption=params.get("caption", ""),
            )
        if method in {"sendDocument", "sendVideo", "sendVoice", "sendAudio"}:
            return self._message(
                params,
                document={"file_id": "d1", "file_unique_id": "d1"},
                caption=params.get("caption", ""),
            )
        if method.startswith("editMessage"):
            return self._message(params, text=params.get("text", params.get("caption", "")))
        if method == "getFile":
            file_id = str(params.get("file_id"))
            data, path = self.files.get(file_id, (b"\xff\xd8\xff\xe0fake", "photos/file.jpg"))
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(data),
                "file_path": path,
            }
        return True

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.downloads.append(path)
        for data, known in self.files.values():
            if known == path:
                return web.Response(body=data)
        return web.Response(body=b"\xff\xd8\xff\xe0fake")


def reaction_update(api: FakeBotApi, user_id: int, message_id: int, emoji: str) -> None:
    """Inject a message_reaction update (the admin reacted to one of the bot's messages)."""
    update = {
        "update_id": next(api._update_ids),
        "message_reaction": {
            "chat": {"id": user_id, "type": "private"},
            "message_id": message_id,
            "user": api._user(user_id),
            "date": int(time.time()),
            "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": emoji}],
        },
    }
    api.add_update(update)
