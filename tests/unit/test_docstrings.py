"""Every public function, method and class in ``core``, ``storage``, ``assistant`` and ``bot``
says in a docstring what it is for, so the rule cannot drift as code is added."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "whatsapp", "storage", "assistant", "bot")
#: Modules exempt from the rule while they are being reshaped (none now); a test fails when a
#: name here is no file, so the set is emptied once the reshaping lands.
EXEMPT: set[str] = set()

#: Decorators whose function is documented by another definition of the same name.
DOCUMENTED_ELSEWHERE = {"overload", "setter", "deleter"}
Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _is_overload_or_setter(node: Definition) -> bool:
    """An ``@overload`` stub or a property's setter/deleter, documented by its main definition."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Name) and decorator.id == "overload":
            return True
        if isinstance(decorator, ast.Attribute) and decorator.attr in DOCUMENTED_ELSEWHERE:
            return True
    return False


def public_definitions(body: list[ast.stmt], prefix: str = "") -> Iterator[tuple[str, Definition]]:
    """Yield each public function, class and (for public classes) method, with its dotted name."""
    for node in body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if node.name.startswith("_") or _is_overload_or_setter(node):
            continue
        if prefix and isinstance(node, ast.ClassDef) and node.name == "Meta":
            continue  # a peewee model's options, not an interface
        name = prefix + node.name
        yield name, node
        if isinstance(node, ast.ClassDef):
            yield from public_definitions(node.body, name + ".")


def sources() -> list[Path]:
    """The modules the rule covers (every ``.py`` file of the packages, minus ``EXEMPT``)."""
    found = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    return [p for p in found if p.relative_to(ROOT).as_posix() not in EXEMPT]


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_public_definitions_have_docstrings(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    missing = [
        f"{name} (line {node.lineno})"
        for name, node in public_definitions(tree.body)
        if not (ast.get_docstring(node) or "").strip()
    ]
    assert not missing, f"{path.relative_to(ROOT)}: no docstring on " + ", ".join(missing)


def test_exempt_files_still_exist() -> None:
    gone = sorted(rel for rel in EXEMPT if not (ROOT / rel).exists())
    assert not gone, f"remove these from EXEMPT: {gone}"


def test_the_rule_sees_methods_and_skips_private_names() -> None:
    tree = ast.parse(
        "class A:\n"
        "    '''An A.'''\n"
        "    def f(self): pass\n"
        "    def _g(self): pass\n"
        "    class Meta: pass\n"
        "class _B:\n"
        "    def h(self): pass\n"
        "async def run(): pass\n"
    )
    assert [name for name, _ in public_definitions(tree.body)] == ["A", "A.f", "run"]
