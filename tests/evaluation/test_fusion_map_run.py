"""A run with ``model = "fusion_map"``: the fusion's decision drawn in 2-D, adapted in two
stages on the test corpus, its latent written as z1/z2 and saved with the pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from emolens.evaluation.config import load_config
from emolens.evaluation.runner import run_experiment
from emolens.models import load_pipeline
from emolens.models.decision_map import DecisionMap
from quick_run import QUICK_RUN

CONFIG = """
name = "fusion-map"
features = "egemaps"
""" + QUICK_RUN.replace("save_models = false", "save_models = true") + """[corpora]
train = ["{A}", "{B}"]
test = ["{C}"]
[models.map]
model = "fusion_map"
reduce__steps = 200
balance = "corpus"
adapt = "pseudo-labels"
"""


def test_a_fusion_map_run_adapts_and_writes_its_2d_latent(write_config, synth_corpora, tmp_path):
    c = synth_corpora["names"][2]
    path = write_config(CONFIG.replace("{C}", str(synth_corpora["root"] / c / "manifest.csv")))
    out = run_experiment(load_config(path), out=tmp_path / "run", progress=False)
    results = pd.read_csv(out / "results.csv")
    scored = results[results["test"] == c]
    assert len(scored) == 2 and (scored["adapted"] > 0).any()
    assert (scored["ua"] > 0.4).all()
    pred = pd.read_parquet(out / "predictions.parquet")
    test = pred[pred["test"] == c]
    assert np.isfinite(test[["z1", "z2"]].to_numpy()).all()
    reduce = load_pipeline(sorted((out / "models" / "map").iterdir())[0]).named_steps["reduce"]
    assert isinstance(reduce, DecisionMap) and reduce.oof_groups_ == 2  # one per corpus
