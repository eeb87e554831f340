"""Digests: everything since the last one — first what needs the owner, then per chat, most
important first, and what looks like a scam last.

Heuristic (no LLM needed): "Needs you" (questions and requests to me that I have not
answered, by score across chats), then each chat's top messages, questions to me and
threads where someone waits for my answer, counts for the rest; scams and chain letters
are left out of the sections and counted at the end with a few examples, marked. The result
is a ``core.digest_report.DigestReport`` of plain values; the bot renders it (``render``, given
by the wiring, makes the text stored so a digest can be shown again). The "since the last
digest" mark moves only when a digest is marked sent (daily job) or confirmed (/digest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from assistant import scam
from assistant.summarize import ChatText, Summarizer, pick_lines
from assistant.triage import is_scam_reason
from assistant.triage_rules import TriageRules, is_question, mentions_me
from core.digest_report import DigestChat, DigestLine, DigestReport
from core.ids import STATUS_BROADCAST
from core.tasks import Clock
from storage import Storage
from storage.domain import Chat, Digest, StoredMessage

TOP_PER_CHAT = 3
MAX_SECTIONS = 25
SNIPPET = 140
#: A message scored at least this (triage: "needs you today") counts as a request to me.
NEEDS_SCORE = 6
NEEDS_SHOWN = 10
SCAMS_SHOWN = 3


def _is_scam(msg: StoredMessage, chat: Chat) -> bool:
    """Marked a scam by triage, or (history messages skip that check) found one now."""
    if is_scam_reason(msg.reason):
        return True
    return msg.history and not msg.from_me and scam.check(msg.body, chat.known).is_scam


@dataclass(frozen=True)
class DigestView:
    """A generated digest: the stored row and what it found."""

    digest: Digest
    report: DigestReport


def _snippet(msg: StoredMessage) -> str:
    body = msg.body.replace("\n", " ").strip() or f"[{msg.kind.value}]"
    if msg.transcript and not (msg.text or msg.caption):
        body = f"🎤 {body}"  # what a voice note says
    if len(body) > SNIPPET:
        body = body[: SNIPPET - 1] + "…"
    return body


def account_kind(account_id: int) -> str:
    """The stored kind of an account's own daily digest: its own "since the last one" mark,
    apart from the digest of every account ("daily", "manual")."""
    return f"account-{account_id}"


def _line(
    msg: StoredMessage, chat: Chat, score: bool = False, when: str = "", account: str = ""
) -> DigestLine:
    who = (msg.sender_name or msg.sender.partition("@")[0][-4:]) if chat.is_group else None
    return DigestLine(
        chat.name, who, _snippet(msg), msg.importance if score else None, when, account
    )


class DigestService:
    """Builds, stores and marks digests."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        tz: ZoneInfo,
        rules: TriageRules,
        render: Callable[[DigestReport], str],
        unanswered_hours: int | Callable[[], int] = 4,
        summarizer: Summarizer | None = None,
        label_of: Callable[[int], str] = lambda _account_id: "",
    ) -> None:
        """``unanswered_hours`` may be a callable: it is read at every digest, so a change
        in /settings applies at once; ``render`` makes the text stored with a digest;
        ``label_of`` names a chat's account in front of it ("" with a single account)."""
        self.storage = storage
        self.clock = clock
        self.tz = tz
        self.rules = rules
        self.render = render
        self._unanswered = (
            unanswered_hours if callable(unanswered_hours) else (lambda: unanswered_hours)
        )
        self.summarizer = summarizer
        self.label_of = label_of

    async def period_start(self, account_id: int | None = None) -> datetime:
        """Return where the next digest starts: the end of the last one (of the account's
        own daily digests, when it has had one), else 24 h ago."""
        last = None
        if account_id is not None:
            last = await self.storage.digests.last_sent((account_kind(account_id),))
        last = last or await self.storage.digests.last_sent()
        return last.period_end if last else self.clock.now() - timedelta(hours=24)

    async def build(
        self,
        kind: str = "daily",
        hours: float | None = None,
        account_id: int | None = None,
        exclude: frozenset[int] = frozenset(),
    ) -> DigestView:
        """Generate and store a digest ("daily", "manual" or "catchup"): of one account only
        when ``account_id`` is given (a daily one is stored as that account's own), else of
        every account but those in ``exclude`` (they have digests of their own)."""
        end = self.clock.now()
        start = end - timedelta(hours=hours) if hours else await self.period_start(account_id)
        messages = await self.storage.messages.between(start, end, account_id=account_id)
        by_chat: dict[int, list[StoredMessage]] = defaultdict(list)
        for msg in messages:
            by_chat[msg.chat_id].append(msg)
        sections: list[DigestChat] = []
        chats: dict[int, Chat] = {}
        skipped = 0
        needs: list[tuple[StoredMessage, Chat]] = []
        scams: list[tuple[StoredMessage, Chat]] = []
        for chat_id, items in by_chat.items():
            chat = chats[chat_id] = await self.storage.chats.get(chat_id)
            if chat.jid == STATUS_BROADCAST or chat.account_id in exclude:
                continue  # status updates are not conversations: /status_updates lists them
            if not chat.include_in_digest or chat.is_muted(end):
                skipped += len(items)
                continue
            flagged = {m.id for m in items if _is_scam(m, chat)}
            scams += [(m, chat) for m in items if m.id in flagged]
            items = [m for m in items if m.id not in flagged]
            needs += [(m, chat) for m in self._asks(chat, items)]
            section = self._section(chat, items, end)
            if section is not None:
                sections.append(section)
        sections.sort(key=lambda s: (-s.top_score, -s.count))
        shown = await self._summarize(sections[:MAX_SECTIONS], by_chat, chats)
        report = DigestReport(
            kind=kind,
            since=f"{start.astimezone(self.tz):%a %d %b %H:%M}",
            incoming=sum(s.count for s in sections) + len(scams),
            chats_seen=len({c.id for _, c in scams} | {s.chat_id for s in sections}),
            chats=tuple(shown),
            needs=self._needs(needs),
            needs_total=len(needs),
            scams=tuple(
                _line(m, c, account=self.label_of(c.account_id)) for m, c in scams[:SCAMS_SHOWN]
            ),
            scams_total=len(scams),
            rest=sum(s.count for s in sections[MAX_SECTIONS:]),
            quieter=len(sections) - len(shown),
            skipped=skipped,
        )
        text = self.render(report)
        stored = account_kind(account_id) if account_id is not None and kind == "daily" else kind
        digest = await self.storage.digests.add(stored, start, end, text, report.incoming)
        return DigestView(digest, report)

    def _asks(self, chat: Chat, items: list[StoredMessage]) -> list[StoredMessage]:
        """Questions and requests to me in this chat since my last message there: a question
        in a person chat or one that mentions me, or a message triage scored as needing me."""
        last_mine = max((m.timestamp for m in items if m.from_me), default=None)
        return [
            m
            for m in items
            if not m.from_me
            and not m.deleted
            and (last_mine is None or m.timestamp > last_mine)
            and (not chat.is_group or mentions_me(m, self.rules))
            and (is_question(m.body) or (m.importance or 0) >= NEEDS_SCORE)
        ]

    def _needs(self, needs: list[tuple[StoredMessage, Chat]]) -> tuple[DigestLine, ...]:
        needs.sort(key=lambda mc: (-(mc[0].importance or 0), mc[0].timestamp))
        return tuple(
            _line(
                msg,
                chat,
                when=f"{msg.timestamp.astimezone(self.tz):%a %H:%M}",
                account=self.label_of(chat.account_id),
            )
            for msg, chat in needs[:NEEDS_SHOWN]
        )

    def _section(self, chat: Chat, items: list[StoredMessage], now: datetime) -> DigestChat | None:
        incoming = [m for m in items if not m.from_me and not m.deleted]
        if not incoming:
            return None
        last_mine = max((m.timestamp for m in items if m.from_me), default=None)
        asks = self._asks(chat, items)  # shown under "Needs you", not again here
        shown = {m.id for m in asks}
        top = sorted(
            (m for m in incoming if m.id not in shown),
            key=lambda m: (-(m.importance or 0), m.timestamp),
        )[:TOP_PER_CHAT]
        senders = sorted({m.sender_name for m in incoming if m.sender_name})
        latest = incoming[-1]
        waiting = now - latest.timestamp
        waits = (
            (last_mine is None or latest.timestamp > last_mine)
            and asks
            and waiting >= timedelta(hours=self._unanswered())
        )
        return DigestChat(
            chat_id=chat.id,
            name=chat.name,
            is_group=chat.is_group,
            count=len(incoming),
            top_score=max((m.importance or 0) for m in incoming),
            senders=tuple(senders),
            top=tuple(_line(m, chat, score=True) for m in top),
            asks=len(asks),
            waiting_hours=int(waiting.total_seconds() // 3600) if waits else None,
            account=self.label_of(chat.account_id),
        )

    async def _summarize(
        self,
        sections: list[DigestChat],
        by_chat: dict[int, list[StoredMessage]],
        chats: dict[int, Chat],
    ) -> list[DigestChat]:
        """Add an LLM summary line to each section the LLM may see (when one is configured)."""
        s = self.summarizer
        if s is None or not s.llm.available:
            return sections
        texts = [
            ChatText(i, chats[sec.chat_id], pick_lines(chats[sec.chat_id], by_chat[sec.chat_id]))
            for i, sec in enumerate(sections)
            if chats[sec.chat_id].cloud_llm_allowed or s.llm.is_local
        ]
        summaries = await s.summarize(texts)
        out = []
        for i, sec in enumerate(sections):
            if i in summaries:
                sec = replace(sec, summary=summaries[i])
            out.append(sec)
        return out

    async def mark_sent(self, digest_id: int) -> None:
        """Move the 'since the last digest' mark to the end of this digest."""
        await self.storage.digests.mark_sent(digest_id)

    async def missed(self, scheduled_local: datetime, account_id: int | None = None) -> bool:
        """Return True when the most recent scheduled digest time passed without a digest:
        the daily one, or ``account_id``'s own (before its first, the daily one counts). A
        sent digest covers the times up to its end (the clock's time when it was made)."""
        last = None
        if account_id is not None:
            last = await self.storage.digests.last_sent((account_kind(account_id),))
        last = last or await self.storage.digests.last_sent(("daily",))
        due = scheduled_local.astimezone(self.tz)
        if due > self.clock.now():
            due -= timedelta(days=1)
        if last is None:
            return False  # a first start is not a missed digest
        return last.period_end < due

    async def latest(self) -> Digest | None:
        """Return the most recent stored digest (to show it again)."""
        recent = await self.storage.digests.recent(1)
        return recent[0] if recent else None

    async def get(self, digest_id: int) -> Digest | None:
        """A digest made earlier, or None when it is gone."""
        return await self.storage.digests.get(digest_id)
