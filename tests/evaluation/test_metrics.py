"""Metrics against hand-computed values."""

import numpy as np
import pytest

from emolens import LABELS
from emolens.evaluation.metrics import bootstrap_ua, confusion, scores

# 10 utterances: neutral 4, happy 2, sad 2, angry 2
Y_TRUE = ["neutral"] * 4 + ["happy"] * 2 + ["sad"] * 2 + ["angry"] * 2
Y_PRED = ["neutral", "neutral", "neutral", "sad", "happy", "angry", "sad", "sad", "angry", "angry"]


def test_scores_match_hand_computed_values():
    s = scores(Y_TRUE, Y_PRED)
    # recalls: neutral 3/4, happy 1/2, sad 2/2, angry 2/2
    assert s["recall_neutral"] == pytest.approx(0.75)
    assert s["recall_happy"] == pytest.approx(0.5)
    assert s["recall_sad"] == pytest.approx(1.0)
    assert s["recall_angry"] == pytest.approx(1.0)
    assert s["ua"] == pytest.approx((0.75 + 0.5 + 1 + 1) / 4)
    assert s["wa"] == pytest.approx(8 / 10)
    # F1: neutral p=3/3 r=3/4 -> 6/7; happy p=1 r=1/2 -> 2/3; sad p=2/3 r=1 -> 4/5;
    # angry p=2/3 r=1 -> 4/5
    assert s["macro_f1"] == pytest.approx((6 / 7 + 2 / 3 + 0.8 + 0.8) / 4)
    assert s["n"] == 10


def test_absent_class_recall_is_nan_and_ua_uses_present_classes():
    s = scores(["happy", "sad", "sad"], ["happy", "happy", "sad"])
    assert np.isnan(s["recall_neutral"]) and np.isnan(s["recall_angry"])
    assert s["ua"] == pytest.approx((1 + 0.5) / 2)


def test_confusion_rows_true_columns_predicted():
    cm = confusion(Y_TRUE, Y_PRED)
    assert list(cm.index) == list(LABELS) and list(cm.columns) == list(LABELS)
    assert cm.loc["neutral", "sad"] == 1
    assert cm.loc["happy", "angry"] == 1
    assert cm.to_numpy().sum() == 10
    assert np.trace(cm.to_numpy()) == 8


def test_bootstrap_ci_contains_point_estimate_and_is_seeded():
    rng = np.random.default_rng(1)
    y = rng.choice(LABELS, 200)
    p = np.where(rng.random(200) < 0.6, y, rng.choice(LABELS, 200))
    low, high = bootstrap_ua(y, p, n_resamples=500, seed=3)
    ua = scores(y, p)["ua"]
    assert low < ua < high
    assert high - low < 0.3
    assert bootstrap_ua(y, p, n_resamples=500, seed=3) == (low, high)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="equal length"):
        scores(["happy"], ["happy", "sad"])
    with pytest.raises(ValueError, match="empty"):
        scores([], [])


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_scores_equal_sklearn_metrics_on_random_labels():
    # scores() derives everything from one confusion matrix; it must equal sklearn's metrics,
    # including a predicted label outside the four classes and a class absent from y_true.
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, recall_score

    rng = np.random.default_rng(3)
    labels = np.array(["neutral", "happy", "sad", "angry", "other"])
    for trial in range(20):
        y_true = labels[rng.integers(0, 3 if trial % 2 else 4, 60)]
        y_pred = labels[rng.integers(0, 5, 60)]
        got = scores(y_true, y_pred)
        present = [lab for lab in LABELS if lab in set(y_true)]
        assert got["ua"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
        assert got["wa"] == pytest.approx(accuracy_score(y_true, y_pred))
        assert got["macro_f1"] == pytest.approx(
            f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))
        rec = recall_score(y_true, y_pred, labels=list(LABELS), average=None, zero_division=0)
        for lab, r in zip(LABELS, rec):
            if lab in present:
                assert got[f"recall_{lab}"] == pytest.approx(r)
            else:
                assert np.isnan(got[f"recall_{lab}"])
