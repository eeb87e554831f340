"""Imports flow one way: everything may use ``core``; ``storage`` ← ``assistant`` ← ``bot``; the
``whatsapp`` transport is used only by the wiring in ``bot``; each library lives in one place;
and no module grows past ``MAX_LINES``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What each package may import of this project.
ALLOWED = {
    "core": {"core"},
    "whatsapp": {"core", "whatsapp"},
    "storage": {"core", "storage"},
    "assistant": {"core", "storage", "assistant"},
    "bot": {"core", "storage", "assistant", "bot", "whatsapp"},
}
#: The wiring: the only modules that may import the transport.
WIRING = {"bot/app.py", "bot/wiring.py", "bot/check.py"}
OWNERS = {
    "neonize": "whatsapp/",
    "peewee": "storage/",
    "playhouse": "storage/",
    "telegram": "bot/",
    "openai": "assistant/llm/",
    "ollama": "assistant/llm/",
    "segno": "bot/",
    "prometheus_client": "bot/health.py",
    "phonenumbers": "storage/names.py",
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def sources() -> list[Path]:
    return [p for package in ALLOWED for p in (ROOT / package).rglob("*.py")]


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_layering_and_library_ownership(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    package = rel.split("/")[0]
    used = imports(path)
    ours = used & set(ALLOWED)
    assert ours <= ALLOWED[package], f"{rel} imports {ours - ALLOWED[package]}"
    if "whatsapp" in used and package == "bot":
        assert rel in WIRING, f"{rel} imports the whatsapp transport; only the wiring may"
    for lib, owner in OWNERS.items():
        if lib in used:
            assert rel.startswith(owner), f"{rel} imports {lib}, which belongs in {owner}"


def test_the_core_uses_only_the_standard_library() -> None:
    import sys

    for path in (ROOT / "core").rglob("*.py"):
        outside = {m for m in imports(path) if m not in sys.stdlib_module_names and m != "core"}
        assert not outside, f"{path.name} imports {outside}"


def test_neonize_is_imported_only_by_the_backend_protos_and_simulator() -> None:
    users = {p.relative_to(ROOT).as_posix() for p in sources() if "neonize" in imports(p)}
    backend = {
        "whatsapp/neonize_backend.py",
        "whatsapp/neonize_client.py",
        "whatsapp/neonize_login.py",
        "whatsapp/neonize_queries.py",
        "whatsapp/neonize_sending.py",
    }
    builders = {
        "whatsapp/protos.py",
        "whatsapp/protos_calls.py",
        "whatsapp/protos_messages.py",
        "whatsapp/protos_sync.py",
    }
    assert users <= backend | builders | {"whatsapp/outbound.py"}


#: The packages whose modules are held to ``MAX_LINES``.
CHECKED = ("core", "whatsapp", "storage", "assistant", "bot")
#: A module longer than this does more than one job: split it along its jobs.
MAX_LINES = 300


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        p.relative_to(ROOT).as_posix(): n
        for package in CHECKED
        for p in (ROOT / package).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"
