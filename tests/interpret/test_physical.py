"""Physical interpretation on constructed data with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens.interpret import physical as ph

ACT = {"neutral": 0.0, "happy": 0.7, "sad": -0.6, "angry": 0.9}
VAL = {"neutral": 0.0, "happy": 0.8, "sad": -0.6, "angry": -0.7}


def _data(n_per=60, seed=0):
    """z1 is exactly the activation (plus class noise); z2 is noise."""
    rng = np.random.default_rng(seed)
    emo = np.repeat(list(ACT), n_per)
    act = np.array([ACT[e] for e in emo]) + rng.normal(0, 0.05, len(emo))
    val = np.array([VAL[e] for e in emo]) + rng.normal(0, 0.05, len(emo))
    return pd.DataFrame({"emotion": emo, "activation": act, "valence": val,
                         "z1": act.copy(), "z2": rng.normal(0, 1, len(emo))})


def test_bhattacharyya_identical_is_zero_and_grows_with_separation():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 500)
    assert ph.bhattacharyya_distance(a, a) == pytest.approx(0.0, abs=1e-12)
    assert ph.bhattacharyya_distance(a, a, method="histogram") == pytest.approx(0.0, abs=1e-12)
    d = [ph.bhattacharyya_distance(a, a + s) for s in (0.5, 1.0, 2.0, 4.0)]
    assert all(x < y for x, y in zip(d, d[1:]))
    # Gaussian closed form with equal variances: D_B = (Δμ)² / (8σ²)
    x = np.array([-1.0, 1.0] * 500)
    assert ph.bhattacharyya_distance(x, x + 2.0) == pytest.approx(4 / 8, rel=1e-9)
    sep = [ph.bhattacharyya_separation(a, a + s) for s in (0.0, 1.0, 10.0)]
    assert sep[0] == pytest.approx(0.0, abs=1e-12) and sep[1] < sep[2] <= 1.0
    # constant classes (categorical activation) stay finite thanks to the variance floor
    assert np.isfinite(ph.bhattacharyya_distance(np.zeros(10), np.ones(10)))
    with pytest.raises(ValueError, match="method"):
        ph.bhattacharyya_distance(a, a, method="kde")


def test_pair_separation_of_activation_dimension_matches_activation():
    d = _data()
    seps = ph.pair_separations(d, ["z1", "z2", "activation", "valence"])
    assert seps["pair"].nunique() == 6
    wide = seps.pivot(index="pair", columns="variable", values="separation")
    np.testing.assert_allclose(wide["z1"], wide["activation"], atol=1e-12)
    agree = ph.separation_agreement(seps, ["z1", "z2"]).set_index(["dimension", "reference"])
    assert agree.loc[("z1", "activation"), "rho"] == pytest.approx(1.0)
    assert agree.loc[("z1", "activation"), "rho"] > agree.loc[("z1", "valence"), "rho"]


def test_spearman_fdr_and_verdict_for_activation_dimension():
    d = _data()
    rng = np.random.default_rng(3)
    feats = pd.DataFrame({"loud_mean": d["activation"] * 3 + rng.normal(0, 0.01, len(d)),
                          "f0_mean": rng.normal(0, 1, len(d))})
    targets = pd.concat([d[["activation", "valence"]], feats], axis=1)
    table = ph.spearman_table(d[["z1", "z2"]], targets,
                              group_of={"loud_mean": "loudness", "f0_mean": "pitch"})
    assert len(table) == 8
    z1act = table.query("dimension == 'z1' and target == 'activation'").iloc[0]
    assert z1act["rho"] == pytest.approx(1.0)
    # BH-adjusted p-values are never below the raw ones and stay in [0, 1]
    assert (table["p_fdr"] >= table["p"] - 1e-15).all() and (table["p_fdr"] <= 1).all()
    # hand-computed BH on the raw p-values
    p = table["p"].to_numpy()
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    bh = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1)
    np.testing.assert_allclose(table["p_fdr"].to_numpy()[order], bh)
    verdicts = ph.dimension_verdicts(table).set_index("dimension")
    assert verdicts.loc["z1", "follows"] == "activation"
    assert "z1 follows activation, ρ = 1.00" in verdicts.loc["z1", "verdict"]
    assert verdicts.loc["z1", "top_group"] == "loudness"
    assert pd.isna(verdicts.loc["z2", "follows"])
    assert "neither" in verdicts.loc["z2", "verdict"]


def test_missing_columns_error():
    with pytest.raises(ValueError, match="missing"):
        ph.pair_separations(pd.DataFrame({"emotion": ["a"]}), ["z1"])
