"""A run on the hybrid ``compare+egemaps`` with ``model = "fusion"``: one logistic regression
per feature set, adapted to the test corpus, saved with the column count of each set."""

from __future__ import annotations

import pandas as pd

from emolens.evaluation.config import load_config
from emolens.evaluation.runner import run_experiment
from emolens.models import FusedLogisticRegression, load_pipeline
from quick_run import QUICK_RUN

CONFIG = """
name = "fusion"
features = "compare+egemaps"
""" + QUICK_RUN.replace("save_models = false", "save_models = true") + """[corpora]
train = ["{A}", "{B}"]
test = ["{C}"]
[models.fused]
model = "fusion"
C = 0.01
shrink = "auto"
balance = "corpus"
adapt = "pseudo-labels"
"""


def test_a_fusion_run_fits_one_regression_per_feature_set(write_config, synth_corpora, tmp_path):
    c = synth_corpora["names"][2]
    path = write_config(CONFIG.replace("{C}", str(synth_corpora["root"] / c / "manifest.csv")))
    out = run_experiment(load_config(path), out=tmp_path / "run", progress=False)
    results = pd.read_csv(out / "results.csv")
    scored = results[results["test"] == c]
    assert len(scored) == 2 and scored["ua"].notna().all()  # 2 folds, seed 0
    assert scored["adapted"].all()
    features = pd.read_parquet(out / "features.parquet")
    assert features.shape[1] == 6373 + 88
    folders = sorted((out / "models" / "fused").iterdir())
    assert len(folders) == 2
    clf = load_pipeline(folders[0]).named_steps["clf"]
    assert isinstance(clf, FusedLogisticRegression)
    assert clf.blocks == (6373, 88)
    assert [m.coef_.shape[1] for m in clf.estimators_] == [6373, 88]
