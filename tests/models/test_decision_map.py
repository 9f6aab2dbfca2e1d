"""DecisionMap: a fusion's class evidence drawn in two dimensions (model = "fusion_map")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from emolens.models import (
    FusedLogisticRegression,
    PseudoLabels,
    apply,
    check_model,
    fit_model,
    load_pipeline,
    make_model,
    save_pipeline,
    with_feature_blocks,
)
from emolens.models.decision_map import DecisionMap
from emolens.models.multifit import evidence_groups

CLASSES = np.array(["angry", "happy", "neutral", "sad"])


def corpus(n, shift, seed, p=12):
    """Four classes, each a direction in the first 4 and the last 4 columns, the whole corpus
    shifted by ``shift`` (another recording condition)."""
    rng = np.random.default_rng(seed)
    y = CLASSES[rng.integers(0, 4, n)]
    onehot = (y[:, None] == CLASSES).astype(float)
    X = rng.normal(size=(n, p)) + shift
    X[:, :4] += 2.0 * onehot
    X[:, -4:] += 1.5 * onehot
    return X, y


@pytest.fixture(scope="module")
def fitted():
    parts = [corpus(200, s, seed) for seed, s in enumerate((0.0, 0.3, -0.3))]
    X = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    groups = np.repeat(["a", "b", "c"], 200)
    dm = DecisionMap(blocks=[8, 4], C=0.1, steps=300)
    Z = dm.fit_transform(X, y, groups=groups)
    return dm, X, y, Z


def test_the_latent_of_an_unseen_shifted_corpus_holds_the_classes(fitted):
    dm, X, y, Z = fitted
    head = LogisticRegression().fit(Z, y)
    X_new, y_new = corpus(300, 0.5, seed=9)
    assert dm.transform(X_new).shape == (300, 2)
    ua = (head.predict(dm.transform(X_new)) == y_new).mean()
    fusion = (dm.fusion_.predict(X_new) == y_new).mean()  # about 0.89: the classes overlap
    assert ua > 0.8 and ua >= fusion - 0.03  # two dimensions keep the fusion's decision


def test_a_map_of_zeros_would_fail_the_check_above(fitted):
    dm, X, y, Z = fitted
    flat = DecisionMap(**dm.get_params())
    flat.__dict__.update({k: v for k, v in dm.__dict__.items() if k.endswith("_")})
    flat.latent_weight_ = np.zeros_like(dm.latent_weight_)
    X_new, y_new = corpus(300, 0.5, seed=9)
    head = LogisticRegression().fit(Z, y)
    assert (head.predict(flat.transform(X_new)) == y_new).mean() < 0.5


def test_fit_transform_is_out_of_fold_one_fusion_per_group(fitted):
    dm, X, y, Z = fitted
    assert dm.oof_groups_ == 3
    assert not np.allclose(Z, dm.transform(X))  # the training rows seen by no fusion
    again = DecisionMap(blocks=[8, 4], C=0.1, steps=300).fit(X, y, groups=np.repeat(
        ["a", "b", "c"], 200))
    np.testing.assert_allclose(again.transform(X), dm.transform(X))  # seeded
    assert DecisionMap(C=0.1, steps=10, folds=4).fit(X, y).oof_groups_ == 4  # no groups


def test_the_evidence_is_the_mean_of_the_blocks_centred_log_probabilities(fitted):
    dm, X, _, _ = fitted
    logs = [np.log(m.predict_proba(X[:, part]))
            for m, part in zip(dm.fusion_.estimators_, (slice(0, 8), slice(8, 12)))]
    mean = np.mean(logs, axis=0)
    np.testing.assert_allclose(dm.evidence(X), mean - mean.mean(axis=1, keepdims=True),
                               atol=1e-9)
    proba = dm.fusion_.predict_proba(X)  # combine="product": the softmax of the evidence
    np.testing.assert_allclose(np.log(proba) - np.log(proba).mean(axis=1, keepdims=True),
                               dm.evidence(X), atol=1e-9)


def test_binary_evidence_and_the_combine_parameter():
    X, y = corpus(200, 0.0, seed=3)
    keep = np.isin(y, ["angry", "sad"])
    fused = FusedLogisticRegression(blocks=[8, 4], combine="product").fit(X[keep], y[keep])
    e = fused.evidence(X[keep])
    np.testing.assert_allclose(e.sum(axis=1), 0, atol=1e-12)
    assert (fused.classes_[e.argmax(axis=1)] == fused.predict(X[keep])).all()
    with pytest.raises(ValueError, match="combine"):
        FusedLogisticRegression(combine="max").fit(X, y)


def test_the_torch_encoder_is_the_same_function(fitted):
    dm, X, _, _ = fitted
    with torch.no_grad():
        z = dm.encoder_(torch.as_tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(z, dm.transform(X), atol=1e-4)


def test_deeplift_through_the_chain_adds_up_to_the_latent_difference(fitted):
    from emolens.interpret.attribution import latent_deeplift

    dm, X, y, _ = fitted
    base = X[y == "neutral"].mean(axis=0)
    cols = [f"x{i}" for i in range(X.shape[1])]
    wide = latent_deeplift(dm.encoder_, X[:20], base, cols)
    total = wide.sum(axis=1).unstack("dimension")[["z1", "z2"]].to_numpy()
    want = dm.transform(X[:20]) - dm.transform(base[None])
    np.testing.assert_allclose(total, want, atol=1e-3)


def test_adapting_moves_a_shifted_batch_and_leaves_a_small_one(fitted):
    dm, _, _, _ = fitted
    X_new, _ = corpus(300, 1.5, seed=11)
    z, result = dm.adapted_transform(X_new, PseudoLabels())
    assert result.adapted and not np.allclose(z, dm.transform(X_new))
    np.testing.assert_array_equal(dm.adapted_transform(X_new, None)[0], dm.transform(X_new))
    z, result = dm.adapted_transform(X_new[:8], PseudoLabels())
    assert not result.adapted
    np.testing.assert_array_equal(z, dm.transform(X_new[:8]))


def _frame(X, y_len, corpora, speakers):
    index = pd.MultiIndex.from_arrays([[f"f{i}" for i in range(y_len)], corpora, speakers],
                                      names=["file", "corpus", "speaker"])
    return pd.DataFrame(X, index=index, columns=[f"x{i}" for i in range(X.shape[1])])


def test_a_fusion_map_pipeline_fits_adapts_and_round_trips(tmp_path, fitted):
    _, X, y, _ = fitted
    corpora = np.repeat(["a", "b", "c"], 200)
    speakers = [f"{c}{i % 5}" for i, c in enumerate(corpora)]
    pipe = make_model("fusion_map", reduce__blocks=[8, 4], reduce__steps=300)
    fit_model(pipe, _frame(X, len(y), corpora, speakers), y)
    assert pipe.named_steps["reduce"].oof_groups_ == 3  # over corpora
    X_new, y_new = corpus(200, 1.0, seed=12)
    frame = _frame(X_new, 200, ["d"] * 200, [f"d{i % 4}" for i in range(200)])
    out = apply(pipe, frame)
    result, latent = out.adapted(PseudoLabels())
    assert result.adapted and latent.shape == (200, 2)
    assert not np.allclose(latent, out.latent)  # the fusion adapted before the map read it
    assert (pipe.named_steps["clf"].classes_[result.proba.argmax(axis=1)] == y_new).mean() > 0.8
    save_pipeline(pipe, tmp_path / "p")
    np.testing.assert_allclose(apply(load_pipeline(tmp_path / "p"), frame).latent, out.latent)


def test_evidence_groups_are_corpora_else_speakers_with_copies_on_their_originals():
    X = np.zeros((4, 2))
    two = _frame(X, 4, ["a", "a~channel", "b", "b"], ["s", "s~channel", "t", "u"])
    assert list(evidence_groups(two)) == ["a", "a", "b", "b"]
    one = _frame(X, 4, ["a", "a~channel", "a", "a"], ["s", "s~channel", "t", "u"])
    assert list(evidence_groups(one)) == ["s", "s", "t", "u"]
    assert evidence_groups(X) is None


def test_parameters_are_checked_and_blocks_set_from_the_feature_set():
    with pytest.raises(ValueError, match="reduce: hidden"):
        check_model(make_model("fusion_map", reduce__hidden=0))
    pipe = with_feature_blocks(make_model("fusion_map"), "compare+egemaps")
    assert pipe.named_steps["reduce"].blocks == (6373, 88)


def test_fits_of_the_same_rows_with_other_seeds_share_the_fusion(monkeypatch, fitted):
    from emolens.models import decision_map

    _, X, y, _ = fitted
    groups = np.repeat(["a", "b", "c"], 200)
    monkeypatch.setattr(decision_map, "_SHARED", decision_map.OrderedDict())
    calls = []
    fit = FusedLogisticRegression.fit
    monkeypatch.setattr(FusedLogisticRegression, "fit",
                        lambda self, *a, **k: calls.append(1) or fit(self, *a, **k))
    first = DecisionMap(blocks=[8, 4], C=0.1, steps=20, seed=0).fit(X, y, groups=groups)
    assert len(calls) == 4  # every row, then one per group left out
    other = DecisionMap(blocks=[8, 4], C=0.1, steps=20, seed=1).fit(X, y, groups=groups)
    assert len(calls) == 4
    np.testing.assert_array_equal(first.evidence(X), other.evidence(X))
    assert not np.allclose(first.transform(X), other.transform(X))  # its own map
    X2 = X.copy()
    X2[0, 0] += 1.0  # other rows: fitted anew
    DecisionMap(blocks=[8, 4], C=0.1, steps=20, seed=1).fit(X2, y, groups=groups)
    assert len(calls) == 8


def test_a_class_in_one_group_only_is_a_clear_error(fitted):
    _, X, y, _ = fitted
    groups = np.repeat(["a", "b", "c"], 200)
    y = y.copy()
    y[(y == "sad") & (groups != "c")] = "angry"  # sad only in corpus c
    with pytest.raises(ValueError, match=r"\['sad'\] occur only in group\(s\) 'c'"):
        DecisionMap(steps=5).fit(X, y, groups=groups)
