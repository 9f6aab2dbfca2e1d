"""model_input: features re-indexed by (file, corpus, speaker)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens.features import model_input


@pytest.fixture
def features():
    files = [f"/data/{i}.wav" for i in range(4)]
    return pd.DataFrame(
        np.arange(12, dtype=np.float32).reshape(4, 3),
        index=pd.Index(files, name="file"),
        columns=["a", "b", "c"],
    )


@pytest.fixture
def manifest():
    return pd.DataFrame(
        {
            "file": ["/data/3.wav", "/data/1.wav", "/data/0.wav", "/data/9.wav"],
            "corpus": ["x", "x", "y", "y"],
            "speaker": ["x:1", "x:2", "y:1", "y:1"],
            "label4": ["sad", "happy", "angry", "sad"],
        }
    )


def test_reindexed_in_manifest_order(features, manifest):
    with pytest.warns(UserWarning, match="1 of 4 manifest files have no features"):
        X = model_input(features, manifest)
    assert X.index.names == ["file", "corpus", "speaker"]
    assert list(X.index.get_level_values("file")) == ["/data/3.wav", "/data/1.wav", "/data/0.wav"]
    assert list(X.index.get_level_values("speaker")) == ["x:1", "x:2", "y:1"]
    np.testing.assert_array_equal(X.to_numpy(), features.loc[X.index.get_level_values(0)])
    assert (X.dtypes == np.float64).all()


def test_errors(features, manifest):
    with pytest.raises(ValueError, match="lacks column"):
        model_input(features, manifest.drop(columns="speaker"))
    with pytest.raises(ValueError, match="no file of the manifest"):
        elsewhere = manifest.assign(file=[f"/else/{i}.wav" for i in range(4)])
        model_input(features, elsewhere)
    with pytest.raises(ValueError, match="more than once"):
        model_input(features, pd.concat([manifest, manifest]))
    lld = features.set_index(pd.MultiIndex.from_arrays([features.index, range(4), range(4)]))
    with pytest.raises(ValueError, match="low-level descriptors"):
        model_input(lld, manifest)
