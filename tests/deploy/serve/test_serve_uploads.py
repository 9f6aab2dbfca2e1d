"""Uploads: the format comes from the content, never from the name."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from emolens.deploy.serve.uploads import UploadError, decode, safe_name, sniff


def _encode(signal, sr, fmt, subtype=None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, signal, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.mark.parametrize("fmt,subtype,name", [
    ("WAV", "PCM_16", "WAV"), ("FLAC", None, "FLAC"), ("OGG", "VORBIS", "Ogg"),
    ("AIFF", None, "AIFF"), ("AU", None, "AU"), ("MP3", None, "MP3"),
])
def test_formats_libsndfile_reads_are_sniffed_and_decoded(fmt, subtype, name, make_signal):
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    x = make_signal(1.0, sr=22_050)
    data = _encode(x, 22_050, fmt, subtype)
    assert sniff(data) == name
    signal, sr, got = decode(data)
    assert got == name and sr == 22_050 and signal.shape[1] == 1
    assert abs(len(signal) - len(x)) < 0.1 * len(x)  # codecs may pad a little


@pytest.mark.parametrize("data,expected", [
    (b"", "empty file"),
    (b"%PDF-1.7\n...", "PDF"),
    (b"PK\x03\x04rest", "ZIP"),
    (b"\x1aE\xdf\xa3\x01\x00", "WebM"),
    (b"\x00\x00\x00\x20ftypM4A ", "MP4/M4A"),
    (b"<html><body>hi</body></html>", "text"),
    (bytes(range(200, 256)) * 3, "unknown content"),
])
def test_non_audio_content_is_refused_with_what_it_is(data, expected):
    with pytest.raises(UploadError, match=expected):
        sniff(data)


def test_truncated_audio_is_a_clear_error():
    with pytest.raises(UploadError, match="looks like WAV but cannot be decoded"):
        decode(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")


def test_duration_limit_before_decoding(make_signal):
    data = _encode(make_signal(3.0), 16_000, "WAV")
    with pytest.raises(UploadError, match="too long: 3 s .*limit is 2 s"):
        decode(data, max_duration=2)
    assert len(decode(data, max_duration=5)[0]) == 48_000


def test_safe_names_are_base_names_unique_and_printable():
    taken: set[str] = set()
    assert safe_name("../../etc/passwd", taken) == "passwd"
    assert safe_name("C:\\x\\a.wav", taken) == "a.wav"
    assert safe_name("a.wav", taken) == "a.wav (2)"
    assert safe_name("bad\x00\nname.wav", taken) == "badname.wav"
    assert safe_name("", taken) == "upload"
    assert len(safe_name("x" * 500, taken)) == 120
    assert np.all([isinstance(t, str) for t in taken])
