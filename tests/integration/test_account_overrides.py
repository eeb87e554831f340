"""Per-account settings (issue 21): an account's overrides of the threshold, the digest and
the AI switch, stored on the account, checked like the global ones, and read back at start."""

from __future__ import annotations

from datetime import UTC
from types import SimpleNamespace

import pytest

from assistant.preferences import PER_ACCOUNT, Preferences, PreferenceService
from assistant.replies import ReplyService
from assistant.triage_rules import TriageRules
from core.errors import InvalidInput
from core.ids import MessageKind
from storage import Storage
from storage.domain import Chat, StoredMessage
from tests.fakes.clock import FakeClock


async def test_an_override_applies_to_its_account_only_and_survives_a_restart(
    storage: Storage,
) -> None:
    work = await storage.accounts.add("work")
    prefs = PreferenceService(storage, Preferences(), TriageRules())
    await prefs.load()
    seen: list[Preferences] = []

    async def listener(p: Preferences) -> None:
        seen.append(p)

    prefs.on_change(listener)
    own = await prefs.set_for(work.id, "threshold", "3")
    await prefs.set_for(work.id, "digest_time", "6:45")
    assert own.threshold == 3 and len(seen) == 2
    assert prefs.for_account(1).threshold == 7 and prefs.for_account(work.id).threshold == 3
    assert prefs.current.threshold == 7
    again = PreferenceService(storage, Preferences(), TriageRules())
    await again.load()
    assert again.overrides[work.id] == {"threshold": 3, "digest_time": "06:45"}
    await again.set("threshold", "9")  # the global value still reaches accounts without one
    assert again.for_account(1).threshold == 9 and again.for_account(work.id).threshold == 3
    await again.set_for(work.id, "threshold", None)
    assert again.for_account(work.id).threshold == 9
    assert (await storage.accounts.get(work.id)).settings == {"digest_time": "06:45"}


@pytest.mark.parametrize(
    ("key", "raw"), [("threshold", "11"), ("digest_time", "25:00"), ("ai_replies", "maybe")]
)
async def test_an_override_is_checked_like_the_global_setting(
    storage: Storage, key: str, raw: str
) -> None:
    prefs = PreferenceService(storage, Preferences(), TriageRules())
    await prefs.load()
    with pytest.raises(InvalidInput):
        await prefs.set_for(1, key, raw)
    assert prefs.overrides.get(1, {}) == {}


async def test_only_the_per_account_settings_can_be_overridden(storage: Storage) -> None:
    prefs = PreferenceService(storage, Preferences(), TriageRules())
    await prefs.load()
    with pytest.raises(InvalidInput, match="not set per account"):
        await prefs.set_for(1, "keywords", "rent")
    assert set(PER_ACCOUNT) == {"threshold", "digest_enabled", "digest_time", "ai_replies"}


async def test_ai_replies_off_for_one_account_leaves_the_others_on(storage: Storage) -> None:
    work = await storage.accounts.add("work")
    prefs = PreferenceService(storage, Preferences(), TriageRules())
    await prefs.load()
    await prefs.set_for(work.id, "ai_replies", "off")
    clock = FakeClock()
    llm = SimpleNamespace(available=True, is_local=True)
    replies = ReplyService(storage, llm, lambda _: None, prefs, TriageRules(), clock, UTC)  # type: ignore[arg-type]
    now = clock.now()
    msg = StoredMessage(
        id=1, chat_id=1, wa_id="W1", sender="1@s.whatsapp.net", sender_name="A",
        kind=MessageKind.TEXT, text="are you there?", caption="", from_me=False, timestamp=now,
    )  # fmt: skip
    personal = Chat(1, "1@s.whatsapp.net", "A", False, account_id=1)
    at_work = Chat(2, "1@s.whatsapp.net", "A", False, account_id=work.id)
    assert replies.skip_reason(msg, at_work) == "AI replies are switched off"
    assert replies.skip_reason(msg, personal) == "chat is not Trusted with AI on"
