"""Lazy package exports (PEP 562), so that ``emolens --help`` imports no pandas/sklearn/torch.

A package lists its public names once, as imports under ``if TYPE_CHECKING:`` (so static
tools see them), and gets module-level ``__getattr__``/``__dir__``/``__all__`` from
:func:`lazy_exports`: ``from emolens.corpora import load_corpus`` imports
``emolens.corpora.load`` on first use only.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys


def type_checking_imports(package: str) -> dict[str, str]:
    """``name -> submodule`` of the ``from <package>.<submodule> import ...`` statements under
    ``if TYPE_CHECKING:`` in ``package``'s ``__init__.py``.

    Args:
        package: the package's ``__name__`` (already in ``sys.modules``).

    Returns:
        public name -> submodule (relative to the package), in source order.
    """
    with open(sys.modules[package].__file__, encoding="utf-8") as f:
        source = f.read()
    exports = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module.startswith(package + "."):
                    module = stmt.module[len(package) + 1:]
                    exports.update({a.asname or a.name: module for a in stmt.names})
    return exports


def lazy_exports(package: str, exports: dict[str, str] | None = None):
    """``(__getattr__, __dir__, __all__)`` for ``package`` whose ``exports`` load on first use.

    Args:
        package: the package's ``__name__``.
        exports: public name -> submodule (relative to the package) defining it; default: the
            package's ``if TYPE_CHECKING:`` imports (:func:`type_checking_imports`).

    Returns:
        the two functions and the sorted public names, to assign in the package's
        ``__init__``.
    """
    if exports is None:
        exports = type_checking_imports(package)

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            # a submodule not imported yet (``emolens.corpora.schema``) stays reachable
            if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}"):
                return importlib.import_module(f"{package}.{name}")
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # next access skips __getattr__
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__, sorted(exports)
