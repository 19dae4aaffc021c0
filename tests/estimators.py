"""The estimators under scikit-learn's common checks, with their expected failures.

Each module that adds a public estimator registers it here, with a reason for
every check it is expected to fail.
"""

from sklearn.linear_model import Ridge

from skqm7x import (
    AtomicReferenceRegressor,
    BagOfBondsTransformer,
    BlendingRegressor,
    ClippedRegressor,
    CoulombMatrixTransformer,
    GaussianProcessKernelRidge,
    GaussianProcessKernelRidgeCV,
    LocalKernelRidge,
    ManyBodyTensorTransformer,
    RandomCoulombExpander,
    SigmoidMLPRegressor,
    SlatmTransformer,
    SolidHarmonicScatteringTransformer,
    SparseLocalKernelRidge,
    TightBindingEnergyTransformer,
)

ESTIMATORS = [
    AtomicReferenceRegressor(handle_unknown="ignore"),
    BagOfBondsTransformer(handle_unknown="ignore"),
    ManyBodyTensorTransformer(handle_unknown="ignore"),
    SlatmTransformer(handle_unknown="ignore"),
    CoulombMatrixTransformer(),
    CoulombMatrixTransformer(sorting="eigenspectrum"),
    CoulombMatrixTransformer(sorting="none", upper_triangle=True),
    RandomCoulombExpander(n_draws=2, random_state=0),
    SigmoidMLPRegressor(
        hidden_layer_sizes=(20,),
        base_learning_rate=0.5,
        max_epochs=20,
        n_draws=1,
        device="cpu",
        random_state=0,
    ),
    GaussianProcessKernelRidge(),
    GaussianProcessKernelRidge(kernel="rbf", alpha=1e-3),
    GaussianProcessKernelRidgeCV(),
    GaussianProcessKernelRidge(kernel="precomputed", alpha=1e-3),
    GaussianProcessKernelRidgeCV(kernel="precomputed"),
    BlendingRegressor([("ridge", Ridge()), ("kernel", GaussianProcessKernelRidgeCV())]),
    LocalKernelRidge(handle_unknown="ignore"),
    SparseLocalKernelRidge(handle_unknown="ignore"),
    TightBindingEnergyTransformer(),
    ClippedRegressor(),
]

# These checks build X with 2, 3 or 10 columns. Molecule inputs need 4 columns
# per atom slot (and the expander a square number of columns), so the
# estimators rightly refuse that data with a clear ValueError. The properties
# the checks guard are tested on real molecules in tests/test_estimator_contract.py.
_FIXED_WIDTH_CHECKS = [
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
]
_FIXED_WIDTH_REASON = (
    "the check's X has a width that is not a valid molecule encoding; "
    "covered on real molecules in tests/test_estimator_contract.py"
)

# This check's X (4 columns: one atom per molecule) is shifted to be
# non-negative, which makes one charge exactly 0: a molecule without atoms,
# refused with a clear error. n_features_in_ is tested on real molecules in
# tests/test_estimator_contract.py and tests/representations/test_scattering.py.
_EMPTY_MOLECULE = {
    "check_n_features_in_after_fitting": (
        "the check's X has a molecule without atoms (its smallest value, a "
        "charge, shifted to 0), which the transformer refuses; covered on real "
        "molecules in tests/test_estimator_contract.py and "
        "tests/representations/test_scattering.py"
    )
}

# The reference regressor counts elements: the checks' random real-valued
# "charges" never recur between fit and predict, on top of the widths above.
_REGRESSOR_CHECKS = [
    "check_n_features_in_after_fitting",
    "check_regressors_train",
    "check_regressor_data_not_an_array",
    "check_regressors_no_decision_function",
    "check_supervised_y_2d",
    "check_regressors_int",
]

# The checks that run when fit takes sample_weight.
_SAMPLE_WEIGHT_CHECKS = [
    "check_sample_weights_not_an_array",
    "check_sample_weights_list",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
    "check_sample_weight_equivalence_on_dense_data",
]

# {estimator class name: {check name: reason}}
EXPECTED_FAILED_CHECKS = {
    "AtomicReferenceRegressor": dict.fromkeys(
        [*_FIXED_WIDTH_CHECKS, *_REGRESSOR_CHECKS, *_SAMPLE_WEIGHT_CHECKS],
        "the check's X is no molecule encoding (width, or charges that never "
        "recur); covered on real molecules in tests/models/test_reference.py",
    ),
    "BlendingRegressor": dict.fromkeys(
        _SAMPLE_WEIGHT_CHECKS,
        "the blend checked holds GaussianProcessKernelRidgeCV, whose fit takes "
        "no sample_weight: without metadata routing the blend sends "
        "sample_weight to every regressor, as VotingRegressor does, so it "
        "refuses it; weighted blends of regressors that take it are tested in "
        "tests/models/test_blending.py (cross-validated held-out predictions "
        "make weights never equivalent to repeated samples)",
    ),
    "CoulombMatrixTransformer": {
        **dict.fromkeys(_FIXED_WIDTH_CHECKS, _FIXED_WIDTH_REASON),
        **_EMPTY_MOLECULE,
        "check_positive_only_tag_during_fit": (
            "the tag steers the checks to non-negative charges, but coordinates "
            "may be negative, so fit rejects negative charges only, with its own "
            "message (tested in tests/representations/test_coulomb.py)"
        ),
    },
    "RandomCoulombExpander": dict.fromkeys(_FIXED_WIDTH_CHECKS, _FIXED_WIDTH_REASON),
    "ManyBodyTensorTransformer": {
        **dict.fromkeys(_FIXED_WIDTH_CHECKS, _FIXED_WIDTH_REASON),
        **_EMPTY_MOLECULE,
        "check_positive_only_tag_during_fit": (
            "the tag steers the checks to non-negative charges, but coordinates "
            "may be negative, so fit rejects negative charges only"
        ),
    },
    "SlatmTransformer": {
        **dict.fromkeys(
            [*_FIXED_WIDTH_CHECKS, "check_n_features_in_after_fitting"],
            "the check's X is no molecule encoding (width, or real-valued charges, "
            "which SLATM refuses with a clear error: it needs elements); covered "
            "on real molecules in tests/test_estimator_contract.py",
        ),
        "check_positive_only_tag_during_fit": (
            "the tag steers the checks to non-negative charges, but coordinates "
            "may be negative, so fit rejects negative charges only"
        ),
    },
    "BagOfBondsTransformer": {
        **dict.fromkeys(_FIXED_WIDTH_CHECKS, _FIXED_WIDTH_REASON),
        **_EMPTY_MOLECULE,
        "check_positive_only_tag_during_fit": (
            "the tag steers the checks to non-negative charges, but coordinates "
            "may be negative, so fit rejects negative charges only"
        ),
    },
    "LocalKernelRidge": {
        **dict.fromkeys(
            [*_FIXED_WIDTH_CHECKS, *_REGRESSOR_CHECKS],
            "the check's X is no molecule encoding (width, or real-valued charges, "
            "which FCHL19 refuses with a clear error: it needs elements); covered "
            "on real molecules in tests/test_estimator_contract.py (the contract) "
            "and tests/models/test_local_kernel_ridge.py (the fit itself)",
        ),
        "check_positive_only_tag_during_fit": (
            "the tag steers the checks to non-negative charges, but coordinates "
            "may be negative, so fit rejects negative charges only"
        ),
    },
    "SparseLocalKernelRidge": {
        **dict.fromkeys(
            [*_FIXED_WIDTH_CHECKS, *_REGRESSOR_CHECKS],
            "the check's X is no molecule encoding (width, or real-valued charges, "
            "which FCHL19 refuses with a clear error: it needs elements); covered "
            "on real molecules in tests/test_estimator_contract.py (the contract) "
            "and tests/models/test_local_kernel_ridge.py (the fit itself)",
        ),
        "check_positive_only_tag_during_fit": (
            "the tag steers the checks to non-negative charges, but coordinates "
            "may be negative, so fit rejects negative charges only"
        ),
    },
    "TightBindingEnergyTransformer": {
        **dict.fromkeys(
            [*_FIXED_WIDTH_CHECKS, "check_n_features_in_after_fitting"],
            "the check's X is no molecule encoding (width, or real-valued charges, "
            "which GFN2-xTB refuses with a clear error: it needs elements); "
            "covered on real molecules in tests/test_estimator_contract.py",
        ),
        "check_positive_only_tag_during_fit": (
            "the tag steers the checks to non-negative charges, but coordinates "
            "may be negative, so fit rejects negative charges only"
        ),
    },
    "SigmoidMLPRegressor": {
        "check_methods_subset_invariance": (
            "the network computes in float32, where the batch size changes the "
            "last bits of a prediction (about 1e-7 relative)"
        ),
    },
}


# A precomputed kernel must be positive definite once alpha is added: these
# checks hand one that is not (the linear kernel of centred data, or of data
# truncated to integers), and the model refuses it with a clear ValueError
# where KernelRidge would fall back to least squares. The checks' properties
# hold for the named kernels, checked above, and a precomputed kernel is
# tested against them in tests/models/test_kernel_ridge.py.
_PRECOMPUTED_CHECKS = dict.fromkeys(
    ["check_positive_only_tag_during_fit", "check_estimators_dtypes"],
    "the check's precomputed kernel is not positive definite plus alpha, "
    "which the model refuses with a clear ValueError",
)


def expected_failed_checks(estimator):
    expected = EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})
    if getattr(estimator, "kernel", None) == "precomputed":
        expected = {**expected, **_PRECOMPUTED_CHECKS}
    return expected


# A tiny grid keeps the checks fast; a fixed scale and grid hold the checks'
# random "molecules" (coordinates up to ~16 Angstrom from their centre). The
# fixed-width properties are tested on real molecules in
# tests/representations/test_scattering.py.
ESTIMATORS.extend(
    SolidHarmonicScatteringTransformer(
        J=1,
        L=1,
        width=1.0,
        grid_shape=(16, 16, 16),
        scale=0.25,
        backend=backend,
        device="cpu",
    )
    for backend in ("fast", "kymatio")
)
EXPECTED_FAILED_CHECKS["SolidHarmonicScatteringTransformer"] = {
    **dict.fromkeys(
        _FIXED_WIDTH_CHECKS,
        "the check's X has a width that is not a valid molecule encoding; "
        "covered on real molecules in tests/representations/test_scattering.py",
    ),
    **_EMPTY_MOLECULE,
    "check_positive_only_tag_during_fit": (
        "positive_only only makes the checks feed non-negative charges; "
        "coordinates may be negative, so negative X is no error"
    ),
}
