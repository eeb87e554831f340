"""Which account a command names: ``/settings work …``, ``/digest work``, ``/chats work …``
name an account by its label in front of their other arguments. Only with several accounts:
a single-account user's arguments are never read as a label. The words these commands read
before a label (``/digest last``, ``/settings <key>``) are never a label's first word:
``core.labels.COMMAND_WORDS``, refused by ``storage.accounts.check_label``."""

from __future__ import annotations

from bot.context import Account, Accounts


def split_account(accounts: Accounts, args: list[str]) -> tuple[Account | None, list[str]]:
    """The account whose label the first words are (the longest that matches, as labels
    may hold spaces) and the words after it; (None, args) when none is named or there is
    only one account."""
    if not accounts.several:
        return None, args
    for n in range(len(args), 0, -1):
        account = accounts.by_label(" ".join(args[:n]))
        if account is not None:
            return account, args[n:]
    return None, args
