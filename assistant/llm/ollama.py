"""Local models through the official ``ollama`` client."""

from __future__ import annotations

import asyncio

import httpx
import ollama

from assistant.llm.base import ChatMessage, LLMError


class OllamaProvider:
    """A local Ollama server: text never leaves the machine."""

    name = "ollama"
    is_local = True

    def __init__(self, model: str, host: str) -> None:
        self.model = model
        self._client = ollama.AsyncClient(host=host)

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_output: bool = False,
        timeout: float = 30.0,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> str:
        """Return the model's answer to ``messages`` (JSON when ``json_output``); raise
        ``LLMError`` on any failure."""
        options: dict[str, object] = {}
        if max_tokens is not None:
            options["num_predict"] = max_tokens
        if temperature is not None:
            options["temperature"] = temperature
        try:
            async with asyncio.timeout(timeout):
                response = await self._client.chat(
                    model=self.model,
                    messages=[{"role": m.role, "content": m.content} for m in messages],
                    format="json" if json_output else None,
                    options=options or None,
                )
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError, TimeoutError) as exc:
            raise LLMError(f"ollama: {type(exc).__name__}") from exc
        content = response.message.content
        if not content:
            raise LLMError("ollama: empty answer")
        return content

    async def ping(self) -> str:
        """Say how many models the server has and whether ours is installed; raise ``LLMError``
        if it does not answer."""
        try:
            listed = await self._client.list()
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError) as exc:
            raise LLMError(f"ollama: {type(exc).__name__}") from exc
        names = [m.model for m in listed.models]
        found = any(n == self.model or (n or "").startswith(self.model + ":") for n in names)
        return f"{len(names)} model(s); {self.model} " + (
            "installed" if found else "not installed"
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client._client.aclose()
