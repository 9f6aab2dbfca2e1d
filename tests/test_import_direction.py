"""Imports point one way: corpora -> features -> models -> evaluation -> interpret -> report,
deploy beside report (docs/architecture.md). Checked on the source with ``ast``, so imports
inside functions count as well."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "emolens"

#: Layer of each top-level part of emolens; a module may import its own part and lower layers.
#: The package root (``LABELS``) is below all; the base modules (``_lazy``, ``_parallel``,
#: ``palette``, ``results``) import no package.
LAYERS = {"": -1, "_lazy": 0, "_parallel": 0, "palette": 0, "results": 0, "data": 0,
          "corpora": 1, "features": 2, "models": 3, "evaluation": 4, "interpret": 5,
          "report": 6, "deploy": 6}
#: Command-line adapters sit on top of everything (``emolens run`` drives runner and report).
COMMANDS = ("cli.py", "commands.py", "synthetic_commands.py")


def _part(module: str) -> str:
    """``emolens.models.scaling`` -> ``models``; ``emolens`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def emolens_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, imported module)`` of every emolens import in one file (relative ones resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "emolens"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] == "emolens":
                found.append((node.lineno, name))
    return found


def violations() -> list[str]:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name in COMMANDS:
            continue
        mine = _part(_module_name(path))
        for line, target in emolens_imports(path):
            theirs = _part(target)
            if theirs not in LAYERS:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {target}: unknown part")
            elif theirs != mine and LAYERS[theirs] >= LAYERS[mine]:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {target} "
                           f"({theirs or 'emolens'} is not below {mine or 'emolens'})")
    return bad


def test_every_part_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
             if not p.name.startswith("__") and (p.suffix == ".py" or p.is_dir())}
    assert parts - {c.removesuffix(".py") for c in COMMANDS} <= set(LAYERS)


def test_imports_point_one_way():
    assert violations() == []


@pytest.mark.parametrize("source, target, ok", [
    ("emolens/models/x.py", "emolens.report.figures", False),
    ("emolens/report/x.py", "emolens.models", True),
    ("emolens/deploy/x.py", "emolens.report.figures", False),
    ("emolens/_parallel.py", "emolens.evaluation.runner", False),
])
def test_the_check_can_fail(tmp_path, monkeypatch, source, target, ok):
    """The walker sees a planted import (also inside a function) and judges it."""
    root = tmp_path / "emolens"
    file = tmp_path / source
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(f"def f():\n    import {target}\n")
    monkeypatch.setattr(__import__(__name__), "SRC", root)
    assert emolens_imports(file) == [(2, target)]
    assert (violations() == []) is ok
