"""Which account a repository reads and writes: the one rule of several WhatsApp accounts.

A repository is made for one account (``Storage.for_account``; ``open_storage`` gives
account 1's) or for all of them (``Storage.all_accounts``, ``account_id`` None). The rule:

- a JID names a chat, contact or outbox item *within one account*, so what is looked up or
  written by JID needs a repository of one account (an all-accounts one refuses it);
- a row id (a chat's, a message's, an outbox item's) is unique across accounts, so reads and
  changes by id work from any repository;
- a listing (chats, search, messages of a period) covers the repository's account; on the
  all-accounts repository it covers every account, or only ``account_id`` when given one.
"""

from __future__ import annotations

from storage.models import MAIN_ACCOUNT


class Scoped:
    """The account part of a repository (repositories hold no other state)."""

    def __init__(self, account_id: int | None = MAIN_ACCOUNT) -> None:
        self.account_id = account_id

    def _own(self) -> int:
        """The one account a JID is looked up or written in; an all-accounts repository
        cannot say which, so it refuses."""
        if self.account_id is None:
            raise ValueError("a JID belongs to one account: use Storage.for_account(id)")
        return self.account_id

    def _listed(self, account_id: int | None = None) -> list[int] | None:
        """The accounts a listing covers: None means every account (the all-accounts
        repository, not narrowed); an empty list when asked for another account than
        this repository's."""
        if self.account_id is None:
            return None if account_id is None else [account_id]
        if account_id not in (None, self.account_id):
            return []
        return [self.account_id]
