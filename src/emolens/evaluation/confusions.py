"""Confusion matrices of a results directory: one CSV per model x (train, test set)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from emolens import results as R
from emolens.evaluation.metrics import confusion


def write_confusions(predictions: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Confusion matrices per model × (train, held-out test set), summed over seeds and folds
    (:func:`emolens.results.confusion_groups`, the grouping the report shows too).

    Writes ``confusion/<model>__<train>__<test>.csv`` (true labels as rows, predicted as
    columns) and ``confusion/index.csv`` (columns model, train, test, role, csv).

    Returns:
        The index table.
    """
    folder = Path(out) / R.CONFUSION_DIR
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    for (model, train, test), role, g in R.confusion_groups(predictions):
        name = R.confusion_file(model, train, test)
        confusion(g["y_true"].to_numpy(), g["y_pred"].to_numpy()).to_csv(folder / name)
        index.append({"model": model, "train": train, "test": test, "role": role, "csv": name})
    frame = pd.DataFrame(index, columns=R.CONFUSION_INDEX_COLUMNS)
    frame.to_csv(folder / R.CONFUSION_INDEX, index=False)
    return frame
