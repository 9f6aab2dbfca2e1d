"""Every figure function draws what its table says (axes, labels, artists, values)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from emolens.interpret import physical as ph
from emolens.report import figures as F

PNG = b"\x89PNG"


@pytest.fixture
def latent():
    rng = np.random.default_rng(0)
    emo = np.tile(["neutral", "happy", "sad", "angry"], 30)
    return pd.DataFrame({"corpus": np.repeat(["x", "y", "z"], 40), "emotion": emo,
                         "z1": rng.normal(size=120), "z2": rng.normal(size=120),
                         "z3": rng.normal(size=120),
                         "activation": pd.Series(emo).map({"neutral": 0, "happy": .5,
                                                           "sad": -.6, "angry": .8}),
                         "valence": rng.normal(size=120)})


def test_latent_grid_and_tsne(tmp_path, latent):
    fig = F.latent_grid(latent)
    scatters = fig.axes[0::3]  # per corpus: scatter, top density, right density
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == [
        "x (n = 40)", "y (n = 40)", "z (n = 40)"]
    # one point cloud per emotion, every utterance of the corpus drawn once
    assert [len(ax.collections) for ax in scatters] == [4, 4, 4]
    assert [sum(len(c.get_offsets()) for c in ax.collections) for ax in scatters] == [40] * 3
    assert scatters[0].get_xlabel() == "z1"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["neutral", "happy", "sad",
                                                                  "angry"]
    path = F.save(fig, tmp_path / "latent.png")
    assert path.read_bytes().startswith(PNG)
    emb = F.tsne_2d(latent[["z1", "z2", "z3"]])
    assert emb.shape == (120, 2)
    with pytest.raises(ValueError, match="column"):
        F.latent_grid(latent, x="nope")


def test_separation_heatmap(latent):
    seps = pd.concat([ph.pair_separations(latent.sample(frac=.8, random_state=s),
                                          ["z1", "z2", "activation"]) for s in range(3)])
    ax = F.separation_boxplot(seps).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "angry–happy", "angry–neutral", "angry–sad", "happy–neutral", "happy–sad",
        "neutral–sad"]
    assert ax.get_ylabel().startswith("Bhattacharyya separation")
    table = ph.spearman_table(latent[["z1", "z2"]], latent[["activation", "valence"]])
    groups = ph.group_correlations(table)
    ax = F.correlation_heatmap(groups).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["z1", "z2"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["activation", "valence"]
    # each cell shows its rho (no FDR star here: nothing is significant on noise)
    rho = groups.set_index(["group", "dimension"])["rho"]
    assert [t.get_text() for t in ax.texts] == [
        f"{rho[(g, d)]:.2f}" for g in ("activation", "valence") for d in ("z1", "z2")]


def test_violins_and_bars():
    rng = np.random.default_rng(1)
    long = pd.DataFrame([(i, e, d, g, rng.normal()) for e in ("neutral", "angry")
                         for g in ("loudness", "pitch") for d in ("z1", "z2") for i in range(10)],
                        columns=["sample", "emotion", "dimension", "group", "attribution"])
    fig = F.attribution_violins(long)
    assert [ax.get_title() for ax in fig.axes] == ["neutral (n = 10)", "angry (n = 10)"]
    assert sorted(t.get_text() for t in fig.axes[0].get_yticklabels()) == ["loudness", "pitch"]
    imp = pd.DataFrame({"test": ["b"] * 4 + ["c"] * 4, "group": ["loudness", "pitch"] * 4,
                        "importance": rng.normal(size=8)})
    fig = F.importance_bars(imp)
    assert [ax.get_title() for ax in fig.axes] == ["b", "c"]
    # one bar per group, as long as the group's mean importance in that test set
    mean = imp.groupby(["test", "group"])["importance"].mean()
    for ax in fig.axes:
        groups = [t.get_text() for t in ax.get_yticklabels()]
        widths = [p.get_width() for p in ax.patches]
        np.testing.assert_allclose(widths, [mean[(ax.get_title(), g)] for g in groups])


def test_emotion_colours_are_fixed_okabe_ito():
    assert F.emotion_color("angry") == "#D55E00" and F.emotion_color("sad") == "#0072B2"
    assert F.emotion_color("happy") == "#E69F00"


def test_html_table_aligns_text_left_and_numbers_right():
    from emolens.report import html as H

    frame = pd.DataFrame({"test": ["a:valid", "b"], "svc": ["93.8 ± 1.7", "—"],
                          "delta": [-0.1234, np.nan], "n": [3, 4]})
    out = H.table(frame)
    heads = re.findall(r'<th class="(\w)">(\w+)</th>', out)
    assert heads == [("l", "test"), ("r", "svc"), ("r", "delta"), ("r", "n")]
    assert '<td class="l">a:valid</td>' in out and '<td class="r">93.8 ± 1.7</td>' in out
    assert '<td class="r">-0.123</td>' in out and '<td class="r"></td>' in out


def test_latent_grid_own_axes_when_an_outlier_squeezes_a_cloud(latent):
    squeezed = latent.copy()
    squeezed.loc[squeezed["corpus"] == "x", ["z1", "z2"]] += 40  # x lies far from y, z
    assert F.squeezed_corpora(latent) == []
    assert sorted(F.squeezed_corpora(squeezed)) == ["x", "y", "z"]
    shared = F.latent_grid(squeezed)
    own = F.latent_grid(squeezed, axes="own")
    # the scatter axes are every third axes (scatter, top density, right density)
    lims = lambda fig: [ax.get_xlim() for ax in fig.axes[0::3]]  # noqa: E731
    assert len(set(lims(shared))) == 1 and len(set(lims(own))) == 3
    with pytest.raises(ValueError, match="axes"):
        F.latent_grid(latent, axes="mine")


def test_permutation_bars_have_a_legend():
    table = pd.DataFrame({"test": "b", "group": ["loudness", "pitch"] * 3,
                          "importance": [0.1, -0.02, 0.12, -0.01, 0.08, -0.03]})
    fig = F.importance_bars(table)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0].startswith("mean drop") and "sd" in labels[2]
    assert F.importance_bars(table, legend=None).legends == []


def test_shift_arrows_angle_heatmaps_and_corpus_heatmap():
    pos = pd.DataFrame({"corpus": np.repeat(["a", "b"], 4),
                        "emotion": ["neutral", "happy", "sad", "angry"] * 2,
                        "z1": [0, 1, -1, 1.5, 0.2, 1.2, -0.8, -1.5],
                        "z2": [0, 1, -1, 0.5, 0.1, 0.9, -1.1, 0.4]})
    fig = F.shift_arrows(pos, highlight=["a"])
    assert [ax.get_title() for ax in fig.axes] == ["neutral → angry", "neutral → sad",
                                                   "neutral → happy"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a (train)", "b"]
    assert F.to_png(fig).startswith(PNG)
    m = pd.DataFrame([[0, 170.0], [170.0, 0]], index=["a", "b"], columns=["a", "b"])
    fig = F.angle_heatmaps({"angry": m, "sad": m * 0.1})
    assert "170" in [t.get_text() for t in fig.axes[0].texts]
    assert F.to_png(fig).startswith(PNG)
    wide = pd.DataFrame({"s": [0.9, 0.1]}, index=["a", "b"])
    fig = F.corpus_heatmap(wide, "t", "l", 0, 1, cmap="Blues")
    # dark cells get white text, light cells black
    assert [t.get_color() for t in fig.axes[0].texts] == ["white", "black"]
