"""Inline keyboards (built from callbacks.py data only)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup

from assistant.preferences import Preferences
from bot.callbacks import (
    REACTIONS,
    AccountAction,
    ChatAction,
    ChatList,
    DigestAction,
    DraftAction,
    EditAction,
    ForwardAction,
    SessionAction,
    SettingAction,
)
from bot.render_chats import chat_label
from storage.domain import Chat, Page, StoredMessage

#: The label shown before a chat of an account ("" with a single account).
LabelOf = Callable[[int], str]


def no_label(_account_id: int) -> str:
    """No account label (a single account)."""
    return ""


def _on(flag: bool) -> str:
    return "✅" if flag else "⬜"


def chat_list(
    page: Page[Chat], search: str, label_of: LabelOf = no_label, account: int = 0
) -> Markup:
    """One button per chat of the page, and ◀ ▶ when there are more pages (keeping the
    search and the ``account`` it is narrowed to; 0 for every account)."""
    rows = [
        [
            Button(
                chat_label(c, label_of(c.account_id)),
                callback_data=ChatAction(c.id, "open").pack(),
            )
        ]
        for c in page.items
    ]
    nav = []
    if page.has_prev:
        nav.append(Button("◀", callback_data=ChatList(page.page - 1, search, account).pack()))
    if page.has_next:
        nav.append(Button("▶", callback_data=ChatList(page.page + 1, search, account).pack()))
    if nav:
        rows.append(nav)
    return Markup(rows)


def chat_card(chat: Chat, now: datetime) -> Markup:
    """A chat's switches, mute options and its last messages."""

    def act(label: str, action: str) -> Button:
        return Button(label, callback_data=ChatAction(chat.id, action).pack())

    muted = chat.is_muted(now)
    return Markup(
        [
            [
                act(f"{_on(chat.trusted)} Trusted", "trusted"),
                act(f"{_on(chat.ai_enabled)} AI", "ai"),
            ],
            [
                act(f"{_on(chat.ai_auto)} AI auto-send", "auto"),
                act(f"{_on(chat.include_in_digest)} Include in digest", "digest"),
            ],
            [act("🔕 Mute 8 h", "mute8h"), act("🔕 Until tomorrow", "mutetm")]
            + ([act("🔔 Unmute", "unmute")] if muted else []),
            [
                act(f"{_on(chat.cloud_llm_allowed)} Cloud LLM allowed", "cloud"),
                act("💬 Last messages", "last"),
            ],
            [Button("◀ Chats", callback_data=ChatList(0, "").pack())],
        ]
    )


def forward(
    message_id: int, chat_id: int, can_download: bool = False, was_cut: bool = False
) -> Markup:
    """Buttons under a forward; ⬇️ Download when its attachment was not fetched by itself,
    📄 Show all when its text was cut."""
    rows = [
        [
            Button("↩️ Reply", callback_data=ForwardAction(message_id, "reply").pack()),
            Button("🔕 Mute chat", callback_data=ForwardAction(message_id, "mute").pack()),
        ],
        [
            Button("👎 Not important", callback_data=ForwardAction(message_id, "noimp").pack()),
            Button("📂 Open chat", callback_data=ChatAction(chat_id, "open").pack()),
        ],
    ]
    rows.append(
        [
            *(
                Button(emoji, callback_data=ForwardAction(message_id, f"r{i}").pack())
                for i, emoji in enumerate(REACTIONS)
            ),
            Button("➕", callback_data=ForwardAction(message_id, "rmore").pack()),
        ]
    )
    extra = []
    if can_download:
        extra.append(Button("⬇️ Download", callback_data=ForwardAction(message_id, "media").pack()))
    if was_cut:
        extra.append(Button("📄 Show all", callback_data=ForwardAction(message_id, "full").pack()))
    return Markup([*rows, extra] if extra else rows)


def edit_on_whatsapp(item_id: int) -> Markup:
    """The ✏️ Edit on WhatsApp button under an edited Telegram message."""
    return Markup([[Button("✏️ Edit on WhatsApp", callback_data=EditAction(item_id).pack())]])


def call(chat_id: int) -> Markup:
    """Under a missed-call notice: open the chat (its card has mute and last messages)."""
    return Markup([[Button("📂 Open chat", callback_data=ChatAction(chat_id, "open").pack())]])


def open_chat(chat_id: int) -> Markup:
    """📂 Open chat, and the button to say one of its messages was urgent."""
    return Markup(
        [
            [
                Button("📂 Open chat", callback_data=ChatAction(chat_id, "open").pack()),
                Button(URGENT_ASK, callback_data=ChatAction(chat_id, "urgent").pack()),
            ]
        ]
    )


#: The button that asks which message of a chat should have been forwarded.
URGENT_ASK = "‼️ One was urgent"


def urgent_choices(messages: list[StoredMessage]) -> Markup:
    """One "‼️ <start of the text>" button a message: tapping one teaches triage that it was
    urgent."""
    rows = []
    for m in messages:
        snippet = " ".join((m.body or f"[{m.kind.value}]").split())[:40]
        rows.append([Button(f"‼️ {snippet}", callback_data=ForwardAction(m.id, "urgent").pack())])
    return Markup(rows)


def logout_confirm() -> Markup:
    """Yes / Cancel for /logout."""
    return Markup(
        [
            [
                Button("Yes, log out", callback_data=SessionAction("logout_yes").pack()),
                Button("Cancel", callback_data=SessionAction("logout_no").pack()),
            ]
        ]
    )


def new_qr(account_id: int | None = None) -> Markup:
    """🔄 New QR, after the login QR window ended (of an added account: its own login)."""
    data = SessionAction("qr") if account_id is None else AccountAction(account_id, "login")
    return Markup([[Button("🔄 New QR", callback_data=data.pack())]])


def digest_confirm(digest_id: int) -> Markup:
    """✅ Mark as read under an on-demand digest."""
    return Markup([[Button("✅ Mark as read", callback_data=DigestAction(digest_id).pack())]])


def choose(chats: list[Chat], label_of: LabelOf = no_label) -> Markup:
    """One button per chat, to pick one of several that match a name."""
    return Markup(
        [
            [
                Button(
                    chat_label(c, label_of(c.account_id)),
                    callback_data=ChatAction(c.id, "last").pack(),
                )
            ]
            for c in chats
        ]
    )


def settings(p: Preferences) -> Markup:
    """The /settings buttons: step the threshold, flip the on/off settings."""
    return Markup(
        [
            [
                Button(
                    "− threshold",
                    callback_data=SettingAction("threshold", str(max(0, p.threshold - 1))).pack(),
                ),
                Button(f"Threshold {p.threshold}", callback_data=SettingAction("noop", "").pack()),
                Button(
                    "+ threshold",
                    callback_data=SettingAction("threshold", str(min(10, p.threshold + 1))).pack(),
                ),
            ],
            [
                Button(
                    f"{_on(p.digest_enabled)} Daily digest",
                    callback_data=SettingAction("digest_enabled", "toggle").pack(),
                ),
                Button(
                    f"{_on(p.ai_replies)} AI replies (all chats)",
                    callback_data=SettingAction("ai_replies", "toggle").pack(),
                ),
            ],
        ]
    )


def draft(draft_id: int) -> Markup:
    """Send / Edit / Discard under an AI draft."""
    return Markup(
        [
            [
                Button("✅ Send", callback_data=DraftAction(draft_id, "send").pack()),
                Button("✏️ Edit", callback_data=DraftAction(draft_id, "edit").pack()),
                Button("🗑 Discard", callback_data=DraftAction(draft_id, "discard").pack()),
            ]
        ]
    )


def login_choice(ids_labels: list[tuple[int, str]]) -> Markup:
    """/login with several accounts: which one to link, or a new one."""
    rows = [
        [Button(f"🔗 {label}", callback_data=AccountAction(account_id, "login").pack())]
        for account_id, label in ids_labels
    ]
    rows.append([Button("➕ New account", callback_data=AccountAction(0, "add").pack())])
    return Markup(rows)


def logout_choice(ids_labels: list[tuple[int, str]]) -> Markup:
    """/logout with several accounts: which one to unlink (its confirmation follows)."""
    rows = [
        [Button(f"🚪 {label}", callback_data=AccountAction(account_id, "logout").pack())]
        for account_id, label in ids_labels
    ]
    rows.append([Button("Cancel", callback_data=SessionAction("logout_no").pack())])
    return Markup(rows)
