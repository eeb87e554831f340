"""Every notification survives the outbox's JSON and has a renderer in bot/."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import render, render_digest, render_notice, senders
from core import notifications
from core.digest_report import DigestReport
from core.ids import ConnectionState
from core.notifications import KINDS, Notice, Prepared, load
from tests.fakes.telegram_html_rules import problems

TEXT = st.text()
IDS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def _strategy(hint: object) -> st.SearchStrategy[object]:
    """Arbitrary values of a field's type, nested dataclasses included."""
    if hint is int:
        return IDS
    if hint is str:
        return TEXT
    if hint is bool:
        return st.booleans()
    if dataclasses.is_dataclass(hint):
        return _values(hint)  # type: ignore[arg-type]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        return st.lists(_strategy(args[0]), max_size=3).map(tuple)
    if type(None) in args:  # X | None
        (inner,) = [a for a in args if a is not type(None)]
        return st.none() | _strategy(inner)
    raise AssertionError(f"no strategy for {hint}")


def _values(cls: type) -> st.SearchStrategy[object]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _strategy(hints[f.name]) for f in dataclasses.fields(cls)}
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
    with pytest.raises((KeyError, TypeError, ValueError)):
        load(kind, payload)


def test_every_kind_has_a_renderer_in_bot() -> None:
    kinds = set(typing.get_args(notifications.Notification)) | {Prepared}
    assert kinds == set(KINDS.values()) | {Prepared}
    rendered = set(render_notice.TEXT) | set(senders.RENDERED_HERE)
    assert kinds <= rendered, kinds - rendered


@given(TEXT)
def test_a_notice_is_plain_text_escaped_for_telegram(text: str) -> None:
    html = render_notice.text_of(Notice(text))
    assert "<" not in html and ">" not in html


@given(st.sampled_from([s.value for s in ConnectionState]) | TEXT, TEXT)
def test_every_connection_state_renders_even_one_not_known(state: str, reason: str) -> None:
    html = render_notice.text_of(notifications.ConnectionNotice(state, reason))
    assert "WhatsApp" in html and "<script" not in html


@given(_values(DigestReport))
def test_every_digest_page_is_valid_telegram_html_whatever_it_holds(report: DigestReport) -> None:
    pages = render_digest.pages(report)
    assert pages and all(problems(text) == [] for text, _ in pages)
    assert all(len(m.inline_keyboard) <= 8 for _, m in pages if m)  # buttons per page
    assert problems(render_digest.text(report), limit=10**9) == []


@given(ANY)
def test_every_self_contained_notification_renders_valid_telegram_html(n: object) -> None:
    if type(n) in render_notice.TEXT:
        assert all(problems(page) == [] for page in render.split(render_notice.text_of(n)))
