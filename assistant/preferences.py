"""Settings the admin changes from Telegram: stored in the database, overriding the
environment defaults, applied at once (triage rules, digest schedule, AI switch)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import time
from typing import Any

from assistant.prompts import DEFAULT_REPLY_SYSTEM
from assistant.triage_rules import TriageRules
from core.errors import InvalidInput
from core.setting_keys import EDITABLE
from storage import Storage

Listener = Callable[["Preferences"], Awaitable[None]]
Vet = Callable[[str, Any], Awaitable[None]]


@dataclass(frozen=True)
class Preferences:
    """The effective settings."""

    threshold: int = 7
    digest_enabled: bool = True
    digest_time: str = "08:00"
    digest_weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    ai_replies: bool = True
    vip: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    unanswered_hours: int = 4
    reply_prompt: str = DEFAULT_REPLY_SYSTEM
    auto_marker: str = "(auto-reply)"
    llm_provider: str = ""
    llm_model: str = ""
    llm_temperature: float | None = None
    llm_max_tokens: int | None = None
    llm_day_calls: int = 2000  # LLM budget per day and provider (past it: heuristics)
    llm_day_tokens: int = 2_000_000
    media_day_mb: int = 500  # media downloaded by itself per day (UTC) ...
    media_total_mb: int = 10_000  # ... and in all; past either, only on request
    read_on_reply: bool = True  # answering from Telegram marks the message read on WhatsApp
    voice_max_seconds: int = 300  # longer voice notes are not sent for transcription
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def digest_clock(self) -> time:
        """The time of day of the daily digest (from ``digest_time``, "HH:MM")."""
        hours, minutes = self.digest_time.split(":")
        return time(int(hours), int(minutes))


def _parse(key: str, raw: str) -> Any:
    raw = raw.strip()
    if key == "threshold":
        if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= 10:
            raise InvalidInput("threshold must be a number from 0 to 10")
        return int(raw)
    if key in {"digest_enabled", "ai_replies", "read_on_reply"}:
        if raw.lower() not in {"on", "off", "true", "false", "1", "0", "yes", "no"}:
            raise InvalidInput(f"{key} must be on or off")
        return raw.lower() in {"on", "true", "1", "yes"}
    if key == "digest_time":
        if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", raw):
            raise InvalidInput("digest_time must be HH:MM, e.g. 07:30")
        return raw.zfill(5)
    if key == "digest_weekdays":
        names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        days = [d.strip().lower()[:3] for d in raw.split(",") if d.strip()]
        if not days or any(d not in names for d in days):
            raise InvalidInput("digest_weekdays is a list like mon,tue,wed,thu,fri")
        return tuple(sorted({names.index(d) for d in days}))
    if key in {"vip", "keywords"}:
        return tuple(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))[:100]
    if key in {"reply_prompt", "auto_marker"}:
        if len(raw) > 2000:
            raise InvalidInput(f"{key} is limited to 2000 characters")
        return raw if raw or key == "auto_marker" else DEFAULT_REPLY_SYSTEM
    if key == "llm_provider":
        if raw not in {"none", "openai", "ollama"}:
            raise InvalidInput("llm_provider must be none, openai or ollama")
        return raw
    if key == "llm_model":
        if not re.fullmatch(r"[\w.:/@-]{1,100}", raw):
            raise InvalidInput("llm_model must be a model name like gpt-4o-mini or llama3.2")
        return raw
    if key == "llm_temperature":
        try:
            value = float(raw)
        except ValueError:
            raise InvalidInput("llm_temperature must be a number from 0 to 2") from None
        if not 0 <= value <= 2:
            raise InvalidInput("llm_temperature must be a number from 0 to 2")
        return value
    if key == "llm_max_tokens":
        if not (raw.isascii() and raw.isdigit()) or not 16 <= int(raw) <= 8192:
            raise InvalidInput("llm_max_tokens must be 16–8192")
        return int(raw)
    if key in {"llm_day_calls", "llm_day_tokens"}:
        if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= 1_000_000_000:
            raise InvalidInput(f"{key} must be a whole number (0 turns the LLM off)")
        return int(raw)
    if key in {"media_day_mb", "media_total_mb"}:
        if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= 10_000_000:
            raise InvalidInput(f"{key} must be a number of MB (0 downloads nothing by itself)")
        return int(raw)
    if key == "voice_max_seconds":
        if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= 7200:
            raise InvalidInput("voice_max_seconds must be 0–7200 (0 transcribes nothing)")
        return int(raw)
    if key == "unanswered_hours":
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 168:
            raise InvalidInput("unanswered_hours must be 1–168")
        return int(raw)
    raise InvalidInput(f"unknown setting {key!r}")


#: The settings one WhatsApp account may set for itself (``/settings <label> key value``):
#: its value overrides the global one for that account's chats only.
PER_ACCOUNT = ("threshold", "digest_enabled", "digest_time", "ai_replies")


class PreferenceService:
    """Loads, validates and stores preferences; tells listeners when they change."""

    def __init__(
        self,
        storage: Storage,
        defaults: Preferences,
        rules: TriageRules,
        vet: Vet | None = None,
    ) -> None:
        """``vet`` checks a value against the world before it is stored (an LLM provider
        whose key is missing or whose host does not answer is refused with the reason)."""
        self.vet = vet
        self.storage = storage
        self.defaults = defaults
        self.rules = rules
        self.current = defaults
        #: account id → its overrides of the ``PER_ACCOUNT`` settings (stored on the account).
        self.overrides: dict[int, dict[str, Any]] = {}
        self._listeners: list[Listener] = []

    def on_change(self, listener: Listener) -> None:
        """Call ``listener`` with the new settings after each change."""
        self._listeners.append(listener)

    async def load(self) -> Preferences:
        """Read the stored settings over the defaults, apply them and return them."""
        stored = await self.storage.settings.all()
        values = {k: v for k, v in stored.items() if k in EDITABLE}
        for key in ("digest_weekdays", "vip", "keywords"):
            if key in values:
                values[key] = tuple(values[key])
        self.current = replace(self.defaults, **values)
        self.overrides = {
            a.id: {k: v for k, v in a.settings.items() if k in PER_ACCOUNT}
            for a in await self.storage.accounts.list()
        }
        self._apply()
        return self.current

    def for_account(self, account_id: int) -> Preferences:
        """The settings in effect for one account: the global ones with its overrides."""
        return replace(self.current, **self.overrides.get(account_id, {}))

    async def set_for(self, account_id: int, key: str, raw: str | None) -> Preferences:
        """Override one ``PER_ACCOUNT`` setting for an account from the owner's text (checked
        as the global one is), or remove the override when ``raw`` is None; tell the
        listeners and return the account's settings."""
        if key not in PER_ACCOUNT:
            raise InvalidInput(f"{key} is not set per account (only {', '.join(PER_ACCOUNT)})")
        value = None if raw is None else _parse(key, raw)
        await self.storage.accounts.set_setting(account_id, key, value)
        own = self.overrides.setdefault(account_id, {})
        if value is None:
            own.pop(key, None)
        else:
            own[key] = value
        for listener in self._listeners:
            await listener(self.current)
        return self.for_account(account_id)

    async def set(self, key: str, raw: str) -> Preferences:
        """Check and store one setting from the owner's text, apply it, tell the listeners;
        raise ``InvalidInput`` with the reason when it is refused."""
        value = _parse(key, raw)
        if self.vet is not None:
            await self.vet(key, value)  # raises InvalidInput with the reason
        await self.storage.settings.set(key, list(value) if isinstance(value, tuple) else value)
        self.current = replace(self.current, **{key: value})
        self._apply()
        for listener in self._listeners:
            await listener(self.current)
        return self.current

    async def toggle(self, key: str) -> Preferences:
        """Turn an on/off setting over and return the settings."""
        current = asdict(self.current)[key]
        return await self.set(key, "off" if current else "on")

    def _apply(self) -> None:
        self.rules.threshold = self.current.threshold
        self.rules.vip = set(self.current.vip)
        self.rules.keywords = set(self.current.keywords)
