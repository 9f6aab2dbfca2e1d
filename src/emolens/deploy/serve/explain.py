"""Why a recording landed where it did: latent regions, DeepLIFT by feature group, timeline.

Everything here reuses the code of ``emolens predict`` and of the report:
:class:`~emolens.deploy.predict.Predictor` for the prediction itself,
:func:`emolens.interpret.latent_deeplift` (captum DeepLIFT on the encoder, the reference
being the neutral mean of the scaled training input, as in the report) summed into the
paper's 27 eGeMAPS groups, and :func:`emolens.deploy.streaming.stream_signal` for the
timeline of longer clips.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from emolens.deploy.predict import Predictor
from emolens.deploy.regions import ellipse, read_reference, read_regions
from emolens.results import latent_column

__all__ = ["Explainer", "envelope"]

#: Ellipses drawn per class: the smallest region holding this share of the class's codes
#: (if they were Gaussian).
MASSES = (0.5, 0.9)


class Explainer:
    """Explanations for one bundle (computed once; cheap per clip).

    Args:
        predictor: the model (its bundle's ``info`` may hold regions and a reference).
    """

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        b = predictor.bundle
        self.labels = list(b.labels)
        self.columns = list(b.feature_names)
        self.regions, self.regions_reason = (
            read_regions(b.info, b.latent_dim) if b.latent_dim == 2
            else (None, f"the latent has {b.latent_dim} dimensions; the map needs 2"))
        self.encoder = getattr(predictor.reduce, "encoder_", None)
        self.attribution_reason = ""
        self.reference, why = read_reference(b.info, len(self.columns))
        if self.reference is not None:
            ref = b.info["attribution_reference"]
            self.reference_label = str(ref.get("label", "neutral"))
            self.reference_text = (f"the {self.reference_label} mean of the training "
                                   f"utterances (n={ref.get('n', '?')}), as in the report")
        else:
            # z-scored input: 0 is the average training utterance (all emotions)
            self.reference = np.zeros(len(self.columns))
            self.reference_label = "average"
            self.reference_text = (f"the average training utterance ({why}; the report uses "
                                   "the neutral mean)")
        if self.encoder is None:
            self.attribution_reason = ("this model's reduction step has no neural encoder "
                                       "(DeepLIFT needs one)")
            self.reference_latent = None
        else:
            import torch

            with torch.no_grad():
                x = torch.as_tensor(self.reference, dtype=torch.float32).reshape(1, -1)
                self.reference_latent = self.encoder.eval()(x).numpy()[0].astype(float)
        from emolens.features.groups import column_groups
        from emolens.interpret.attribution import groups_for_columns

        # the 27 eGeMAPS groups; blocks of dimensions for an encoder's embedding columns
        self.groups = column_groups(self.columns)
        self.group_index = groups_for_columns(self.columns, self.groups)

    # ------------------------------------------------------------------ model summary
    def regions_json(self) -> dict[str, Any]:
        """Regions for the page: per class mean, covariance and ellipses (or the reason)."""
        if self.regions is None:
            return {"available": False, "reason": self.regions_reason, "classes": {}}
        classes = {}
        for c, r in self.regions.items():
            classes[c] = {"n": r["n"], "mean": r["mean"].tolist(), "cov": r["cov"].tolist(),
                          "ellipses": [{"mass": m, **ellipse(r["mean"], r["cov"], m)}
                                       for m in MASSES]}
        return {"available": True, "reason": "",
                "method": self.predictor.bundle.info.get("latent_regions", {}).get("method", ""),
                "classes": classes}

    def reference_json(self) -> dict[str, Any]:
        return {"label": self.reference_label, "text": self.reference_text,
                "latent": None if self.reference_latent is None
                else [float(v) for v in self.reference_latent]}

    # ------------------------------------------------------------------ per clip
    def attribution(self, scaled: np.ndarray, latent: np.ndarray) -> list[dict[str, Any]] | None:
        """DeepLIFT from the scaled input to each latent dimension, summed per feature group.

        Args:
            scaled: (n, p) model input after the scaler (:attr:`Applied.scaled`).
            latent: (n, k) latent codes of the same rows.

        Returns:
            Per row: ``distance`` (|z - z_ref|) and ``groups``, one entry per group with its
            contribution to each latent dimension (``z1``, ``z2``...; they add up to
            ``z - z_ref``) and ``along``: its share of the move away from the reference,
            projected on the direction of that move (they add up to ``distance``). Sorted by
            ``|along|``, largest first. None when the model has no encoder.
        """
        if self.encoder is None or len(scaled) == 0:
            return None
        from emolens.interpret.attribution import aggregate_groups, latent_deeplift

        wide = latent_deeplift(self.encoder, scaled, self.reference, self.columns)
        long = aggregate_groups(wide, self.groups)
        dims = [latent_column(i) for i in range(latent.shape[1])]
        out = []
        for i in range(len(scaled)):
            a = (long[long["sample"] == i].pivot(index="group", columns="dimension",
                                                 values="attribution")[dims])
            move = a.to_numpy().sum(axis=0)  # DeepLIFT: = z(x) - z(reference)
            dist = float(np.linalg.norm(move))
            unit = move / dist if dist > 0 else np.zeros_like(move)
            along = a.to_numpy() @ unit
            rows = [{"group": g, **{d: float(a.loc[g, d]) for d in dims}, "along": float(v)}
                    for g, v in zip(a.index, along)]
            rows.sort(key=lambda r: -abs(r["along"]))
            out.append({"distance": dist, "move": [float(v) for v in move], "groups": rows})
        return out

    def timeline(self, signal: np.ndarray, sr: int, window: float = 3.0,
                 max_windows: int = 120) -> dict[str, Any]:
        """Sliding-window predictions (``emolens predict --stream``) of one signal.

        The hop is 1 s, longer for long clips so that at most ``max_windows`` windows are
        predicted.
        """
        from emolens.deploy.streaming import stream_signal

        mono = signal.mean(axis=1) if signal.ndim == 2 else signal
        duration = len(mono) / sr
        hop = max(1.0, math.ceil((duration - window) / max(max_windows - 1, 1)))
        tl = stream_signal(self.predictor, mono, sr, window=window, hop=hop)
        tl = tl.drop(columns=["latency_ms"])
        rows = []
        for r in tl.to_dict(orient="records"):
            rows.append({k: (None if isinstance(v, float) and math.isnan(v) else
                             bool(v) if isinstance(v, np.bool_) else v) for k, v in r.items()})
        return {"window": window, "hop": hop, "rows": rows}


def envelope(signal: np.ndarray, sr: int, points: int = 600) -> dict[str, Any]:
    """Min/max of the (mono) signal in ``points`` equal slices, for drawing a waveform."""
    mono = signal.mean(axis=1) if signal.ndim == 2 else np.asarray(signal)
    n = len(mono)
    points = max(1, min(points, n))
    edges = np.linspace(0, n, points + 1).astype(int)
    lo = np.minimum.reduceat(mono, edges[:-1])
    hi = np.maximum.reduceat(mono, edges[:-1])
    return {"duration": n / sr, "min": np.round(lo, 4).tolist(), "max": np.round(hi, 4).tolist()}
