"""Run an experiment: corpora -> features -> protocol splits -> models -> results directory.

The layout of the results directory is the contract of ``docs/architecture.md``; the names of
the test sets are explained in :mod:`emolens.evaluation.protocols`.
"""

from __future__ import annotations

import collections
import json
import logging
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from emolens import LABELS, __version__
from emolens.evaluation.config import ConfigError, ExperimentConfig, model_augment
from emolens.evaluation.copies import TrainingCopies, training_copies
from emolens import results as R
from emolens.evaluation.confusions import write_confusions
from emolens.evaluation.metrics import bootstrap_ua, scores
from emolens.evaluation.protocols import Split, make_splits

log = logging.getLogger("emolens.run")



@dataclass
class RunData:
    """What the models see: the labelled manifest and its model input."""

    manifest: pd.DataFrame
    X: pd.DataFrame
    y: np.ndarray
    train: list[str]
    test: list[str]
    dropped: dict[str, int] = field(default_factory=dict)
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["file", "reason"]))
    features: pd.DataFrame | None = None
    #: Utterances of the same corpora without a 4-class label (other emotions), indexed like
    #: ``X``. Never classified or scored: they only join the per-speaker/per-corpus
    #: normalisation statistics, so that those come from *all* of a speaker's utterances (as
    #: at deployment) and not from a subset chosen with the emotion labels.
    X_unlabelled: pd.DataFrame | None = None
    #: Channel copies of the training utterances, for models with ``augment = "channel"``
    #: (:mod:`emolens.evaluation.copies`); None when no model asks for them.
    copies: TrainingCopies | None = None
    #: test corpus -> the only classes its labels may be (``classes`` of its entry)
    classes: dict[str, tuple[str, ...]] = field(default_factory=dict)


# -- data ----------------------------------------------------------------------------------
def _load_entries(entries, role: str) -> list[pd.DataFrame]:
    from emolens.corpora import load_corpus

    frames = []
    for entry in entries:
        try:
            frame = load_corpus(entry.path, name=entry.name)
        except (ValueError, OSError) as err:
            raise ConfigError(f"[corpora].{role}: cannot load '{entry.path}': {err}") from err
        if entry.corpus is not None:
            frame = frame.assign(corpus=entry.corpus)
        frames.append(frame)
    return frames


@dataclass
class Manifests:
    """The corpora of an experiment as read from disk, before any audio is opened."""

    full: pd.DataFrame  # every utterance (other emotions too)
    labelled: pd.DataFrame  # the 4-class utterances, RangeIndex
    train: list[str]
    test: list[str]
    dropped: dict[str, int]
    #: files of the test corpora left out whole (no 4-class utterance): file, reason
    unusable: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["file", "reason"]))
    #: test corpus -> the only classes it holds (its entry's ``classes``)
    classes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def train_only(self) -> "Manifests":
        """The same without the test corpora."""
        keep = lambda frame: frame[frame["corpus"].astype(str).isin(self.train)]  # noqa: E731
        return Manifests(keep(self.full), keep(self.labelled).reset_index(drop=True),
                         self.train, [], {c: n for c, n in self.dropped.items()
                                          if c in self.train})


def read_manifests(config: ExperimentConfig, console=None) -> Manifests:
    """Read the manifests of an experiment's corpora and check them against the protocol
    (names, classes, enough speakers for the folds); no audio is read.

    Raises:
        ConfigError: a corpus cannot be loaded, is named twice, has no 4-class utterance,
            or the protocol's folds cannot be cut from it.
    """
    say = console.log if console is not None else log.info
    train_frames = _load_entries(config.train, "train")
    test_frames = _load_entries(config.test, "test")
    train = list(dict.fromkeys(c for f in train_frames for c in f["corpus"].astype(str)))
    test = list(dict.fromkeys(c for f in test_frames for c in f["corpus"].astype(str)))
    both = sorted(set(train) & set(test))
    if both:
        raise ConfigError(
            f"corpora {both} are both in [corpora].train and [corpora].test; give a test "
            "corpus another name only if it really is different data"
        )
    manifest = pd.concat(train_frames + test_frames, ignore_index=True)
    dup = manifest["file"].duplicated()
    if dup.any():
        raise ConfigError(
            f"{int(dup.sum())} file(s) are listed by more than one corpus entry, e.g. "
            f"{manifest.loc[dup, 'file'].iloc[0]}"
        )
    dropped, unusable = {}, []
    for corpus, frame in manifest.groupby("corpus", sort=False):
        n_out = int(frame["label4"].isna().sum())
        dropped[str(corpus)] = n_out
        if n_out == len(frame):
            unusable.append(str(corpus))
        say(
            f"corpus [bold]{corpus}[/]: {len(frame)} utterances, {len(frame) - n_out} with one "
            f"of the 4 classes, {n_out} dropped (other emotions)"
        )
    _note_missing_speakers(manifest, config, say)
    for corpus in unusable:
        why = (f"corpus '{corpus}' has no utterance of the classes {LABELS} (its emotions: "
               f"{_emotions_found(manifest, corpus)}); give a CSV manifest whose 'emotion' "
               "column names them (docs/corpora.md)")
        if corpus in train:
            raise ConfigError(why)
        say(f"[yellow]skipped[/]: {why}")  # one test corpus must not cost the others
    out = manifest["corpus"].isin(unusable)
    skipped = pd.DataFrame({"file": manifest.loc[out, "file"].astype(str),
                            "reason": "corpus " + manifest.loc[out, "corpus"].astype(str)
                            + ": no utterance of the 4 classes"}).reset_index(drop=True)
    test = [c for c in test if c not in unusable]
    dropped = {c: n for c, n in dropped.items() if c not in unusable}
    manifest = manifest[~out].reset_index(drop=True)
    labelled = manifest[manifest["label4"].notna()].reset_index(drop=True)
    try:  # the folds depend on speakers and labels only: cut them now, not after extraction
        make_splits(labelled, config.protocol, train, test, config.folds, config.split,
                    config.seeds[0])
    except ValueError as err:
        raise ConfigError(
            f"'folds' = {config.folds!r} ({config.split} split, protocol {config.protocol}): "
            f"{err}") from None
    return Manifests(manifest, labelled, train, test, dropped, skipped,
                     _test_classes(config.test, test_frames, labelled))


def _test_classes(entries, frames, labelled) -> dict[str, tuple[str, ...]]:
    """Test corpus -> the ``classes`` of its entry, checked against its labels.

    Raises:
        ConfigError: a corpus labelled with a class its entry leaves out.
    """
    out = {}
    for entry, frame in zip(entries, frames):
        if entry.classes is None:
            continue
        for corpus in frame["corpus"].astype(str).unique():
            found = set(labelled.loc[labelled["corpus"].astype(str) == corpus, "label4"])
            extra = sorted(map(str, found - set(entry.classes)))
            if extra:
                raise ConfigError(
                    f"[corpora].test: corpus '{corpus}' has utterances labelled "
                    f"{', '.join(extra)}, which its classes ({', '.join(entry.classes)}) "
                    "leave out: add them, or leave 'classes' out")
            out[corpus] = entry.classes
    return out


def _emotions_found(manifest: pd.DataFrame, corpus: str, n: int = 8) -> str:
    """The most frequent emotion values of a corpus, for an error message."""
    counts = manifest.loc[manifest["corpus"] == corpus, "emotion"].astype(str).value_counts()
    shown = ", ".join(repr(e) for e in counts.index[:n])
    return shown + (f" and {len(counts) - n} more" if len(counts) > n else "") if shown else "none"


def _note_missing_speakers(manifest: pd.DataFrame, config: ExperimentConfig, say) -> None:
    """Say which corpora have no speaker ids when a model normalises per speaker: all their
    utterances then form one group (corpus statistics), which costs accuracy."""
    if not any(s.normalisation == "speaker" for s in config.models):
        return
    for corpus, frame in manifest.groupby("corpus", sort=False):
        if frame["speaker"].isna().all():
            say(f"[yellow]corpus {corpus} has no speaker ids[/]: its utterances are normalised "
                "together (corpus statistics), which loses about 10 UA points against "
                "per-speaker statistics on the shared corpora (docs/benchmarks.md#transfer); "
                "add a 'speaker' column to its manifest if you know them")


def check_features(config: ExperimentConfig) -> None:
    """Check, before any audio is read, that the feature set can be computed here (an
    encoder: the 'encoders' extra installed, the model found locally, the layer exists).

    Raises:
        ConfigError: with the reason.
    """
    from emolens.features.sets import check_feature_set

    for name in feature_sets(config):
        try:
            check_feature_set(name)
        except (ImportError, ValueError) as err:
            raise ConfigError(f"features '{name}': {err}") from None


def feature_sets(config: ExperimentConfig) -> list[str]:
    """The feature sets a run reads: its models' (candidates of ``[select]`` may each have
    their own), in the order they first appear."""
    return list(dict.fromkeys(spec.features for spec in config.models))


def load_data(config: ExperimentConfig, progress: bool = True, console=None,
              manifests: Manifests | None = None) -> RunData:
    """Load the corpora of an experiment, keep the 4-class utterances and extract features.

    Args:
        manifests: from :func:`read_manifests` (read here when None).

    Returns:
        RunData with the manifest (labelled, extracted rows only, RangeIndex) and ``X``
        indexed by ``(file, corpus, speaker)`` in the same row order.
    """
    from emolens.evaluation.guard import same_audio
    from emolens.features import default_cache_dir, extract, model_input

    check_features(config)
    say = console.log if console is not None else log.info
    m = manifests if manifests is not None else read_manifests(config, console)
    full, manifest, train, test = m.full, m.labelled, m.train, m.test

    cache_dir = config.cache_dir or default_cache_dir()
    # Unlabelled utterances are needed only for per-corpus/per-speaker statistics, of any model.
    groups = sorted({s.normalisation for s in config.models} - {"none"})
    files = full["file"] if groups else manifest["file"]
    extra = len(files) - len(manifest)
    say(f"features '{config.features}' for {len(files)} files"
        + (f" ({extra} unlabelled, for the {'/'.join(groups)} statistics only)" if extra else "")
        + f" (cache {cache_dir})")
    result = extract(
        files.tolist(),
        feature_set=config.features,
        jobs=config.jobs,
        cache_dir=cache_dir,
        progress=progress,
    )
    if len(result.skipped):
        say(f"[yellow]{len(result.skipped)} file(s) skipped[/] (see skipped.csv)")
    twins = same_audio(full.loc[full["corpus"].isin(train), "file"],
                       full.loc[full["corpus"].isin(test), "file"], result.digests)
    if len(twins):
        say(f"[yellow]{len(twins)} test file(s) left out: the same audio as training files[/] "
            f"(e.g. {twins['file'].iloc[0]}; see skipped.csv)")
    skipped = pd.concat([result.skipped[["file", "reason"]], twins], ignore_index=True)
    if len(m.unusable):  # whole test corpora left out first (read_manifests)
        skipped = pd.concat([m.unusable, skipped], ignore_index=True)
    usable = result.features.index.difference(twins["file"])
    manifest = manifest[manifest["file"].isin(usable)].reset_index(drop=True)
    unlabelled = full[full["label4"].isna() & full["file"].isin(usable)]
    left = set(manifest["corpus"].astype(str))
    gone = [c for c in test if c not in left]
    if gone:  # every labelled file unreadable or a training file's twin: the others run on
        say(f"[yellow]test corpus {', '.join(map(repr, gone))}: no usable 4-class utterance "
            "left (see skipped.csv); left out[/]")
        test = [c for c in test if c not in gone]
    X_unlabelled = model_input(result.features, unlabelled) if len(unlabelled) else None
    X = model_input(result.features, manifest)
    if list(X.index.get_level_values("file")) != manifest["file"].astype(str).tolist():
        raise RuntimeError("model_input changed the row order of the manifest")
    copies = None
    if any(model_augment(spec) == "channel" for spec in config.models):
        copies = training_copies(manifest, unlabelled, train, config.features, cache_dir,
                                 config.jobs, progress, say)
    return RunData(
        manifest=manifest,
        X=X,
        y=manifest["label4"].astype(str).to_numpy(),
        train=train,
        test=test,
        dropped=m.dropped,
        skipped=skipped,
        features=result.features,
        X_unlabelled=X_unlabelled,
        copies=copies,
        classes=m.classes,
    )


# -- the results folder --------------------------------------------------------------------
#: What a run writes into its results folder (the report's parts included). ``--overwrite``
#: removes these and nothing else; a run also lists what it wrote in :data:`OWNED_FILE`.
RUN_OUTPUTS = R.RUN_OUTPUTS
OWNED_FILE = ".emolens-run.json"


def _identity(config_text: str) -> list[str]:
    """The lines of a written config.toml that decide the results (not comments, the
    output folder or the number of processes)."""
    return [line for line in config_text.splitlines()
            if line.strip() and not line.startswith("#")
            and not line.startswith(("output = ", "jobs = "))]


def _owned(out: Path) -> list[str]:
    try:
        listed = json.loads((out / OWNED_FILE).read_text(encoding="utf-8"))["entries"]
        listed = [e for e in listed if isinstance(e, str) and "/" not in e and e not in ("", ".", "..")]
    except (OSError, ValueError, KeyError, TypeError):
        listed = []
    return list(dict.fromkeys([*RUN_OUTPUTS, *listed, OWNED_FILE]))


def prepare_output(out: Path, config: ExperimentConfig, overwrite: bool = False) -> str:
    """Make ``out`` ready for a run without ever mixing two runs in it.

    An empty or new folder is used as is; a folder of a run with the same configuration is
    resumed (rewritten file by file); any other non-empty folder is refused unless
    ``overwrite``, which removes what a run writes (:data:`RUN_OUTPUTS`) and nothing else.

    Returns:
        ``"new"``, ``"resume"`` or ``"overwrite"``.

    Raises:
        ConfigError: ``out`` is a file, or holds another run / other files without
            ``overwrite``.
    """
    import shutil

    if out.exists() and not out.is_dir():
        raise ConfigError(f"output '{out}' is a file, not a folder; give --out a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return "new"
    previous = out / R.CONFIG
    if previous.is_file() and not overwrite:
        old = _identity(previous.read_text(encoding="utf-8", errors="replace"))
        new = _identity(config_toml(config))
        if old == new:
            return "resume"
        import difflib

        first = next(line for line in difflib.ndiff(old, new) if line[:2] in ("- ", "+ "))
        diff = (f"'{first[2:]}' there, not now" if first.startswith("-")
                else f"'{first[2:]}' now, not there")
        raise ConfigError(
            f"output folder '{out}' holds another run with a different configuration "
            f"(first difference: {diff}); writing there would mix the two runs. Use "
            "--overwrite to replace that run, or another --out folder")
    if not overwrite:
        entries = sorted(p.name for p in out.iterdir())
        raise ConfigError(
            f"output folder '{out}' is not empty and holds no emolens run "
            f"({', '.join(entries[:5])}{' ...' if len(entries) > 5 else ''}); give an empty "
            "or new --out folder, or --overwrite to write there (it removes only what a run "
            "writes)")
    for name in _owned(out):
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    return "overwrite"


# -- one fit -------------------------------------------------------------------------------
def build_model(spec, seed: int):
    """``make_model`` for a model spec, seeded, with the normalisation and the feature set
    the spec uses."""
    from emolens.evaluation.config import model_params
    from emolens.models import make_model, with_feature_blocks

    try:
        return with_feature_blocks(make_model(spec.model, seed=int(seed), **model_params(spec)),
                                   spec.features)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[models.{spec.label}]: {err}") from err


def _training_rows(spec, runs: list, data: RunData):
    """Per run, the training rows and labels of its split; with ``augment = "channel"``
    followed by their channel copies (and the copies' unlabelled rows join the statistics).

    Returns:
        ``(Xs, ys, unlabelled)``
    """
    Xs = [data.X.iloc[split.train] for _, split in runs]
    ys = [data.y[split.train] for _, split in runs]
    if model_augment(spec) != "channel":
        return Xs, ys, data.X_unlabelled
    if data.copies is None:
        raise RuntimeError(f"[models.{spec.label}] asks for channel copies; none were made")
    for i, (_, split) in enumerate(runs):
        Xc, rows = data.copies.of(split.train)
        Xs[i], ys[i] = pd.concat([Xs[i], Xc]), np.r_[ys[i], data.y[rows]]
    extra = [u for u in (data.X_unlabelled, data.copies.unlabelled) if u is not None]
    return Xs, ys, pd.concat(extra) if extra else None


def fit_splits(spec, runs: list, data: RunData, config: ExperimentConfig) -> list:
    """Fit one model spec on several ``(seed, split)`` runs and evaluate each on its split.

    Autoencoder models are fitted together (:func:`emolens.models.fit_pipelines`: they train
    in lockstep, several times faster than one by one), other models one at a time; each is
    evaluated on every test set of its own split.

    Returns:
        Per run, in order: (pipeline, result rows, prediction frames, shift messages of the
        zero-shot test sets).
    """
    from emolens.evaluation.config import model_balance
    from emolens.models import balanced_weights, fit_pipelines

    if len(runs) > 1 and not _lockstep(spec):
        # Independent fits one after the other: a process then holds one run's training
        # matrix at a time, not one per run (ComParE with channel copies: ~0.4 GB each).
        return [result for run in runs for result in fit_splits(spec, [run], data, config)]
    pipes = [build_model(spec, seed) for seed, _ in runs]
    with warnings.catch_warnings():
        # Small per-speaker groups are reported once in the summary, not per fit.
        warnings.simplefilter("ignore", UserWarning)
        Xs, ys, unlabelled = _training_rows(spec, runs, data)
        weights = None
        if model_balance(spec) == "corpus":
            weights = [balanced_weights(y, X.index.get_level_values("corpus"))
                       for X, y in zip(Xs, ys)]
        fit_pipelines(pipes, Xs, ys, unlabelled=unlabelled, sample_weights=weights)
    del Xs, ys, unlabelled, weights  # the training rows are not needed to evaluate
    return [_evaluate(spec, pipe, split, seed, data, config)
            for pipe, (seed, split) in zip(pipes, runs)]


def _adapted(adapt, pipe, X_t, unlabelled, allowed=None):
    """Predictions for the rows ``X_t`` of a zero-shot test corpus after adapting the
    model to that corpus's utterances: its labelled rows and the unlabelled ones of the
    same speakers (the rows its speaker statistics come from), i.e. everything a user would
    have, labels unused (:meth:`emolens.models.ModelOutput.adapted`). ``allowed``: the only
    classes the corpus holds (its entry's ``classes``), or None.

    Returns:
        ``(predictions, pseudo-labels used (0: not adapted), why not adapted or '',
        classifier input of X_t after adapting)``
    """
    from emolens.models import apply
    from emolens.models.fitted import with_unlabelled

    pool = with_unlabelled(X_t, unlabelled)
    result, latent = apply(pipe, pool).adapted(adapt)
    return (_labels(pipe, result.proba[: len(X_t)], allowed), result.n_pseudo,
            result.note, latent[: len(X_t)])


def _labels(pipe, proba, allowed=None) -> np.ndarray:
    """The most probable class of each row (among ``allowed`` when given)."""
    from emolens.models.adapt import restrict

    classes = np.asarray(pipe.named_steps["clf"].classes_).astype(str)
    if allowed is not None:
        proba = restrict(proba, classes, allowed)
    return classes[np.asarray(proba).argmax(axis=1)]


def _evaluate(spec, pipe, split: Split, seed: int, data: RunData, config: ExperimentConfig):
    """Rows, predictions and shift diagnoses of one fitted model on its split's test sets;
    with ``adapt``, zero-shot test corpora are predicted after :func:`_adapted`."""
    from emolens.evaluation.config import model_adapt
    from emolens.models import apply, is_grouped
    from emolens.models.adapt import probabilities

    grouped = is_grouped(pipe)
    adapt = model_adapt(spec)
    rows, preds, shifts = [], [], []
    for t in split.tests:
        X_t, y_t = data.X.iloc[t.index], data.y[t.index]
        out = apply(pipe, X_t, data.X_unlabelled)
        y_hat, z = out.predictions, out.latent
        allowed = data.classes.get(t.name) if t.role == "test" else None
        if allowed is not None:
            y_hat = _labels(pipe, probabilities(pipe.named_steps["clf"], out.classifier_input),
                            allowed)
        n_pseudo = ua_unadapted = np.nan
        if adapt is not None and t.role == "test":
            ua_unadapted = scores(y_t, y_hat)["ua"]
            y_hat, n_pseudo, note, adapted = _adapted(adapt, pipe, X_t, data.X_unlabelled,
                                                      allowed)
            if z is not None:  # the latent the adapted model read (a decision map's moves)
                z = adapted
            if note:
                shifts.append((t.name, f"not adapted: {note}"))
        row = {
            "model": spec.label,
            "train": split.train_name,
            "test": t.name,
            "role": t.role,
            "seed": seed,
            "fold": split.fold,
            "adapted": n_pseudo,
            "ua_unadapted": ua_unadapted,
        }
        row.update(scores(y_t, y_hat))
        if t.role != "train" and config.bootstrap > 0:
            row["ua_low"], row["ua_high"] = bootstrap_ua(
                y_t, y_hat, n_resamples=config.bootstrap, seed=seed
            )
        else:
            row["ua_low"] = row["ua_high"] = np.nan
        rows.append(row)
        if t.role == "test":
            shifts += _diagnosis(pipe, t.name, X_t, data.X_unlabelled if grouped else None,
                                 y_hat)
        frame = pd.DataFrame(
            {
                "file": data.manifest["file"].to_numpy()[t.index],
                "model": spec.label,
                "seed": seed,
                "fold": split.fold,
                "train": split.train_name,
                "test": t.name,
                "role": t.role,
                "y_true": y_t,
                "y_pred": y_hat,
            }
        )
        if z is not None:
            for k in range(z.shape[1]):
                frame[R.latent_column(k)] = z[:, k]
        preds.append(frame)
    return pipe, rows, preds, shifts


def _diagnosis(pipe, name: str, X_t, unlabelled, y_hat) -> list[tuple[str, dict | str]]:
    """The distribution-shift verdict of one test set, as ``[(name, numbers or note)]``
    (empty when nothing is flagged); never raises."""
    from emolens.models.fitted import with_unlabelled
    from emolens.models.shift import distribution_shift

    try:
        # The diagnosis logs each verdict; the run gathers them into summary.md and one
        # console line per model x test set instead of one per fit.
        shift_log = logging.getLogger("emolens.models.shift")
        disabled, shift_log.disabled = shift_log.disabled, True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                report = distribution_shift(
                    pipe.named_steps["scale"],
                    X_t if unlabelled is None else with_unlabelled(X_t, unlabelled),
                    y_pred=y_hat, name=name)
        finally:
            shift_log.disabled = disabled
        # the numbers, summarised over fits by shift_notes
        return [(name, report.as_dict())] if report.flagged else []
    except Exception as err:  # noqa: BLE001 - a diagnosis must never stop a run
        return [(name, f"diagnosis failed: {type(err).__name__}: {err}")]


def _fit_chunk(spec, runs, data, config):
    import torch
    from threadpoolctl import threadpool_limits

    from emolens._parallel import tolerate_worker_memory

    tolerate_worker_memory()  # a fit's memory is no leak (loky would restart the worker)

    # Many tiny fits: extra torch/BLAS threads only contend (PCA's SVD on 2 cores shared
    # with other work was 100x slower with threads); parallelism is across chunks instead.
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        return fit_splits(spec, runs, data, config)


#: Most fits per chunk: enough for lockstep training to pay (paper.toml: 3 seeds x 5 folds),
#: few enough that a run with many folds (leave-one-speaker-out) still feeds every process.
CHUNK_SIZE = 16


def _lockstep(spec) -> bool:
    """Whether a model's fits train together (an autoencoder); other fits (a decision map's
    too) are independent."""
    from emolens.models import AE_KINDS, MODELS

    return MODELS.get(getattr(spec, "model", None), ("dae",))[0] in AE_KINDS


def _chunks(tasks, jobs: int = 1) -> list[tuple]:
    """Tasks grouped for lockstep fitting: per model x training set (all seeds and folds: the
    more autoencoders train together, the less per-step overhead each pays), cut into pieces
    of at most :data:`CHUNK_SIZE`.

    For autoencoder models the grouping depends on the configuration only (not on ``jobs``),
    so a run's numbers do not change with the number of processes. Models without one fit
    each run on its own; their groups are also cut into at least ``jobs`` pieces, so that a
    run of one such model (a selected configuration's final fits) keeps every process busy.
    Returns ``(spec, [(seed, split), ...], [task index, ...])`` in order of first appearance.
    """
    groups: dict[tuple, tuple] = {}
    for i, (spec, seed, split) in enumerate(tasks):
        key = (spec.label, split.train_name)
        _, runs, where = groups.setdefault(key, (spec, [], []))
        runs.append((seed, split))
        where.append(i)
    chunks = []
    for spec, runs, where in groups.values():
        pieces = -(-len(runs) // CHUNK_SIZE)
        if not _lockstep(spec):
            pieces = min(len(runs), max(pieces, jobs))
        size = -(-len(runs) // pieces)  # equal pieces: 24 fits -> 12 + 12, not 16 + 8
        chunks += [(spec, runs[i:i + size], where[i:i + size])
                   for i in range(0, len(runs), size)]
    return chunks


def _fit_all(tasks, data: RunData, config: ExperimentConfig):
    """``(task index, result)`` of every (spec, seed, split) task; ``jobs`` processes."""
    chunks = _chunks(tasks, config.jobs)
    if config.jobs == 1 or len(chunks) == 1:
        import torch

        threads = torch.get_num_threads()
        try:
            for spec, runs, where in chunks:
                yield from zip(where, _fit_chunk(spec, runs, data, config))
        finally:
            torch.set_num_threads(threads)
        return
    from joblib import Parallel, delayed

    light = RunData(manifest=data.manifest[["file"]], X=data.X, y=data.y,
                    train=data.train, test=data.test, X_unlabelled=data.X_unlabelled,
                    copies=data.copies)
    results = Parallel(n_jobs=config.jobs, return_as="generator")(
        delayed(_fit_chunk)(spec, runs, light, config) for spec, runs, _ in chunks)
    for (_, _, where), chunk in zip(chunks, results):
        yield from zip(where, chunk)


# -- outputs -------------------------------------------------------------------------------
def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if value is None:
        raise ValueError("TOML has no null")
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def config_toml(config: ExperimentConfig) -> str:
    """The experiment as run, as TOML with absolute paths (re-runnable from anywhere)."""
    lines = [f"# emolens {__version__}: experiment as run"]
    if config.source is not None:
        lines.append(f"# from {config.source}")
    top = {
        "name": config.name,
        "protocol": config.protocol,
        "split": config.split,
        "folds": config.folds,
        "seeds": config.seeds,
        "normalisation": config.normalisation,
        "features": config.features,
        "output": str(config.output),
        "jobs": config.jobs,
        "bootstrap": config.bootstrap,
        "save_models": config.save_models,
    }
    if config.cache_dir is not None:
        top["cache_dir"] = str(config.cache_dir)
    lines += [f"{k} = {_toml_value(v)}" for k, v in top.items()]

    def entry(e):
        if e.name is None and e.corpus is None and e.classes is None:
            return str(e.path)
        return {"path": str(e.path), **{k: v for k, v in (("name", e.name), ("corpus", e.corpus),
                                                          ("classes", e.classes)) if v}}

    if config.report:
        lines += ["", "[report]"] + [f"{k} = {_toml_value(v)}" for k, v in config.report.items()]
    if config.select:
        lines += ["", "[select]"] + [f"{k} = {_toml_value(v)}" for k, v in config.select.items()]
    lines += ["", "[corpora]", f"train = {_toml_value([entry(e) for e in config.train])}"]
    lines += [f"test = {_toml_value([entry(e) for e in config.test])}"]
    for spec in config.models:
        lines += ["", f"[models.{json.dumps(spec.label)}]", f"model = {_toml_value(spec.model)}"]
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in spec.params.items()]
    return "\n".join(lines) + "\n"


def _cell(values: pd.Series, scale: float = 100.0) -> str:
    values = values.dropna()
    if values.empty:
        return "—"
    if len(values) == 1:
        return f"{values.iloc[0] * scale:.1f}"
    return f"{values.mean() * scale:.1f} ± {values.std(ddof=1) * scale:.1f}"


def summary_table(results: pd.DataFrame, metric: str = "ua", models=None) -> pd.DataFrame:
    """Paper-style table: rows (train, test set), columns models, cells "mean ± std" in %."""
    models = models or list(dict.fromkeys(results["model"]))
    order = results[["train", "test", "role"]].drop_duplicates()
    role_rank = {"train": 0, "valid": 1, "test": 2}
    order = order.assign(_r=order["role"].map(role_rank)).sort_values(["_r"], kind="stable")
    order = order.sort_values("train", key=lambda s: s.map({t: i for i, t in enumerate(
        dict.fromkeys(results["train"]))}), kind="stable")
    rows = []
    for _, key in order.iterrows():
        sel = results[(results["train"] == key["train"]) & (results["test"] == key["test"])]
        row = {"train": key["train"], "test": key["test"]}
        for m in models:
            row[m] = _cell(sel.loc[sel["model"] == m, metric])
        rows.append(row)
    return pd.DataFrame(rows)


def adaptation_table(results: pd.DataFrame) -> pd.DataFrame | None:
    """Per model x zero-shot test set of a model with ``adapt``: its fits, how many were
    adapted, the median pseudo-labels of those, and the mean UA % without and with the
    adaptation (None when no model adapts)."""
    if "adapted" not in results.columns:
        return None
    rows = results[results["adapted"].notna()]
    if rows.empty:
        return None
    g = rows.groupby(["model", "test"], sort=False)
    table = pd.DataFrame({
        "fits": g.size(),
        "adapted fits": g["adapted"].apply(lambda a: int((a > 0).sum())),
        "median pseudo-labels": g["adapted"].apply(
            lambda a: float(a[a > 0].median()) if (a > 0).any() else 0.0)})
    if "ua_unadapted" in rows.columns:  # runs written before the column have no comparison
        table["UA % unadapted"] = 100 * g["ua_unadapted"].mean()
        table["UA % adapted"] = 100 * g["ua"].mean()
    return table.reset_index()


def _markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(str(row[c]) for c in cols) + " |")
    return "\n".join(lines)


def _ci_lines(results: pd.DataFrame, models: list[str], bootstrap: int) -> list[str]:
    """summary.md: the bootstrap 95 % CI table of UA (nothing without bounds)."""
    lines: list[str] = []
    held = results[results["role"] != "train"]
    if held["ua_low"].notna().any():
        ci = held.groupby(["train", "test", "model"], sort=False)[["ua_low", "ua_high"]].mean()
        table = []
        for (train, test), g in ci.groupby(level=[0, 1], sort=False):
            row = {"train": train, "test": test}
            for m in models:
                if (train, test, m) in g.index:
                    lo, hi = g.loc[(train, test, m)]
                    row[m] = f"[{lo * 100:.1f}, {hi * 100:.1f}]"
                else:
                    row[m] = "—"
            table.append(row)
        lines += [
            f"## Bootstrap 95 % CI of UA (%; {bootstrap} resamples of the test "
            "utterances per run, bounds averaged over seeds × folds)",
            "",
            _markdown(pd.DataFrame(table)),
            "",
        ]
    return lines


def _adaptation_lines(results: pd.DataFrame) -> list[str]:
    """summary.md: what adapting to each zero-shot test set did (nothing without adapt)."""
    table = adaptation_table(results)
    if table is None:
        return []
    for col in ("median pseudo-labels", "UA % unadapted", "UA % adapted"):
        if col in table:
            table[col] = table[col].map("{:.1f}".format)
    return ["## Adapted to the zero-shot test sets", "",
            "Models with `adapt = \"pseudo-labels\"`: the same fits scored before and after "
            "adapting to each test set (mean over fits; no label read to adapt).", "",
            _markdown(table), ""]


def _parameter_and_data_lines(models: list[str], n_params: dict, data: RunData) -> list[str]:
    """summary.md: learned parameters per model, corpora used and files skipped."""
    lines: list[str] = []
    lines += ["## Parameters", "", "| model | learned parameters | of which encoder |", "|---|---|---|"]
    for m in models:
        counts = n_params.get(m, {})
        lines.append(f"| {m} | {counts.get('total', '—')} | {counts.get('encoder', '—')} |")
    lines += [
        "",
        "Learned parameters = network weights (encoder + decoder) + classifier "
        "(`emolens.models.n_parameters`); scaler statistics excluded.",
        "",
        "## Data",
        "",
        "| corpus | role | utterances used | speakers | dropped (no 4-class label) |",
        "|---|---|---|---|---|",
    ]
    for corpus in data.train + data.test:
        sel = data.manifest[data.manifest["corpus"] == corpus]
        role = "train" if corpus in data.train else "test"
        lines.append(
            f"| {corpus} | {role} | {len(sel)} | {sel['speaker'].nunique()} | "
            f"{data.dropped.get(corpus, 0)} |"
        )
    if data.copies is not None:
        lines += ["", f"Models with `augment = \"channel\"` also trained on {len(data.copies.X)} "
                  "channel copies of the training utterances (each speaker behind a simulated "
                  "microphone, room and noise of his/her own; docs/config.md, \"Training "
                  "through other channels\"), never on the copy of a held-out utterance."]
    lines += ["", f"Files skipped during feature extraction: {len(data.skipped)} (skipped.csv)."]
    if len(data.skipped):
        for reason, n in data.skipped["reason"].astype(str).value_counts().head(5).items():
            lines.append(f"- {n} × {reason}")
    return lines


def write_summary(
    out: Path,
    config: ExperimentConfig,
    data: RunData,
    results: pd.DataFrame,
    n_params: dict[str, dict[str, int]],
    shift_notes: list[str],
    timing: dict[str, float],
    sections: list[str] = (),
    label_lines: list[str] = (),
) -> str:
    """Write ``summary.md`` and return its text; ``label_lines`` (one label per test file)
    follow the adaptation table, ``sections`` (markdown) come last."""
    models = [s.label for s in config.models]
    chance = 100.0 / len(LABELS)
    lines = [
        f"# {config.name}",
        "",
        f"emolens {__version__} · protocol **{config.protocol}** · folds {config.folds} "
        f"({config.split}) · seeds {config.seeds} · normalisation **{config.normalisation}** · "
        f"features {config.features}",
        "",
        "Normalisation per model: " + ", ".join(f"{s.label}: {s.normalisation}"
                                                for s in config.models) + ".",
        "",
    ]
    if config.split == "stratified" and config.protocol in ("transfer", "pairwise"):
        lines += [
            "> **Warning:** `split = \"stratified\"` (the paper's k-fold): the `:valid` rows "
            "share speakers with the training folds, so they are speaker-dependent and "
            "optimistic. Zero-shot rows are unaffected.",
            "",
        ]
    lines += [
        f"## UA (unweighted accuracy, %), mean ± std over seeds × folds (chance {chance:.0f} %)",
        "",
        _markdown(summary_table(results, "ua", models)),
        "",
        "## WA (weighted accuracy, %)",
        "",
        _markdown(summary_table(results, "wa", models)),
        "",
        "## Macro-F1 (%)",
        "",
        _markdown(summary_table(results, "macro_f1", models)),
        "",
    ]
    lines += _ci_lines(results, models, config.bootstrap)
    lines += _adaptation_lines(results)
    lines += list(label_lines)
    lines += _parameter_and_data_lines(models, n_params, data)
    lines += ["", "## Distribution shift", ""]
    lines += [f"- {note}" for note in shift_notes] or ["- no warning"]
    lines += [
        "",
        "## Run",
        "",
        f"Features {timing.get('features', 0):.1f} s, models {timing.get('models', 0):.1f} s, "
        f"total {timing.get('total', 0):.1f} s.",
        "",
    ]
    text = "\n".join(lines) + "".join("\n" + section for section in sections)
    (out / R.SUMMARY).write_text(text, encoding="utf-8")
    return text


def _span(values, fmt: str = "{:.2f}", scale: float = 1.0) -> str:
    """``a`` when every value prints alike, else ``a–b`` (min–max over fits)."""
    lo, hi = (fmt.format(scale * v) for v in (min(values), max(values)))
    return lo if lo == hi else f"{lo} to {hi}" if "+" in fmt else f"{lo}–{hi}"


def _fits(models: dict[str, int], n_runs: dict, test: str) -> str:
    return ", ".join(f"{m} ({k} of {n_runs.get((m, test), '?')} fits)" for m, k in models.items())


def shift_records(shifts: list[tuple[str, str, dict | str]],
                  n_runs: dict[tuple[str, str], int]) -> list[dict]:
    """One record per test set (and normalisation) flagged by the distribution-shift check,
    summarised over every flagged fit: how many fits of which model, the range of each number
    over them, and how the collapsed fits split between classes.

    Each record (``shifts.json``) holds ``test``, ``normalisation`` (None for a failed
    diagnosis), ``models`` (``{model: flagged fits}``), ``runs`` (``{model: fits}``),
    ``reports`` (the flagged fits' ``ShiftReport.as_dict()``) and ``text``, the paragraph of
    summary.md.

    Args:
        shifts: ``(model, test set, report)`` per flagged fit: ``ShiftReport.as_dict()``, or a
            message string (a diagnosis that failed).
        n_runs: fits per ``(model, test set)``.
    """
    groups: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    failed: dict[tuple[str, str], list[str]] = {}
    for model, test, report in shifts:
        if isinstance(report, dict):
            groups.setdefault((test, report["normalisation"]), []).append((model, report))
        else:
            failed.setdefault((test, str(report)), []).append(model)
    notes = []
    for (test, norm), items in groups.items():
        flagged = collections.Counter(m for m, _ in items)
        parts = []
        shifted = [(m, r) for m, r in items if r["shifted"]]
        if shifted:
            reps = [r for _, r in shifted]
            counts = collections.Counter(m for m, _ in shifted)
            clip = reps[0]["clip"] if reps[0]["clip"] is not None else 10.0
            worst: dict[str, list[float]] = {}
            for r in reps:
                for feature, z in r["worst_features"][:3]:
                    worst.setdefault(feature, []).append(z)
            top = sorted(worst, key=lambda f: -len(worst[f]))[:3]
            feats = ", ".join(f"{f} (median z {_span(worst[f], '{:+.1f}')}, in {len(worst[f])} "
                              f"of {len(reps)})" for f in top)
            parts.append(
                f"lies far outside the training distribution under {norm} for "
                f"{_fits(counts, n_runs, test)}: median |z| "
                f"{_span([r['median_abs_z'] for r in reps])} (training "
                f"{_span([r['train_median_abs_z'] for r in reps])}), "
                f"{_span([r['share_shifted_features'] for r in reps], '{:.0f}', 100)} % of the "
                f"features shifted by more than 1 sd (median), "
                f"{_span([r['share_clipped'] for r in reps], '{:.1f}', 100)} % of values beyond "
                f"±{clip:g} sd; most shifted features: {feats}.")
        collapsed: dict[str, list[dict]] = {}
        for m, r in items:
            if r["collapsed"]:
                collapsed.setdefault(m, []).append(r)
        if collapsed:
            per_model = []
            for m, reps in collapsed.items():
                classes = collections.Counter(str(r["majority_class"]) for r in reps)
                split = ", ".join(f"{c} in {k}" for c, k in classes.most_common())
                per_model.append(
                    f"{m} in {len(reps)} of {n_runs.get((m, test), '?')} fits (onto {split}; "
                    f"{_span([r['majority_share'] for r in reps], '{:.0f}', 100)} % of the "
                    "predictions in one class)")
            parts.append("Predictions collapsed onto one class for " + "; ".join(per_model)
                         + " (the confusion matrix sums all fits).")
        fixes = list(dict.fromkeys(r["fix"] for _, r in items if r.get("fix")))
        notes.append({"test": test, "normalisation": norm, "models": dict(flagged),
                      "runs": {m: n_runs.get((m, test)) for m in flagged},
                      "reports": [dict(r, model=m) for m, r in items],
                      "text": f"{test}: " + " ".join(parts + fixes)})
    for (test, message), models in failed.items():
        counts = collections.Counter(models)
        notes.append({"test": test, "normalisation": None, "models": dict(counts),
                      "runs": {m: n_runs.get((m, test)) for m in counts}, "reports": [],
                      "text": f"{test}, {_fits(counts, n_runs, test)}: {message}"})
    return notes


def shift_notes(shifts: list[tuple[str, str, dict | str]],
                n_runs: dict[tuple[str, str], int]) -> list[str]:
    """The paragraphs of :func:`shift_records` (summary.md, the console)."""
    return [r["text"] for r in shift_records(shifts, n_runs)]


# -- the run -------------------------------------------------------------------------------
def _held_out_sections(config: ExperimentConfig, data: RunData, results: pd.DataFrame,
                       selection: pd.DataFrame | None) -> list[str]:
    """summary.md sections of a leave-one-corpus-out run and of a [select] step."""
    from emolens.evaluation import select as sel

    sections = []
    if config.protocol == "loco":
        table = sel.held_out_table(results, list(data.train), [s.label for s in config.models])
        sections.append(sel.held_out_markdown(
            table, "Leave one corpus out: per held-out corpus, mean and worst",
            "UA % on each training corpus when it is held out (trained on the others), "
            "mean over seeds; best mean first."))
    if selection is not None:
        sections.append(sel.selection_markdown(selection))
    return sections


def _fit_plan(plan: dict, data: RunData, config: ExperimentConfig, out: Path, progress: bool,
              console) -> tuple[list, list, list, dict]:
    """Fit every model x seed x split of ``plan`` (:func:`_fit_all`), saving the pipelines,
    with a progress bar and one UA line per finished model.

    Returns:
        ``(result rows, prediction frames, (model, test, shift report) triples, parameter
        counts per model)``.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from emolens.models import n_parameters, save_pipeline
    from emolens.models.factory import parameter_counts

    total = sum(len(s) for s in plan.values()) * len(config.models)
    rows, preds, shifts, n_params = [], [], [], {}
    models_dir = out / R.MODELS_DIR
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
        transient=False,
    ) as bar:
        task = bar.add_task("fitting", total=total)
        tasks = [
            (spec, seed, split)
            for spec in config.models
            for seed, splits in plan.items()
            for split in splits
        ]
        done: dict[str, int] = {}
        per_model = total // len(config.models)
        for i, (pipe, r, p, sh) in _fit_all(tasks, data, config):
            spec, seed, split = tasks[i]
            bar.update(task, description=f"{spec.label} seed {seed} fold {split.fold}")
            rows += r
            preds += p
            shifts += [(spec.label, test, msg) for test, msg in sh]
            if spec.label not in n_params:
                counts = parameter_counts(pipe)
                n_params[spec.label] = {
                    "total": n_parameters(pipe),
                    "encoder": counts.get("encoder", "—"),
                }
            if config.save_models:
                folder = models_dir / spec.label / f"seed{seed}_fold{split.fold}"
                save_pipeline(pipe, folder, metadata={
                    "model": spec.label, "make_model": spec.model,
                    "params": spec.params, "train": split.train_name, "seed": seed,
                    "fold": split.fold, "normalisation": spec.normalisation,
                    "features": spec.features,
                    "tests": [t.name for t in split.tests]})
            bar.advance(task)
            done[spec.label] = done.get(spec.label, 0) + 1
            if done[spec.label] == per_model:
                held = [x["ua"] for x in rows if x["model"] == spec.label and x["role"] != "train"]
                console.log(f"{spec.label}: mean held-out UA {np.mean(held) * 100:.1f} %")
    return rows, preds, shifts, n_params


def run_experiment(
    config: ExperimentConfig, out: str | Path | None = None, progress: bool = True, console=None,
    overwrite: bool = False,
) -> Path:
    """Run an experiment and write its results directory.

    Nothing is written before the manifests are read and checked against the protocol;
    an output folder holding another run is refused (see :func:`prepare_output`).

    Args:
        config: a validated experiment (:func:`emolens.evaluation.config.load_config`).
        out: output folder; overrides ``config.output``.
        progress: show progress bars.
        console: a ``rich.console.Console`` for log lines (default: stderr).
        overwrite: replace another run in ``out`` (removes only what a run writes).

    Returns:
        the results directory.
    """
    from rich.console import Console

    console = console or Console(stderr=True)
    out = Path(out).expanduser().resolve() if out is not None else config.output
    t0 = time.perf_counter()
    manifests = read_manifests(config, console)
    check_features(config)
    mode = prepare_output(out, config, overwrite)
    if mode != "new":
        console.log(f"{'resuming the run in' if mode == 'resume' else 'replacing the run in'} {out}")
    before = set(p.name for p in out.iterdir()) if out.is_dir() else set()
    owned_before = set(_owned(out)) & before
    out.mkdir(parents=True, exist_ok=True)
    (out / R.CONFIG).write_text(config_toml(config), encoding="utf-8")

    data = _load_sets(config, manifests, progress, console)
    t_feat = time.perf_counter()
    config, selection = _select(config, data, out, console)
    t_sel = time.perf_counter()
    if len(data) == 1:
        data = data[config.features]
    else:  # the test corpora are still to read; the candidates' sets are let go first
        del data
        data = load_data(config, progress=progress, console=console, manifests=manifests)
    t_feat += time.perf_counter() - t_sel
    data.manifest.to_csv(out / R.MANIFEST, index=False)
    data.features.loc[data.manifest["file"]].to_parquet(out / R.FEATURES)
    data.skipped.to_csv(out / R.SKIPPED, index=False)
    plan = _plan(config, data, console)
    rows, preds, shifts, n_params = _fit_plan(plan, data, config, out, progress, console)
    t_fit = time.perf_counter()
    results, notes, label_lines = _write_results(out, plan, data, rows, preds, shifts, console)
    timing = {"features": t_feat - t0, "models": t_fit - t_feat}
    timing["total"] = time.perf_counter() - t0
    write_summary(out, config, data, results, n_params, notes, timing,
                  _held_out_sections(config, data, results, selection), label_lines)
    console.log(f"wrote {out} ({timing['total']:.1f} s)")
    owned = sorted(p.name for p in out.iterdir()
                   if p.name not in before or p.name in owned_before or p.name in RUN_OUTPUTS)
    (out / OWNED_FILE).write_text(json.dumps({"emolens": __version__, "entries": owned}, indent=1)
                                  + "\n", encoding="utf-8")
    return out


def _load_sets(config: ExperimentConfig, manifests: Manifests, progress: bool, console
               ) -> dict[str, RunData]:
    """The run's data per feature set of its models. With several (candidates of
    ``[select]``), each holds the training corpora only: the test corpora are extracted
    for the selected candidate's set alone."""
    sets = feature_sets(config)
    if len(sets) == 1:
        return {sets[0]: load_data(replace(config, features=sets[0]), progress=progress,
                                   console=console, manifests=manifests)}
    only_train = manifests.train_only()
    return {name: load_data(replace(config, features=name, test=[],
                                    models=[s for s in config.models if s.features == name]),
                            progress=progress, console=console, manifests=only_train)
            for name in sets}


def _select(config: ExperimentConfig, data: dict[str, RunData], out: Path, console):
    """With ``[select]``: the configuration chosen by leave-one-corpus-out (selection.csv
    written), else ``config`` as it is. Returns ``(config, selection table or None)``; the
    returned config's ``features`` is the feature set of its models.

    Args:
        data: the run's data per feature set (:func:`feature_sets`).
    """
    if not config.select:
        return config, None
    from emolens.evaluation.select import select

    train = next(iter(data.values())).train
    console.log(f"selecting among {len(config.models)} model(s) by leave-one-corpus-out "
                f"over {', '.join(train)}")
    config, selection = select(config, data)
    selection.to_csv(out / R.SELECTION, index=False)
    best = selection.iloc[0]
    console.log(f"selected [bold]{best['model']}[/]: LOCO mean UA {best['mean']:.1f} %, "
                f"worst {best['worst']:.1f} %")
    return config, selection


def _plan(config: ExperimentConfig, data: RunData, console) -> dict:
    """seed -> the protocol's splits; says how many fits that makes."""
    plan = {
        seed: make_splits(
            data.manifest, config.protocol, data.train, data.test, config.folds, config.split, seed
        )
        for seed in config.seeds
    }
    total = sum(len(s) for s in plan.values()) * len(config.models)
    console.log(
        f"{config.protocol}: {len(plan[config.seeds[0]])} split(s) × {len(config.seeds)} seed(s) "
        f"× {len(config.models)} model(s) = {total} fits"
    )
    return plan


def _write_results(out: Path, plan: dict, data: RunData, rows, preds, shifts, console):
    """results.csv, predictions.parquet, test_labels.csv, test_sets.json, confusion/ and
    shifts.json; returns the results table, the shift warnings (text) and the summary lines of
    test_labels.csv."""
    results = pd.DataFrame(rows, columns=R.RESULT_COLUMNS)
    results.to_csv(out / R.RESULTS, index=False)
    predictions = pd.concat(preds, ignore_index=True)
    predictions.to_parquet(out / R.PREDICTIONS, index=False)
    labels = R.majority_labels(predictions)
    if len(labels):
        labels.to_csv(out / R.TEST_LABELS, index=False)
    R.write_json(out / R.TEST_SETS, R.test_set_records(
        [split for splits in plan.values() for split in splits], data.manifest["corpus"]))
    write_confusions(predictions, out)
    runs = results[results["role"] == "test"].groupby(["model", "test"]).size().to_dict()
    records = shift_records(shifts, runs)
    R.write_json(out / R.SHIFTS, records)
    notes = [r["text"] for r in records]
    for note in notes:
        console.log(f"[yellow]shift:[/] {note}", highlight=False)
    return results, notes, _label_lines(labels, results)


def _label_lines(labels: pd.DataFrame, results: pd.DataFrame) -> list[str]:
    """summary.md: UA of test_labels.csv (one label per file, the majority over fits) next
    to the mean UA of the fits, per model and zero-shot test set."""
    if labels.empty:
        return []
    keys = ["model", "train", "test"]
    fits = results[results["role"] == "test"].groupby(keys, sort=False)["ua"].mean()
    lines = ["## One label per file", "",
             f"`{R.TEST_LABELS}`: each zero-shot file's label is the one most of the model's "
             "fits gave it (`agreement`: their share). Its UA next to the fits' mean UA:", "",
             "| model | train | test | files | fits | UA % of the majority | UA % mean over fits |",
             "|---|---|---|---|---|---|---|"]
    for key, g in labels.groupby(keys, sort=False):
        ua = scores(g["y_true"].astype(str), g["label"].astype(str))["ua"]
        lines.append(f"| {' | '.join(map(str, key))} | {len(g)} | {int(g['fits'].max())} | "
                     f"{100 * ua:.1f} | {100 * fits.get(key, np.nan):.1f} |")
    return lines + [""]
