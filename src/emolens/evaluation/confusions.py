"""Confusion matrices of a results directory: CSV per model x (train, test set), and PNGs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from emolens.evaluation.metrics import confusion


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-")


class _ConfusionPlotter:
    """Draws confusion matrices into one reused figure: creating a figure and laying it out
    cost more than drawing it, and every matrix has the same labels, so one layout fits all."""

    def __init__(self):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        self.plt = plt
        self.fig, self.ax = plt.subplots(figsize=(3.0, 2.7), dpi=120)
        self.laid_out = False

    def __call__(self, cm: pd.DataFrame, title: str, path: Path) -> None:
        ax = self.ax
        ax.clear()
        counts = cm.to_numpy()
        rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax.imshow(rates, vmin=0, vmax=1, cmap="Blues")
        for i in range(counts.shape[0]):
            for j in range(counts.shape[1]):
                ax.text(j, i, f"{rates[i, j]:.0%}\n{counts[i, j]}", ha="center", va="center",
                        fontsize=8, color="white" if rates[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(cm.columns)), cm.columns, fontsize=8)
        ax.set_yticks(range(len(cm.index)), cm.index, fontsize=8)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
        ax.set_title(title, fontsize=8)
        if not self.laid_out:
            self.fig.tight_layout()
            self.laid_out = True
        self.fig.savefig(path, metadata={"Software": None})

    def close(self) -> None:
        self.plt.close(self.fig)


def write_confusions(predictions: pd.DataFrame, out: Path, plots: bool = True) -> pd.DataFrame:
    """Confusion matrices per model × (train, test set), summed over seeds and folds.

    Writes ``confusion/<model>__<train>__<test>.csv`` (+ ``.png``) and
    ``confusion/index.csv`` (columns model, train, test, role, csv, png).
    """
    folder = out / "confusion"
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    held = predictions[predictions["role"] != "train"]
    plot = _ConfusionPlotter() if plots else None
    try:
        for (model, train, test), g in held.groupby(["model", "train", "test"], sort=False):
            stem = _slug(f"{model}__{train}__{test}")
            cm = confusion(g["y_true"].to_numpy(), g["y_pred"].to_numpy())
            cm.to_csv(folder / f"{stem}.csv")
            png = ""
            if plot is not None:
                png = f"{stem}.png"
                plot(cm, f"{model}: {train} → {test}", folder / png)
            index.append({"model": model, "train": train, "test": test,
                          "role": g["role"].iloc[0], "csv": f"{stem}.csv", "png": png})
    finally:
        if plot is not None:
            plot.close()
    frame = pd.DataFrame(index, columns=["model", "train", "test", "role", "csv", "png"])
    frame.to_csv(folder / "index.csv", index=False)
    return frame
