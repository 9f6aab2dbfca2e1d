"""The paper's 27 feature groups over the 88 eGeMAPSv02 functionals."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from emolens.features.groups import FEATURE_GROUPS, GROUP_FAMILY, feature_group

DOCS = Path(__file__).resolve().parents[2] / "docs" / "features.md"


@pytest.fixture(scope="module")
def egemaps_columns() -> list[str]:
    import opensmile

    smile = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.Functionals)
    return list(smile.feature_names)


def test_27_groups():
    assert len(FEATURE_GROUPS) == 27
    assert all(FEATURE_GROUPS.values()), "every group has at least one column"


def test_every_column_in_exactly_one_group(egemaps_columns):
    counts = Counter(c for cols in FEATURE_GROUPS.values() for c in cols)
    assert len(egemaps_columns) == 88
    assert set(counts) == set(egemaps_columns)
    assert all(n == 1 for n in counts.values())
    for column in egemaps_columns:
        assert column in FEATURE_GROUPS[feature_group(column)]


def test_some_assignments():
    assert feature_group("F0semitoneFrom27.5Hz_sma3nz_pctlrange0-2") == "pitch"
    assert feature_group("spectralFluxV_sma3nz_amean") == "spectral flux (voiced)"
    assert feature_group("spectralFlux_sma3_amean") == "spectral flux"
    assert feature_group("logRelF0-H1-A3_sma3nz_stddevNorm") == "harmonic differences"
    assert feature_group("F2bandwidth_sma3nz_amean") == "F2"
    assert feature_group("StddevUnvoicedSegmentLength") == "unvoiced segment length"
    assert GROUP_FAMILY["MFCC (voiced)"] == "voiced"
    assert GROUP_FAMILY["slope 0-500 Hz (unvoiced)"] == "unvoiced"


def test_unknown_column():
    with pytest.raises(KeyError, match="not an eGeMAPSv02 functional"):
        feature_group("pcm_fftMag_mfcc_sma[1]_amean")


def test_docs_list_every_assignment():
    text = DOCS.read_text(encoding="utf-8")
    for group, columns in FEATURE_GROUPS.items():
        assert f"| {group} |" in text, group
        for column in columns:
            assert f"`{column}`" in text, column


def test_every_compare_column_has_a_descriptor_group():
    """ComParE_2016's 6373 functionals: each in the group of its low-level descriptor, the
    shared names (loudness, pitch, spectral flux, ...) as on eGeMAPS."""
    import opensmile

    from emolens.features.groups import COMPARE_GROUPS, column_groups, compare_group

    columns = list(opensmile.Smile(opensmile.FeatureSet.ComParE_2016,
                                   opensmile.FeatureLevel.Functionals).feature_names)
    assert len(columns) == 6373
    missing = [c for c in columns if compare_group(c) is None]
    assert not missing, missing[:5]
    groups = column_groups(columns)
    assert sorted(c for cols in groups.values() for c in cols) == sorted(columns)
    assert set(groups) == set(COMPARE_GROUPS.values())
    assert {"loudness", "pitch", "spectral flux", "MFCC", "jitter", "shimmer", "HNR"} <= set(groups)
    assert compare_group("F0final_sma_de_amean") == "pitch"
    assert compare_group("mfcc_sma[3]_range") == "MFCC"


def test_egemaps_columns_keep_the_paper_groups(egemaps_columns):
    from emolens.features.groups import column_groups, compare_group

    assert column_groups(egemaps_columns) == {g: c for g, c in FEATURE_GROUPS.items()}
    assert all(compare_group(c) is None for c in egemaps_columns)
