"""Inline keyboards of /accounts (built from callbacks.py data only)."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup

from bot.callbacks import AccountAction

#: The first account: it keeps the paths a single-account install always had and cannot be
#: removed (only logged out).
FIRST = 1


def accounts(ids_labels: list[tuple[int, str]], default_id: int) -> Markup:
    """/accounts: per account Rename, Log out, (unless it is) Default and (unless it is the
    first) Remove; then Add account."""
    rows = []
    for account_id, label in ids_labels:
        row = [
            Button(f"✏️ {label}", callback_data=AccountAction(account_id, "rename").pack()),
            Button("🚪 Log out", callback_data=AccountAction(account_id, "logout").pack()),
        ]
        if account_id != default_id:
            row.append(
                Button("⭐ Default", callback_data=AccountAction(account_id, "default").pack())
            )
        if account_id != FIRST:
            row.append(Button("🗑", callback_data=AccountAction(account_id, "remove").pack()))
        rows.append(row)
    rows.append([Button("➕ Add account", callback_data=AccountAction(0, "add").pack())])
    return Markup(rows)


def account_logout_confirm(account_id: int, label: str) -> Markup:
    """Yes / Cancel for logging one account out."""
    return _confirm(account_id, f"Yes, log out {label}", "logout")


def account_remove_confirm(account_id: int, label: str) -> Markup:
    """Yes / Cancel for removing one account and its data."""
    return _confirm(account_id, f"🗑 Yes, remove {label}", "remove")


def _confirm(account_id: int, yes: str, action: str) -> Markup:
    """``yes`` does ``<action>_yes``, Cancel ``<action>_no``."""
    return Markup(
        [
            [
                Button(yes, callback_data=AccountAction(account_id, f"{action}_yes").pack()),
                Button("Cancel", callback_data=AccountAction(account_id, f"{action}_no").pack()),
            ]
        ]
    )
