"""Latent statistics on constructed latents with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens.interpret import latent_stats as ls

EMOTIONS = np.array(["neutral", "happy", "sad", "angry"])
CENTRES = {"neutral": (0.0, 0.0), "happy": (4.0, 4.0), "sad": (-4.0, 0.0), "angry": (4.0, -4.0)}


def _clustered(n_per=40, corpora=("a", "b"), offset=(0.0, 0.0), seed=0):
    """Emotion-clustered 2-D latent; corpus b is shifted by ``offset``."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in corpora:
        for e in EMOTIONS:
            z = rng.normal(CENTRES[e], 0.5, size=(n_per, 2))
            if c == corpora[-1]:
                z = z + np.asarray(offset)
            rows += [(c, e, *v) for v in z]
    return pd.DataFrame(rows, columns=["corpus", "emotion", "z1", "z2"])


def test_silhouette_emotion_high_corpus_low():
    d = _clustered()
    Z = d[["z1", "z2"]]
    assert ls.silhouette_by(Z, d["emotion"]) > 0.6
    assert abs(ls.silhouette_by(Z, d["corpus"])) < 0.1


def test_kmeans_ami_recovers_emotion_not_corpus():
    d = _clustered()
    Z = d[["z1", "z2"]]
    assert ls.kmeans_ami(Z, d["emotion"]) > 0.9
    assert ls.kmeans_ami(Z, d["corpus"]) < 0.1


def test_knn_corpus_at_chance_without_offset_and_perfect_with_large_offset():
    same = _clustered()
    r = ls.knn_predictability(same[["z1", "z2"]], same["corpus"])
    assert r["chance"] == pytest.approx(0.5)
    assert abs(r["balanced_accuracy"] - 0.5) < 0.15
    far = _clustered(offset=(50.0, 0.0))
    r = ls.knn_predictability(far[["z1", "z2"]], far["corpus"])
    assert r["balanced_accuracy"] == pytest.approx(1.0)


def test_eta_squared_of_known_offset():
    # Two corpora of equal size, z1 = ±delta/2 exactly plus noise of known variance: the
    # between-corpus share of z1's variance is (delta/2)² / ((delta/2)² + s²).
    rng = np.random.default_rng(1)
    n, delta, s = 20000, 2.0, 1.0
    corpus = np.repeat(["a", "b"], n)
    z1 = np.where(corpus == "a", -delta / 2, delta / 2) + rng.normal(0, s, 2 * n)
    z2 = rng.normal(0, 1, 2 * n)
    eta = ls.eta_squared(np.c_[z1, z2], corpus)
    expected = (delta / 2) ** 2 / ((delta / 2) ** 2 + s**2)
    assert eta["z1"] == pytest.approx(expected, abs=0.01)
    assert eta["z2"] == pytest.approx(0.0, abs=0.01)
    # pooled: between SS only in z1, total SS = both dims
    assert eta["pooled"] == pytest.approx((delta / 2) ** 2 / ((delta / 2) ** 2 + 2 * s**2),
                                          abs=0.01)


def test_eta_squared_exact_without_noise():
    Z = np.array([[0.0], [0.0], [2.0], [2.0]])
    assert ls.eta_squared(Z, ["a", "a", "b", "b"])["z1"] == pytest.approx(1.0)


@pytest.mark.parametrize("angle", [30.0, 90.0, 135.0])
def test_shift_angle_of_rotated_corpus(angle):
    d = _clustered(corpora=("a",), n_per=60)
    theta = np.radians(angle)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    b = d.copy()
    b["corpus"] = "b"
    b[["z1", "z2"]] = d[["z1", "z2"]].to_numpy() @ rot.T * 2.0  # rotate and double
    both = pd.concat([d, b], ignore_index=True)
    shifts = ls.emotion_shifts(both[["z1", "z2"]], both["emotion"], both["corpus"])
    assert set(shifts["emotion"]) == {"angry", "sad", "happy"}
    angles = ls.shift_angles(shifts)
    assert len(angles) == 3
    np.testing.assert_allclose(angles["angle_deg"], angle, atol=1e-6)
    np.testing.assert_allclose(angles["length_ratio"], 2.0, rtol=1e-9)
    a_angry = shifts.query("corpus == 'a' and emotion == 'angry'").iloc[0]
    b_angry = shifts.query("corpus == 'b' and emotion == 'angry'").iloc[0]
    assert (b_angry["direction_deg"] - a_angry["direction_deg"]) % 360 == pytest.approx(angle)


def test_summary_table_and_bad_input():
    d = _clustered()
    table = ls.corpus_emotion_summary(d[["z1", "z2"]], {"emotion": d["emotion"],
                                                        "corpus": d["corpus"]})
    emo = table.set_index("factor").loc["emotion"]
    corp = table.set_index("factor").loc["corpus"]
    assert emo["silhouette"] > corp["silhouette"]
    assert emo["eta2_pooled"] > 0.9 and corp["eta2_pooled"] < 0.05
    with pytest.raises(ValueError, match="NaN"):
        ls.silhouette_by(np.array([[np.nan, 0.0], [1.0, 1.0]]), ["a", "b"])
    with pytest.raises(ValueError, match="entries"):
        ls.eta_squared(np.zeros((3, 2)), ["a", "b"])
