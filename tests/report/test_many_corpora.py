"""A run with nine zero-shot corpora: the page stays readable and self-contained."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from emolens.report import build_report
from emolens.report import per_corpus as PC
from emolens.report.analyses import fit_label, one_class_fits
from emolens.report.build import REPORT_STEPS
from emolens.report.html import details, rows_outside_details
from emolens.report.page import MAX_ROWS

CORPORA = tuple("abcdefghij")  # a trains; b..j (9) are zero-shot


@pytest.fixture(scope="module")
def many(tmp_path_factory, make_run):
    run = make_run(tmp_path_factory.mktemp("many"), corpora=CORPORA, epochs=40)
    steps = []
    path = build_report(run, max_samples=40, n_repeats=1, max_fits=2, progress=steps.append)
    return run, path.read_text(encoding="utf-8"), steps


def test_many_corpora_sections_and_row_limits(many):
    run, text, steps = many
    assert steps == list(REPORT_STEPS[:4]) + [REPORT_STEPS[4] + ": off"] + list(
        REPORT_STEPS[5:])
    # self-contained: no external resources, no scripts
    assert not re.search(r'(src|href)="(https?:|//)', text)
    assert "<script" not in text and "<link" not in text
    # the findings with intervals, the per-corpus figures and the paragraphs
    assert text.count('<span class="ci">') == 3
    for name in ("activation_by_corpus", "anger_by_corpus", "shift_arrows", "angle_heatmaps"):
        assert (run / "interpret" / "figures" / f"{name}.png").is_file(), name
    assert "What this run says, per zero-shot corpus" in text
    for c in CORPORA[1:]:
        assert f"<p><strong>{c}.</strong>" in text
    notes = pd.read_csv(run / "interpret" / "corpus_notes.csv")
    assert list(notes["corpus"]) == list(CORPORA[1:])
    assert notes["text"].str.contains("% UA here").all()
    # every section keeps its visible tables short; the long ones are collapsed
    rows = rows_outside_details(text)
    assert max(rows.values()) <= MAX_ROWS, rows
    assert "<details><summary>Angle table (135 rows" in text  # 3 emotions x 45 pairs
    assert "<details><summary>Confusion matrices of svc (9 test sets)" in text
    by = pd.read_csv(run / "interpret" / "activation_by_corpus.csv")
    assert set(by["corpus"]) == set(CORPORA) and by["max_abs_rho_activation"].notna().all()
    anger = pd.read_csv(run / "interpret" / "anger_by_corpus.csv")
    assert anger["corpus"].nunique() >= 8
    # the latent grid keeps no empty band above its first row: the top rows of the PNG
    # below the legend are not blank for long
    from io import BytesIO

    from PIL import Image

    img = np.asarray(Image.open(BytesIO((run / "interpret" / "figures" / "latent.png")
                                        .read_bytes())).convert("L"))
    ink = np.flatnonzero((img < 200).any(axis=1))
    assert ink[0] < 40 and np.diff(ink).max() < 0.08 * img.shape[0]


def test_paragraph_words_follow_the_confusions():
    shares = pd.DataFrame([[0.9, 0.0, 0.1, 0.0], [0.1, 0.8, 0.1, 0.0], [0.1, 0.0, 0.9, 0.0],
                           [0.5, 0.0, 0.49, 0.01]],
                          index=["neutral", "happy", "sad", "angry"],
                          columns=["neutral", "happy", "sad", "angry"])
    text, rows = PC.describe_confusions(shares)
    assert text == ("angry utterances were called neutral 50 % and sad 49 % of the time: anger "
                    "is expressed with lower activation here than the model learned")
    assert rows[0]["recall"] == pytest.approx(0.01)
    shares.loc["happy"] = [0.0, 0.3, 0.0, 0.7]
    text, _ = PC.describe_confusions(shares)
    assert text.startswith("angry") and "happy utterances were called angry 70 %" in text
    assert "valence is not" in text


def test_angle_matrix_is_symmetric():
    angles = pd.DataFrame({"emotion": "sad", "corpus_a": ["a", "a", "b"],
                           "corpus_b": ["b", "c", "c"], "angle_deg": [10.0, 120.0, 95.0]})
    m = PC.angle_matrix(angles, "sad")
    assert list(m.index) == ["a", "b", "c"]
    assert np.allclose(m.to_numpy(), m.to_numpy().T) and m.loc["a", "c"] == 120
    assert (np.diag(m) == 0).all()


def test_paragraph_reports_rotation_and_warnings():
    results = pd.DataFrame([dict(model=m, train="a", test=t, role="test", seed=0, fold=0,
                                 ua=u) for m, t, u in (("x", "b", 0.4), ("x", "c", 0.6))])
    preds = pd.DataFrame([dict(model="x", train="a", test="b", role="test", seed=0, fold=0,
                               y_true=e, y_pred=e) for e in ("neutral", "sad")])
    angles = pd.DataFrame({"emotion": ["sad", "sad"], "corpus_a": ["a", "a"],
                           "corpus_b": ["b", "c"], "angle_deg": [135.0, 20.0]})
    notes = PC.corpus_paragraphs(results, preds, {}, angles,
                                 ["b, flagged for x: b lies far outside", "bc is fine"])
    b, c = notes.set_index("corpus").loc["b"], notes.set_index("corpus").loc["c"]
    assert "below its mean of 50.0 %" in b["text"]
    assert "sad shift points 135° away from a's" in b["text"] and b["rotated"] == "sad"
    assert b["warnings"] == 1 and c["warnings"] == 0
    assert "lines up with the training corpus" in c["text"]
    assert "says little" not in b["text"]
    # a short shift makes the angle uncertain, and the paragraph says so; pairs listed in
    # either order are averaged as one
    angles = pd.DataFrame({"emotion": "sad", "corpus_a": ["a", "b"], "corpus_b": ["b", "a"],
                           "angle_deg": [130.0, 140.0], "length_ratio": [0.1, 10.0]})
    b = PC.corpus_paragraphs(results, preds, {}, angles).set_index("corpus").loc["b"]
    assert "points 135° away from a's (one of the two shifts is under a quarter" in b["text"]


def test_rows_outside_details_counts_visible_rows_only():
    page = ('<h2 id="s1">One</h2><table><tr><td>1</td></tr><tr><td>2</td></tr></table>'
            + details("more", "<table><tr><td>3</td></tr></table>")
            + '<h2 id="s2">Two &amp; three</h2><p>none</p>')
    assert rows_outside_details(page) == {"One": 2, "Two & three": 0}


def test_one_class_fits_and_pairwise_fit_label():
    preds = pd.DataFrame({"model": "m", "seed": 0, "fold": [0, 0, 1, 1],
                          "train": ["a", "a", "b", "b"], "test": "t", "role": "test",
                          "y_pred": ["sad", "sad", "sad", "angry"]})
    single = one_class_fits(preds, "m")
    assert single[["fold", "predicted", "n"]].values.tolist() == [[0, "sad", 2]]
    assert fit_label(preds, "m", 0, 1) == "seed 0 fold 1, trained on b"
    assert fit_label(preds.assign(train="a"), "m", 0, 1) == "seed 0 fold 1"


def test_paragraph_takes_the_training_corpora_from_the_test_sets():
    # the training set's name says nothing about its corpora: test_sets.json does
    results = pd.DataFrame([dict(model="x", train="pool", test=t, role="test", seed=0, fold=0,
                                 ua=0.5) for t in ("b", "c")])
    preds = pd.DataFrame([dict(model="x", train="pool", test="b", role="test", seed=0, fold=0,
                               y_true="sad", y_pred="sad")])
    angles = pd.DataFrame({"emotion": "sad", "corpus_a": ["a", "a"], "corpus_b": ["b", "c"],
                           "angle_deg": [135.0, 20.0]})
    sets = pd.DataFrame([dict(train="pool", test=t, role="test", train_corpora=["a"],
                              corpora=[t], unseen=True) for t in ("b", "c")])
    b = PC.corpus_paragraphs(results, preds, {}, angles, test_sets=sets).set_index("corpus")
    assert "sad shift points 135° away from a's" in b.loc["b", "text"]
    assert "lines up with the training corpus" in b.loc["c", "text"]
    # without them the name is the only clue, and "pool" is no corpus
    b = PC.corpus_paragraphs(results, preds, {}, angles).set_index("corpus")
    assert b["max_angle"].isna().all()
