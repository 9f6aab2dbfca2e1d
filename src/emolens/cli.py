"""The ``emolens`` command line.

Each sub-command lives next to the code it drives (``<package>/commands.py``) and keeps its
heavy imports (torch, opensmile) inside the function, so ``emolens --help`` stays fast.
"""

from __future__ import annotations

import warnings

import typer

app = typer.Typer(
    name="emolens",
    help="Small, transparent and transferable speech emotion recognition.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _register() -> None:
    # The command modules import only typer at module level; their packages load lazily.
    from emolens.corpora.commands import corpus, synth
    from emolens.deploy.commands import export, predict
    from emolens.deploy.serve.commands import serve
    from emolens.evaluation.commands import run
    from emolens.features.commands import extract
    from emolens.report.commands import report

    app.command("corpus")(corpus)
    app.command("synth")(synth)
    app.command("extract")(extract)
    app.command("run")(run)
    app.command("report")(report)
    app.command("predict")(predict)
    app.command("export")(export)
    app.command("serve")(serve)


def _warning_line(message, category, filename, lineno, line=None) -> str:
    # A warning is for the person at the terminal (an old bundle, other package versions):
    # one line with its message, not the source line that raised it.
    return f"warning: {message}\n"


_register()
warnings.formatwarning = _warning_line

if __name__ == "__main__":  # pragma: no cover
    app()
