"""Evaluation protocols: which utterances train a model and which test it.

Every protocol turns a labelled manifest into a list of :class:`Split`. Each split trains one
model per (model, seed) and evaluates it on one or more named test sets. Test-set names:

- ``<train>:train``  the training data itself (role ``train``; the paper's "train" row)
- ``<train>:valid``  the held-out fold of the training corpora (role ``valid``)
- ``<corpus>``       a corpus never seen in training, zero-shot (role ``test``)
- ``<corpus>:cv``    within-corpus speaker-independent k-fold (role ``test``)
- ``<corpus>:loso``  within-corpus leave-one-speaker-out (role ``test``)

``<train>`` is the training corpus name, or several joined by ``+``.

Protocols:

- ``transfer``  train on the train corpora pooled (k folds, one held out as validation),
  apply zero-shot to every test corpus.
- ``pairwise``  ``transfer`` once per train corpus alone, zero-shot on every other corpus
  (train and test lists); with two corpora this is both directions of the paper's step 1.
- ``within``    speaker-independent cross-validation inside each train corpus.
- ``loco``      leave one corpus out: train on all train corpora but one, test on that one
  (and zero-shot on the test corpora).

Every split goes through the leakage guard (:func:`emolens.evaluation.guard.check_disjoint`).
The only relaxation: ``split = "stratified"`` (the paper's k-fold) lets the validation fold
share speakers with training — never files, and never for zero-shot or within-corpus tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

from emolens.evaluation.guard import check_disjoint


@dataclass
class TestSet:
    """Rows (positions in the manifest) evaluated under one name."""

    name: str
    role: str
    index: np.ndarray


@dataclass
class Split:
    """One training set and its test sets. ``fold`` is unique within a run."""

    train_name: str
    fold: int
    train: np.ndarray
    tests: list[TestSet] = field(default_factory=list)


def fold_indices(
    manifest: pd.DataFrame, folds: int | str = 5, split: str = "speaker", seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, held-out) positions of k folds over a labelled manifest.

    Args:
        manifest: rows with ``label4`` and ``speaker``.
        folds: k, or ``"loso"`` for one fold per speaker.
        split: ``"speaker"`` (speaker-disjoint, stratified by class) or ``"stratified"``
            (the paper's stratified k-fold; speakers shared).
        seed: shuffles the fold assignment.

    Returns:
        list of (train positions, held-out positions).
    """
    y = manifest["label4"].astype(str).to_numpy()
    groups = manifest["speaker"].astype(str).to_numpy()
    n_speakers = len(np.unique(groups))
    dummy = np.zeros(len(y))
    if folds == "loso":
        if n_speakers < 2:
            raise ValueError("leave-one-speaker-out needs at least two speakers")
        return list(LeaveOneGroupOut().split(dummy, y, groups))
    if split == "speaker":
        if n_speakers < folds:
            raise ValueError(
                f"{folds} speaker-disjoint folds need at least {folds} speakers, the data has "
                f"{n_speakers}; lower 'folds' or use folds = \"loso\""
            )
        cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        return list(cv.split(dummy, y, groups))
    if split == "stratified":
        min_class = pd.Series(y).value_counts().min()
        if min_class < folds:
            raise ValueError(f"stratified {folds}-fold needs >= {folds} utterances per class")
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return list(cv.split(dummy, y))
    raise ValueError(f"unknown split {split!r}; use 'speaker' or 'stratified'")


def _positions(manifest: pd.DataFrame, corpora) -> np.ndarray:
    return np.flatnonzero(manifest["corpus"].isin(list(corpora)).to_numpy())


def _guarded(manifest, train_pos, tests: list[TestSet], speaker_dependent_valid: bool):
    train = manifest.iloc[train_pos]
    for t in tests:
        if t.role == "train":
            continue
        check_disjoint(
            train,
            manifest.iloc[t.index],
            speakers=not (speaker_dependent_valid and t.role == "valid"),
            what=f"test set '{t.name}'",
        )


def _transfer(manifest, train_corpora, test_corpora, folds, split, seed, start):
    name = "+".join(train_corpora)
    pool = _positions(manifest, train_corpora)
    out = []
    for k, (tr, va) in enumerate(fold_indices(manifest.iloc[pool], folds, split, seed)):
        train_pos, valid_pos = pool[tr], pool[va]
        tests = [
            TestSet(f"{name}:train", "train", train_pos),
            TestSet(f"{name}:valid", "valid", valid_pos),
        ]
        tests += [TestSet(c, "test", _positions(manifest, [c])) for c in test_corpora]
        _guarded(manifest, train_pos, tests, speaker_dependent_valid=split == "stratified")
        out.append(Split(name, start + k, train_pos, tests))
    return out


def make_splits(
    manifest: pd.DataFrame,
    protocol: str,
    train: list[str],
    test: list[str] = (),
    folds: int | str = 5,
    split: str = "speaker",
    seed: int = 0,
) -> list[Split]:
    """All splits of a protocol for one seed (see the module docstring).

    Args:
        manifest: labelled manifest (every row has a ``label4``), RangeIndex.
        protocol: ``transfer``, ``pairwise``, ``within`` or ``loco``.
        train: names of the training corpora (column ``corpus``).
        test: names of the zero-shot corpora.
        folds: k or ``"loso"``.
        split: ``"speaker"`` or ``"stratified"``.
        seed: fold shuffling seed.

    Returns:
        list of Split, with fold ids that do not depend on the seed.

    Raises:
        LeakageError: a split shares speakers/files between training and test data.
    """
    train, test = list(train), list(test)
    missing = sorted(set(train + test) - set(manifest["corpus"].unique()))
    if missing:
        raise ValueError(f"corpora {missing} have no labelled utterances in the manifest")
    if manifest["label4"].isna().any():
        raise ValueError("make_splits needs a manifest where every row has a label4")
    splits: list[Split] = []
    if protocol == "transfer":
        splits = _transfer(manifest, train, test, folds, split, seed, 0)
    elif protocol == "pairwise":
        everything = train + [c for c in test if c not in train]
        for c in train:
            others = [o for o in everything if o != c]
            splits += _transfer(manifest, [c], others, folds, split, seed, len(splits))
    elif protocol == "within":
        suffix = "loso" if folds == "loso" else "cv"
        for c in train:
            pool = _positions(manifest, [c])
            for tr, te in fold_indices(manifest.iloc[pool], folds, "speaker", seed):
                tests = [
                    TestSet(f"{c}:train", "train", pool[tr]),
                    TestSet(f"{c}:{suffix}", "test", pool[te]),
                ]
                _guarded(manifest, pool[tr], tests, speaker_dependent_valid=False)
                splits.append(Split(c, len(splits), pool[tr], tests))
    elif protocol == "loco":
        for c in train:
            rest = [o for o in train if o != c]
            name = "+".join(rest)
            train_pos = _positions(manifest, rest)
            tests = [TestSet(f"{name}:train", "train", train_pos), TestSet(c, "test", _positions(manifest, [c]))]
            tests += [TestSet(t, "test", _positions(manifest, [t])) for t in test]
            _guarded(manifest, train_pos, tests, speaker_dependent_valid=False)
            splits.append(Split(name, len(splits), train_pos, tests))
    else:
        raise ValueError(f"unknown protocol {protocol!r}")
    return splits
