"""extract(): output shape, cache, resume, bad input, parallelism."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import emolens.features.extraction as extract_module
from emolens.features import FEATURE_GROUPS, NoFeaturesError, extract
from emolens.features.cache import FeatureCache, atomic_write_bytes
from emolens.features.sets import get_config


def counting(monkeypatch, fail_after: int | None = None):
    """Wrap the per-file worker function; returns the list of paths it was called with."""
    calls: list[str] = []
    real = extract_module.compute_features

    def wrapper(path, feature_set, want_columns=False):
        if fail_after is not None and len(calls) >= fail_after:
            raise KeyboardInterrupt  # as if Ctrl-C hit during the next file
        calls.append(path)
        return real(path, feature_set, want_columns)

    monkeypatch.setattr(extract_module, "compute_features", wrapper)
    return calls


def cache_files(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.rglob("*") if p.is_file())


def test_egemaps_table(wavs, cache_dir):
    result = extract(wavs, cache_dir=cache_dir, progress=False)
    features = result.features
    assert features.shape == (len(wavs), 88)
    assert features.index.name == "file"
    assert list(features.index) == [os.path.abspath(w) for w in wavs]
    assert (features.dtypes == np.float64).all()
    assert set(features.columns) == {c for cols in FEATURE_GROUPS.values() for c in cols}
    assert np.isfinite(features.to_numpy()).all()
    # Different tones give different pitch features: the rows are not copies.
    assert features["F0semitoneFrom27.5Hz_sma3nz_amean"].nunique() == len(wavs)
    assert list(result.skipped.columns) == ["file", "reason"] and result.skipped.empty
    assert (result.n_cached, result.n_computed) == (0, len(wavs))


def test_same_numbers_as_opensmile(wavs, cache_dir):
    import opensmile

    smile = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.Functionals)
    expected = smile.process_file(wavs[0]).to_numpy(np.float64)
    got = extract(wavs[:1], cache_dir=cache_dir, progress=False).features.to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_manifest_dataframe_and_duplicates(wavs, cache_dir, monkeypatch):
    manifest = pd.DataFrame({"file": wavs + [wavs[0]], "corpus": "x"})
    calls = counting(monkeypatch)
    features = extract(manifest, cache_dir=cache_dir, progress=False).features
    assert len(features) == len(wavs) and features.index.is_unique
    assert len(calls) == len(wavs)


def test_identical_content_is_computed_once(wavs, cache_dir, tmp_path, monkeypatch):
    copy = tmp_path / "copy.wav"
    copy.write_bytes(Path(wavs[0]).read_bytes())
    calls = counting(monkeypatch)
    features = extract([wavs[0], copy], cache_dir=cache_dir, progress=False).features
    assert len(calls) == 1 and len(features) == 2
    np.testing.assert_array_equal(features.iloc[0], features.iloc[1])


def test_second_run_is_served_from_cache(wavs, cache_dir, monkeypatch):
    first = extract(wavs, cache_dir=cache_dir, progress=False)
    calls = counting(monkeypatch)
    second = extract(wavs, cache_dir=cache_dir, progress=False)
    assert calls == []
    assert (second.n_cached, second.n_computed) == (len(wavs), 0)
    pd.testing.assert_frame_equal(first.features, second.features)


def test_cache_key_ignores_path_but_not_content(wavs, cache_dir, tmp_path, monkeypatch):
    extract(wavs, cache_dir=cache_dir, progress=False)
    moved = tmp_path / "moved"
    moved.mkdir()
    new_paths = [str(moved / Path(w).name) for w in wavs]
    for old, new in zip(wavs, new_paths):
        os.replace(old, new)
    calls = counting(monkeypatch)
    result = extract(new_paths, cache_dir=cache_dir, progress=False)
    assert calls == [] and list(result.features.index) == new_paths
    # Changing the audio must change the key.
    data, sr = sf.read(new_paths[0])
    sf.write(new_paths[0], 0.5 * data, sr)
    extract(new_paths, cache_dir=cache_dir, progress=False)
    assert calls == [new_paths[0]]


def test_feature_set_is_part_of_the_key(wavs, cache_dir):
    egemaps = extract(wavs[:1], cache_dir=cache_dir, progress=False)
    gemaps = extract(wavs[:1], feature_set="gemaps", cache_dir=cache_dir, progress=False)
    assert egemaps.features.shape[1] == 88
    assert gemaps.features.shape[1] == 62 and gemaps.n_computed == 1
    assert get_config("egemaps").key != get_config("gemaps").key


def test_lld_index(wavs, cache_dir):
    features = extract(wavs[:2], feature_set="egemaps-lld", cache_dir=cache_dir, progress=False)
    features = features.features
    assert features.index.names == ["file", "start", "end"]
    assert features.shape[1] == 25
    assert features.index.get_level_values("file").nunique() == 2
    first = features.loc[os.path.abspath(wavs[0])]
    starts = first.index.get_level_values("start")
    assert starts[0] == pd.Timedelta(0) and (np.diff(starts.asi8) > 0).all()
    # Cached LLDs round-trip exactly, times included.
    again = extract(wavs[:2], feature_set="egemaps-lld", cache_dir=cache_dir, progress=False)
    pd.testing.assert_frame_equal(features, again.features)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "entry.npy"
    target.write_bytes(b"old")

    def crash(handle):
        handle.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, crash)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.npy"]


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_write_respects_the_umask(tmp_path, umask):
    # mkstemp alone makes every file 0600: unreadable to colleagues on shared storage
    old = os.umask(umask)
    try:
        target = tmp_path / "entry.npy"
        atomic_write_bytes(target, lambda h: h.write(b"x"))
        (tmp_path / "plain").write_bytes(b"x")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert target.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777


def test_cache_put_failure_leaves_no_entry(cache_dir, monkeypatch):
    cache = FeatureCache(cache_dir, get_config("egemaps"))

    def broken_save(handle, values, allow_pickle=False):
        handle.write(b"\x93NUMPY half")
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(OSError):
        cache.put("ab" * 32, np.ones((1, 88)))
    assert cache.get("ab" * 32) is None
    assert cache_files(cache_dir) == []


def test_interrupted_run_resumes(wavs, cache_dir, monkeypatch):
    counting(monkeypatch, fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        extract(wavs, cache_dir=cache_dir, progress=False)
    entries = [p for p in cache_files(cache_dir) if p.suffix == ".npy"]
    assert len(entries) == 2
    assert not [p for p in cache_files(cache_dir) if p.name.endswith(".tmp")]
    monkeypatch.undo()
    calls = counting(monkeypatch)
    resumed = extract(wavs, cache_dir=cache_dir, progress=False)
    assert len(calls) == len(wavs) - 2
    assert resumed.n_cached == 2 and len(resumed.features) == len(wavs)
    fresh = extract(wavs, cache_dir=cache_dir.parent / "fresh", progress=False)
    pd.testing.assert_frame_equal(resumed.features, fresh.features)


def test_bad_inputs_are_reported_and_the_run_goes_on(
    tmp_path, wavs, cache_dir, make_tone, make_wav
):
    bad = tmp_path / "bad"
    bad.mkdir()
    corrupt = bad / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(400))
    text = bad / "notes.wav"
    text.write_text("not audio at all\n" * 20)
    empty = bad / "empty.wav"
    empty.write_bytes(b"")
    silent = make_wav(bad / "silent.wav", np.zeros(16_000, np.float32))
    short = make_wav(bad / "short.wav", make_tone(seconds=0.1))
    missing = bad / "missing.wav"
    stereo = make_wav(
        bad / "stereo44k.wav", np.column_stack([make_tone(sr=44_100)] * 2), 44_100
    )
    narrow = make_wav(bad / "narrow8k.flac", make_tone(sr=8_000), 8_000)
    unicode = make_wav(bad / "Ärger_äöü_日本語_😀.wav", make_tone(f0=200, seed=9))
    files = [wavs[0], corrupt, text, empty, silent, short, missing, stereo, narrow, unicode]

    result = extract(files, cache_dir=cache_dir, progress=False)

    reasons = dict(zip(result.skipped["file"], result.skipped["reason"]))
    expect = {
        corrupt: "not a readable audio file",
        text: "not a readable audio file",
        empty: "empty file",
        silent: "silent",
        short: "too short",
        missing: "file not found",
    }
    assert set(reasons) == {os.path.abspath(p) for p in expect}
    for path, reason in expect.items():
        assert reason in reasons[os.path.abspath(path)]
    assert list(result.features.index) == [
        os.path.abspath(p) for p in (wavs[0], stereo, narrow, unicode)
    ]
    assert np.isfinite(result.features.to_numpy()).all()


def test_nothing_processed_raises(tmp_path, cache_dir):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(NoFeaturesError, match="no file could be processed") as info:
        extract([empty, tmp_path / "missing.wav"], cache_dir=cache_dir, progress=False)
    assert len(info.value.skipped) == 2


def test_argument_errors(wavs, cache_dir):
    with pytest.raises(ValueError, match="unknown feature set 'mfcc'"):
        extract(wavs, feature_set="mfcc", cache_dir=cache_dir)
    with pytest.raises(ValueError, match="jobs"):
        extract(wavs, jobs=0, cache_dir=cache_dir)
    with pytest.raises(ValueError, match="no files"):
        extract([], cache_dir=cache_dir)
    with pytest.raises(ValueError, match="'file' column"):
        extract(pd.DataFrame({"path": wavs}), cache_dir=cache_dir)


def test_default_cache_dir_from_environment(wavs, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOLENS_CACHE", str(tmp_path / "envcache"))
    extract(wavs[:1], progress=False)
    assert any(p.suffix == ".npy" for p in (tmp_path / "envcache").rglob("*"))


def test_two_jobs_equal_one_job(wavs, tmp_path, make_wav):
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    files = wavs + [bad]
    one = extract(files, jobs=1, cache_dir=tmp_path / "c1", progress=False)
    two = extract(files, jobs=2, cache_dir=tmp_path / "c2", progress=True)
    pd.testing.assert_frame_equal(one.features, two.features)
    pd.testing.assert_frame_equal(one.skipped, two.skipped)


@pytest.mark.skipif(
    __import__("multiprocessing").get_start_method() != "fork",
    reason="simulating a worker crash relies on workers forked with the patched module",
)
def test_worker_crash_skips_only_that_file(wavs, tmp_path, monkeypatch, make_tone, make_wav):
    crash = make_wav(tmp_path / "crash.wav", make_tone(seed=7))
    real = extract_module.load_audio

    def load_or_die(path):
        if os.path.basename(path) == "crash.wav":
            os._exit(1)  # like a segfault in native code
        return real(path)

    monkeypatch.setattr(extract_module, "load_audio", load_or_die)
    files = [wavs[0], crash, *wavs[1:]]
    result = extract(files, jobs=2, cache_dir=tmp_path / "c", progress=False)
    assert list(result.features.index) == [os.path.abspath(w) for w in wavs]
    assert list(result.skipped["file"]) == [crash]
    assert "crashed" in result.skipped["reason"][0]


def test_compare_set(wavs, cache_dir):
    features = extract(wavs[:1], feature_set="compare", cache_dir=cache_dir, progress=False)
    assert features.features.shape == (1, 6373)
    assert "audspec_lengthL1norm_sma_range" in features.features.columns


def test_parquet_round_trip(wavs, cache_dir, tmp_path):
    features = extract(wavs, cache_dir=cache_dir, progress=False).features
    features.to_parquet(tmp_path / "f.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "f.parquet"), features)


@pytest.mark.parametrize("feature_set", ["egemaps", "compare"])
def test_the_shortest_clip_accepted_has_defined_features(tmp_path, cache_dir, make_tone, make_wav,
                                                         feature_set):
    """A clip of MIN_DURATION (a short reply) gets finite functionals, most of them non-zero:
    the minimum sits above where openSMILE's functionals become undefined."""
    from emolens.features.audio import MIN_DURATION

    short = make_wav(tmp_path / "reply.wav", make_tone(seconds=MIN_DURATION))
    result = extract([short], feature_set=feature_set, cache_dir=cache_dir, progress=False)
    assert result.skipped.empty
    values = result.features.to_numpy()
    assert np.isfinite(values).all()
    assert (values != 0).mean() > 0.8
