"""The same extraction on a (local, in-process) Dask cluster."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from emolens.features import extract

distributed = pytest.importorskip("distributed", reason="needs emolens[distributed]")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster


def test_dask_equals_local(wavs, tmp_path, cluster):
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    files = wavs + [bad]
    local = extract(files, cache_dir=tmp_path / "local", progress=False)
    with distributed.Client(cluster) as client:
        remote = extract(files, cache_dir=tmp_path / "dask", scheduler=client, progress=False)
    pd.testing.assert_frame_equal(local.features, remote.features)
    pd.testing.assert_frame_equal(local.skipped, remote.skipped)
    assert remote.n_computed == len(wavs)


def test_dask_by_address_uses_the_cache(wavs, tmp_path, cluster):
    first = extract(wavs, cache_dir=tmp_path / "c", scheduler=cluster.scheduler_address,
                    progress=False)
    second = extract(wavs, cache_dir=tmp_path / "c", scheduler=cluster.scheduler_address,
                     progress=False)
    assert second.n_cached == len(wavs) and second.n_computed == 0
    pd.testing.assert_frame_equal(first.features, second.features)


def test_missing_extra_gives_install_hint(wavs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'emolens\[distributed\]'"):
        extract(wavs, cache_dir=tmp_path / "c", scheduler="tcp://127.0.0.1:1", progress=False)


def test_dask_encoder_equals_local(tiny_encoder, wavs, tmp_path, cluster):
    name = f"egemaps+hf:{tiny_encoder}"
    local = extract(wavs, name, cache_dir=tmp_path / "local", progress=False)
    with distributed.Client(cluster) as client:
        remote = extract(wavs, name, cache_dir=tmp_path / "dask", scheduler=client,
                         progress=False)
    pd.testing.assert_frame_equal(local.features, remote.features, rtol=1e-5)
