"""Uploaded bytes -> a decoded signal, or a reason why not.

The format is taken from the content (magic bytes), never from the file name or the
browser's content type: a renamed PDF is refused before any decoder sees it, and a WAV named
``x.mp3`` is read as the WAV it is. Decoding is libsndfile (soundfile) from memory, the same
library as ``emolens predict``; the decoded signal then goes through
:func:`emolens.features.audio.prepare_signal` (the checks and resampling of every file).
"""

from __future__ import annotations

import io
import re
import unicodedata

import numpy as np

__all__ = ["UploadError", "sniff", "decode", "safe_name"]


class UploadError(ValueError):
    """An upload that cannot be used; ``str(error)`` is the reason shown to the user."""


#: (offset, magic, extra check offset, extra magic, format name)
_AUDIO = [
    (0, b"RIFF", 8, b"WAVE", "WAV"),
    (0, b"RIFX", 8, b"WAVE", "WAV"),
    (0, b"RF64", 8, b"WAVE", "WAV (RF64)"),
    (0, b"riff\x2e\x91\xcf\x11", None, None, "Wave64"),
    (0, b"fLaC", None, None, "FLAC"),
    (0, b"OggS", None, None, "Ogg"),
    (0, b"FORM", 8, b"AIFF", "AIFF"),
    (0, b"FORM", 8, b"AIFC", "AIFF"),
    (0, b".snd", None, None, "AU"),
    (0, b"caff", None, None, "CAF"),
    (0, b"NIST_1A", None, None, "NIST SPHERE"),
    (0, b"ID3", None, None, "MP3"),
]
#: Known non-audio (or unsupported audio) content, for a specific message.
_OTHER = [
    (0, b"%PDF", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive (or an office document)"),
    (0, b"\x1aE\xdf\xa3", "WebM/Matroska, which libsndfile cannot read: convert it to WAV, "
                          "FLAC or Ogg (e.g. ffmpeg -i in.webm out.wav)"),
    (4, b"ftyp", "MP4/M4A (AAC), which libsndfile cannot read: convert it to WAV, FLAC or "
                 "Ogg (e.g. ffmpeg -i in.m4a out.wav)"),
    (0, b"\x89PNG", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
    (0, b"\x7fELF", "an executable"),
    (0, b"MZ", "an executable"),
]


def sniff(data: bytes) -> str:
    """Name of the audio format of ``data`` from its first bytes.

    Raises:
        UploadError: empty, or not one of the audio formats libsndfile reads (the message
            says what the content looks like when it is recognisable).
    """
    if not data:
        raise UploadError("empty file (0 bytes)")
    head = data[:64]
    for off, magic, off2, magic2, name in _AUDIO:
        if head[off:off + len(magic)] == magic and (
                off2 is None or head[off2:off2 + len(magic2)] == magic2):
            return name
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06):
        return "MP3"  # MPEG audio frame sync without an ID3 tag
    for off, magic, what in _OTHER:
        if head[off:off + len(magic)] == magic:
            raise UploadError(f"not an audio file emolens reads: the content is {what}")
    if _looks_like_text(head):
        raise UploadError("not an audio file: the content is text")
    raise UploadError("not an audio file: unknown content (emolens reads WAV, FLAC, Ogg "
                      "Vorbis/Opus, MP3, AIFF, AU, CAF, NIST SPHERE)")


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in text)


def decode(data: bytes, max_duration: float | None = None) -> tuple[np.ndarray, int, str]:
    """Decode uploaded bytes with libsndfile.

    Args:
        data: file content.
        max_duration: refuse longer signals (seconds; checked from the header before the
            samples are decoded).

    Returns:
        ``(signal (samples, channels) float32, sampling rate, format name)``.

    Raises:
        UploadError: unknown content, unreadable or corrupt data, over the duration limit.
    """
    import soundfile as sf

    from emolens.features.audio import _sf_message

    fmt = sniff(data)
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            sr = int(f.samplerate)
            if max_duration is not None and f.frames > 0 and f.frames / sr > max_duration:
                raise UploadError(
                    f"too long: {f.frames / sr:.0f} s (this server's limit is {max_duration:g} "
                    "s per file; cut the recording or start emolens serve with --max-duration)")
            signal = f.read(dtype="float32", always_2d=True)
    except UploadError:
        raise
    except sf.LibsndfileError as err:
        raise UploadError(f"looks like {fmt} but cannot be decoded ({_sf_message(err)})") from err
    except (OSError, RuntimeError, ValueError, TypeError) as err:
        raise UploadError(f"looks like {fmt} but cannot be decoded ({err})") from err
    if max_duration is not None and len(signal) / sr > max_duration:  # headers can lie
        raise UploadError(f"too long: {len(signal) / sr:.0f} s (this server's limit is "
                          f"{max_duration:g} s per file)")
    return signal, sr, fmt


def safe_name(name: str | None, taken: set[str]) -> str:
    """A display name for an upload: the base name, printable, at most 120 characters,
    unique among ``taken`` (which it joins)."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "upload"
    name = name[:120]
    out, k = name, 2
    while out in taken:
        out, k = f"{name} ({k})", k + 1
    taken.add(out)
    return out
