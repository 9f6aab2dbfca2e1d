"""Confusion matrices of a results directory: one CSV per model x (train, test set)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from emolens.evaluation.metrics import confusion


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-")


def write_confusions(predictions: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Confusion matrices per model × (train, held-out test set), summed over seeds and folds.

    Writes ``confusion/<model>__<train>__<test>.csv`` (true labels as rows, predicted as
    columns; the report shows them as heat tables) and ``confusion/index.csv`` (columns model,
    train, test, role, csv).

    Returns:
        The index table.
    """
    folder = Path(out) / "confusion"
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    held = predictions[predictions["role"] != "train"]
    for (model, train, test), g in held.groupby(["model", "train", "test"], sort=False):
        stem = _slug(f"{model}__{train}__{test}")
        cm = confusion(g["y_true"].to_numpy(), g["y_pred"].to_numpy())
        cm.to_csv(folder / f"{stem}.csv")
        index.append({"model": model, "train": train, "test": test,
                      "role": g["role"].iloc[0], "csv": f"{stem}.csv"})
    frame = pd.DataFrame(index, columns=["model", "train", "test", "role", "csv"])
    frame.to_csv(folder / "index.csv", index=False)
    return frame
