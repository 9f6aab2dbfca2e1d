"""``emolens run``: run a TOML experiment, write its results directory, then its report.

A command module sits on top of the packages (like ``emolens.cli``): it may import any of
them. The runner itself (:mod:`emolens.evaluation.runner`) knows nothing of the report.
"""

from __future__ import annotations

from pathlib import Path

import typer


def run(
    config: Path = typer.Argument(..., help="Experiment file (TOML, see docs/config.md)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Results directory; overrides 'output' of the config."
    ),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j",
        help="Processes for features, model fits and the report; overrides 'jobs'."
    ),
    test: list[str] | None = typer.Option(
        None, "--test", "-t", metavar="PATH",
        help="Zero-shot test corpus (folder or CSV manifest); repeat for several. Replaces "
             "the test corpora of the config, e.g. to apply experiments/transfer.toml to your "
             "own corpora."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    overwrite: bool = typer.Option(
        False, "--overwrite",
        help="Replace another run in the output folder (removes only what a run writes). "
             "Without it, a folder holding a run with another configuration is refused; one "
             "with the same configuration is resumed."),
) -> None:
    """Run an experiment: features, protocol splits, models, results.csv, summary.md and
    report.html (unless the config's report section says enabled = false)."""
    from rich.console import Console
    from rich.markup import escape

    from emolens._parallel import release_worker_pool, warm_worker_pool
    from emolens.evaluation.config import ConfigError, load_config, with_test

    console = Console(stderr=True)

    def fail(err):
        console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None

    try:
        cfg = load_config(config)
        if test:
            cfg = with_test(cfg, test)
        if jobs is not None:
            if jobs < 1:
                raise ConfigError(f"--jobs must be >= 1, got {jobs}")
            cfg.jobs = jobs
    except ConfigError as err:
        fail(err)
    # The workers import torch/sklearn while this process imports the runner and loads data.
    warm = warm_worker_pool(cfg.jobs, ("emolens.evaluation.runner", "emolens.models"))
    try:
        from emolens.evaluation.guard import LeakageError
        from emolens.evaluation.runner import run_experiment

        try:
            result = run_experiment(cfg, out=out, progress=not quiet, console=console,
                                    overwrite=overwrite)
        except (ConfigError, LeakageError) as err:
            fail(err)
        _report(result, cfg, console)
    finally:
        if warm is not None:
            list(warm)
        release_worker_pool()
    summary = (result / "summary.md").read_text(encoding="utf-8")
    Console().print(summary, markup=False, highlight=False, soft_wrap=True)


def _report(out: Path, cfg, console) -> None:
    """Build ``out/report.html`` as ``[report]`` asks; a failure is said, not raised (the
    results are written already)."""
    options = dict(cfg.report)
    if not options.pop("enabled", True):
        return
    from emolens.report import ReportOptions, build_report

    try:
        # jobs: the report's parts and refits reuse the worker pool of the fits
        opts = ReportOptions(jobs=cfg.jobs, **options)
        with console.status("report") as status:  # a spinner on a terminal only
            build_report(out, opts, progress=lambda step: status.update(f"report: {step}"))
        console.log(f"report: {out / 'report.html'} ({opts.timings['total']:.1f} s)")
    except Exception as err:  # noqa: BLE001 - the results are written; say why no report
        console.log(f"[yellow]report failed[/]: {type(err).__name__}: {err}")
