"""Attribution on constructed models whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler

from emolens.interpret import attribution as at

GROUPS = {"loudness": ["loud_a", "loud_b"], "pitch": ["f0_a", "f0_b"], "mfcc": ["m1", "m2", "m3"]}
COLUMNS = [c for cols in GROUPS.values() for c in cols]


def _data(n=300, seed=0):
    """Labels depend on the loudness group only; other groups are noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(0, 1, (n, len(COLUMNS))), columns=COLUMNS)
    y = np.where(X["loud_a"] + X["loud_b"] > 0, "angry", "neutral")
    return X, y


def _loudness_only_model(X, y):
    # The classifier only ever sees the loudness columns.
    select = ColumnTransformer([("keep", "passthrough", GROUPS["loudness"])])
    return make_pipeline(select, StandardScaler(), LogisticRegression()).fit(X, y)


def test_groups_for_columns_other_and_duplicates():
    idx = at.groups_for_columns(COLUMNS + ["extra"], GROUPS)
    assert idx["loudness"] == [0, 1] and idx["other"] == [7]
    with pytest.raises(ValueError, match="two groups"):
        at.groups_for_columns(COLUMNS, {"a": ["m1"], "b": ["m1"]})


def test_deeplift_on_encoder_reading_one_group():
    # Encoder: z1 = relu(2*loud_a) + loud_b, z2 = 3 * f0_a (linear); DeepLIFT completeness
    # says attributions sum to z(x) - z(baseline), and unused inputs get exactly zero.
    torch.manual_seed(0)
    lin1 = torch.nn.Linear(7, 2, bias=False)
    with torch.no_grad():
        lin1.weight.zero_()
        lin1.weight[0, 0] = 2.0
        lin1.weight[1, 2] = 3.0
    lin2 = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin2.weight.copy_(torch.eye(2))
    enc = torch.nn.Sequential(lin1, torch.nn.ReLU(), lin2)
    X, _ = _data(50)
    base = np.zeros(7)
    attr = at.latent_deeplift(enc, X.to_numpy(), base, COLUMNS, index=X.index)
    assert attr.index.names == ["sample", "dimension"]
    z = enc(torch.tensor(X.to_numpy(), dtype=torch.float32)).detach().numpy()
    z0 = enc(torch.zeros(1, 7)).detach().numpy()
    np.testing.assert_allclose(attr.xs("z1", level="dimension").sum(axis=1), z[:, 0] - z0[0, 0],
                               atol=1e-5)
    z1 = attr.xs("z1", level="dimension")
    assert (z1.drop(columns="loud_a").abs().to_numpy() < 1e-6).all()
    grouped = at.aggregate_groups(attr, GROUPS)
    mean_abs = grouped.assign(a=grouped["attribution"].abs()).groupby(["dimension", "group"])["a"].mean()
    assert mean_abs["z1"].idxmax() == "loudness"
    assert mean_abs["z2"].idxmax() == "pitch"


def test_occlusion_points_at_the_used_group():
    X, y = _data()
    model = _loudness_only_model(X, y)
    ref = X.mean().to_numpy()
    pred = model.predict(X)
    target = np.searchsorted(model.classes_, pred)
    occ = at.group_occlusion(lambda a: model.predict_proba(pd.DataFrame(a, columns=COLUMNS)),
                             X.to_numpy(), ref, target, GROUPS, COLUMNS)
    assert list(occ.columns) == ["loudness", "pitch", "mfcc"]
    assert occ["loudness"].abs().mean() > 0.1
    np.testing.assert_allclose(occ[["pitch", "mfcc"]].to_numpy(), 0.0, atol=1e-12)


def test_grouped_permutation_importance_points_at_the_used_group():
    X, y = _data(seed=1)
    model = _loudness_only_model(X, y)
    Xt, yt = _data(seed=2)
    imp = at.grouped_permutation_importance(model, Xt, yt, GROUPS, n_repeats=3)
    mean = imp.groupby("group")["importance"].mean()
    assert mean.idxmax() == "loudness" and mean["loudness"] > 0.3
    assert mean["pitch"] == 0.0 and mean["mfcc"] == 0.0
    with pytest.raises(TypeError, match="DataFrame"):
        at.grouped_permutation_importance(model, Xt.to_numpy(), yt, GROUPS)


def test_group_ablation_drop_only_for_the_used_group():
    X, y = _data(seed=3)
    Xt, yt = _data(seed=4)
    est = make_pipeline(StandardScaler(), LogisticRegression())
    abl = at.group_ablation(est, X, y, Xt, yt, GROUPS).set_index("group")
    assert abl.loc["loudness", "delta"] < -0.3
    assert abs(abl.loc["pitch", "delta"]) < 0.05 and abs(abl.loc["mfcc", "delta"]) < 0.05
    assert abl.loc["loudness", "n_removed"] == 2


def _loop_permutation_scores(est, X, y, groups, n_repeats, seed):
    """The straightforward version: one predict call per group x repeat."""
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(seed)
    scores = []
    for g, idx in at.groups_for_columns(list(X.columns), groups).items():
        cols = [X.columns[i] for i in idx]
        for _ in range(n_repeats):
            Xp = X.copy()
            Xp[cols] = X[cols].to_numpy()[rng.permutation(len(X))]
            scores.append(balanced_accuracy_score(y, est.predict(Xp)))
    return scores


@pytest.mark.parametrize("max_rows", [100_000, 250])
def test_stacked_permutation_equals_one_call_per_shuffle(max_rows):
    # A per-corpus scaler normalises each corpus with the statistics of the data it is given
    # (transductive): stacking must not mix the shuffled copies' statistics.
    from emolens.models import FeatureScaler

    X, y = _data(n=120, seed=5)
    corpus = np.where(np.arange(len(X)) % 3 == 0, "c1", "c2")
    X.index = pd.MultiIndex.from_arrays([[f"f{i}" for i in range(len(X))], corpus],
                                        names=["file", "corpus"])
    X.loc[corpus == "c1"] += 2.0  # a corpus offset that per-corpus scaling removes
    model = make_pipeline(FeatureScaler(by="corpus"), LogisticRegression()).fit(X, y)
    Xt, yt = X.iloc[::2], y[::2]
    imp = at.grouped_permutation_importance(model, Xt, yt, GROUPS, n_repeats=3, random_state=7,
                                            max_rows=max_rows)
    expected = _loop_permutation_scores(model, Xt, yt, GROUPS, 3, 7)
    np.testing.assert_allclose(imp["score"].to_numpy(), expected)
    # the vectorised UA equals sklearn's scorer called per shuffle
    from sklearn.metrics import balanced_accuracy_score

    explicit = at.grouped_permutation_importance(model, Xt, yt, GROUPS, n_repeats=3,
                                                 random_state=7, max_rows=max_rows,
                                                 scorer=balanced_accuracy_score)
    np.testing.assert_allclose(explicit["score"].to_numpy(), expected)
    assert list(imp["repeat"]) == [0, 1, 2] * len(GROUPS)


def test_stacked_index_keeps_copies_apart():
    idx = pd.MultiIndex.from_arrays([["a", "b"], ["x", "x"]], names=["file", "corpus"])
    st = at.stacked_index(idx, 3)
    assert len(st) == 6 and st.names == ["file", "corpus"]
    assert st.get_level_values("corpus").nunique() == 3  # one corpus per copy
    assert at.stacked_index(idx, 1) is idx
    assert list(st.get_level_values("file")[:4]) == ["a#0", "b#0", "a#1", "b#1"]
    flat = at.stacked_index(pd.Index(["u", "v"], name="file"), 2)
    assert list(flat) == ["u#0", "v#0", "u#1", "v#1"] and flat.name == "file"
    assert list(at.stacked_index(pd.RangeIndex(2), 2)) == [0, 1, 2, 3]


def test_occlusion_batched_equals_one_group_per_call():
    X, y = _data()
    model = _loudness_only_model(X, y)
    target = np.searchsorted(model.classes_, model.predict(X))
    calls = []

    def score(a):
        calls.append(len(a))
        return model.predict_proba(pd.DataFrame(a, columns=COLUMNS))

    args = (X.to_numpy(), X.mean().to_numpy(), target, GROUPS, COLUMNS)
    batched = at.group_occlusion(score, *args)
    n_batched = len(calls)
    single = at.group_occlusion(score, *args, max_rows=len(X))
    assert n_batched < len(calls) - n_batched  # fewer calls when batched
    np.testing.assert_allclose(batched.to_numpy(), single.to_numpy(), atol=1e-12)


def test_wide_inputs_are_stacked_by_values_not_rows(monkeypatch):
    # ComParE's 6373 columns: 100 000 stacked rows would be 5 GB per call. The cap on values
    # cuts the calls smaller; the numbers stay the same.
    X, y = _data()
    model = _loudness_only_model(X, y)
    target = np.searchsorted(model.classes_, model.predict(X))
    calls = []

    def score(a):
        calls.append(a.size)
        return model.predict_proba(pd.DataFrame(a, columns=COLUMNS))

    args = (X.to_numpy(), X.mean().to_numpy(), target, GROUPS, COLUMNS)
    free = at.group_occlusion(score, *args)
    assert max(calls) > 2 * X.size  # several groups per call
    calls.clear()
    monkeypatch.setattr(at, "MAX_CELLS", X.size)  # one copy of X per call
    capped = at.group_occlusion(score, *args)
    assert max(calls) == X.size and len(calls) > len(GROUPS)
    np.testing.assert_allclose(capped.to_numpy(), free.to_numpy(), atol=1e-12)
    Xt, yt = X.iloc[::2], y[::2]
    calls.clear()
    model.predict = lambda a, f=model.predict: (calls.append(a.size), f(a))[1]
    imp = at.grouped_permutation_importance(model, Xt, yt, GROUPS, n_repeats=3)
    assert max(calls) == X.size  # two copies of Xt
    np.testing.assert_allclose(imp["score"].to_numpy(),
                               _loop_permutation_scores(model, Xt, yt, GROUPS, 3, 0))


def test_group_ablation_parallel_equals_sequential():
    X, y = _data(seed=3)
    Xt, yt = _data(seed=4)
    est = make_pipeline(StandardScaler(), LogisticRegression())
    one = at.group_ablation(est, X, y, Xt, yt, GROUPS, only=["loudness", "pitch"])
    two = at.group_ablation(est, X, y, Xt, yt, GROUPS, only=["loudness", "pitch"], n_jobs=2)
    assert list(one["group"]) == ["loudness", "pitch"]
    pd.testing.assert_frame_equal(one, two)
