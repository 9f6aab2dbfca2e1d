"""emolens.results: the results-directory contract, read and written in one place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens import results as R
from emolens.evaluation.confusions import write_confusions
from emolens.evaluation import protocols as P


def _pairwise_dir(root):
    """Models trained on a and on b, both tested zero-shot on c: c's confusions must stay apart."""
    rng = np.random.default_rng(0)
    labels = np.array(["neutral", "happy", "sad", "angry"])
    rows, preds = [], []
    for train in ("a", "b"):
        y = labels[rng.integers(0, 4, 40)]
        y_hat = y if train == "a" else np.full(40, "angry")  # a perfect, b collapsed
        preds.append(pd.DataFrame({"file": [f"/c/{i}.wav" for i in range(40)], "model": "m",
                                   "seed": 0, "fold": 0, "train": train, "test": "c",
                                   "role": "test", "y_true": y, "y_pred": y_hat}))
        rows.append({"model": "m", "train": train, "test": "c", "role": "test", "seed": 0,
                     "fold": 0, "ua": float(np.mean(y == y_hat))})
    preds = pd.concat(preds, ignore_index=True)
    preds.to_parquet(root / R.PREDICTIONS, index=False)
    pd.DataFrame(rows).to_csv(root / R.RESULTS, index=False)
    pd.DataFrame({"file": preds["file"].unique(), "corpus": "c", "speaker": "c:1"}).to_csv(
        root / R.MANIFEST, index=False)
    write_confusions(preds, root)
    return root


def test_confusions_are_grouped_alike_on_disk_and_on_the_page(tmp_path):
    from emolens.report.analyses import confusion_matrices

    run = R.load(_pairwise_dir(tmp_path))
    assert set(run.confusions) == {("m", "a", "c"), ("m", "b", "c")}
    page = confusion_matrices(run)
    assert set(page) == {"m → c (trained on a)", "m → c (trained on b)"}
    for (model, train, test), cm in run.confusions.items():
        shown = page[f"{model} → {test} (trained on {train})"]
        assert shown.to_numpy().sum() == cm.to_numpy().sum() == 40
    assert page["m → c (trained on b)"]["angry"].sum() == 40  # not summed with a's matrix


def test_test_sets_are_structured_and_unseen_is_per_row():
    corpus = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 4)
    splits = [P.Split("a", 0, np.arange(0, 2), [P.TestSet("a:valid", "valid", np.arange(2, 4)),
                                              P.TestSet("c", "test", np.arange(8, 12))]),
              P.Split("a+c", 1, np.r_[0:4, 8:12], [P.TestSet("c", "test", np.arange(8, 12))])]
    sets = pd.DataFrame(R.test_set_records(splits, corpus))
    assert list(sets["unseen"]) == [False, True, False]  # c was trained on in the second
    assert sets.loc[2, "train_corpora"] == ["a", "c"]
    frame = pd.DataFrame({"train": ["a", "a", "a+c"], "test": ["a:valid", "c", "c"]})
    assert list(R.unseen_mask(frame, sets)) == [False, True, False]
    # results directories written before test_sets.json: the naming rule, in one place
    frame["role"] = ["valid", "test", "test"]
    assert list(R.unseen_mask(frame)) == [False, True, False]


def test_latent_columns_and_missing_files(tmp_path):
    frame = pd.DataFrame({"z10": [1.0], "z2": [1.0], "z1": [1.0], "zeta": [1], "z3": [np.nan]})
    assert R.latent_columns(frame) == ["z1", "z2", "z10"]
    assert R.latent_column(0) == "z1"
    with pytest.raises(R.ResultsError, match="missing results.csv, predictions.parquet"):
        R.load(tmp_path)


def test_majority_labels_one_per_file_ties_to_the_earliest_fit():
    rows = []
    # file x: 2 of 3 fits say sad; file y: 2 of 3 happy; file z: only one fit saw it
    votes = {(0, 0): {"x": "sad", "y": "happy"}, (0, 1): {"x": "sad", "y": "angry", "z": "sad"},
             (1, 0): {"x": "angry", "y": "happy"}}
    for (seed, fold), labels in reversed(list(votes.items())):  # order must not matter
        for file, label in labels.items():
            rows.append({"file": file, "model": "m", "seed": seed, "fold": fold, "train": "a",
                         "test": "c", "role": "test", "y_true": "sad", "y_pred": label})
    rows.append({"file": "x", "model": "m", "seed": 0, "fold": 0, "train": "a", "test": "a:valid",
                 "role": "valid", "y_true": "sad", "y_pred": "neutral"})  # not zero-shot
    rows.append({"file": "x", "model": "m", "seed": 0, "fold": 0, "train": "b", "test": "c",
                 "role": "test", "y_true": "sad", "y_pred": "neutral"})  # another training set
    out = R.majority_labels(pd.DataFrame(rows))
    assert list(out.columns) == R.TEST_LABEL_COLUMNS
    got = {(r.train, r.file): (r.label, r.agreement, r.fits) for r in out.itertuples()}
    assert got == {("a", "x"): ("sad", 2 / 3, 3), ("a", "y"): ("happy", 2 / 3, 3),
                   ("a", "z"): ("sad", 1.0, 1), ("b", "x"): ("neutral", 1.0, 1)}
    # a real tie: two fits, two labels -> the label of fit (seed 0, fold 0)
    tie = pd.DataFrame([{**rows[0], "seed": 1, "fold": 0, "y_pred": "angry"},
                        {**rows[0], "seed": 0, "fold": 3, "y_pred": "happy"}])
    assert R.majority_labels(tie)["label"].tolist() == ["happy"]
    assert R.majority_labels(pd.DataFrame(rows[-2:-1])).empty  # no zero-shot row
