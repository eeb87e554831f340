"""Every notification survives the outbox's JSON and has a renderer in bot/."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import notifier, render_notice
from core import notifications
from core.ids import ConnectionState
from core.notifications import KINDS, Notice, Prepared, load

TEXT = st.text()
IDS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def _field(hint: str) -> st.SearchStrategy[object]:
    if hint == "int":
        return IDS
    if hint == "int | None":
        return st.none() | IDS
    assert hint == "str", hint
    return TEXT


def _values(cls: type) -> st.SearchStrategy[object]:
    fields = {f.name: _field(str(f.type)) for f in dataclasses.fields(cls)}
    return st.builds(cls, **fields)


ANY = st.one_of(*(_values(cls) for cls in KINDS.values()))


@given(ANY)
def test_every_notification_round_trips_through_its_json_payload(n: object) -> None:
    raw = json.loads(json.dumps(n.to_payload(), ensure_ascii=False))  # type: ignore[attr-defined]
    assert load(n.KIND, raw) == n  # type: ignore[attr-defined]


@given(st.sampled_from(["notice", "draft", "digest", "something-new"]), TEXT, st.none() | IDS)
def test_rows_from_before_the_types_load_as_prepared_html(
    kind: str, text: str, message_id: int | None
) -> None:
    payload = {"text": text, "markup": {"inline_keyboard": []}, "message_id": message_id}
    got = load(kind, json.loads(json.dumps(payload)))
    assert got == Prepared(kind, text, {"inline_keyboard": []}, message_id)
    assert render_notice.text_of(got) == text  # the HTML the bot made then, sent as it was


@pytest.mark.parametrize(
    "kind, payload",
    [
        ("forward", {}),
        ("forward", {"message_id": "7"}),
        ("call", {"message_id": True}),
        ("ticks", {"message_id": 1, "state": 5}),
        ("notice", {"v": 2, "text": ["x"]}),
        ("draft", {"v": 2, "draft_id": 1, "chat_id": 1, "text": "x"}),
        ("send_result", {"item_id": None, "status": "sent"}),
    ],
)
def test_a_payload_that_does_not_fit_its_kind_is_refused(kind: str, payload: dict) -> None:
    with pytest.raises((KeyError, ValueError)):
        load(kind, payload)


def test_every_kind_has_a_renderer_in_bot() -> None:
    kinds = set(typing.get_args(notifications.Notification)) | {Prepared}
    assert kinds == set(KINDS.values()) | {Prepared}
    rendered = set(render_notice.TEXT) | set(notifier.RENDERED_FROM_STORE)
    assert kinds <= rendered, kinds - rendered


@given(TEXT)
def test_a_notice_is_plain_text_escaped_for_telegram(text: str) -> None:
    html = render_notice.text_of(Notice(text))
    assert "<" not in html and ">" not in html


@given(st.sampled_from([s.value for s in ConnectionState]) | TEXT, TEXT)
def test_every_connection_state_renders_even_one_not_known(state: str, reason: str) -> None:
    html = render_notice.text_of(notifications.ConnectionNotice(state, reason))
    assert "WhatsApp" in html and "<script" not in html
