"""OpenAI-compatible chat completions through the official ``openai`` client."""

from __future__ import annotations

import openai

from assistant.llm.base import ChatMessage, LLMError


class OpenAIProvider:
    """Any OpenAI-compatible server (OpenAI, vLLM, LM Studio, llama.cpp server, ...)."""

    name = "openai"
    is_local = False

    def __init__(self, model: str, api_key: str | None, base_url: str | None = None) -> None:
        self.model = model
        # The client refuses to start without a key; local servers do not need one.
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "not-needed", base_url=base_url, max_retries=0
        )

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
        kwargs: dict[str, object] = {}
        if json_output:
            kwargs["response_format"] = {"type": "json_object"}
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if temperature is not None:
            kwargs["temperature"] = temperature
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": m.role, "content": m.content} for m in messages],  # type: ignore[misc]
                timeout=timeout,
                **kwargs,  # type: ignore[arg-type]
            )
        except openai.OpenAIError as exc:
            raise LLMError(f"openai: {type(exc).__name__}") from exc
        if not response.choices or response.choices[0].message.content is None:
            raise LLMError("openai: empty answer")
        return response.choices[0].message.content

    async def ping(self) -> str:
        """Say how many models the server lists and whether ours is one; raise ``LLMError`` if
        it does not answer."""
        try:
            models = await self._client.models.list(timeout=10)
        except openai.OpenAIError as exc:
            raise LLMError(f"openai: {type(exc).__name__}") from exc
        names = [m.id for m in models.data]
        return f"{len(names)} model(s); {self.model} " + (
            "listed" if self.model in names else "not listed"
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()
