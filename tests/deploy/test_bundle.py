import json
import pickle
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from emolens.deploy.bundle import BundleError, check_feature_names, load_bundle, save_bundle
from emolens.deploy.predict import Predictor


def _feats(synth, corpus_index=1):
    X = synth["X"]
    rows = X.index.get_level_values("corpus") == synth["names"][corpus_index]
    return X[rows].droplevel(["corpus", "speaker"]), X[rows].index.get_level_values("speaker")


@pytest.mark.parametrize("suffix", ["", ".zip"])
def test_round_trip_identical_predictions(bundle, synth, tmp_path, suffix):
    path = save_bundle(bundle, tmp_path / f"model{suffix}")
    again = load_bundle(path)
    feats, spk = _feats(synth)
    a, note_a = Predictor(bundle).predict_features(feats, spk)
    b, note_b = Predictor(again).predict_features(feats, spk)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert note_a == note_b
    assert again.info == json.loads(json.dumps(bundle.info))
    assert again.ood.threshold_ == bundle.ood.threshold_


def test_bundle_holds_only_data_files(bundle_dir):
    suffixes = {p.suffix for p in bundle_dir.rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".safetensors"}
    meta = json.loads((bundle_dir / "bundle.json").read_text())
    assert len(meta["feature_names"]) == 88
    assert meta["labels"] == ["neutral", "happy", "sad", "angry"]
    assert meta["normalisation"]["by"] == "speaker"
    for key in ("emolens", "torch", "scikit-learn", "numpy"):
        assert key in meta["versions"]


@pytest.fixture
def copy(bundle_dir, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(bundle_dir, dst)
    return dst


def _edit(path, **changes):
    meta = json.loads((path / "bundle.json").read_text())
    meta.update(changes)
    (path / "bundle.json").write_text(json.dumps(meta))
    return meta


def test_pickle_file_refused(copy):
    (copy / "pipeline" / "evil.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(BundleError, match=r"not plain data.*evil\.pkl"):
        load_bundle(copy)


def test_format_versions(copy):
    _edit(copy, format_version="2.0")
    with pytest.raises(BundleError, match="format version 2.0 cannot be read"):
        load_bundle(copy)
    _edit(copy, format_version="1.7")
    with pytest.warns(UserWarning, match="newer"):
        load_bundle(copy)


def test_bad_types_and_json(copy):
    _edit(copy, latent_dim="2")
    with pytest.raises(BundleError, match="'latent_dim' must be int"):
        load_bundle(copy)
    _edit(copy, latent_dim=2, labels="neutral")
    with pytest.raises(BundleError, match="'labels' must be list"):
        load_bundle(copy)
    (copy / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(copy)
    (copy / "bundle.json").unlink()
    with pytest.raises(BundleError, match="bundle.json is missing"):
        load_bundle(copy)


def test_feature_name_mismatch_is_explained(copy, bundle):
    names = list(bundle.feature_names)
    _edit(copy, feature_names=["renamed"] + names[1:])
    with pytest.raises(BundleError, match=r"missing \(1\): renamed\n  unexpected \(1\): F0"):
        load_bundle(copy, feature_names=names)
    with pytest.raises(BundleError, match="other order"):
        check_feature_names(names, names[::-1])
    # predicting a feature table with other columns fails the same way
    feats = pd.DataFrame(np.zeros((2, 88)), columns=names[:-1] + ["x"], index=["a", "b"])
    with pytest.raises(BundleError, match="unexpected"):
        Predictor(bundle).predict_features(feats)


def test_missing_bundle_message(tmp_path):
    with pytest.raises(BundleError, match="not found"):
        load_bundle(tmp_path / "nope")
    (tmp_path / "x.zip").write_text("hello")
    with pytest.raises(BundleError, match="neither a bundle directory nor a .zip"):
        load_bundle(tmp_path / "x.zip")


def test_ood_heldout_in_domain_vs_shifted(bundle, synth):
    """Flags fire rarely on the training corpus and almost always on far-shifted features."""
    feats, spk = _feats(synth, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table, _ = Predictor(bundle).predict_features(feats, spk)
        far = feats * 5 + feats.std() * 20
        shifted, _ = Predictor(bundle).predict_features(far)
    assert table["ood"].mean() < 0.3
    assert shifted["ood"].mean() > 0.9


def test_ood_flags_a_folder_that_normalisation_makes_look_ordinary(bundle, synth):
    """A whole folder shifted together: per-speaker scaling hides it from the latent parts,
    the raw part (unnormalised gain-invariant functionals) flags it."""
    from emolens.deploy.ood import raw_columns

    feats, spk = _feats(synth, 0)
    cols = raw_columns(feats.columns)
    assert bundle.ood.uses_raw_ and bundle.ood.raw_columns_ == cols
    odd = feats.copy()
    odd[cols] = odd[cols] + 6 * feats[cols].std()  # every file of every speaker moved alike
    grouped = pd.DataFrame(odd.to_numpy(), columns=odd.columns, index=pd.MultiIndex.from_arrays(
        [odd.index, spk, spk], names=["file", "corpus", "speaker"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = Predictor(bundle)
        table, _ = pred.predict_features(odd, spk)
        _, latent, recon = pred.latent(grouped)
    parts = bundle.ood.components(latent, recon, odd)
    assert table["ood"].mean() > 0.9
    # the latent parts alone would not have noticed: per-speaker scaling removed the shift
    latent_score = (parts["density"] + parts["reconstruction"]) / 2
    assert (latent_score > bundle.ood.threshold_).mean() < 0.3
    assert np.all(parts["raw"] > bundle.ood.threshold_)


def test_normalisation_is_read_in_the_one_vocabulary(copy):
    by = load_bundle(copy).normalisation["by"]
    name = load_bundle(copy).normalisation_name
    assert name == ("none" if by is None else by)
    _edit(copy, normalisation={"by": name, "clip": 10.0, "min_group_size": 2})
    assert load_bundle(copy).normalisation["by"] == by  # "none"/"speaker" spelled out
    _edit(copy, normalisation={"by": "utterance", "clip": 10.0, "min_group_size": 2})
    with pytest.raises(BundleError, match="normalisation 'by' must be one of 'none', 'corpus'"):
        load_bundle(copy)


def test_preprocessing_is_recorded_and_checked(copy):
    from emolens.features.audio import PREPROCESSING

    meta = json.loads((copy / "bundle.json").read_text())
    assert meta["preprocessing"]["trim"] == PREPROCESSING["trim"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_bundle(copy).preprocessing == meta["preprocessing"]
    del meta["preprocessing"]  # a bundle made before the trim
    (copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="before emolens trimmed the silence"):
        assert load_bundle(copy, verify=False).preprocessing is None
    other = json.loads(json.dumps(PREPROCESSING))
    other["trim"]["margin_s"] = 0.5
    _edit(copy, preprocessing=other)
    with pytest.warns(UserWarning, match=r"another preprocessing \(differs in trim\)"):
        load_bundle(copy, verify=False)
    _edit(copy, preprocessing="trimmed")
    with pytest.raises(BundleError, match="'preprocessing' must be an object"):
        load_bundle(copy, verify=False)
