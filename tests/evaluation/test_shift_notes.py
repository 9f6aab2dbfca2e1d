from emolens.evaluation.runner import shift_notes


def test_models_sharing_a_diagnosis_are_listed_once():
    shifts = [
        ("svc", "b", "far away"),
        ("svc", "b", "far away"),
        ("dae_svc", "b", "far away"),
        ("svc", "c", "collapsed"),
    ]
    runs = {("svc", "b"): 3, ("dae_svc", "b"): 3, ("svc", "c"): 3}
    notes = shift_notes(shifts, runs)
    assert len(notes) == 2
    assert notes[0] == "b, flagged for svc (2 of 3 runs), dae_svc (1 of 3 runs): far away"
    assert notes[1].startswith("c, flagged for svc (1 of 3 runs)")
