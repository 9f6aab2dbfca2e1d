from emolens.evaluation.runner import shift_notes


def _report(share=1.0, cls="angry", shifted=True, collapsed=True, mz=0.9,
            norm="z-score with training statistics"):
    return {"normalisation": norm, "n_samples": 339, "median_abs_z": mz,
            "train_median_abs_z": 0.62, "share_clipped": 0.002, "share_shifted_features": 0.34,
            "clip": 10.0, "worst_features": [["loudness", 2.1 + mz], ["F0", -1.5], ["HNR", 1.2]],
            "majority_share": share, "majority_class": cls, "shifted": shifted,
            "collapsed": collapsed, "message": "one fit's words", "fix": "Normalise per corpus."}


def test_one_paragraph_per_test_set_summarised_over_fits():
    # As in issue 11: svc collapses in every fit, 11 onto angry and 4 onto sad; the other
    # model only sees the shift. One fit's "100 % angry" must not stand for all 15.
    shifts = [("svc", "emodb", _report(cls="angry", mz=0.90)) for _ in range(11)]
    shifts += [("svc", "emodb", _report(cls="sad", share=0.95, mz=1.05)) for _ in range(4)]
    shifts += [("dae_svc", "emodb", _report(collapsed=False, share=0.5)) for _ in range(15)]
    runs = {("svc", "emodb"): 15, ("dae_svc", "emodb"): 15}
    notes = shift_notes(shifts, runs)
    assert len(notes) == 1
    note = notes[0]
    assert note.startswith("emodb: lies far outside the training distribution")
    assert "svc (15 of 15 fits), dae_svc (15 of 15 fits)" in note
    assert "median |z| 0.90–1.05" in note and "34 % of the features" in note
    assert "loudness (median z +3.0 to +3.2, in 30 of 30)" in note
    assert "svc in 15 of 15 fits (onto angry in 11, sad in 4; 95–100 % of the predictions" in note
    assert "dae_svc in" not in note.split("collapsed")[1]
    assert note.count("Normalise per corpus.") == 1
    assert "one fit's words" not in note


def test_collapse_without_shift_and_failed_diagnoses():
    shifts = [("svc", "b", _report(shifted=False, share=0.93, cls="sad")),
              ("svc", "b", "diagnosis failed: ValueError: x"),
              ("pca", "b", _report(norm="per-speaker z-score"))]
    notes = shift_notes(shifts, {("svc", "b"): 3, ("pca", "b"): 3})
    assert notes[0] == ("b: Predictions collapsed onto one class for svc in 1 of 3 fits (onto sad "
                        "in 1; 93 % of the predictions in one class) (the confusion matrix sums "
                        "all fits). Normalise per corpus.")
    assert notes[1].startswith("b: lies far outside the training distribution under per-speaker")
    assert notes[2] == "b, svc (1 of 3 fits): diagnosis failed: ValueError: x"
