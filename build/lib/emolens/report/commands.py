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
) -> None:
    """Write RESULTS_DIR/report.html: accuracy, latent, interpretation, attributions."""
    from rich.console import Console
    from rich.markup import escape

    from emolens._parallel import release_worker_pool
    from emolens.report import ReportError, ReportOptions, build_report

    console = Console(stderr=True)
    opts = ReportOptions(max_samples=max_samples, n_repeats=n_repeats, max_fits=max_fits,
                         ablation=ablation, jobs=jobs)
    try:
        path = build_report(results_dir, opts)
    except ReportError as err:
        console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        release_worker_pool()
    console.print(f"report: {path} ({opts.timings.get('total', 0):.1f} s)", highlight=False)
