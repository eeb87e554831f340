"""Map-reduce chat summaries for digests, in chunks sized to a token budget.

No call exceeds the budget whatever the day's volume: each chat contributes at most its most
important and its latest messages, lines are packed into chunks across chats (so the number
of calls grows with chunks, not with messages or chats), and chats whose lines span several
chunks get their partial summaries merged in further packed calls.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from assistant import prompts
from assistant.llm.base import LLMError, json_entries
from assistant.llm.guard import GuardedLLM
from storage.domain import Chat, StoredMessage

logger = logging.getLogger(__name__)

TOP_LINES, LAST_LINES, LINE_CHARS = 30, 10, 300
CHARS_PER_TOKEN = 4
PROMPT_OVERHEAD_TOKENS = 400


@dataclass(frozen=True)
class ChatText:
    """The lines of one chat put into a summary prompt, numbered by ``index``."""

    index: int
    chat: Chat
    lines: list[str]


def pick_lines(chat: Chat, messages: Sequence[StoredMessage]) -> list[str]:
    """The chat's most important and latest messages, in time order, trimmed."""
    incoming = [m for m in messages if m.body and not m.deleted]
    top = sorted(incoming, key=lambda m: -(m.importance or 0))[:TOP_LINES]
    chosen = {m.id: m for m in [*top, *incoming[-LAST_LINES:]]}
    out = []
    for m in sorted(chosen.values(), key=lambda m: (m.timestamp, m.id)):
        who = prompts.OWNER if m.from_me else "contact " + json.dumps(m.sender_name or "someone")
        out.append(f"{m.timestamp:%H:%M} {who}: {m.body.replace(chr(10), ' ')[:LINE_CHARS]}")
    return out


def parse_summaries(raw: str) -> dict[int, str]:
    """Read ``{"summaries": [{"i", "summary"}]}`` from an LLM answer defensively: index →
    summary, skipping what is unusable."""
    out: dict[int, str] = {}
    for entry in json_entries(raw, "summaries"):
        if isinstance(entry.get("summary"), str):
            try:
                out[int(entry.get("i"))] = entry["summary"].strip()[:600]
            except (TypeError, ValueError):
                continue
    return out


class Summarizer:
    """Summarises many chats in few calls, none larger than ``token_budget``."""

    def __init__(self, llm: GuardedLLM, token_budget: int = 6000) -> None:
        self.llm = llm
        self.budget_chars = max(1000, (token_budget - PROMPT_OVERHEAD_TOKENS) * CHARS_PER_TOKEN)
        self.calls = 0

    def _pack(self, items: list[tuple[int, str, str]]) -> list[dict[int, list[str]]]:
        """Pack (chat index, chat name, piece) into chunks under the character budget."""
        chunks: list[dict[int, list[str]]] = []
        current: dict[int, list[str]] = {}
        size = 0
        for index, name, piece in items:
            # As the prompt carries it: JSON-encoded, quoted, comma-separated (escaped
            # quotes in "contact \"Ann\"" alone were a sixth more than the raw text).
            encoded = len(json.dumps(piece, ensure_ascii=False)) + 2
            header = len(json.dumps(name, ensure_ascii=False)) + 30
            cost = encoded + (header if index not in current else 0)
            if current and size + cost > self.budget_chars:
                chunks.append(current)
                current, size = {}, 0
                cost = encoded + header
            current.setdefault(index, []).append(piece)
            size += cost
        if current:
            chunks.append(current)
        return chunks

    async def _call(
        self, build, chunk: dict[int, list[str]], names: dict[int, str], key: str
    ) -> dict[int, str]:  # type: ignore[no-untyped-def]
        payload = [{"i": i, "chat": names[i], key: parts} for i, parts in chunk.items()]
        self.calls += 1
        try:
            raw = await self.llm.complete(build(payload), json_output=True, timeout=120.0)
        except LLMError:
            return {}
        return parse_summaries(raw)

    async def summarize(self, chats: Sequence[ChatText]) -> dict[int, str]:
        """Return chat index → summary (chats the LLM did not answer for are left out)."""
        names = {c.index: c.chat.name for c in chats}
        items = [(c.index, c.chat.name, line) for c in chats for line in c.lines]
        partials: dict[int, list[str]] = {}
        for chunk in self._pack(items):
            for index, summary in (
                await self._call(prompts.summary_messages, chunk, names, "messages")
            ).items():
                if index in chunk:
                    partials.setdefault(index, []).append(summary)
        final = {i: p[0] for i, p in partials.items() if len(p) == 1}
        many = [(i, names[i], s) for i, p in partials.items() if len(p) > 1 for s in p]
        for chunk in self._pack(many):
            merged = await self._call(prompts.merge_messages, chunk, names, "summaries")
            for index in chunk:
                final[index] = merged.get(index) or " ".join(partials[index])[:600]
        return final
