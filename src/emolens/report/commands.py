"""``emolens report``: build report.html (and interpret/*.csv|json) for a results directory."""

from __future__ import annotations

from pathlib import Path

import typer


def report(
    results_dir: Path = typer.Argument(..., help="Results directory written by `emolens run`."),
    ablation: bool = typer.Option(
        False, "--ablation", help="Also retrain without each feature group (27 refits)."
    ),
    jobs: int = typer.Option(
        1, "--jobs", "-j", min=1,
        help="Processes: latent and attribution side by side; ablation refits in parallel.",
    ),
    max_samples: int = typer.Option(
        500, "--max-samples", min=10, help="Samples per fit for DeepLIFT/occlusion/permutation."
    ),
    n_repeats: int = typer.Option(5, "--repeats", min=1, help="Permutation repeats per group."),
    max_fits: int = typer.Option(3, "--max-fits", min=1,
                                 help="Fits (seed × fold) used for the permutation spread."),
    latent_axes: str = typer.Option(
        "auto", "--latent-axes",
        help="Latent grid axes: shared (shows shifts between corpora), own (per corpus: no "
             "outlier squeezes a cloud) or auto (own when shared axes would squeeze one).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="No progress display (it is off anyway when stderr is "
                                    "not a terminal)."),
) -> None:
    """Write RESULTS_DIR/report.html: accuracy, latent, interpretation, attributions."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                               TextColumn, TimeElapsedColumn)

    from emolens._parallel import release_worker_pool
    from emolens.report import ReportError, ReportOptions, build_report
    from emolens.report.build import REPORT_STEPS

    console = Console(stderr=True)
    if latent_axes not in ("auto", "shared", "own"):
        console.print(f"[red]error:[/red] --latent-axes must be auto, shared or own, got "
                      f"{escape(latent_axes)!r}", highlight=False)
        raise typer.Exit(2)
    opts = ReportOptions(max_samples=max_samples, n_repeats=n_repeats, max_fits=max_fits,
                         ablation=ablation, jobs=jobs, latent_axes=latent_axes)
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                   transient=True, disable=quiet or not console.is_terminal)
    task = bar.add_task("report", total=len(REPORT_STEPS))
    started: list[str] = []

    def progress(text: str) -> None:
        if started:
            bar.advance(task)
        started.append(text)
        bar.update(task, description=text)

    try:
        with bar:
            path = build_report(results_dir, opts, progress=progress)
            bar.update(task, completed=len(REPORT_STEPS))
    except ReportError as err:
        console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        release_worker_pool()
    console.print(f"report: {path} ({opts.timings.get('total', 0):.1f} s)", highlight=False)
