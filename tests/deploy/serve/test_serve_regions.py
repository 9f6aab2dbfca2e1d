"""Latent regions and the attribution reference: computed by build_bundle, read back safely."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from emolens.deploy.regions import (
    attribution_reference,
    ellipse,
    latent_regions,
    read_reference,
    read_regions,
)


def test_latent_regions_are_class_means_and_covariances():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(60, 2))
    y = np.array(["neutral", "happy", "sad"] * 20, dtype=object)
    y[:2] = "angry"  # two rows only: no covariance, class left out
    reg = latent_regions(z, y, ["neutral", "happy", "sad", "angry"])
    assert set(reg["classes"]) == {"neutral", "happy", "sad"}
    for c, d in reg["classes"].items():
        rows = z[y == c]
        assert d["n"] == len(rows)
        np.testing.assert_allclose(d["mean"], rows.mean(0), rtol=1e-5)
        np.testing.assert_allclose(d["cov"], np.cov(rows, rowvar=False), rtol=1e-5, atol=1e-9)
    back, why = read_regions({"latent_regions": reg}, 2)
    assert why == "" and set(back) == set(reg["classes"])
    with pytest.raises(ValueError, match="do not match"):
        latent_regions(z, y[:10], ["neutral"])


@pytest.mark.parametrize("mass", [0.5, 0.9])
def test_ellipse_holds_its_mass(mass):
    rng = np.random.default_rng(1)
    cov = np.array([[2.0, 1.2], [1.2, 1.0]])
    mean = np.array([1.0, -2.0])
    pts = rng.multivariate_normal(mean, cov, size=20_000)
    e = ellipse(mean, cov, mass)
    a = np.radians(e["angle"])
    d = pts - [e["cx"], e["cy"]]
    u = d @ [np.cos(a), np.sin(a)]
    v = d @ [-np.sin(a), np.cos(a)]
    inside = (u / e["rx"]) ** 2 + (v / e["ry"]) ** 2 <= 1
    assert abs(inside.mean() - mass) < 0.015
    assert e["rx"] >= e["ry"] > 0


def test_old_or_malformed_metadata_is_reported_not_raised():
    regions, why = read_regions({}, 2)
    assert regions is None and "no latent regions" in why
    bad = {"latent_regions": {"classes": {"sad": {"n": 3, "mean": [0.0], "cov": [[1.0]]}}}}
    regions, why = read_regions(bad, 2)
    assert regions is None and "malformed" in why
    ref, why = read_reference({}, 88)
    assert ref is None and "no neutral reference" in why
    ref, why = read_reference({"attribution_reference": {"values": [0.0] * 3}}, 88)
    assert ref is None and "shape" in why
    assert attribution_reference(np.zeros((3, 2)), ["sad"] * 3) is None


def test_build_bundle_stores_regions_and_reference(bundle, synth):
    """The regions are those of the final model's training latents; the reference is the
    neutral mean of the scaled training input (what the report uses for DeepLIFT)."""
    from emolens.deploy.bundle import load_bundle, save_bundle

    X, m = synth["X"], synth["manifest"]
    X = X[X.index.get_level_values("corpus") == synth["names"][0]]
    y = m.set_index("file").loc[X.index.get_level_values("file"), "label4"].astype(str).to_numpy()
    pipe = bundle.pipeline
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        Z = pipe.named_steps["scale"].transform(X)
    latent = pipe.named_steps["reduce"].transform(Z)
    regions, why = read_regions(bundle.info, 2)
    assert why == ""
    assert set(regions) == set(bundle.labels)
    for c in bundle.labels:
        np.testing.assert_allclose(regions[c]["mean"], latent[y == c].mean(0), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(regions[c]["cov"], np.cov(latent[y == c], rowvar=False),
                                   rtol=1e-4, atol=1e-6)
    ref, why = read_reference(bundle.info, len(bundle.feature_names))
    np.testing.assert_allclose(ref, np.asarray(Z)[y == "neutral"].mean(0), rtol=1e-4, atol=1e-6)
    # a few numbers, not training features: 5 per class + 88 for the reference
    assert len(bundle.info["attribution_reference"]["values"]) == len(bundle.feature_names)


def test_regions_round_trip_through_a_saved_bundle(bundle, tmp_path):
    from emolens.deploy.bundle import load_bundle, save_bundle

    back = load_bundle(save_bundle(bundle, tmp_path / "b"))
    assert back.info["latent_regions"] == bundle.info["latent_regions"]
    assert back.info["attribution_reference"] == bundle.info["attribution_reference"]
    # an older bundle (no regions) still loads
    old = dataclasses.replace(bundle, info={k: v for k, v in bundle.info.items()
                                            if k not in ("latent_regions", "attribution_reference")})
    again = load_bundle(save_bundle(old, tmp_path / "old"))
    assert "latent_regions" not in again.info
    assert isinstance(pd.DataFrame(again.info.get("training", {}), index=[0]), pd.DataFrame)
