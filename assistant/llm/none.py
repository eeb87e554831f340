"""No language model: every feature runs on heuristics."""

from __future__ import annotations

from assistant.llm.base import ChatMessage, LLMError


class NoLLM:
    """The provider used when LLM_PROVIDER=none."""

    name = "none"
    model = ""
    is_local = True

    async def complete(self, messages: list[ChatMessage], **_: object) -> str:
        raise LLMError("no LLM configured")

    async def ping(self) -> str:
        return "no LLM configured (heuristics only)"

    async def aclose(self) -> None:
        return None
