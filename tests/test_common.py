"""scikit-learn's estimator checks, for every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.estimators import ESTIMATORS, expected_failed_checks


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
