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

import re

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


#: ComParE_2016 low-level descriptor (a column's name before ``_sma``) -> feature group, named
#: like the eGeMAPS group that measures the same thing (loudness, pitch, spectral flux, MFCC,
#: jitter, shimmer, HNR), so that attributions read alike on both sets. Every ComParE
#: functional and its delta (``_sma_de_``) belongs to its descriptor's group.
COMPARE_GROUPS: dict[str, str] = {
    "audspec_lengthL1norm": "loudness",  # the auditory spectrum's sum: ComParE's loudness
    "audspecRasta_lengthL1norm": "loudness",
    "pcm_RMSenergy": "loudness",
    "F0final": "pitch",
    "voicingFinalUnclipped": "voicing probability",
    "jitterLocal": "jitter",
    "jitterDDP": "jitter",
    "shimmerLocal": "shimmer",
    "logHNR": "HNR",
    "pcm_fftMag_spectralFlux": "spectral flux",
    "mfcc": "MFCC",
    "audSpec_Rfilt": "auditory bands (RASTA)",
    "pcm_zcr": "zero-crossing rate",
    **{f"pcm_fftMag_{name}": "spectral shape" for name in (
        "fband250-650", "fband1000-4000", "spectralRollOff25.0", "spectralRollOff50.0",
        "spectralRollOff75.0", "spectralRollOff90.0", "spectralCentroid", "spectralEntropy",
        "spectralVariance", "spectralSkewness", "spectralKurtosis", "spectralSlope",
        "psySharpness", "spectralHarmonicity")},
}
_COMPARE_COLUMN = re.compile(r"^(.+?)_sma(?:\[\d+\])?_")


def compare_group(column: str) -> str | None:
    """The group of a ComParE_2016 functional column (:data:`COMPARE_GROUPS`), else None."""
    m = _COMPARE_COLUMN.match(str(column))
    return COMPARE_GROUPS.get(m[1]) if m else None


#: Encoder embedding dimensions are attributed in this many blocks of consecutive dimensions
#: (occlusion, permutation and ablation cost one pass per group, so 768 single dimensions
#: would be slow). Unlike the 27 eGeMAPS groups, a block has no physical meaning.
EMBEDDING_BLOCKS = 16
_EMBEDDING_COLUMN = re.compile(r"^emb_(mean|std)_(\d+)$")


def column_groups(columns) -> dict[str, list[str]]:
    """Feature groups for the columns of any feature table, for attribution.

    eGeMAPSv02 columns get the paper's 27 groups (:data:`FEATURE_GROUPS`); ComParE_2016
    columns the groups of their low-level descriptors (:data:`COMPARE_GROUPS`); encoder
    columns (``emb_mean_0007``, ``emb_std_0007``) get :data:`EMBEDDING_BLOCKS` blocks of
    consecutive embedding dimensions, mean and std of a dimension together, named
    ``embedding dims 0-47``. Other columns (GeMAPS) belong to no group (``"other"`` in
    :func:`emolens.interpret.attribution.groups_for_columns`).

    Args:
        columns: feature column names.

    Returns:
        group name -> its columns, eGeMAPS groups first.
    """
    columns = [str(c) for c in columns]
    present = set(columns)
    out = {g: [c for c in cols if c in present] for g, cols in FEATURE_GROUPS.items()}
    out = {g: cols for g, cols in out.items() if cols}
    grouped = {c for cols in out.values() for c in cols}
    for c in columns:
        if c not in grouped and (group := compare_group(c)) is not None:
            out.setdefault(group, []).append(c)
    dims = sorted({int(m[2]) for c in columns if (m := _EMBEDDING_COLUMN.match(c))})
    if dims:
        size = -(-len(dims) // EMBEDDING_BLOCKS)
        for start in range(0, len(dims), size):
            block = dims[start:start + size]
            name = f"embedding dims {block[0]}-{block[-1]}"
            out[name] = [c for c in columns if (m := _EMBEDDING_COLUMN.match(c))
                         and int(m[2]) in set(block)]
    return out


def has_embeddings(columns) -> bool:
    """Whether a feature table holds encoder embedding columns."""
    return any(_EMBEDDING_COLUMN.match(str(c)) for c in columns)
