"""The paper's 27 groups of the 88 eGeMAPSv02 functionals.

Das et al. (2021) report attributions per feature group rather than per feature. They list
the groups as: pitch, loudness, spectral flux, MFCC, jitter, shimmer, HNR, harmonic
differences (H1-H2, H1-A3), F1, F2, F3 (each with frequency, bandwidth and amplitude);
voiced-only alpha ratio, Hammarberg index, spectral slopes 0-500 / 500-1500 Hz, spectral flux,
MFCC; unvoiced-only alpha ratio, Hammarberg index, slopes, flux; loudness peaks per second,
voiced segments per second, mean voiced and unvoiced segment length, equivalent sound level.

That list reads as 27 groups when the harmonic differences form one group, each formant is
one group, and the unvoiced slopes are split like the voiced ones. The standard deviations
of segment lengths join their mean ("voiced/unvoiced segment length"). docs/features.md
gives every assignment and the counting.
"""

from __future__ import annotations

#: Group name -> eGeMAPSv02 functional columns, in the order of the paper's list.
FEATURE_GROUPS: dict[str, list[str]] = {}


def _stats(lld: str, stats=("amean", "stddevNorm")) -> list[str]:
    return [f"{lld}_{s}" for s in stats]


_CONTOUR = (
    "amean",
    "stddevNorm",
    "percentile20.0",
    "percentile50.0",
    "percentile80.0",
    "pctlrange0-2",
    "meanRisingSlope",
    "stddevRisingSlope",
    "meanFallingSlope",
    "stddevFallingSlope",
)

FEATURE_GROUPS.update(
    {
        # Frequency-related and energy parameters over all frames.
        "pitch": _stats("F0semitoneFrom27.5Hz_sma3nz", _CONTOUR),
        "loudness": _stats("loudness_sma3", _CONTOUR),
        "spectral flux": _stats("spectralFlux_sma3"),
        "MFCC": [c for k in range(1, 5) for c in _stats(f"mfcc{k}_sma3")],
        "jitter": _stats("jitterLocal_sma3nz"),
        "shimmer": _stats("shimmerLocaldB_sma3nz"),
        "HNR": _stats("HNRdBACF_sma3nz"),
        "harmonic differences": _stats("logRelF0-H1-H2_sma3nz")
        + _stats("logRelF0-H1-A3_sma3nz"),
        **{
            f"F{k}": _stats(f"F{k}frequency_sma3nz")
            + _stats(f"F{k}bandwidth_sma3nz")
            + _stats(f"F{k}amplitudeLogRelF0_sma3nz")
            for k in (1, 2, 3)
        },
        # Spectral parameters over voiced frames only.
        "alpha ratio (voiced)": _stats("alphaRatioV_sma3nz"),
        "Hammarberg index (voiced)": _stats("hammarbergIndexV_sma3nz"),
        "slope 0-500 Hz (voiced)": _stats("slopeV0-500_sma3nz"),
        "slope 500-1500 Hz (voiced)": _stats("slopeV500-1500_sma3nz"),
        "spectral flux (voiced)": _stats("spectralFluxV_sma3nz"),
        "MFCC (voiced)": [c for k in range(1, 5) for c in _stats(f"mfcc{k}V_sma3nz")],
        # Over unvoiced frames only (eGeMAPS keeps only the mean there).
        "alpha ratio (unvoiced)": ["alphaRatioUV_sma3nz_amean"],
        "Hammarberg index (unvoiced)": ["hammarbergIndexUV_sma3nz_amean"],
        "slope 0-500 Hz (unvoiced)": ["slopeUV0-500_sma3nz_amean"],
        "slope 500-1500 Hz (unvoiced)": ["slopeUV500-1500_sma3nz_amean"],
        "spectral flux (unvoiced)": ["spectralFluxUV_sma3nz_amean"],
        # Temporal features.
        "loudness peaks per second": ["loudnessPeaksPerSec"],
        "voiced segments per second": ["VoicedSegmentsPerSec"],
        "voiced segment length": ["MeanVoicedSegmentLengthSec", "StddevVoicedSegmentLengthSec"],
        "unvoiced segment length": ["MeanUnvoicedSegmentLength", "StddevUnvoicedSegmentLength"],
        "equivalent sound level": ["equivalentSoundLevel_dBp"],
    }
)

#: Column -> group name.
COLUMN_GROUP: dict[str, str] = {c: g for g, cols in FEATURE_GROUPS.items() for c in cols}

#: Group name -> coarse family used in docs and plots.
GROUP_FAMILY: dict[str, str] = {
    g: (
        "voiced"
        if g.endswith("(voiced)")
        else "unvoiced"
        if g.endswith("(unvoiced)")
        else "temporal"
        if g
        in {
            "loudness peaks per second",
            "voiced segments per second",
            "voiced segment length",
            "unvoiced segment length",
            "equivalent sound level",
        }
        else "all frames"
    )
    for g in FEATURE_GROUPS
}

def feature_group(column: str) -> str:
    """The paper group of an eGeMAPSv02 functional column.

    Args:
        column: openSMILE column name, e.g. ``"F0semitoneFrom27.5Hz_sma3nz_amean"``.

    Returns:
        Group name, a key of :data:`FEATURE_GROUPS`.

    Raises:
        KeyError: the column is not one of the 88 eGeMAPSv02 functionals.
    """
    try:
        return COLUMN_GROUP[column]
    except KeyError:
        raise KeyError(
            f"{column!r} is not an eGeMAPSv02 functional; feature groups exist only for "
            "the 88 eGeMAPSv02 functionals (feature set 'egemaps')"
        ) from None
