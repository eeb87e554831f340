"""The settings the owner may change with /settings, by name: read by the preferences
(assistant/preferences.py) and by the account-label rule (a label may not start with one,
core/labels.py), so they live in the core every layer may use."""

from __future__ import annotations

#: Every key /settings accepts, in the order /settings lists them.
EDITABLE = (
    "threshold",
    "read_on_reply",
    "digest_enabled",
    "digest_time",
    "digest_weekdays",
    "ai_replies",
    "vip",
    "keywords",
    "unanswered_hours",
    "reply_prompt",
    "auto_marker",
    "llm_provider",
    "llm_model",
    "llm_temperature",
    "llm_max_tokens",
    "llm_day_calls",
    "llm_day_tokens",
    "media_day_mb",
    "media_total_mb",
    "voice_max_seconds",
)
