"""Explanations: DeepLIFT by feature group adds up; old bundles still explain what they can."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from emolens.deploy.predict import Predictor
from emolens.deploy.serve.explain import Explainer, envelope


def _features(pred, signals):
    rows = [pred.signal_features(s, 16_000) for s in signals]
    f = pd.concat(rows, ignore_index=True)
    f.index = pd.Index([f"clip{i}" for i in range(len(rows))], name="file")
    return f


def test_group_attributions_add_up_to_the_move_from_the_reference(bundle, make_signal):
    pred = Predictor(bundle)
    ex = Explainer(pred)
    applied = pred.apply(_features(pred, [make_signal(1.5, f0=100 + 40 * i, seed=i) for i in range(4)]),
                         ["a"] * 4)
    attr = ex.attribution(applied.scaled, applied.latent)
    assert len(attr) == 4
    from emolens.features.groups import FEATURE_GROUPS

    for a, z in zip(attr, applied.latent):
        assert {g["group"] for g in a["groups"]} == set(FEATURE_GROUPS)  # the paper's 27
        move = np.array([sum(g[d] for g in a["groups"]) for d in ("z1", "z2")])
        # DeepLIFT's completeness: contributions sum to z(x) - z(reference)
        np.testing.assert_allclose(move, z - ex.reference_latent, atol=2e-4)
        np.testing.assert_allclose(sum(g["along"] for g in a["groups"]), a["distance"], atol=2e-4)
        along = [abs(g["along"]) for g in a["groups"]]
        assert along == sorted(along, reverse=True)
    assert ex.reference_label == "neutral"
    assert ex.regions is not None


def test_old_bundle_without_regions_or_reference(bundle):
    old = dataclasses.replace(bundle, info={k: v for k, v in bundle.info.items()
                                            if k not in ("latent_regions", "attribution_reference")})
    ex = Explainer(Predictor(old))
    reg = ex.regions_json()
    assert reg["available"] is False and "no latent regions" in reg["reason"]
    assert ex.reference_label == "average" and "no neutral reference" in ex.reference_text
    np.testing.assert_array_equal(ex.reference, 0.0)


def test_timeline_uses_the_streaming_windows(bundle, make_signal):
    ex = Explainer(Predictor(bundle))
    tl = ex.timeline(make_signal(8.0)[:, None], 16_000)
    assert tl["hop"] == 1.0 and tl["window"] == 3.0
    assert [r["start"] for r in tl["rows"]] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(abs(sum(r[f"p_{c}"] for c in bundle.labels) - 1) < 1e-9 for r in tl["rows"])
    # a long clip gets a longer hop, never more than max_windows windows
    long = ex.timeline(np.zeros((16_000 * 40, 1), np.float32) + make_signal(40.0)[:, None], 16_000,
                       max_windows=10)
    assert len(long["rows"]) <= 10 and long["hop"] > 1


def test_envelope():
    x = np.sin(np.linspace(0, 100, 16_000)).astype(np.float32)
    e = envelope(x, 16_000, points=100)
    assert len(e["min"]) == len(e["max"]) == 100 and e["duration"] == 1.0
    assert max(e["max"]) <= 1 and min(e["min"]) >= -1 and max(e["max"]) > 0.99
