"""The LLM port: one chat-completion call with optional JSON output and a timeout."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import LLMError

__all__ = ["ChatMessage", "LLMError", "LLMProvider", "json_entries"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a prompt."""

    role: str
    content: str


class LLMProvider(Protocol):
    """A language model reachable over some client library."""

    name: str
    model: str
    #: True when text never leaves this machine (Ollama); cloud-shy chats may use it.
    is_local: bool

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_output: bool = False,
        timeout: float = 30.0,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> str:
        """Return the model's answer; raise LLMError on any failure."""
        ...

    async def ping(self) -> str:
        """Check the server answers and return a short description; raise LLMError if not."""
        ...

    async def aclose(self) -> None:
        """Release the client's connections."""
        ...


#: An answer longer than this is not read (a model gone wrong can stream megabytes).
MAX_ANSWER_CHARS = 200_000


def json_entries(raw: str, key: str) -> list[dict[str, Any]]:
    """Return the list under ``key`` in the JSON of an LLM answer (or a bare list); tolerate
    chatter around it; [] when nothing usable is there. Linear in the answer's length and
    bounded: huge, deeply nested or malformed answers give [] instead of raising."""
    raw = raw[:MAX_ANSWER_CHARS]
    starts = [i for i in (raw.find("{"), raw.find("[")) if i >= 0]
    if not starts:
        return []
    start = min(starts)
    end = max(raw.rfind("}"), raw.rfind("]")) + 1
    try:
        data = json.loads(raw[start:end])
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return []
    entries = data.get(key, []) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict)]
