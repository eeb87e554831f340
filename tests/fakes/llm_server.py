"""A fake LLM server on 127.0.0.1 speaking both the OpenAI and the Ollama HTTP APIs,
including OpenAI's ``/audio/transcriptions``.

The real ``openai`` and ``ollama`` clients talk to it. Every request is recorded (so tests
can assert what text was and was not sent), answers come from a test-supplied responder,
and faults (status codes, malformed bodies) can be injected.

Transcriptions: ``speech`` maps the exact bytes of an audio file to the words it "says";
other bytes are refused with 400, as a real server refuses what it cannot decode. The
server also answers as an HTTP proxy (absolute-form request lines), so a test can give the
bot a cloud-looking TRANSCRIBE_BASE_URL (HTTP_PROXY pointing here) and see which host each
upload was meant for (``Transcription.host``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Responder = Callable[[list[dict[str, Any]]], str]


@dataclass
class LLMRequest:
    api: str
    model: str
    messages: list[dict[str, Any]]
    body: dict[str, Any] = field(default_factory=dict)
    authorization: str = ""

    @property
    def text(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages)


@dataclass
class Transcription:
    """One upload to ``/audio/transcriptions``."""

    host: str
    model: str
    file_name: str
    audio: bytes
    authorization: str = ""


class FakeLLMServer:
    """``openai_url`` → OPENAI_BASE_URL, ``ollama_url`` → OLLAMA_HOST."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder: Responder = responder or (lambda messages: '{"ok": true}')
        self.requests: list[LLMRequest] = []
        self.speech: dict[bytes, str] = {}
        self.transcriptions: list[Transcription] = []
        self.fail_next: list[int] = []
        self.tokens_in = 0
        self.tokens_out = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def ollama_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai_chat)
        app.router.add_post("/v1/audio/transcriptions", self._openai_transcribe)
        app.router.add_get("/v1/models", self._openai_models)
        app.router.add_post("/api/chat", self._ollama_chat)
        app.router.add_get("/api/tags", self._ollama_tags)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _fault(self) -> web.Response | None:
        if self.fail_next:
            status = self.fail_next.pop(0)
            return web.json_response({"error": {"message": f"fake {status}"}}, status=status)
        return None

    def _answer(self, api: str, body: dict[str, Any], authorization: str = "") -> str:
        messages = body.get("messages", [])
        model = str(body.get("model", ""))
        self.requests.append(LLMRequest(api, model, messages, body, authorization))
        content = self.responder(messages)
        self.tokens_in += sum(len(str(m.get("content", ""))) for m in messages) // 4
        self.tokens_out += len(content) // 4
        return content

    async def _openai_chat(self, request: web.Request) -> web.Response:
        if (fault := self._fault()) is not None:
            return fault
        body = await request.json()
        content = self._answer("openai", body, request.headers.get("Authorization", ""))
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    async def _openai_transcribe(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return web.json_response({"error": {"message": "file is required"}}, status=400)
        audio = upload.file.read()
        self.transcriptions.append(
            Transcription(
                request.headers.get("Host", ""),
                str(form.get("model", "")),
                upload.filename,
                audio,
                request.headers.get("Authorization", ""),
            )
        )
        if (fault := self._fault()) is not None:
            return fault
        if audio not in self.speech:
            return web.json_response({"error": {"message": "could not decode audio"}}, status=400)
        return web.json_response({"text": self.speech[audio]})

    async def _openai_models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "fake"}
                ],
            }
        )

    async def _ollama_chat(self, request: web.Request) -> web.Response:
        if (fault := self._fault()) is not None:
            return fault
        body = json.loads(await request.text())
        content = self._answer("ollama", body)
        return web.json_response(
            {
                "model": body.get("model", ""),
                "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": content},
                "done": True,
                "done_reason": "stop",
            }
        )

    async def _ollama_tags(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "models": [
                    {
                        "name": "llama3.2:latest",
                        "model": "llama3.2:latest",
                        "modified_at": "2026-01-01T00:00:00Z",
                        "size": 1,
                        "digest": "x",
                        "details": {},
                    }
                ]
            }
        )
