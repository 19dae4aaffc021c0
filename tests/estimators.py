"""The estimators under scikit-learn's common checks, with their expected failures.

Each module that adds a public estimator registers it here, with a reason for
every check it is expected to fail.
"""

ESTIMATORS = []

# {estimator class name: {check name: reason}}
EXPECTED_FAILED_CHECKS = {}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})
