"""A realistic day of 20 chats whose address-book names differ from the push names people
chose: the feed lines the people tests play (shared by the tests that need them)."""

from __future__ import annotations

#: (phone digits, saved name, push name, optional LID the person writes from)
PEOPLE = [
    ("4915112345678", "Mom", "Linda", None),
    ("34612345678", "Sofía Ramírez 🌻", "Sofi 🌻", "201000000000001"),
    ("4917600000001", "Lukas Becker", "Luki", None),
    ("5511987654321", "João Pereira", "João P.", None),
    ("79161234567", "Dmitri Ivanov", "Dima", None),
    ("919812345678", "Priya Sharma", "Priya S.", None),
    ("4915200000002", "Dad", "Klaus", "201000000000002"),
    ("447700900123", "Emma Watson (work)", "Emma", None),
    ("33612345678", "Chloé Martin", "Chlo", None),
    ("4917000000003", "Dr. Weber Praxis", "Praxis Weber", None),
    ("4916000000004", "Anna Schmidt", "Anni ✨", None),
    ("4915900000005", "Tom Müller", "T.M.", None),
    ("4915700000006", "Oma", "Gertrud", None),
    ("4915500000007", "Jonas", "jonas_92", None),
]
#: People who are not in the address book: shown by push name, or by number.
STRANGERS = [
    ("4915300000008", "Pizza Roma"),
    ("4915300000009", "Max"),
    ("4915300000010", ""),
]
GROUPS = [
    ("120363000000000101@g.us", "Familie 🏡"),
    ("120363000000000102@g.us", "Kita Sonnenschein"),
    ("120363000000000103@g.us", "Book club"),
]
ME = "15550001111@s.whatsapp.net"
CHAT_COUNT = len(PEOPLE) + len(STRANGERS) + len(GROUPS)  # 20


def pn(digits: str) -> str:
    return f"{digits}@s.whatsapp.net"


def lid(digits: str) -> str:
    return f"{digits}@lid"


def day_feed() -> list[dict]:
    """The feed: the address book, then a day of messages (some people write from their
    LID, some first from their number and later from their LID)."""
    lines: list[dict] = [{"event": "connected", "jid": ME}]
    for digits, saved, _push, hidden in PEOPLE:
        entry = {"event": "contact", "jid": pn(digits), "name": saved}
        if hidden:
            entry["lid"] = lid(hidden)
        lines.append(entry)
    ts = 1_780_000_000
    for i, (digits, _saved, push, hidden) in enumerate(PEOPLE):
        chat = lid(hidden) if hidden else pn(digits)
        lines.append(
            {
                "event": "message",
                "id": f"P{i}",
                "chat": chat,
                "sender": chat,
                "text": "hi there",
                "push_name": push,
                "timestamp": ts + i,
            }
        )
    for i, (digits, push) in enumerate(STRANGERS):
        lines.append(
            {
                "event": "message",
                "id": f"S{i}",
                "chat": pn(digits),
                "sender": pn(digits),
                "text": "hello",
                "push_name": push,
                "timestamp": ts + 100 + i,
            }
        )
    for i, (group, subject) in enumerate(GROUPS):
        member = pn(PEOPLE[i][0])
        lines.append(
            {
                "event": "message",
                "id": f"G{i}",
                "chat": group,
                "sender": member,
                "text": "see you",
                "push_name": PEOPLE[i][2],
                "group_name": subject,
                "timestamp": ts + 200 + i,
            }
        )
    # Sofía writes once more from her number: the same chat, not a 21st.
    lines.append(
        {
            "event": "message",
            "id": "P1b",
            "chat": pn(PEOPLE[1][0]),
            "sender": pn(PEOPLE[1][0]),
            "text": "it's me again",
            "push_name": "Sofi 🌻",
            "timestamp": ts + 300,
        }
    )
    return lines
