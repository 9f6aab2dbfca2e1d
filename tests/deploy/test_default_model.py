import numpy as np

from emolens.deploy.bundle import default_bundle_path, load_bundle
from emolens.deploy.predict import Predictor


def test_default_bundle_is_shipped_small_and_plain():
    path = default_bundle_path()
    assert (path / "bundle.json").is_file(), "run scripts/train_default.py"
    assert (path / "MODEL_CARD.md").is_file()
    files = [p for p in path.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1 << 20
    assert {p.suffix for p in files} <= {".json", ".safetensors", ".md"}
    card = (path / "MODEL_CARD.md").read_text()
    for needle in ("CC0", "CC BY-NC-SA 4.0", "CC BY-NC-ND 4.0", "LOCO mean", "Intended use",
                   "Limitations", "95 %"):
        assert needle in card


def test_default_bundle_predicts(make_signal):
    bundle = load_bundle()
    assert bundle.labels == ["neutral", "happy", "sad", "angry"]
    # TESS (no-derivatives license) evaluates the shipped model but never trains it
    assert set(bundle.info["training"]["corpora"]) == {"emodb", "ravdess", "nemo"}
    assert bundle.normalisation["shrink"] == "auto"  # empirical Bayes (FeatureScaler)
    assert bundle.info["model"]["name"] == "sae_svc"  # the supervised 2-D latent
    assert "tess" in bundle.info["protocol_metrics"]["zero_shot"]
    pred = Predictor()
    feats = pred.signal_features(make_signal(3.0), 16_000)
    feats.index = ["sig"]
    table, note = pred.predict_features(feats)
    assert list(table.columns[:2]) == ["file", "label"]
    np.testing.assert_allclose(table.filter(like="p_").sum(axis=1), 1.0, atol=1e-9)
    assert "training statistics" in note
