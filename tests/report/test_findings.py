"""Verdicts of the three findings: numbers that force each badge, and its interval."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from emolens import LABELS
from emolens.report import build_report
from emolens.report import findings as FD
from emolens.report.html import STATUS

KINDS = {"svc": "passthrough", "uae_svc": "uae"}


def _results(diffs: dict[str, float], seeds=(0, 1, 2), spread=0.005, base=0.5):
    """Zero-shot UA rows: uae_svc = svc + diffs[test] (+ a little per-seed noise)."""
    rng = np.random.default_rng(1)
    rows = []
    for test, d in diffs.items():
        for s in seeds:
            ua_raw = base + rng.normal(0, 0.01)
            rows.append(dict(model="svc", train="a", test=test, role="test", seed=s, fold=0,
                             ua=ua_raw))
            rows.append(dict(model="uae_svc", train="a", test=test, role="test", seed=s,
                             fold=0, ua=ua_raw + d + rng.normal(0, spread)))
    for m in ("svc", "uae_svc"):
        rows.append(dict(model=m, train="a", test="a:valid", role="valid", seed=0, fold=0,
                         ua=0.9))
    return pd.DataFrame(rows)


#: finding (i): per-corpus UA differences (latent - raw) -> expected status and reason
TRANSFER_CASES = {
    "holds": ({"b": 0.05, "c": 0.06, "d": 0.04, "e": 0.05}, "excludes no effect"),
    "partly_disagree": ({"b": 0.08, "c": 0.07, "d": 0.06, "e": 0.07, "f": 0.08, "g": 0.06,
                         "h": -0.03}, "against it"),
    "partly_interval": ({"b": 0.12, "c": -0.06, "d": 0.08, "e": -0.06}, "includes no effect"),
    # the run: worse by 4.6 points on the mean, better on 1 of 9 corpora
    "fails": ({c: d for c, d in zip("bcdefghij", (0.02, -0.05, -0.06, -0.07, -0.04, -0.06,
                                                  -0.05, -0.05, -0.04))}, "against the claim"),
    "tie": ({"b": 0.004, "c": -0.003, "d": 0.002, "e": -0.004}, "tie margin"),
}


@pytest.mark.parametrize("case", sorted(TRANSFER_CASES))
def test_transfer_verdicts_follow_the_mean_and_the_interval(case):
    diffs, reason = TRANSFER_CASES[case]
    out = FD.finding_transfer(_results(diffs), KINDS)
    status = case.split("_")[0]
    assert out["status"] == status, out
    assert reason in out["reason"]
    assert out["ci_low"] <= out["estimate"] <= out["ci_high"]
    assert f"[{out['ci_low'] * 100:+.1f}, {out['ci_high'] * 100:+.1f}]" in out["interval"]
    if status == "holds":
        assert out["ci_low"] > 0
    if case == "partly_interval":
        assert out["ci_low"] < 0 < out["ci_high"]
    if status == "fails":
        assert out["wins"] == 1 and out["estimate"] < -0.04


def test_transfer_not_testable_without_an_autoencoder():
    out = FD.finding_transfer(_results({"b": 0.05}), {"svc": "passthrough"})
    assert out["status"] == "n/a" and "interval" not in out


def test_single_observation_gives_no_interval_and_never_holds():
    out = FD.finding_transfer(_results({"b": 0.05}, seeds=(0,)), KINDS)
    assert out["status"] == "partly" and np.isnan(out["ci_low"])
    assert "no interval" in out["interval"]


def test_two_stage_bootstrap_covers_the_mean_and_widens_with_spread():
    rng = np.random.default_rng(0)
    tight = rng.normal(1.0, 0.1, 40)
    wide = rng.normal(1.0, 1.0, 40)
    clusters = np.repeat(list("abcdefgh"), 5)
    lo_t, hi_t = FD.interval(FD.two_stage_bootstrap(tight, clusters))
    lo_w, hi_w = FD.interval(FD.two_stage_bootstrap(wide, clusters))
    assert lo_t < 1.0 < hi_t and lo_w < 1.0 < hi_w
    assert hi_w - lo_w > 3 * (hi_t - lo_t)
    # deterministic with the seed
    assert FD.interval(FD.two_stage_bootstrap(tight, clusters, random_state=3)) == \
        FD.interval(FD.two_stage_bootstrap(tight, clusters, random_state=3))


def _rho(per_corpus: dict[str, tuple[float, float]], fits=3, noise=0.02):
    rng = np.random.default_rng(2)
    rows = []
    for c, (a, v) in per_corpus.items():
        for f in range(fits):
            rows.append({"corpus": c, "seed": 0, "fold": f,
                         "max_abs_rho_activation": a + rng.normal(0, noise),
                         "max_abs_rho_valence": v + rng.normal(0, noise)})
    return pd.DataFrame(rows)


ACTIVATION_CASES = {
    "holds": {"a": (0.8, 0.3), "b": (0.7, 0.4), "c": (0.75, 0.3)},
    "partly": {"a": (0.8, 0.3), "b": (0.7, 0.4), "c": (0.3, 0.6)},
    "fails": {"a": (0.3, 0.7), "b": (0.4, 0.6), "c": (0.35, 0.75)},
    "tie": {"a": (0.5, 0.49), "b": (0.4, 0.41), "c": (0.45, 0.44)},
}


@pytest.mark.parametrize("status", sorted(ACTIVATION_CASES))
def test_activation_verdicts(status):
    out = FD.finding_activation(_rho(ACTIVATION_CASES[status]))
    assert out["status"] == status, out
    assert out["ci_low"] <= out["estimate"] <= out["ci_high"]
    assert f"[{out['ci_low']:+.2f}, {out['ci_high']:+.2f}]" in out["interval"]
    if status == "partly":
        assert out["behind"] == 1


def test_activation_not_testable_without_labels():
    assert FD.finding_activation(pd.DataFrame())["status"] == "n/a"


def _anger(top: dict[str, float], corpora=("a", "b", "c"), n=8, flip=None):
    """Angry DeepLIFT rows: each group's |attribution| ~ top.get(group, 0.1) (+ noise);
    ``flip`` = (corpus, mapping) overrides the levels on one corpus."""
    from emolens.features.groups import FEATURE_GROUPS

    rng = np.random.default_rng(3)
    rows = []
    for c in corpora:
        levels = dict(top)
        if flip and flip[0] == c:
            levels = flip[1]
        for i in range(n):
            for g in FEATURE_GROUPS:
                for dim in ("z1", "z2"):
                    rows.append({"sample": f"{c}/{i}", "corpus": c, "seed": 0, "fold": 0,
                                 "dimension": dim, "group": g, "emotion": "angry",
                                 "attribution": levels.get(g, 0.1) / 2
                                 + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


ANGER_CASES = {
    "holds": (_anger({"loudness": 2.0, "spectral flux": 1.5}), "every corpus"),
    "partly_one_kind": (_anger({"loudness": 2.0, "pitch": 1.5}), "only one"),
    "partly_corpus": (_anger({"loudness": 2.0, "spectral flux": 1.5}, corpora=tuple("abcdefgh"),
                             flip=("c", {"pitch": 2.0, "F1": 1.8, "F2": 1.6})), "neither"),
    "fails": (_anger({"pitch": 2.0, "F1": 1.5, "MFCC": 1.2}), "no loudness"),
}


@pytest.mark.parametrize("case", sorted(ANGER_CASES))
def test_anger_verdicts_and_rank_interval(case):
    anger, reason = ANGER_CASES[case]
    out = FD.finding_anger(anger)
    assert out["status"] == case.split("_")[0], out
    assert reason in out["reason"]
    assert out["n_corpora"] == anger["corpus"].nunique()
    lo, hi = out["ci_rank_loudness"]
    assert lo <= out["rank_loudness"] <= hi
    if case == "holds":
        assert hi <= FD.TOP and out["ci_rank_flux"][1] <= FD.TOP
        assert out["share_resamples_both_top"] > 0.95
    if case == "fails":
        assert out["rank_loudness"] > FD.TOP and out["rank_flux"] > FD.TOP


def test_anger_by_corpus_ranks_each_corpus():
    table = FD.anger_by_corpus(_anger({"loudness": 2.0}, flip=("b", {"pitch": 2.0})))
    first = table[table["rank"] == 1].set_index("corpus")["group"]
    assert first.to_dict() == {"a": "loudness", "b": "pitch", "c": "loudness"}
    assert np.allclose(table.groupby("corpus")["share"].sum(), 1.0)


def test_anger_not_testable_without_attributions():
    assert FD.finding_anger(None)["status"] == "n/a"


# -- the badge and the interval on the page ------------------------------------------------
def _results_dir(root, diffs):
    """A results directory without features or latent: only finding (i) is testable."""
    results = _results(diffs)
    rows = []
    for r in results.itertuples():
        for e in LABELS:
            rows.append(dict(file=f"{r.test}/{e}{r.seed}.wav", model=r.model, seed=r.seed,
                             fold=r.fold, train=r.train, test=r.test, role=r.role,
                             y_true=e, y_pred=e if e != "angry" else "sad"))
    preds = pd.DataFrame(rows)
    manifest = (preds.drop_duplicates("file")[["file", "test"]]
                .assign(corpus=lambda d: d["test"].str.split(":").str[0],
                        speaker=lambda d: d["corpus"] + ":s"))
    results.to_csv(root / "results.csv", index=False)
    preds.to_parquet(root / "predictions.parquet", index=False)
    manifest.drop(columns="test").to_csv(root / "manifest.csv", index=False)
    return root


@pytest.mark.parametrize("case", sorted(TRANSFER_CASES))
def test_badge_and_interval_on_the_page(case, tmp_path):
    diffs, _ = TRANSFER_CASES[case]
    run = _results_dir(tmp_path, diffs)
    text = build_report(run).read_text(encoding="utf-8")
    status = case.split("_")[0]
    found = json.loads((run / "interpret" / "findings.json").read_text())
    assert [f["status"] for f in found] == [status, "n/a", "n/a"]
    box = text[text.index('<div class="verdict'):]
    box = box[:box.index("</div>")]
    assert f'<span class="badge">{STATUS[status][1]}</span>' in box
    assert "95 % interval [" in box and found[0]["reason"] in box
    table = pd.read_csv(run / "interpret" / "findings.csv", na_values=[""],
                        keep_default_na=False)
    assert list(table["status"]) == [status, "n/a", "n/a"]
    assert table.loc[0, "ci_low"] <= table.loc[0, "estimate"] <= table.loc[0, "ci_high"]
    # the n/a boxes say "not testable"
    assert text.count('<span class="badge">not testable</span>') == 2
