"""No language model: every feature runs on heuristics."""

from __future__ import annotations

from assistant.llm.base import ChatMessage, LLMError


class NoLLM:
    """The provider used when LLM_PROVIDER=none."""

    name = "none"
    model = ""
    is_local = True

    async def complete(self, messages: list[ChatMessage], **_: object) -> str:
        """Always raise ``LLMError``: there is no LLM, the heuristics decide."""
        raise LLMError("no LLM configured")

    async def ping(self) -> str:
        """Say that no LLM is configured."""
        return "no LLM configured (heuristics only)"

    async def aclose(self) -> None:
        """Nothing to release."""
        return None
