"""Predictions from a bundle: files, folders or manifests -> one row per file.

Output columns: ``file, label, p_<label>... (bundle label order), z1..zk, ood_score, ood``.
``label`` is the argmax of the calibrated probabilities (of the ``classes`` a corpus is known
to hold, when given: :func:`emolens.models.adapt.restrict`).

Normalisation: a model whose scaler z-scores per speaker or per corpus needs several
utterances of the same speaker/corpus at prediction time. The groups come from, in order:
a manifest's ``speaker``/``corpus`` column; otherwise the folder a file lies in (one folder =
one recording set). Groups smaller than the scaler's ``min_group_size`` (e.g. a single file)
fall back to the training statistics. :attr:`Prediction.normalisation` says what was done.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emolens.corpora.schema import known_classes
from emolens.deploy.bundle import (
    Bundle,
    BundleError,
    check_encoder,
    check_feature_names,
    load_bundle,
)
from emolens.deploy.calibration import classifier_scores
from emolens.models.adapt import restrict
from emolens.models.scaling import shrink_words
from emolens.results import latent_column

__all__ = ["Applied", "Inputs", "Prediction", "Predictor", "collect_inputs",
           "long_recordings"]


@dataclass
class Prediction:
    """Result of :meth:`Predictor.predict_files`.

    Attributes:
        table: one row per predicted file (columns in :meth:`Predictor.columns`).
        skipped: ``file, reason`` for inputs that could not be used.
        normalisation: one sentence on the normalisation applied.
    """

    table: pd.DataFrame
    skipped: pd.DataFrame
    normalisation: str


@dataclass
class Applied:
    """Result of :meth:`Predictor.apply`.

    Attributes:
        table: one row per input (columns in :meth:`Predictor.columns`).
        normalisation: one sentence on the normalisation applied.
        scaled: (n, p) model input after the pipeline's scaler (what the encoder saw).
        latent: (n, k) latent codes.
    """

    table: pd.DataFrame
    normalisation: str
    scaled: np.ndarray
    latent: np.ndarray


@dataclass(frozen=True)
class Inputs:
    """Files to predict and how they are grouped (:func:`collect_inputs`).

    Attributes:
        files: absolute paths, in input order.
        groups: normalisation group (speaker or corpus id) per file.
        sets: recording set (corpus) per file, or None when all files are one set.
        source: where the groups came from, in words.
        skipped: ``file, reason`` of inputs that hold no audio.
    """

    files: list
    groups: list
    sets: list | None
    source: str
    skipped: pd.DataFrame


class Predictor:
    """Applies a :class:`~emolens.deploy.bundle.Bundle` to features or audio.

    Args:
        bundle: a Bundle, a bundle path, or None for the default model.
        verify: check the bundle's files against their SHA-256 in ``bundle.json``.
        adapt: adapt the classifier to each batch predicted together
            (:class:`emolens.models.PseudoLabels`; a batch with fewer than 5 confident
            utterances of any class is left as is, so single files never are).
        classes: the only classes the files can hold (any spelling of the bundle's labels,
            e.g. ``["neutral", "anger", "joy"]``), for a corpus known to lack some; None:
            all of the bundle's (:func:`emolens.models.adapt.restrict`).
    """

    def __init__(self, bundle: Bundle | str | os.PathLike | None = None, verify: bool = True,
                 adapt: bool = True, classes=None):
        self.adapt = adapt
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle, verify=verify)
        self.classes = None if classes is None else known_classes(classes, self.bundle.labels)
        steps = getattr(self.bundle.pipeline, "named_steps", {})
        missing = [s for s in ("scale", "reduce", "clf") if s not in steps]
        if missing:
            raise BundleError(f"the bundle's pipeline lacks the step(s) {missing}")
        self.scale, self.reduce, self.clf = steps["scale"], steps["reduce"], steps["clf"]
        by = getattr(self.scale, "by", None)
        if by != self.bundle.normalisation.get("by"):
            raise BundleError(
                f"bundle.json says normalisation by={self.bundle.normalisation.get('by')!r} "
                f"but the pipeline's scaler has by={by!r}"
            )
        self.by = by
        #: a shrinking speaker scaler's pseudo-utterances, or "auto" (0: none)
        self._shrink = getattr(self.scale, "shrink", 0.0) or 0.0
        #: a speaker scaler that guards each set against speakers with one emotion
        self._guard = bool(getattr(self.scale, "guard", False))
        self._config = None

    # ------------------------------------------------------------------ columns
    @property
    def columns(self) -> list[str]:
        b = self.bundle
        return (
            ["file", "label"] + [f"p_{c}" for c in b.labels]
            + [latent_column(i) for i in range(b.latent_dim)] + ["ood_score", "ood"]
        )

    # ------------------------------------------------------------------ core
    def head_inputs(self, latent: np.ndarray) -> np.ndarray:
        """Scores of the pipeline's classifier on latent codes (the head's input)."""
        return classifier_scores(self.clf, latent)

    def outputs(self, X):
        """Everything the bundle's pipeline gives for the rows ``X``
        (:class:`emolens.models.ModelOutput`: scaled rows, latent, reconstruction error,
        classifier scores, groups that used the training statistics)."""
        from emolens.models import apply

        return apply(self.bundle.pipeline, X)

    def latent(self, X):
        """Scaled features, latent codes and reconstruction errors (None without decoder)."""
        out = self.outputs(X)
        return out.scaled, out.latent, out.reconstruction_error

    def predict_features(
        self, features: pd.DataFrame, groups=None, sets=None
    ) -> tuple[pd.DataFrame, str]:
        """Predict from a feature table.

        Args:
            features: indexed by file, the bundle's feature columns.
            groups: speaker/corpus id per row for group normalisation (None: every row
                is its own group, i.e. the training statistics are used).
            sets: corpus (recording set) per row (None: all rows are one set); see
                :meth:`apply`.

        Returns:
            (table, normalisation note)
        """
        applied = self.apply(features, groups, sets=sets)
        return applied.table, applied.normalisation

    def apply(self, features: pd.DataFrame, groups=None, adapt: bool | None = None,
              sets=None) -> Applied:
        """:meth:`predict_features` plus the model's intermediate values (for explanations).

        Args:
            features: indexed by file, the bundle's feature columns.
            groups: speaker/corpus id per row (None: every row is its own group).
            adapt: adapt to each set (default: the predictor's ``adapt``).
            sets: corpus (recording set) per row, e.g. a manifest's ``corpus`` column (None:
                the rows predicted together are one set). A shrinking scaler shrinks each
                speaker towards his/her set's statistics, and the classifier adapts to each
                set on its own: several corpora predicted in one call are treated as if
                predicted one by one.

        Returns:
            :class:`Applied`: the prediction table, the normalisation note, the scaled model
            input and the latent codes, row for row.
        """
        check_feature_names(self.bundle.feature_names, list(features.columns))
        if len(features) == 0:
            k, p = self.bundle.latent_dim, len(self.bundle.feature_names)
            return Applied(pd.DataFrame(columns=self.columns), "no input",
                           np.zeros((0, p)), np.zeros((0, k)))
        files = [str(f) for f in features.index]
        X = features.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(X)):
            raise ValueError("features contain NaN or infinite values")
        if self.by is None:
            note = "global z-scoring with the training statistics (the model's normalisation)"
            gids = None
        else:
            gids = np.asarray(files if groups is None else groups, dtype=object)
        if gids is None:
            idx = pd.Index(files, name="file")
        else:
            # The group id goes into both levels: the scaler reads the one named by its `by`.
            # A shrinking speaker scaler leans on the statistics of the speaker's set: every
            # file predicted together, or its corpus when ``sets`` are given.
            corpora = _set_ids(sets, len(files)) if self._shrink or self._guard else gids
            idx = pd.MultiIndex.from_arrays([files, corpora, gids],
                                            names=["file", "corpus", "speaker"])
        X = pd.DataFrame(X, index=idx, columns=self.bundle.feature_names)
        out = self.outputs(X)
        Z, latent, recon = out.scaled, out.latent, out.reconstruction_error
        if gids is not None:
            note = self._group_note(gids, corpora, out.fallback_groups)
        if gids is not None and self._guard:
            note += _guard_note(self.scale.guard_weights(X))
        proba = self.bundle.head.predict_proba(out.scores)
        if self.adapt if adapt is None else adapt:
            proba, said = self._adapted_sets(proba, out.classifier_input,
                                             _set_ids(sets, len(files)))
            note += said
        if self.classes is not None:
            proba = restrict(proba, self.bundle.labels, self.classes)
            note += f"; labels restricted to {', '.join(self.classes)}"
        ood = self.bundle.ood.score(latent, recon, X if self.bundle.ood.uses_raw_ else None)
        table = pd.DataFrame({"file": files})
        table["label"] = np.asarray(self.bundle.labels, dtype=object)[proba.argmax(axis=1)]
        for j, c in enumerate(self.bundle.labels):
            table[f"p_{c}"] = proba[:, j]
        for j in range(latent.shape[1]):
            table[latent_column(j)] = latent[:, j]
        table["ood_score"] = ood
        table["ood"] = ood > self.bundle.ood.threshold_
        return Applied(table, note, np.asarray(Z, dtype=float), latent)

    def _group_note(self, gids, corpora, fallback) -> str:
        """The normalisation sentence of a grouped prediction (groups, shrinkage, fallback)."""
        n = len(gids)
        note = (f"per-{self.by} z-scoring (the model's normalisation) over "
                f"{len(pd.unique(gids))} group(s)")
        how = shrink_words(self._shrink)
        if self._shrink and n < self.scale.min_group_size:
            note += (f", each shrunk towards the training statistics ({how}; {n} file(s) "
                     "predicted together are too few for statistics of their own)")
        elif self._shrink and len(pd.unique(corpora)) > 1:
            note += (f", each shrunk towards the statistics of his/her corpus "
                     f"({len(pd.unique(corpora))} corpora; {how})")
        elif self._shrink:
            note += (f", each shrunk towards the statistics of all {n} file(s) "
                     f"predicted together ({how})")
        if fallback:
            n_fb = int(np.isin(gids, np.asarray(fallback, dtype=object)).sum())
            what = ("rest mostly on those statistics" if self._shrink
                    else "used the training statistics instead")
            note += (f"; {n_fb} file(s) in {len(fallback)} group(s) with fewer than "
                     f"{self.scale.min_group_size} files {what} "
                     f"(less reliable: give several files per {self.by})")
        return note

    def _adapted_sets(self, proba, latent, sets) -> tuple[np.ndarray, str]:
        """:meth:`_adapted` for each set on its own; one note for all."""
        names = pd.unique(sets)
        if len(names) == 1:
            return self._adapted(proba, latent)
        proba, done = proba.copy(), 0
        for name in names:
            rows = sets == name
            proba[rows], said = self._adapted(proba[rows], latent[rows])
            done += "; adapted" in said
        rest = "" if done == len(names) else "; the others have too few confident files"
        return proba, (f"; adapted to {done} of the {len(names)} corpora predicted together, "
                       "each on its own (a second classifier on its confident pseudo-labels, "
                       f"probabilities averaged{rest})")

    def _adapted(self, proba: np.ndarray, latent: np.ndarray) -> tuple[np.ndarray, str]:
        """Head probabilities (bundle label order) adapted to the batch, and what was done."""
        from emolens.models import PseudoLabels

        labels = [str(c) for c in self.bundle.labels]
        order = [labels.index(str(c)) for c in self.clf.classes_]
        result = PseudoLabels().adapt(self.clf, latent, proba[:, order])
        if not result.adapted:
            return proba, f"; not adapted to this batch ({result.note})"
        back = np.empty_like(result.proba)
        back[:, order] = result.proba
        return back, (f"; adapted to the {len(proba)} file(s) predicted together (a second "
                      f"classifier on {result.n_pseudo} confident pseudo-labels, probabilities "
                      "averaged)")

    def predict_files(self, inputs, jobs: int = 1, cache_dir=None) -> Prediction:
        """Predict files, folders and/or CSV manifests.

        Args:
            inputs: a path or a list of paths (audio files, folders searched recursively,
                CSV manifests with a ``file`` column and optional ``speaker``/``corpus``).
            jobs: feature extraction processes.
            cache_dir: feature cache (default: emolens' user cache).

        Returns:
            :class:`Prediction`.
        """
        from emolens.features import NoFeaturesError, extract

        found = collect_inputs(inputs, self.by)
        files, skipped = found.files, found.skipped
        empty = pd.DataFrame(columns=self.columns)
        if not files:
            return Prediction(empty, skipped, "no input files")
        self.feature_config()
        try:
            ex = extract(files, feature_set=self.bundle.feature_set, jobs=jobs,
                         cache_dir=cache_dir, progress=False)
        except NoFeaturesError as err:
            return Prediction(empty, pd.concat([skipped, err.skipped], ignore_index=True),
                              "no file could be processed")
        group_of = dict(zip(files, found.groups))
        set_of = dict(zip(files, found.sets or [None] * len(files)))
        feats = ex.features
        table, note = self.predict_features(
            feats, [group_of[f] for f in feats.index],
            sets=None if found.sets is None else [set_of[f] for f in feats.index])
        if self.by is not None:
            note += f"; groups from {found.source}"
        return Prediction(table, pd.concat([skipped, ex.skipped], ignore_index=True), note)

    # ------------------------------------------------------------------ signals
    def feature_config(self):
        """The bundle's feature configuration, checked: an encoder must be installed, found
        and have the weights the bundle was trained with (:func:`check_encoder`)."""
        if self._config is None:
            from emolens.features.sets import get_config

            config = get_config(self.bundle.feature_set)
            check_encoder(self.bundle, config)
            self._config = config
        return self._config

    def signal_features(self, signal: np.ndarray, sr: int) -> pd.DataFrame:
        """Features of one in-memory signal (validated and resampled like files)."""
        from emolens.features.audio import AudioError, prepare_signal
        from emolens.features.extraction import signal_features

        config = self.feature_config()
        x = prepare_signal(signal, sr)
        values, columns, reason = signal_features(config, x, want_columns=True)
        if values is None:
            raise AudioError(reason)
        return pd.DataFrame(values, columns=columns)


def _guard_note(weights: dict) -> str:
    """What the scaler's guard did, per set (nothing when every set kept its speakers)."""
    moved = {k: a for k, a in weights.items() if a > 0}
    if not moved:
        return ""
    shown = ", ".join(f"{k}: {a:.0%}" for k, a in moved.items())
    return ("; speakers who differ as emotions do (as when each shows mostly one emotion): "
            f"their set's statistics replace that share of theirs ({shown})")


def _set_ids(sets, n: int) -> np.ndarray:
    """Recording-set id per row: ``sets`` as an object array, or one set for all rows."""
    if sets is None:
        return np.full(n, "batch", dtype=object)
    ids = np.asarray(["batch" if pd.isna(s) else s for s in sets], dtype=object)
    if len(ids) != n:
        raise ValueError(f"sets has {len(ids)} entries for {n} rows")
    return ids


#: Batch prediction gives one label per file: above this many seconds (several utterances,
#: likely several emotions) ``emolens predict`` points to ``--stream``.
LONG_RECORDING_S = 30.0


def long_recordings(files, limit: float = LONG_RECORDING_S) -> list[tuple[str, float]]:
    """``(file, seconds)`` of the files longer than ``limit`` (from the header, no decoding)."""
    import soundfile as sf

    out = []
    for f in files:
        try:
            seconds = float(sf.info(str(f)).duration)
        except Exception:  # noqa: BLE001 - it was predicted, so it is readable; never fail here
            continue
        if seconds > limit:
            out.append((str(f), seconds))
    return out


def collect_inputs(inputs, by: str | None = None):
    """Expand files, folders and manifests (:func:`emolens.corpora.discover_inputs`) into
    files with their normalisation groups.

    A manifest's ``by`` column (``speaker``/``corpus``) gives the group; a folder's files are
    grouped by :func:`emolens.corpora.folder_groups` (the speakers of a recognised corpus
    layout, else the folder they lie in; an emotion folder is never a group); a lone file, or
    a manifest row without a group, is its own group (it falls back to the training
    statistics).

    A manifest's ``corpus`` column, or the corpora recognised in a folder of corpora, also
    give each file's recording set (see :meth:`Predictor.apply`); every other file belongs
    to one set, the files predicted together.

    Returns:
        :class:`Inputs`.
    """
    from emolens.corpora import discover_inputs, folder_groups

    table, skipped = discover_inputs(inputs)
    groups, sources, from_folders, folder_sets = [], set(), {}, {}
    for origin, part in table[table["source"] == "folder"].groupby("origin", sort=False):
        found = folder_groups(origin, list(part["file"]), by or "speaker")
        from_folders.update(zip(part["file"], found.groups))
        if len(set(found.sets)) > 1:  # a folder of several corpora: each its own set
            folder_sets.update(zip(part["file"], found.sets))
        sources.add(found.rule)
    for row in table.itertuples(index=False):
        if row.source == "folder":
            groups.append(from_folders[row.file])
        elif row.source == "manifest":
            value = getattr(row, by) if by in ("speaker", "corpus") else None
            known = value is not None and pd.notna(value)
            groups.append(f"{row.origin}:{value}" if known else row.file)
            sources.add(f"the manifest's {by!r} column" if known else
                        f"a manifest without a {by!r} column (each file alone)")
        else:
            groups.append(row.file)  # a lone file is its own group -> fallback
            sources.add("single files (each file alone)")
    sets = None
    if table["corpus"].notna().any() or folder_sets:
        sets = [f"{o}:{c}" if pd.notna(c) else folder_sets.get(f)
                for f, o, c in zip(table["file"], table["origin"], table["corpus"])]
    return Inputs(table["file"].tolist(), groups, sets, " and ".join(sorted(sources)), skipped)
