"""No function in src/emolens is longer than MAX_LINES without a reason written above it.

A long function either does several things (split it) or is long for a reason worth one line
(a command whose length is its option declarations): ``# long: <reason>`` on the line
directly above the ``def`` (or above its decorators).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "emolens"
MAX_LINES = 80
MARK = "# long:"


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _has_reason(lines: list[str], node) -> bool:
    """The line above the first decorator (or the ``def``) is a ``# long:`` comment."""
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    above = lines[first - 2].strip() if first >= 2 else ""
    return above.startswith(MARK) and len(above) > len(MARK) + 3


def long_functions(root: Path = PACKAGE, limit: int = MAX_LINES) -> list[str]:
    """``path:line name (n lines)`` of every function over ``limit`` lines without a reason."""
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        rel = path.relative_to(root).as_posix()
        for node in _functions(ast.parse(text)):
            n = node.end_lineno - node.lineno + 1
            if n > limit and not _has_reason(lines, node):
                found.append(f"{rel}:{node.lineno} {node.name} ({n} lines)")
    return found


def test_long_functions_carry_a_reason():
    assert long_functions() == []


@pytest.mark.parametrize("above, flagged", [
    ("", True),
    ("# long: its length is the option declarations of a typer command\n", False),
    ("# long:\n", True),  # a mark without a reason does not count
])
def test_the_check_can_fail(tmp_path, above, flagged):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"{above}@decorator\ndef f():\n{body}\n\ndef g():\n"
                                   "    return 1\n", encoding="utf-8")
    assert bool(long_functions(tmp_path)) is flagged
    assert not long_functions(tmp_path, limit=MAX_LINES + 2)
