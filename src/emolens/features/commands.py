"""``emolens extract``: feature extraction from the command line."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated, Optional

import typer

from emolens.features.sets import FEATURE_SETS

_SET_HELP = "; ".join(f"{name}: {c.description}" for name, c in FEATURE_SETS.items()) + (
    "; hf:<model id or folder>[@layer], whisper:<size or folder>[@layer] or a model folder: "
    "a pretrained encoder (needs the 'encoders' extra; layer: an integer, last or mean, the "
    "default); egemaps+hf:...: both side by side")
#: Rows of the skipped table printed on the terminal (the CSV has them all).
_MAX_SHOWN = 30


def extract(
    manifests: Annotated[
        list[Path],
        typer.Argument(
            help="CSV manifests (with a 'file' column), corpus folders or audio files.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Feature table to write (parquet).", show_default=False
        ),
    ],
    features: Annotated[
        str, typer.Option("--features", help=f"Feature set. {_SET_HELP}.")
    ] = "egemaps",
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 1,
    cache_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--cache-dir",
            help="Feature cache folder (default: $EMOLENS_CACHE or ~/.cache/emolens/features).",
        ),
    ] = None,
    scheduler: Annotated[
        Optional[str],
        typer.Option(
            "--scheduler",
            help="Dask scheduler address (tcp://host:8786) to run on a cluster; "
            "needs the 'distributed' extra of emolens.",
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Extract openSMILE features (16 kHz mono) from every file of the manifests.

    Writes OUTPUT (parquet, indexed by file) and OUTPUT-STEM.skipped.csv beside it.

    Files that cannot be processed are listed with their reason; the run goes on without them.

    Results are cached by audio content: a rerun or a resumed run computes only what is new.
    """
    from rich.console import Console

    console, err = Console(), Console(stderr=True)
    _check_options(features, output, err)
    files = collect_files(manifests)
    skipped_csv = skipped_path(output)
    result = _extract_or_exit(files, features, jobs, cache_dir, scheduler, progress,
                              skipped_csv, console, err)
    _write_parquet(result.features, output)
    _write_skipped(result.skipped, skipped_csv)
    if len(result.skipped):
        _print_skipped(console, result.skipped)
    console.print(_summary(result, features, output, skipped_csv), highlight=False)


def _check_options(features: str, output: Path, err) -> None:
    """A known feature set (its extra installed) and a .parquet output, else exit."""
    from rich.markup import escape

    from emolens.features.sets import check_feature_set

    try:
        check_feature_set(features)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--features") from None
    except ImportError as exc:  # the encoders extra is missing
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if output.suffix.lower() != ".parquet":
        raise typer.BadParameter(
            f"{output} must end in .parquet", param_hint="-o/--output"
        )


def _extract_or_exit(files, features, jobs, cache_dir, scheduler, progress, skipped_csv,
                     console, err):
    """:func:`emolens.features.extract`; no features, Ctrl-C/SIGTERM or a missing extra
    become a message and an exit code."""
    from rich.markup import escape

    from emolens.features.extraction import NoFeaturesError
    from emolens.features.extraction import extract as run_extract

    previous = _terminate_as_interrupt()
    try:
        return run_extract(
            files,
            feature_set=features,
            jobs=jobs,
            cache_dir=cache_dir,
            scheduler=scheduler,
            progress=progress,
        )
    except NoFeaturesError as exc:
        _write_skipped(exc.skipped, skipped_csv)
        _print_skipped(console, exc.skipped)
        where = escape(str(skipped_csv))
        err.print(f"[red]error:[/] no file could be processed; reasons in {where}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print(
            "[yellow]interrupted.[/] Finished files are in the cache; run the same command "
            "again to resume."
        )
        raise typer.Exit(130) from None
    except ImportError as exc:  # the distributed extra is missing
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _summary(result, features: str, output: Path, skipped_csv: Path) -> str:
    """The closing line: files, features, cache use, skipped."""
    from rich.markup import escape

    n_files = result.features.index.get_level_values("file").nunique()
    return (
        f"{n_files} files -> {escape(str(output))} "
        f"({result.features.shape[1]} {features} features; "
        f"{result.n_cached} from cache"
        + (f" ({result.n_waited} computed meanwhile by another process)" if result.n_waited else "")
        + f", {result.n_computed} computed"
        + (f", {result.n_shared} byte-identical to another file (read once)"
           if result.n_shared else "") + "), "
        f"{len(result.skipped)} skipped"
        + (f" -> {escape(str(skipped_csv))}" if len(result.skipped) else "")
    )


def _terminate_as_interrupt():
    """Treat SIGTERM (plain ``kill``) like Ctrl-C so worker processes are shut down and the
    run can be resumed. Returns the previous handler (None outside the main thread)."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread (e.g. some test runners)
        return None


def skipped_path(output: Path) -> Path:
    """``features.parquet`` -> ``features.skipped.csv`` in the same folder."""
    return output.with_name(f"{output.stem}.skipped.csv")


def collect_files(manifests: list[Path]) -> list[str]:
    """Absolute audio paths from CSV manifests, folders and single audio files
    (:func:`emolens.corpora.discover_inputs`: one rule for extensions and hidden files)."""
    from emolens.corpora import InputError, discover_inputs

    try:
        inputs, _ = discover_inputs(manifests)
    except InputError as exc:
        raise typer.BadParameter(str(exc), param_hint="MANIFESTS") from None
    if inputs.empty:
        raise typer.BadParameter("the manifests list no files", param_hint="MANIFESTS")
    return inputs["file"].tolist()


def _write_parquet(frame, path: Path) -> None:
    from emolens.features.cache import atomic_write_bytes

    atomic_write_bytes(path, lambda h: frame.to_parquet(h), fsync=True)


def _write_skipped(skipped, path: Path) -> None:
    from emolens.features.cache import atomic_write_bytes

    atomic_write_bytes(path, lambda h: skipped.to_csv(h, index=False), fsync=True)


def _print_skipped(console, skipped) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Skipped files ({len(skipped)})", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("reason", overflow="fold")
    for file, reason in skipped.head(_MAX_SHOWN).itertuples(index=False):
        table.add_row(escape(file), escape(reason))
    if len(skipped) > _MAX_SHOWN:
        table.add_row(f"... and {len(skipped) - _MAX_SHOWN} more", "see the CSV")
    console.print(table)
