"""The command line starts fast: registering the commands imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "pandas", "scipy", "matplotlib", "opensmile", "captum",
         "transformers")


def test_cli_import_is_light():
    # a fresh interpreter: the test session itself has imported everything already
    code = ("import sys, emolens.cli; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"`import emolens.cli` imported {out}"


def test_every_stage_is_registered():
    from typer.testing import CliRunner

    from emolens.cli import app

    res = CliRunner().invoke(app, ["--help"])
    assert res.exit_code == 0
    for command in ("corpus", "synth", "extract", "run", "report", "predict", "export", "serve"):
        assert command in res.output


@pytest.mark.parametrize("package", ["corpora", "features", "evaluation", "report", "deploy"])
def test_lazy_package_exports(package):
    import importlib

    from emolens._lazy import type_checking_imports

    mod = importlib.import_module(f"emolens.{package}")
    exports = type_checking_imports(mod.__name__)  # the names, listed once
    assert mod.__all__ == sorted(exports) and len(exports) >= 3
    for name in mod.__all__:
        source = importlib.import_module(f"emolens.{package}.{exports[name]}")
        assert getattr(mod, name) is getattr(source, name)
        assert name in dir(mod)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mod.nope  # noqa: B018
