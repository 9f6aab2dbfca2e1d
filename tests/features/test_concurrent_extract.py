"""Issue 11: processes extracting into one cache share the work through claim files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import emolens.features.extraction as extract_module
from emolens.features import extract
from emolens.features.cache import FeatureCache, hash_file
from emolens.features.sets import get_config

WORKER = """
import sys, time, os
import emolens.features.extraction as ex

log, cache, out = sys.argv[1], sys.argv[2], sys.argv[3]
files = sys.argv[4:]
real = ex.compute_features

def slow(path, feature_set, want_columns=False):
    with open(log, "a") as handle:
        handle.write(f"{os.getpid()} {path}\\n")
    time.sleep(0.4)  # long enough for the two runs to overlap
    return real(path, feature_set, want_columns)

ex.compute_features = slow
result = ex.extract(files, cache_dir=cache, progress=False)
result.features.to_parquet(out)
print(result.n_cached, result.n_computed, getattr(result, "n_waited", 0))
"""


def test_two_processes_compute_each_file_once(wavs, make_tone, make_wav, tmp_path):
    files = wavs + [make_wav(tmp_path / f"more{i}.wav", make_tone(f0=200 + 25 * i, seed=9 + i))
                    for i in range(4)]
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    log, cache = tmp_path / "calls.log", tmp_path / "cache"
    procs = [subprocess.Popen([sys.executable, str(script), str(log), str(cache),
                               str(tmp_path / f"out{i}.parquet"), *files],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    calls = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    assert sorted(calls) == sorted(files)  # every file computed once, by one of the two
    counts = [tuple(map(int, out.split())) for out, _ in outputs]
    assert sum(c[1] for c in counts) == len(files)
    assert all(c[0] + c[1] == len(files) for c in counts)
    a, b = (pd.read_parquet(tmp_path / f"out{i}.parquet") for i in range(2))
    pd.testing.assert_frame_equal(a, b)
    assert not list(cache.rglob("*.claim"))


def _claim_as(cache: FeatureCache, digest: str, pid: int, age: float = 0.0) -> Path:
    path = cache.claim_path(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": pid, "time": time.time()}))
    if age:
        t = time.time() - age
        os.utime(path, (t, t))
    return path


def test_a_claim_of_a_dead_process_is_taken_over(wavs, cache_dir):
    cache = FeatureCache(cache_dir, get_config("egemaps"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    claim = _claim_as(cache, hash_file(wavs[0]), dead.pid)
    result = extract(wavs, cache_dir=cache_dir, progress=False)
    assert result.n_computed == len(wavs) and len(result.features) == len(wavs)
    assert not claim.exists()


def test_a_live_claim_is_waited_for_not_recomputed(wavs, cache_dir, monkeypatch):
    cache = FeatureCache(cache_dir, get_config("egemaps"))
    first = extract(wavs[:1], cache_dir=tmp_cache(cache_dir), progress=False)  # the numbers
    digest = hash_file(wavs[0])
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _claim_as(cache, digest, holder.pid)
        calls = []
        real = extract_module.compute_features

        def counting(path, *args, **kwargs):
            calls.append(path)
            return real(path, *args, **kwargs)

        monkeypatch.setattr(extract_module, "compute_features", counting)

        def other_process_finishes():
            time.sleep(1.0)
            cache.put(digest, first.features.to_numpy())
            cache.release(digest)

        thread = threading.Thread(target=other_process_finishes)
        thread.start()
        result = extract(wavs, cache_dir=cache_dir, progress=False)
        thread.join()
    finally:
        holder.kill()
        holder.wait()
    assert wavs[0] not in calls and len(calls) == len(wavs) - 1
    assert result.n_waited == 1 and result.n_computed == len(wavs) - 1
    np.testing.assert_array_equal(result.features.loc[[wavs[0]]].to_numpy(), first.features.to_numpy())


def test_an_old_claim_on_another_machine_is_taken_over(wavs, cache_dir, monkeypatch):
    import emolens.features.cache as cache_module

    cache = FeatureCache(cache_dir, get_config("egemaps"))
    path = cache.claim_path(hash_file(wavs[0]))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"host": "elsewhere", "pid": 1, "time": 0}))
    assert cache.claimed(hash_file(wavs[0]))
    monkeypatch.setattr(cache_module, "CLAIM_TIMEOUT", 0.5)
    t = time.time() - 1
    os.utime(path, (t, t))
    assert not cache.claimed(hash_file(wavs[0]))
    assert extract(wavs, cache_dir=cache_dir, progress=False).n_computed == len(wavs)


def test_an_interrupted_run_releases_its_claims(wavs, cache_dir, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(extract_module, "compute_features", crash)
    with pytest.raises(KeyboardInterrupt):
        extract(wavs, cache_dir=cache_dir, progress=False)
    assert not list(Path(cache_dir).rglob("*.claim"))


def test_byte_identical_files_are_counted_as_such(wavs, tmp_path, cache_dir):
    twin = tmp_path / "twin.wav"
    twin.write_bytes(Path(wavs[0]).read_bytes())
    result = extract(wavs + [str(twin)], cache_dir=cache_dir, progress=False)
    assert (result.n_cached, result.n_computed, result.n_shared) == (0, len(wavs), 1)
    assert len(result.features) == len(wavs) + 1


def tmp_cache(cache_dir: Path) -> Path:
    return Path(cache_dir).parent / "reference-cache"
