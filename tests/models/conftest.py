import pytest


@pytest.fixture(scope="module")
def molecules(qm7x_train):
    """120 real molecules and their reference-energy residuals."""
    from skqm7x import AtomicReferenceRegressor

    X, y = qm7x_train.data[:120], qm7x_train.target[:120]
    reference = AtomicReferenceRegressor().fit(X, y)
    return X, y - reference.predict(X)
