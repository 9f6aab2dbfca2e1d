"""``augment = "channel"``: a model also trains on channel copies of its training utterances,
each copy a recording condition of its own, and never on the copy of a held-out utterance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emolens.evaluation.config import ConfigError, load_config
from emolens.evaluation.copies import TrainingCopies
from emolens.evaluation.protocols import make_splits
from emolens.evaluation.runner import _training_rows, load_data, run_experiment
from emolens.features.channels import COPY_SUFFIX
from quick_run import QUICK_RUN

CONFIG = """
name = "augment"
""" + QUICK_RUN + """[corpora]
train = ["{A}", "{B}"]
test = ["{C}"]
[models.plain]
model = "logreg"
[models.copies]
model = "logreg"
balance = "corpus"
augment = AUGMENT
"""


@pytest.fixture(scope="module")
def augmented(synth_corpora, tmp_path_factory):
    """The run data of CONFIG (copies made in a cache of its own) and its config."""
    import shutil

    tmp = tmp_path_factory.mktemp("augment")
    cache = tmp / "cache"
    shutil.copytree(synth_corpora["cache"], cache)
    a, b, c = synth_corpora["names"][:3]
    root = synth_corpora["root"]
    text = (CONFIG.replace("AUGMENT", '"channel"').replace("{CACHE}", str(cache))
            .replace("{A}", str(root / a / "manifest.csv"))
            .replace("{B}", str(root / b / "manifest.csv"))
            .replace("{C}", str(root / c / "manifest.csv")))
    path = tmp / "exp.toml"
    path.write_text(text)
    config = load_config(path)
    return config, load_data(config, progress=False), cache


def test_a_wrong_augment_is_refused_with_a_hint(write_config, synth_corpora):
    c = synth_corpora["names"][2]
    text = CONFIG.replace("AUGMENT", '"chanel"').replace(
        "{C}", str(synth_corpora["root"] / c / "manifest.csv"))
    with pytest.raises(ConfigError, match="augment.*Did you mean 'channel'"):
        load_config(write_config(text))


def test_every_training_utterance_gets_one_copy_of_its_own_condition(augmented):
    config, data, cache = augmented
    copies = data.copies
    assert isinstance(copies, TrainingCopies)
    corpus = data.X.index.get_level_values("corpus")
    assert data.test and set(data.test) <= set(corpus)  # a test corpus is there ...
    training = np.flatnonzero(np.isin(corpus, data.train))
    assert sorted(copies.rows) == list(training)  # ... and never copied
    corpora = set(copies.X.index.get_level_values("corpus"))
    assert corpora == {c + COPY_SUFFIX for c in data.train}
    speakers = copies.X.index.get_level_values("speaker")
    assert all(s.endswith(COPY_SUFFIX) for s in speakers)
    # each copy carries its original's speaker, and is another recording of the same length
    # (that of the original as extraction prepares it: at 16 kHz, its silence trimmed)
    originals = data.X.index.get_level_values("speaker")[copies.rows]
    assert list(speakers) == [s + COPY_SUFFIX for s in originals]
    files = copies.X.index.get_level_values("file")
    assert all(Path(f).parent.parent == cache / "audio-copies" for f in files)
    import soundfile as sf

    src = data.X.index.get_level_values("file")[copies.rows[0]]
    from emolens.features import load_audio

    x, y = load_audio(src), sf.read(files[0])[0]
    assert len(x) == len(y) and not np.allclose(x, y, atol=1e-3)
    # the features differ from the original's: a channel is not a no-op
    assert not np.allclose(copies.X.to_numpy(), data.X.to_numpy()[copies.rows])


def test_a_copy_trains_only_with_its_original(augmented):
    config, data, _ = augmented
    spec = {s.label: s for s in config.models}
    split = make_splits(data.manifest, "transfer", data.train, data.test, 2, "speaker", 0)[0]
    runs = [(0, split)]
    held = set(data.X.index.get_level_values("speaker")[
        np.setdiff1d(np.arange(len(data.X)), split.train)])
    assert held  # the fold holds speakers out (a validation fold and the test corpus)
    Xs, ys, _ = _training_rows(spec["copies"], runs, data)
    X = Xs[0]
    assert len(X) == 2 * len(split.train) and len(ys[0]) == len(X)
    copied = {s.removesuffix(COPY_SUFFIX) for s in X.index.get_level_values("speaker")
              if s.endswith(COPY_SUFFIX)}
    assert copied and not copied & held
    # labels follow the originals
    np.testing.assert_array_equal(ys[0][len(split.train):], ys[0][:len(split.train)])
    # a model without augment trains on the recordings only
    Xp, yp, un = _training_rows(spec["plain"], runs, data)
    assert len(Xp[0]) == len(split.train) and un is data.X_unlabelled


def test_of_returns_the_copies_of_the_rows_asked_for():
    X = pd.DataFrame({"f": [1.0, 2.0, 3.0]},
                     index=pd.MultiIndex.from_tuples([(f"c{i}", "k~channel", "s~channel")
                                                      for i in range(3)],
                                                     names=["file", "corpus", "speaker"]))
    copies = TrainingCopies(X, np.array([4, 0, 2]))
    Xc, rows = copies.of([2, 4, 7])
    assert list(rows) == [4, 2] and list(Xc["f"]) == [1.0, 3.0]


def test_an_augmented_run_completes_and_says_so(augmented, tmp_path):
    config, _, _ = augmented
    out = run_experiment(config, out=tmp_path / "run", progress=False)
    results = pd.read_csv(out / "results.csv")
    assert set(results["model"]) == {"plain", "copies"}
    assert (results["role"] == "test").any()  # the test corpus was scored
    import tomllib

    written = tomllib.loads((out / "config.toml").read_text())
    assert written["models"]["copies"]["augment"] == "channel"
    assert "channel copies of the training utterances" in (out / "summary.md").read_text()
