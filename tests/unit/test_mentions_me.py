"""Who "me" is with several linked accounts: a mention of any of the owner's numbers counts,
and a message that mentions no one costs nothing per account (every history message of
every account is triaged on the one database thread)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from assistant.triage_rules import TriageRules, mentions_me
from core.events import WaMessage
from core.ids import ChatJid, WaMessageId

OWN = [f"1555900{i:04d}@s.whatsapp.net" for i in range(1, 11)]  # ten linked accounts
GROUP = ChatJid("120363000000001@g.us")
ANNA = ChatJid("15550000002@s.whatsapp.net")


def message(text: str, mentions: tuple[str, ...] = ()) -> WaMessage:
    return WaMessage(
        id=WaMessageId("M1"),
        chat=GROUP,
        sender=ANNA,
        timestamp=datetime(2026, 12, 4, tzinfo=UTC),
        text=text,
        mentions=mentions,
    )


class WatchedJids(set[str]):
    """The owner's numbers, counting how often triage walks through them."""

    walks = 0

    def __iter__(self) -> Iterator[str]:
        self.walks += 1
        return super().__iter__()


@pytest.mark.parametrize("which", [0, 4, 9])
def test_a_mention_of_any_linked_number_mentions_me(which: int) -> None:
    rules = TriageRules(own_jids=set(OWN))
    digits = OWN[which].split("@")[0]
    assert mentions_me(message(f"@{digits} can you look?", (OWN[which],)), rules)
    assert mentions_me(message(f"hey @{digits}, see above"), rules)  # typed, not tagged


def test_a_mention_of_someone_else_does_not_mention_me() -> None:
    rules = TriageRules(own_jids=set(OWN))
    assert not mentions_me(message("@15550000002 can you look?", (ANNA,)), rules)
    assert not mentions_me(message("mail me at anna@example.org"), rules)
    assert not mentions_me(message("can we meet tomorrow?"), rules)


def test_a_message_that_mentions_no_one_does_not_walk_the_accounts_numbers() -> None:
    own = WatchedJids(OWN)
    rules = TriageRules(own_jids=own)
    for i in range(100):
        assert not mentions_me(message(f"message {i} about the project"), rules)
    assert own.walks == 0
    assert mentions_me(message(f"@{OWN[3].split('@')[0]} look", (OWN[3],)), rules)
    assert own.walks == 1
