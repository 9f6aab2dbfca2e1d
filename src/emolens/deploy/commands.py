"""``emolens predict`` and ``emolens export``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


#: ``--no-verify`` of every command that loads a bundle.
NoVerify = Annotated[
    bool, typer.Option("--no-verify", help="Load a bundle whose files differ from the SHA-256 "
                       "hashes in its bundle.json (one you edited on purpose).")]


#: ``--adapt/--no-adapt`` of ``predict``.
Adapt = Annotated[bool, typer.Option(
    "--adapt/--no-adapt", help="Adapt the classifier to the files predicted together: its "
    "confident predictions train a second classifier whose probabilities are averaged in "
    "(needs at least 5 confident files of every class; labels are never read).")]


#: ``--classes`` of ``predict``.
Classes = Annotated[Optional[list[str]], typer.Option(
    "--classes", metavar="NAMES", show_default=False,
    help="Only these classes can be the label, for recordings known to lack some, e.g. "
    "--classes neutral,happy,angry (the others' probabilities are set to 0).")]


def _load(model: Optional[Path], no_verify: bool = False, adapt: bool = True, classes=None):
    from emolens.deploy.bundle import BundleError
    from emolens.deploy.predict import Predictor

    try:
        return Predictor(model, verify=not no_verify, adapt=adapt, classes=classes)
    except BundleError as err:
        raise typer.BadParameter(str(err), param_hint="--model") from None
    except ValueError as err:  # not a BundleError: known_classes refused --classes
        if classes is None:
            raise
        raise typer.BadParameter(str(err), param_hint="--classes") from None


def _write(table, output: Optional[Path], fmt: Optional[str]) -> None:
    fmt = (fmt or (output.suffix.lstrip(".").lower() if output else "csv")) or "csv"
    if fmt not in ("csv", "json"):
        raise typer.BadParameter(f"format must be csv or json, got {fmt!r}", param_hint="--format")
    text = (table.to_csv(index=False) if fmt == "csv"
            # pandas writes NaN as null but escapes every "/" in paths; re-dump to read plainly
            else json.dumps(json.loads(table.to_json(orient="records", double_precision=10)),
                            indent=1, ensure_ascii=False) + "\n")
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)


def predict(
    inputs: Annotated[
        Optional[list[Path]],
        typer.Argument(help="Audio files, folders (searched recursively) or CSV manifests.",
                       show_default=False),
    ] = None,
    model: Annotated[
        Optional[Path], typer.Option("--model", "-m", help="Model bundle (default: the built-in model).")
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write here (.csv or .json) instead of stdout.")
    ] = None,
    fmt: Annotated[
        Optional[str], typer.Option("--format", help="csv or json (default: from -o, else csv).")
    ] = None,
    stream: Annotated[
        Optional[Path], typer.Option("--stream", help="Sliding-window timeline of one audio file.")
    ] = None,
    mic: Annotated[bool, typer.Option("--mic", help="Live timeline from the microphone (needs the extra: pip install 'emolens\\[mic]').")] = False,
    window: Annotated[float, typer.Option(min=0.5, help="Streaming window (s).")] = 3.0,
    hop: Annotated[float, typer.Option(min=0.05, help="Streaming hop (s).")] = 1.0,
    duration: Annotated[
        Optional[float], typer.Option(help="--mic: stop after this many seconds (default: Ctrl-C).")
    ] = None,
    plot: Annotated[
        Optional[Path], typer.Option("--plot", help="Streaming: timeline plot (PNG); default beside -o.")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Feature extraction processes.")] = 1,
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="Feature cache folder.")] = None,
    adapt: Adapt = True,
    classes: Classes = None,
    no_verify: NoVerify = False,
) -> None:
    """Predict emotions: one row per file with label, probabilities, latent position and an
    out-of-domain score/flag (file, label, p_neutral, p_happy, p_sad, p_angry, z1, z2,
    ood_score, ood).

    With --stream FILE or --mic: a timeline over sliding windows, with the latency per window.
    """
    from rich.console import Console

    err = Console(stderr=True, soft_wrap=True)
    modes = sum([bool(inputs), stream is not None, mic])
    if modes != 1:
        raise typer.BadParameter("give input files/folders/manifests, or --stream FILE, or --mic (one of them)")
    predictor = _load(model, no_verify, adapt, classes)
    if stream is not None or mic:
        _stream(predictor, stream, mic, window, hop, duration, output, fmt, plot, err)
        return
    try:
        result = predictor.predict_files(inputs, jobs=jobs, cache_dir=cache_dir)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except ImportError as exc:  # an encoder bundle without the 'encoders' extra
        from rich.markup import escape

        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    err.print(f"normalisation: {result.normalisation}", highlight=False)
    if len(result.skipped):
        err.print(f"skipped {len(result.skipped)} file(s):", highlight=False)
        for f, reason in result.skipped.itertuples(index=False):
            err.print(f"  {f}: {reason}", highlight=False, markup=False)
        if output is not None:
            result.skipped.to_csv(output.with_name(output.stem + ".skipped.csv"), index=False)
    n_ood = int(result.table["ood"].sum()) if len(result.table) else 0
    err.print(f"{len(result.table)} file(s) predicted, {n_ood} flagged out-of-domain "
              "(unlike the training data)", highlight=False)
    _write(result.table, output, fmt)
    if len(result.table) == 0:
        raise typer.Exit(1)
    _note_long_recordings(result.table["file"], err)


def _note_long_recordings(files, err) -> None:
    """Point to ``--stream`` when a file is long enough to hold several utterances."""
    from emolens.deploy.predict import LONG_RECORDING_S, long_recordings

    long = long_recordings(files)
    if long:
        f, seconds = long[0]
        more = f" and {len(long) - 1} more" if len(long) > 1 else ""
        err.print(f"note: {Path(f).name} ({seconds:.0f} s){more} is longer than "
                  f"{LONG_RECORDING_S:.0f} s and got one label for the whole recording; "
                  "for a timeline over sliding windows use: emolens predict --stream FILE",
                  highlight=False, markup=False)


def _stream(predictor, stream, mic, window, hop, duration, output, fmt, plot, err) -> None:
    from emolens.deploy.streaming import plot_timeline, stream_file, stream_mic
    from emolens.features.audio import AudioError
    from emolens.results import latent_column

    realtime = []
    zcols = [latent_column(k) for k in range(predictor.bundle.latent_dim)]

    def show(row):
        lat = row["latency_ms"]
        realtime.append(lat / 1000 / hop)
        if row.get("label") is None or row.get("skipped"):
            err.print(f"{row['start']:7.2f}-{row['end']:7.2f} s  skipped: {row['skipped']}  "
                      f"latency {lat:6.1f} ms", highlight=False)
            return
        z = " ".join(f"{k}={row[k]:+.2f}" for k in row if k in zcols)
        flag = "  OOD" if row["ood"] else ""
        err.print(f"{row['start']:7.2f}-{row['end']:7.2f} s  {row['label']:<8} "
                  f"p={row['p_' + row['label']]:.2f}  {z}  latency {lat:6.1f} ms{flag}", highlight=False)

    try:
        if mic:
            timeline = stream_mic(predictor, window=window, hop=hop, duration=duration, on_window=show)
        else:
            timeline = stream_file(predictor, stream, window=window, hop=hop, on_window=show)
    except (AudioError, RuntimeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if len(timeline):
        lat = timeline["latency_ms"]
        err.print(f"{len(timeline)} windows; latency median {lat.median():.1f} ms, max {lat.max():.1f} ms "
                  f"per {hop:g} s hop ({'keeps up with' if lat.max() < 1000 * hop else 'slower than'} "
                  "real time on this machine)", highlight=False)
    _write(timeline, output, fmt)
    if plot is None and output is not None:
        plot = output.with_suffix(".png")
    if plot is not None and timeline["label"].notna().any():
        plot_timeline(timeline, plot, predictor.bundle.labels)
        err.print(f"plot: {plot}", highlight=False)


def export(
    bundle: Annotated[
        Optional[Path], typer.Argument(help="Model bundle (default: the built-in model).", show_default=False)
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="ONNX file to write.")] = Path("model.onnx"),
    scaler: Annotated[
        bool,
        typer.Option(help="Include z-scoring with the training statistics (--no-scaler: the graph "
                          "expects features already normalised per speaker/corpus and clipped)."),
    ] = True,
    no_verify: NoVerify = False,
) -> None:
    """Export scaler + encoder + classifier + calibrated head as ONNX.

    Input 'features' (float64, N x 88, the bundle's feature order); outputs 'probabilities',
    'latent' and 'scores'. The out-of-domain score is not included.
    """
    from rich.console import Console

    from emolens.deploy.bundle import BundleError
    from emolens.deploy.onnx_export import export_onnx

    predictor = _load(bundle, no_verify)
    try:
        path = export_onnx(predictor.bundle, output, include_scaler=scaler)
    except BundleError as err:
        raise typer.BadParameter(str(err)) from None
    size = path.stat().st_size
    Console(stderr=True, soft_wrap=True).print(
        f"wrote {path} ({size / 1024:.1f} KiB); input 'features' float64 [N, "
        f"{len(predictor.bundle.feature_names)}], outputs probabilities/latent/scores; "
        f"labels {', '.join(predictor.bundle.labels)}", highlight=False)
