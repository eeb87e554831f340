"""Texts for tests whose point is transport (retries, merging, restarts), not judgement.

``urgent(tag)`` is forwarded by the shipped model and rules from any chat, known or not;
``tests/unit/test_triage.py`` checks that, so a retrained model that stops forwarding it
fails there, with the reason, instead of in a dozen transport tests.
"""

from __future__ import annotations


def urgent(tag: object) -> str:
    """A message triage forwards at once; ``tag`` tells the messages apart."""
    return f"URGENT {tag}: mum is in hospital, call me now"


def quiet(tag: object = "") -> str:
    """A person-chat message triage does not forward but shows an LLM when there is one."""
    return f"how was your weekend {tag}".strip()
