"""Streaming prediction: sliding windows over a signal, a file or the microphone.

Each window (default 3 s, hop 1 s) is turned into eGeMAPS functionals with openSMILE's
``process_signal`` and passed through the model on its own, so the normalisation is the
training statistics (a window has no speaker group). The result is a timeline:
``start, end, label, p_<label>..., z1..zk, ood_score, ood, latency_ms``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from emolens.deploy.predict import Predictor

__all__ = ["window_bounds", "stream_signal", "stream_file", "stream_mic", "plot_timeline"]


def window_bounds(n_samples: int, sr: int, window: float = 3.0, hop: float = 1.0) -> list[tuple[int, int]]:
    """Sample ranges of the sliding windows.

    Windows start at 0, hop, 2*hop, ... and end inside the signal; a signal shorter than one
    window gives a single window over all of it. The tail after the last full window is not
    covered (at most ``hop`` seconds).

    Args:
        n_samples: signal length.
        sr: sampling rate (Hz).
        window: window length (s), > 0.
        hop: hop (s), > 0.

    Returns:
        list of ``(start, end)`` sample indices.
    """
    if not (window > 0 and hop > 0):
        raise ValueError(f"window and hop must be positive seconds, got window={window}, hop={hop}")
    if n_samples <= 0:
        return []
    w, h = int(round(window * sr)), max(1, int(round(hop * sr)))
    if n_samples <= w:
        return [(0, n_samples)]
    return [(s, s + w) for s in range(0, n_samples - w + 1, h)]


def _row(predictor: Predictor, x: np.ndarray, sr: int, start: float, end: float) -> dict:
    from emolens.features.audio import AudioError

    t0 = time.perf_counter()
    try:
        feats = predictor.signal_features(x, sr)
    except AudioError as err:  # silent or too short window: report it, keep streaming
        return {"start": start, "end": end, "label": None, "skipped": str(err),
                "latency_ms": 1000 * (time.perf_counter() - t0)}
    feats.index = pd.Index([f"{start:.2f}-{end:.2f}"], name="file")
    table = predictor.apply(feats, adapt=False).table  # windows of one recording
    row = table.iloc[0].drop("file").to_dict()
    return {"start": start, "end": end, **row, "skipped": "",
            "latency_ms": 1000 * (time.perf_counter() - t0)}


def stream_signal(predictor: Predictor, signal: np.ndarray, sr: int, window: float = 3.0,
                  hop: float = 1.0, on_window: Callable[[dict], None] | None = None) -> pd.DataFrame:
    """Predict every sliding window of an in-memory signal.

    Args:
        predictor: model.
        signal: samples (mono, or (samples, channels) averaged to mono).
        sr: sampling rate.
        window, hop: seconds.
        on_window: called with each timeline row as soon as it is ready (for printing).

    Returns:
        The timeline DataFrame.
    """
    signal = np.asarray(signal, dtype=np.float32)
    rows = []
    for a, b in window_bounds(signal.shape[0], sr, window, hop):
        row = _row(predictor, signal[a:b], sr, a / sr, b / sr)
        rows.append(row)
        if on_window is not None:
            on_window(row)
    return _timeline(predictor, rows)


def stream_file(predictor: Predictor, path: str | Path, window: float = 3.0, hop: float = 1.0,
                on_window=None) -> pd.DataFrame:
    """Sliding-window timeline of an audio file (read with soundfile, any rate/channels)."""
    from emolens.features.audio import AudioError, read_audio

    if not Path(path).exists():  # as emolens.corpora.discover_inputs says it in batch mode
        raise AudioError(f"{path} does not exist")
    try:  # the checks and messages of batch prediction (empty, not audio ...)
        signal, sr = read_audio(path)
    except AudioError as err:
        raise AudioError(f"{path}: {err}") from err
    return stream_signal(predictor, signal.mean(axis=1), sr, window, hop, on_window)


def mic_blocks(sr: int, hop: float, duration: float | None = None, device=None) -> Iterator[np.ndarray]:
    """Yield microphone blocks of ``hop`` seconds (needs the optional ``sounddevice``)."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as err:
        raise RuntimeError(
            "--mic needs the optional sounddevice package and PortAudio: "
            "pip install 'emolens[mic]' (and e.g. apt-get install libportaudio2)"
            f" [{type(err).__name__}: {err}]"
        ) from None
    block = int(round(hop * sr))
    n_blocks = None if duration is None else max(1, int(np.ceil(duration / hop)))
    with sd.InputStream(samplerate=sr, channels=1, dtype="float32", device=device) as stream:
        i = 0
        while n_blocks is None or i < n_blocks:
            data, _ = stream.read(block)
            yield data[:, 0].copy()
            i += 1


def stream_mic(predictor: Predictor, sr: int = 16_000, window: float = 3.0, hop: float = 1.0,
               duration: float | None = None, on_window=None, blocks=None) -> pd.DataFrame:
    """Live timeline from the microphone (Ctrl-C stops).

    Args:
        predictor: model.
        sr: capture rate.
        window, hop: seconds; a window is predicted every hop once ``window`` s are buffered.
        duration: stop after this many seconds (None: until Ctrl-C).
        on_window: callback per row.
        blocks: iterable of sample blocks instead of the microphone (tests).
    """
    blocks = mic_blocks(sr, hop, duration) if blocks is None else blocks
    w = int(round(window * sr))
    buf = np.zeros(0, dtype=np.float32)
    rows, t = [], 0.0
    try:
        for block in blocks:
            buf = np.concatenate([buf, np.asarray(block, dtype=np.float32)])[-w:]
            t += len(block) / sr
            if len(buf) >= w:
                row = _row(predictor, buf, sr, t - window, t)
                rows.append(row)
                if on_window is not None:
                    on_window(row)
    except KeyboardInterrupt:
        pass
    return _timeline(predictor, rows)


def _timeline(predictor: Predictor, rows: list[dict]) -> pd.DataFrame:
    cols = ["start", "end"] + [c for c in predictor.columns if c != "file"] + ["skipped", "latency_ms"]
    return pd.DataFrame(rows, columns=cols)


def plot_timeline(timeline: pd.DataFrame, path: str | Path, labels) -> Path:
    """Stacked probabilities, latent coordinates and out-of-domain windows over time (PNG)."""
    import matplotlib.pyplot as plt

    # the report's colour-blind-safe palette, so a timeline and a report read alike
    from emolens.palette import emotion_color

    ok = timeline[timeline["label"].notna()]
    mid = (ok["start"] + ok["end"]) / 2
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    ax1.stackplot(mid, *[ok[f"p_{c}"].astype(float) for c in labels], labels=list(labels),
                  colors=[emotion_color(c) for c in labels], alpha=0.85)
    ax1.set_ylabel("probability")
    ax1.set_ylim(0, 1)
    # legend above the axes: the stacked areas fill the whole plot
    ax1.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(labels), fontsize=8,
               frameon=False)
    from emolens.results import latent_columns

    zcols = latent_columns(timeline)
    for c in zcols:
        ax2.plot(mid, ok[c].astype(float), marker="o", ms=3, label=c)
    for _, r in ok[ok["ood"].astype(bool)].iterrows():
        for ax in (ax1, ax2):
            ax.axvspan(r["start"], r["end"], color="k", alpha=0.06, lw=0)
    ax2.set_ylabel("latent")
    ax2.set_xlabel("time (s, window centre); grey = out-of-domain window")
    ax2.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
