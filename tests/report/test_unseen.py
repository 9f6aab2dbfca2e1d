import pandas as pd

from emolens.report.findings import finding_transfer, unseen_tests


def _pairwise_results():
    rows = []
    for model, ua_b, ua_a in [("svc", 0.30, 0.35), ("dae_svc", 0.50, 0.45)]:
        rows += [
            dict(model=model, train="a", test="a:valid", role="valid", ua=0.8),
            dict(model=model, train="a", test="b", role="test", ua=ua_b),
            dict(model=model, train="b", test="b:valid", role="valid", ua=0.8),
            dict(model=model, train="b", test="a", role="test", ua=ua_a),
        ]
    return pd.DataFrame(rows)


def test_pairwise_corpora_are_unseen_in_the_rows_that_did_not_train_on_them():
    results = _pairwise_results()
    assert sorted(unseen_tests(results)) == ["a", "b"]
    out = finding_transfer(results, {"svc": "passthrough", "dae_svc": "dae"})
    assert out["status"] == "holds"
    assert out["n_unseen"] == 2


def test_a_training_corpus_is_not_unseen():
    results = pd.DataFrame(
        [dict(model="svc", train="a+b", test="b", role="test", ua=0.5),
         dict(model="svc", train="a+b", test="c", role="test", ua=0.5)]
    )
    assert unseen_tests(results) == ["c"]
