"""Imports flow one way (whatsapp ← storage ← assistant ← bot); each library lives in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["whatsapp", "storage", "assistant", "bot"]
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
    return [p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")]


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_layering_and_library_ownership(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    layer = LAYERS.index(rel.split("/")[0])
    used = imports(path)
    higher = {name for name in LAYERS[layer + 1 :] if name in used}
    assert not higher, f"{rel} imports a higher layer: {higher}"
    for lib, owner in OWNERS.items():
        if lib in used:
            assert rel.startswith(owner), f"{rel} imports {lib}, which belongs in {owner}"


def test_neonize_is_imported_only_by_the_backend_protos_and_simulator() -> None:
    users = {p.relative_to(ROOT).as_posix() for p in sources() if "neonize" in imports(p)}
    assert users <= {"whatsapp/neonize_backend.py", "whatsapp/outbound.py", "whatsapp/protos.py"}
