"""Lazy package exports (PEP 562), so that ``emolens --help`` imports no pandas/sklearn/torch.

A package lists ``name -> submodule`` and gets module-level ``__getattr__``/``__dir__``:
``from emolens.corpora import load_corpus`` imports ``emolens.corpora.load`` on first use only.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package`` whose ``exports`` load on first access.

    Args:
        package: the package's ``__name__``.
        exports: public name -> submodule (relative to the package) defining it.

    Returns:
        the two functions to assign in the package's ``__init__``.
    """

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

    return __getattr__, __dir__
