"""scikit-learn's own estimator checks on the emolens estimators."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from emolens.models import AutoencoderTransformer, FeatureScaler

# Few epochs: the checks test the estimator API, not the quality of the network.
ESTIMATORS = [
    FeatureScaler(),
    FeatureScaler(clip=None),
    AutoencoderTransformer(kind="uae", epochs=3, batch_size=16),
    AutoencoderTransformer(kind="dae", epochs=3, batch_size=16),
    AutoencoderTransformer(kind="cvae", epochs=3, batch_size=16),
    AutoencoderTransformer(kind="ssvae", epochs=3, batch_size=16),
]

# Every check applies: no expected failures. (FeatureScaler(by="corpus"/"speaker") is left out
# on purpose: it requires group ids, which the checks' plain numpy data cannot carry.)


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
