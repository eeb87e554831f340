"""A digest as plain values: what the secretary found, for ``bot/`` to render (its HTML and
buttons live in ``bot/render_digest.py``). JSON round-trips through ``to_payload`` and
``from_payload``, so a digest waits in the Telegram outbox as itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class DigestLine:
    """One message shown: its chat's name, the sender in a group (None in a person chat),
    a snippet, its score and, under "Needs you", its local time ("Mon 09:00")."""

    chat: str
    who: str | None
    text: str
    score: int | None = None
    when: str = ""
    #: The chat's account label when there are several accounts ("" with one).
    account: str = ""


@dataclass(frozen=True)
class DigestChat:
    """One chat's part: counts, the top messages, and how long someone waits for me."""

    chat_id: int
    name: str
    is_group: bool
    count: int
    top_score: int
    senders: tuple[str, ...] = ()
    top: tuple[DigestLine, ...] = ()
    asks: int = 0
    waiting_hours: int | None = None
    summary: str = ""
    #: The chat's account label when there are several accounts ("" with one).
    account: str = ""


@dataclass(frozen=True)
class DigestReport:
    """A whole digest: ``kind`` is "daily", "manual" or "catchup"; ``since`` the local start;
    ``needs`` and ``scams`` the first lines of ``needs_total`` and ``scams_total``; ``rest``
    messages in ``quieter`` chats not shown; ``skipped`` from muted or excluded chats."""

    kind: str
    since: str
    incoming: int
    chats_seen: int
    chats: tuple[DigestChat, ...] = ()
    needs: tuple[DigestLine, ...] = ()
    needs_total: int = 0
    scams: tuple[DigestLine, ...] = ()
    scams_total: int = 0
    rest: int = 0
    quieter: int = 0
    skipped: int = 0

    def to_payload(self) -> dict[str, Any]:
        """The report as plain JSON values."""
        return asdict(self)

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> DigestReport:
        """Read a report back; raises on a wrong shape."""

        def lines(raw: Any) -> tuple[DigestLine, ...]:
            return tuple(DigestLine(**checked_fields(DigestLine, x)) for x in raw)

        chats = []
        for c in p["chats"]:
            f = checked_fields(DigestChat, c)
            f["senders"] = tuple(_text(s) for s in f.get("senders", ()))
            f["top"] = lines(f.get("top", ()))
            chats.append(DigestChat(**f))
        f = checked_fields(cls, p)
        f.update(chats=tuple(chats), needs=lines(p["needs"]), scams=lines(p["scams"]))
        return cls(**f)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("text expected")
    return value


def checked_fields(cls: type, raw: Any) -> dict[str, Any]:
    """The dataclass ``cls``'s fields found in ``raw``, type-checked shallowly (integers,
    text, true/false, None where allowed); nested values are left to the caller."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{cls.__name__} must be an object")
    out = {}
    for field in fields(cls):
        name, hint = field.name, str(field.type)
        if name not in raw:
            continue
        value = raw[name]
        if hint in {"int", "int | None"} and not (
            (value is None and "None" in hint)
            or (isinstance(value, int) and not isinstance(value, bool))
        ):
            raise ValueError(f"{name} must be an integer")
        if hint in {"str", "str | None"} and not (
            (value is None and "None" in hint) or isinstance(value, str)
        ):
            raise ValueError(f"{name} must be text")
        if hint == "bool" and not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        out[name] = value
    return out
