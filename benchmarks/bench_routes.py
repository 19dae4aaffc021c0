"""Routes to a better best model, screened by leave-one-out on the challenge.

Each route changes one thing of the best model, ``xtb-fchl-krr`` (element
energies and GFN2-xTB energy as a baseline, the local FCHL19 kernel on the
remainder), and prints the closed-form leave-one-out RMSE of the local kernel
model on all labelled molecules, its width and penalty chosen by that same
leave-one-out over the ready-made grid (``DELTA_GAMMAS``, ``DELTA_ALPHAS``).
It is a screen, one fit per route, not the nested CV of ``bench_models.py``:
a route worth a model is then measured there.

Routes:

``gfn2``: the best model as it is (baseline coefficient 1).

``gfn1+gfn2``: the GFN1-xTB and GFN2-xTB energies together, their
coefficients fitted by least squares with the element energies (once, on
all labelled molecules).

``--dispersion``: also ``gfn2+d4``, the PBE0-D4 dispersion energy
(dftd4, rational damping with PBE0's parameters; ``pip install -e
".[dispersion]"``) as a second baseline term beside the GFN2-xTB energy, its
coefficient fitted by least squares with the element energies (once, on all
labelled molecules): whether the labels' PBE0+MBD holds dispersion that
GFN2-xTB's own D4 term and the kernel miss.

``--mbd``: also ``gfn2+mbd``, a many-body dispersion energy (MBD@rsSCS,
PBE0's range separation, ``_mbd.py``: libmbd's numpy formulation) as that
second baseline term instead. The labels' MBD takes each atom's
polarizability from its Hirshfeld volume in the PBE0 density, which the
baseline lacks: here the atoms' polarizabilities and C6 coefficients are
D4's (dftd4, for the atom's coordination number and charge), the van der
Waals radii the free atoms' scaled by the cube root of the polarizability
ratio. Needs dftd4 too.

``--test-like``: also the best model scored on the test-like molecules
alone (``skqm7x.molecules_like``: element set and atom count among the test
molecules), its leave-one-out predictions from the fit on all labelled
molecules; and ``gfn2, test-like only``, the same model fitted on the
test-like molecules alone (element energies included): whether the 17
molecules of kinds the test set lacks (chlorine, rare sulphur compounds)
help or hurt the others.

``--fchl19 NAME=VALUE ...``: the best model with one real-valued FCHL19
parameter of qmllib's ``generate_fchl19`` changed (``rcut``,
``two_body_decay``, ...; each a route of its own).

``--charges W ...``: the GFN2-xTB partial charge of each atom (tblite's
Mulliken charges of the same calculation), times ``W``, appended to the
atom's FCHL19 vector, so that the kernel also compares the atoms' charges;
``W`` 0 is the best model itself, by this route's own code (a check).
``--atomic NAME=W[,NAME=W] ...`` appends any of the atom's GFN2-xTB
quantities that way, one route per argument: ``charges``, ``valences`` (the
sum of the atom's Wiberg bond orders) and ``energies`` (tblite's
atom-resolved energy, Hartree); ``--charges W`` is ``--atomic charges=W``.
The FCHL19 vectors and tight-binding quantities are computed once, for all
the routes below; a row's seconds are its kernels and leave-one-out. With
``--charges-on gfn1+gfn2`` the kernel learns the remainder of the GFN1+GFN2
route instead: whether the two routes add up. With ``--per-element`` each
element's atoms are first brought to the same spread in each quantity
(sulphur's charges vary about six times as much as carbon's), by
``LocalKernelRidge``'s ``tight_binding_scaling="per_element"`` rule learned
on all the labelled atoms: the weights then act alike on every element (also
for ``--second-atomic``).

``--second NAME ...``: a second kernel added to the best model's, ``K =
K_fchl19(gamma) + w K_2``, ``K_2`` scaled to the same mean diagonal and
``w`` in ``SECOND_WEIGHTS``, all chosen by the same leave-one-out:
``fchl19`` the local FCHL19 kernel at a second width (several length
scales), ``mbtr`` a Gaussian kernel on ``mbtr-krr``'s many-body tensors
(widths ``MBTR_GAMMAS``), ``slatm`` a Laplacian kernel on qmllib's global
SLATM vectors (widths 1, 10 and 100 times the median distance),
``slatm-gauss`` a Gaussian kernel on the same vectors (length scales
``GAUSSIAN_WIDTHS`` times the median distance: Euclidean distances,
one matrix product, where the Laplacian's L1 distances cost far more),
``scattering`` a Gaussian kernel on ``xtb-scattering-ridge``'s features
(the fast backend at ``XTB_SCATTERING_SCALES``, columns standardized;
length scales ``GAUSSIAN_WIDTHS`` times the median distance),
``soap`` the
local kernel (same-element atom pairs, like FCHL19's) on each atom's SOAP
power spectrum (dscribe: ``SOAP_PARAMETERS``, each vector scaled to unit
length, widths ``SOAP_GAMMAS``; ``pip install -e ".[soap]"``),
``graph`` 1 between two molecules of one bonding graph (conformers of one
compound, ``skqm7x.bonding_graphs``) and 0 otherwise, so that a molecule's
prediction leans on its compound's other conformers beyond what their
geometries share,
``orbitals`` a Gaussian kernel on what the GFN2-xTB calculation knows of
the molecule's electrons as a whole (its occupied orbital energies from the
highest down, zero past a molecule's own, the two lowest empty ones and the
length of its dipole; columns standardized, ``gamma`` ``ORBITAL_GAMMAS``
over the number of columns),
``xtbml`` the local kernel (same-element atom pairs) on each atom's 39
xtbml columns (``skqm7x.tight_binding_atoms(X, ["xtbml"])``, tblite's
post-processing of the same GFN2-xTB calculation: partitioned energies,
shell populations and multipoles, frontier-orbital quantities, and their
coordination-number averages; columns standardized within each element,
``gamma`` ``XTBML_GAMMAS`` over the number of columns): electronic structure
as its own kernel; ``xtbml-mbtr`` the same plus ``best``'s MBTR kernel
(``MOLECULE_GAMMA``, weight ``MOLECULE_WEIGHT`` of the mean diagonal), as
the atoms model has it. The FCHL19
widths tried are the middle two of ``DELTA_GAMMAS`` (each ``fchl19`` row
fixes one of all four). A row also gives the second kernel alone on the same
remainder, its seconds not counted. ``--second-atomic NAME=W[,NAME=W]``
adds the second kernels to the FCHL19 kernel of vectors that carry those
GFN2-xTB quantities (see ``--atomic``): whether the two routes add up.
``--on-best`` adds them to the kernel of ``best`` instead: that FCHL19
kernel plus ``best``'s MBTR kernel (``MOLECULE_GAMMA``, weight
``MOLECULE_WEIGHT`` of the mean diagonal); with ``--second-atomic
charges=3,energies=30 --per-element`` it is ``best``'s kernel, so a row
says whether the second kernel adds to ``best``.

``--ensemble`` adds a row ``NAME (mix)`` per second kernel: instead of
one model on the sum of the kernels, two models, one on the first kernel
and one on the second alone, whose leave-one-out predictions are mixed,
``(1 - s)`` times the first's plus ``s`` times the second's (its ``w``
column), ``s`` chosen on the same errors (a little optimistic) as
``BlendingRegressor`` chooses its weights: whether an ensemble of two
kernel models beats their sum. With two second kernels or more, a last
line mixes the first model with all of them at once (``xtb-blend-krr``
with more members). ``--mix-only`` leaves out the sums, the costly part.

``--xtbml-groups`` (with ``--second xtbml ... --ensemble``): the xtbml
columns fall into five groups, ``XTBML_GROUPS`` (the atoms' partitioned
energies; charges, shell populations, coordination number and the energy
partition weight ``w_tot``; dipole and quadrupole moments; frontier-orbital
quantities; the averages over neighbours), each with a weight its columns
are multiplied by after standardizing. The weights are chosen by
coordinate descent (factors ``XTBML_GROUP_FACTORS`` of each in turn, two
rounds) on the leave-one-out
RMSE of the mix of the first model, the other second kernels' models but
``xtbml-mbtr``, and the xtbml model (its width and penalty chosen alone, as
in its row). Five weights chosen on the same errors they are scored on: the
figure is a little optimistic.

``--element-weights``: the FCHL19 kernel split into one kernel per
element (the pairs of hydrogen atoms, of carbon atoms, ...), summed again
with a weight per element, ``K = sum_e w_e K_e``: the signal variance of
each element's atomic contributions. The weights of H, C, N and O are chosen
by coordinate descent on the leave-one-out RMSE (factors
``ELEMENT_FACTORS`` of each in turn, two rounds; S and Cl keep weight 1),
at the middle two widths of ``DELTA_GAMMAS``. Four weights chosen on the
same errors they are scored on: the figure is a little optimistic.

Usage::

    python benchmarks/bench_routes.py
    python benchmarks/bench_routes.py --fchl19 rcut=6 two_body_decay=3.6
    python benchmarks/bench_routes.py --fchl19 --dispersion --mbd
    python benchmarks/bench_routes.py --fchl19 --charges 0 10 30
    python benchmarks/bench_routes.py --fchl19 --atomic valences=3 charges=3,energies=30
    python benchmarks/bench_routes.py --fchl19 --second fchl19 mbtr slatm
    python benchmarks/bench_routes.py --fchl19 --second soap \\
        --second-atomic charges=3,energies=30
    python benchmarks/bench_routes.py --fchl19 --second mbtr \\
        --second-atomic charges=3,energies=30
    python benchmarks/bench_routes.py --fchl19 --element-weights
    python benchmarks/bench_routes.py --fchl19 --second orbitals --on-best \\
        --second-atomic charges=3,energies=30 --per-element
    python benchmarks/bench_routes.py --fchl19 --second xtbml --on-best \\
        --ensemble --second-atomic charges=3,energies=30 --per-element
    python benchmarks/bench_routes.py --fchl19 --n-jobs 2 --second xtbml \\
        xtbml-mbtr slatm-gauss --on-best --ensemble --mix-only \\
        --second-atomic charges=3,energies=30 --per-element --xtbml-groups
    python benchmarks/bench_routes.py --fchl19 --second mbtr slatm soap \\
        --on-best --ensemble --mix-only --second-atomic charges=3,energies=30 \\
        --per-element
    python benchmarks/bench_routes.py --fchl19 --second slatm-gauss scattering \\
        --on-best --ensemble --mix-only --second-atomic charges=3,energies=30 \\
        --per-element
"""

# SPDX-License-Identifier: BSD-3-Clause

import importlib.util

import _mbd
import numpy as np
from _common import (
    Stopwatch,
    Table,
    describe_machine,
    load_labelled,
    load_test_like,
    make_parser,
)
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, RegressorMixin
from threadpoolctl import threadpool_limits

import skqm7x
from skqm7x.models import local_kernels
from skqm7x.recipes import (
    DELTA_ALPHAS,
    DELTA_GAMMAS,
    MBTR_GAMMAS,
    MOLECULE_GAMMA,
    MOLECULE_WEIGHT,
    XTB_SCATTERING_SCALES,
)
from skqm7x.representations import (
    AtomicEnvironments,
    fchl19_environments,
    tight_binding_atoms,
)

DEFAULT_FCHL19 = ["rcut=4", "rcut=6", "two_body_decay=3.6", "three_body_weight=26.8"]
SECOND_WEIGHTS = (0.1, 0.3, 1.0, 3.0, 10.0)
ELEMENT_FACTORS = (0.25, 0.5, 2.0, 4.0)
# Set before the screen, not tuned: a 5 Angstrom cut-off spans most of a
# QM7-X molecule, and unit vectors lie within distance 2 of each other, so
# the widths run from broad to sharp.
SOAP_PARAMETERS = {"r_cut": 5.0, "n_max": 6, "l_max": 4, "sigma": 0.5}
SOAP_GAMMAS = (0.125, 0.5, 2.0, 8.0)
# Set before the screen, not tuned: times 1 / (number of standardized
# columns), from broad to sharp.
ORBITAL_GAMMAS = (0.03, 0.1, 0.3, 1.0)
# Set before the screen, not tuned: times 1 / (number of xtbml columns),
# from broad to sharp.
XTBML_GAMMAS = (0.1, 0.3, 1.0, 3.0)
# The xtbml columns by kind (a name ending in "_" is a prefix), for
# --xtbml-groups, whose coordinate descent multiplies a group's weight by
# each factor in turn.
XTBML_GROUPS = {
    "energies": ("E_",),
    "charges": ("q_A", "p_s", "p_p", "p_d", "CN_A", "w_tot"),
    "multipoles": ("dipm_", "qm_"),
    "orbitals": ("HOAO", "LUAO", "chem_pot", "gap", "response"),
    "neighbours": ("ext_",),
}
XTBML_GROUP_FACTORS = (0.0, 0.5, 2.0)
# Set before the screen, not tuned: length scales in units of the median
# distance between two molecules' vectors, from sharp to nearly flat.
GAUSSIAN_WIDTHS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
# The baseline's calculation, whose settings the orbital energies share.
BASELINE = skqm7x.TightBindingEnergyTransformer()
# tblite takes positions in bohr (CODATA 2018).
ANGSTROM_IN_BOHR = 1 / 0.529177210903
HARTREE_IN_EV = 27.211386245988


def d4_energies(X, functional="pbe0"):
    """The D4 dispersion energy (eV) of each molecule, with a functional's damping."""
    from dftd4.interface import DampingParam, DispersionModel

    Z, R = skqm7x.unpack_molecules(X)
    energies = np.empty(len(X))
    for i, (numbers, positions) in enumerate(zip(Z, R, strict=True)):
        present = numbers > 0
        model = DispersionModel(
            numbers[present].astype(int), positions[present] * ANGSTROM_IN_BOHR
        )
        result = model.get_dispersion(DampingParam(method=functional), grad=False)
        energies[i] = result["energy"] * HARTREE_IN_EV
    return energies


def mbd_energies(X):
    """The MBD@rsSCS energy (eV) of each molecule, on D4's atom parameters."""
    Z, R = skqm7x.unpack_molecules(X)
    energies = np.empty(len(X))
    for i, (numbers, positions) in enumerate(zip(Z, R, strict=True)):
        present = numbers > 0
        numbers = numbers[present].astype(int)
        positions = positions[present] * ANGSTROM_IN_BOHR
        parameters = _mbd.d4_parameters(numbers, positions)
        try:
            energies[i] = _mbd.mbd_energy(positions, *parameters) * HARTREE_IN_EV
        except ValueError as error:
            raise ValueError(f"labelled molecule {i}: {error}") from None
    return energies


def remainder(y, counts, baselines):
    """``y`` less the least-squares fit of element counts and baselines."""
    design = np.column_stack([counts, *baselines])
    coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
    return y - design @ coefficients, coefficients[counts.shape[1] :]


def screen(X, y, representation_params=None, n_jobs=None):
    model = skqm7x.LocalKernelRidge(
        gammas=DELTA_GAMMAS,
        alphas=DELTA_ALPHAS,
        representation_params=representation_params,
        n_jobs=n_jobs,
    )
    watch = Stopwatch()
    model.fit(X, y)
    return float(np.min(model.loo_rmse_)), model.gamma_, model.alpha_, watch.seconds


ATOMIC_QUANTITIES = ("charges", "valences", "energies")


def tight_binding_quantities(X, n_jobs=None):
    """GFN2-xTB's charge, valence and energy of every atom of ``X``.

    One row per atom, molecule after molecule (the order of
    ``fchl19_environments``), columns in the order of ``ATOMIC_QUANTITIES``;
    the same settings as the baseline's calculation.
    """
    Z, _ = skqm7x.unpack_molecules(X)
    return tight_binding_atoms(X, ATOMIC_QUANTITIES, n_jobs=n_jobs)[Z > 0]


def with_quantities(environments, quantities, weights, per_element=False):
    """``environments`` with the weighted columns of ``quantities`` appended.

    ``weights`` maps names of ``ATOMIC_QUANTITIES`` to the factor their
    column is appended with; with ``per_element`` each element's atoms are
    first brought to the same spread, as ``LocalKernelRidge`` does with
    ``tight_binding_scaling="per_element"``.
    """
    if per_element:
        charges = environments.charges
        elements = np.unique(charges)
        scales = skqm7x.per_element_scales(quantities, charges, elements)
        quantities = quantities * scales[np.searchsorted(elements, charges)]
    columns = [
        weight * quantities[:, ATOMIC_QUANTITIES.index(name), None]
        for name, weight in weights.items()
    ]
    return AtomicEnvironments(
        np.hstack([environments.vectors, *columns]),
        environments.charges,
        environments.owners,
        environments.n_molecules,
    )


def leave_one_out_errors(K, y, alpha):
    """Closed-form leave-one-out errors of kernel ridge regression on kernel ``K``.

    ``y`` less each sample's prediction by the model fitted without it:
    ``GaussianProcessKernelRidge(kernel="precomputed")``, whose leave-one-out
    predictions are those that ``LocalKernelRidge`` scores its candidates by.
    Raises ValueError if ``K + alpha I`` is not numerically positive definite.
    """
    model = skqm7x.GaussianProcessKernelRidge(kernel="precomputed", alpha=alpha)
    return y - model.fit(K, y).loo_predictions_


def best_penalty(K, y, alphas=DELTA_ALPHAS):
    """The lowest leave-one-out RMSE of kernel ``K`` over ``alphas``, and its alpha.

    If no alpha makes the kernel solvable, the RMSE is infinity.
    """
    search = skqm7x.GaussianProcessKernelRidgeCV(kernel="precomputed", alphas=alphas)
    try:
        search.fit(K, y)
    except ValueError:
        return np.inf, alphas[0]
    return float(search.loo_rmse_.min()), search.alpha_


def screen_with_quantities(
    y, environments, quantities, weights, n_jobs=None, per_element=False
):
    """The route's leave-one-out RMSE, its width and penalty, and seconds."""
    watch = Stopwatch()
    augmented = with_quantities(environments, quantities, weights, per_element)
    kernels = local_kernels(augmented, None, DELTA_GAMMAS, n_jobs=n_jobs)
    (rmse, alpha), gamma = min(
        (best_penalty(K, y), gamma)
        for K, gamma in zip(kernels, DELTA_GAMMAS, strict=True)
    )
    return rmse, gamma, alpha, watch.seconds


def format_weights(weights):
    """``{"charges": 3.0}`` as ``"charges x 3"``."""
    return ", ".join(f"{name} x {weight:g}" for name, weight in weights.items())


def parse_weights(spec):
    """``"charges=3,energies=30"`` as ``{"charges": 3.0, "energies": 30.0}``."""
    weights = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if name not in ATOMIC_QUANTITIES:
            raise ValueError(f"unknown quantity {name!r}")
        weights[name] = float(value)
    return weights


def mbtr_kernels(X, gammas=MBTR_GAMMAS):
    """Gaussian kernels on ``mbtr-krr``'s many-body tensors, by label."""
    from sklearn.metrics.pairwise import rbf_kernel

    features = skqm7x.ManyBodyTensorTransformer(
        distance_power=4.0, angle_power=4.0
    ).fit_transform(X)
    return {f"mbtr gamma {g:.3g}": rbf_kernel(features, gamma=g) for g in gammas}


def slatm_kernels(X):
    """Laplacian kernels on qmllib's global SLATM vectors, by label."""
    from sklearn.metrics.pairwise import manhattan_distances

    distances = manhattan_distances(skqm7x.SlatmTransformer().fit_transform(X))
    median = np.median(distances[np.triu_indices(len(distances), 1)])
    return {
        f"slatm {scale:g} x median": np.exp(-distances / (scale * median))
        for scale in (1, 10, 100)
    }


def gaussian_kernels(name, vectors):
    """Gaussian kernels on one vector per molecule, by label.

    Length scales ``GAUSSIAN_WIDTHS`` times the median distance between two
    molecules; prints that median and each length scale's ``gamma``.
    """
    from sklearn.metrics.pairwise import euclidean_distances

    squared = euclidean_distances(vectors, squared=True)
    median = np.median(squared[np.triu_indices(len(squared), 1)])
    print(
        f"({name}: median squared distance {median:.4g}; gamma "
        + ", ".join(
            f"{1 / (2 * scale**2 * median):.3g} at {scale:g} x median"
            for scale in GAUSSIAN_WIDTHS
        )
        + ")"
    )
    return {
        f"{name} {scale:g} x median": np.exp(-squared / (2 * scale**2 * median))
        for scale in GAUSSIAN_WIDTHS
    }


def slatm_gaussian_kernels(X):
    """Gaussian kernels on qmllib's global SLATM vectors, by label.

    Euclidean distances come from one matrix product, unlike the Laplacian
    kernel's L1 distances: the cheap kernel on the same vectors.
    """
    return gaussian_kernels("slatm-gauss", skqm7x.SlatmTransformer().fit_transform(X))


def scattering_kernels(X, n_jobs=None):
    """Gaussian kernels on ``xtb-scattering-ridge``'s scattering features, by label."""
    from sklearn.preprocessing import StandardScaler

    features = np.hstack(
        [
            skqm7x.SolidHarmonicScatteringTransformer(
                scale=scale, n_jobs=n_jobs
            ).fit_transform(X)
            for scale in XTB_SCATTERING_SCALES
        ]
    )
    return gaussian_kernels("scattering", StandardScaler().fit_transform(features))


def soap_kernels(X, n_jobs=None):
    """Local Gaussian kernels on each atom's SOAP power spectrum, by label."""
    from ase import Atoms
    from dscribe.descriptors import SOAP

    Z, R = skqm7x.unpack_molecules(X)
    present = Z > 0
    molecules = [
        Atoms(numbers=z[atoms].astype(int), positions=r[atoms])
        for z, r, atoms in zip(Z, R, present, strict=True)
    ]
    soap = SOAP(
        species=np.unique(Z[present]).astype(int).tolist(),
        periodic=False,
        **SOAP_PARAMETERS,
    )
    vectors = np.vstack(soap.create(molecules, n_jobs=n_jobs or 1))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    atoms = AtomicEnvironments(
        vectors,
        Z[present].astype(int),
        np.nonzero(present)[0],
        len(X),
    )
    kernels = local_kernels(atoms, None, SOAP_GAMMAS, n_jobs=n_jobs)
    return {f"soap gamma {g:g}": K for g, K in zip(SOAP_GAMMAS, kernels, strict=True)}


def gfn2_single_point(numbers, positions):
    """tblite's GFN2-xTB result of a molecule, with the baseline's settings.

    The molecule neutral, in its lowest spin state; ``positions`` in
    Angstrom.
    """
    # Imported before the limit: threadpoolctl reaches only the OpenMP
    # runtimes already loaded, and tblite brings its own.
    from tblite.interface import Calculator

    with threadpool_limits(1, user_api="openmp"):
        calculator = Calculator(
            BASELINE.method,
            numbers,
            positions * ANGSTROM_IN_BOHR,
            charge=0.0,
            uhf=int(numbers.sum() % 2),
        )
        calculator.set("verbosity", 0)
        calculator.set("accuracy", float(BASELINE.accuracy))
        calculator.set("max-iter", int(BASELINE.max_iterations))
        return calculator.singlepoint()


def xtbml_atoms(X, n_jobs=None):
    """Each atom's xtbml columns, standardized within its element.

    ``skqm7x.tight_binding_atoms(X, ["xtbml"])``: partitioned energies,
    shell populations and multipoles, frontier-orbital quantities, and their
    coordination-number averages, from the baseline's GFN2-xTB single point
    (the d shells' columns zero in a molecule without sulphur or chlorine).
    Each column is standardized within each element (a column constant within
    an element, such as hydrogen's p-shell population, is zero), as
    ``LocalKernelRidge(representation="xtbml")`` scales them, so that two
    atoms of one element are compared on every column alike.
    """
    Z, _ = skqm7x.unpack_molecules(X)
    present = Z > 0
    vectors = tight_binding_atoms(X, ["xtbml"], n_jobs=n_jobs)[present]
    charges = Z[present].astype(int)
    for element in np.unique(charges):
        of_element = vectors[charges == element]
        spread = of_element.std(axis=0)
        size = np.abs(of_element).max(axis=0)
        spread[spread <= 1e-12 * np.maximum(size, 1.0)] = np.inf
        vectors[charges == element] = (of_element - of_element.mean(axis=0)) / spread
    return AtomicEnvironments(vectors, charges, np.nonzero(present)[0], len(X))


def xtbml_group_of(name):
    """The group of ``XTBML_GROUPS`` that an xtbml column belongs to."""
    for group, names in XTBML_GROUPS.items():
        if any(name == n or (n.endswith("_") and name.startswith(n)) for n in names):
            return group
    raise ValueError(f"xtbml column {name!r} is in no group")


def xtbml_kernels(atoms, group_weights=None, n_jobs=None):
    """Local Gaussian kernels on the atoms' standardized xtbml columns, by label.

    ``group_weights`` maps groups of ``XTBML_GROUPS`` to the factor their
    columns are multiplied by (1 where not given); ``gamma`` is
    ``XTBML_GAMMAS`` over the number of columns.
    """
    if group_weights:
        factors = np.array(
            [
                group_weights.get(xtbml_group_of(name), 1.0)
                for name in skqm7x.xtbml_feature_names()
            ]
        )
        atoms = AtomicEnvironments(
            atoms.vectors * factors, atoms.charges, atoms.owners, atoms.n_molecules
        )
    gammas = np.array(XTBML_GAMMAS) / atoms.vectors.shape[1]
    kernels = local_kernels(atoms, None, gammas, n_jobs=n_jobs)
    return {
        f"xtbml gamma {g:g}/d": K for g, K in zip(XTBML_GAMMAS, kernels, strict=True)
    }


def xtbml_group_routes(y, atoms, others, n_jobs=None):
    """Print the xtbml groups' weights that coordinate descent finds.

    The score is the leave-one-out RMSE of the mix of ``others`` (a model's
    errors by name) and the xtbml model, each weight multiplied by the
    factors ``XTBML_GROUP_FACTORS`` in turn, two rounds.
    """

    def score(weights):
        kernels = xtbml_kernels(atoms, weights, n_jobs)
        _, alpha, label = screen_alone(y, kernels)
        errors = leave_one_out_errors(kernels[label], y, alpha)
        rmse, shares = screen_ensemble(y, {**others, "xtbml": errors})
        return rmse, label, alpha / np.mean(np.diag(kernels[label])), shares[-1]

    table = Table(
        [
            ("xtbml group weights", "<24"),
            ("mix LOO RMSE (eV)", ">18.5f"),
            ("s", ">8.1f"),
            ("  xtbml kernel, alpha, share", "<"),
        ]
    )
    watch = Stopwatch()
    weights = dict.fromkeys(XTBML_GROUPS, 1.0)
    best = score(weights)
    table.row(
        "all 1", best[0], watch.seconds, f"  {best[1]}, {best[2]:.0e}, {best[3]:.2f}"
    )
    for round_ in (1, 2):
        for group in XTBML_GROUPS:
            base = weights
            for factor in XTBML_GROUP_FACTORS:
                watch = Stopwatch()
                trial = {**base, group: base[group] * factor}
                if trial == weights:
                    continue
                result = score(trial)
                table.row(
                    f"round {round_}: {group} x {factor:g}",
                    result[0],
                    watch.seconds,
                    f"  {result[1]}, {result[2]:.0e}, {result[3]:.2f}",
                )
                if result[0] < best[0]:
                    best, weights = result, trial
    print(
        f"chosen: mix LOO RMSE {best[0]:.5f} eV with "
        + ", ".join(f"{group} {weight:g}" for group, weight in weights.items())
    )


def electron_row(numbers, positions):
    """The occupied orbital energies from the highest down, and the rest.

    The rest: the two lowest empty orbitals' energies (hartree) and the
    dipole's length (e bohr), from the baseline's GFN2-xTB single point (the
    molecule neutral, in its lowest spin state; tblite's settings those of
    ``BASELINE``). ``positions`` in Angstrom.
    """
    result = gfn2_single_point(numbers, positions)
    energies = result.get("orbital-energies").ravel()
    occupied = result.get("orbital-occupations").ravel() > 0.5
    empty = np.sort(energies[~occupied])[:2]
    dipole = np.linalg.norm(result.get("dipole"))
    return np.sort(energies[occupied])[::-1], np.r_[empty, dipole]


def orbital_kernels(X, n_jobs=None):
    """Gaussian kernels on the molecules' orbital energies and dipoles, by label."""
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.preprocessing import StandardScaler

    Z, R = skqm7x.unpack_molecules(X)
    rows = Parallel(n_jobs=n_jobs)(
        delayed(electron_row)(z[z > 0].astype(int), r[z > 0])
        for z, r in zip(Z, R, strict=True)
    )
    width = max(len(occupied) for occupied, _ in rows)
    vectors = np.zeros((len(rows), width + 3))
    for i, (occupied, rest) in enumerate(rows):
        vectors[i, : len(occupied)] = occupied
        vectors[i, width:] = rest
    vectors = StandardScaler().fit_transform(vectors)
    return {
        f"orbitals gamma {g:g}/d": rbf_kernel(vectors, gamma=g / vectors.shape[1])
        for g in ORBITAL_GAMMAS
    }


def screen_second_kernel(y, first, second, gammas):
    """The lowest leave-one-out RMSE of ``first[gamma] + w second[label]``.

    ``first`` holds the FCHL19 kernels by width, ``second`` the candidates
    of the second kernel by label; each candidate is scaled to the mean
    diagonal of the first kernel it is added to. Returns the RMSE and the
    ``(gamma, label, weight, alpha)`` that reach it.
    """
    best = (np.inf, None)
    for gamma in gammas:
        K1 = first[gamma]
        for label, K2 in second.items():
            scale = np.mean(np.diag(K1)) / np.mean(np.diag(K2))
            for weight in SECOND_WEIGHTS:
                rmse, alpha = best_penalty(K1 + weight * scale * K2, y)
                if rmse < best[0]:
                    best = (rmse, (gamma, f"  {label}", weight, alpha))
    return best


class HeldOutPredictions(RegressorMixin, BaseEstimator):
    """A model known by its leave-one-out predictions alone, for a blend.

    ``BlendingRegressor`` weighs a regressor by its ``loo_predictions_``
    where it has them: ``fit`` sets them to ``predictions``, whatever ``X``.
    """

    def __init__(self, predictions=None):
        self.predictions = predictions

    def fit(self, X, y):
        self.loo_predictions_ = np.asarray(self.predictions, dtype=float)
        return self

    def predict(self, X):
        raise NotImplementedError("a model known by its held-out predictions alone")


def screen_ensemble(y, errors):
    """The lowest RMSE of a mix of models' leave-one-out errors, and the shares.

    ``errors`` maps a name to a model's errors (``y`` less its predictions).
    The shares are ``BlendingRegressor``'s weights of those models:
    non-negative, summing to one, chosen on the errors they are scored on.
    """
    blend = skqm7x.BlendingRegressor(
        [(name, HeldOutPredictions(y - e)) for name, e in errors.items()]
    ).fit(np.zeros((len(y), 1)), y)
    return blend.blend_held_out_rmse_, blend.weights_


def screen_alone(y, kernels):
    """The lowest leave-one-out RMSE of one of ``kernels`` alone, its label and alpha.

    The penalties are ``DELTA_ALPHAS`` relative to each kernel's mean diagonal.
    """
    rmse, label = min(
        (best_penalty(K, y, np.mean(np.diag(K)) * np.array(DELTA_ALPHAS)), label)
        for label, K in kernels.items()
    )
    return (*rmse, label)


def main():
    parser = make_parser(__doc__, n_molecules=True)
    parser.add_argument(
        "--fchl19", nargs="*", default=DEFAULT_FCHL19, metavar="NAME=VALUE"
    )
    parser.add_argument("--charges", type=float, nargs="*", default=[], metavar="W")
    parser.add_argument("--atomic", nargs="*", default=[], metavar="NAME=W[,NAME=W]")
    parser.add_argument("--charges-on", choices=["gfn2", "gfn1+gfn2"], default="gfn2")
    parser.add_argument("--per-element", action="store_true")
    parser.add_argument("--dispersion", action="store_true")
    parser.add_argument("--mbd", action="store_true")
    parser.add_argument("--test-like", action="store_true")
    parser.add_argument(
        "--second",
        nargs="*",
        choices=[
            "fchl19",
            "mbtr",
            "slatm",
            "slatm-gauss",
            "scattering",
            "soap",
            "orbitals",
            "xtbml",
            "xtbml-mbtr",
            "graph",
        ],
        default=[],
    )
    parser.add_argument("--second-atomic", default=None, metavar="NAME=W[,NAME=W]")
    parser.add_argument("--on-best", action="store_true")
    parser.add_argument("--ensemble", action="store_true")
    parser.add_argument("--mix-only", action="store_true")
    parser.add_argument("--element-weights", action="store_true")
    parser.add_argument("--xtbml-groups", action="store_true")
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    fchl19_changes = []
    for change in args.fchl19:
        name, _, value = change.partition("=")
        try:
            fchl19_changes.append((change, {name: float(value)}))
        except ValueError:
            parser.error(f"--fchl19 takes NAME=NUMBER, got {change!r}")

    atomic_routes = [{"charges": weight} for weight in args.charges]
    for spec in args.atomic:
        try:
            atomic_routes.append(parse_weights(spec))
        except ValueError:
            parser.error(
                f"--atomic takes NAME=NUMBER pairs joined by commas, NAME one of "
                f"{', '.join(ATOMIC_QUANTITIES)}; got {spec!r}"
            )

    if args.second_atomic is not None:
        try:
            args.second_atomic = parse_weights(args.second_atomic)
        except ValueError:
            parser.error(f"--second-atomic: bad weights {args.second_atomic!r}")
    if args.per_element and not (atomic_routes or args.second_atomic):
        parser.error(
            "--per-element scales the appended quantities: give --charges, "
            "--atomic or --second-atomic"
        )
    if (args.on_best or args.ensemble) and not args.second:
        parser.error("--on-best and --ensemble act on the --second kernels: give them")
    if args.xtbml_groups and not (args.ensemble and "xtbml" in args.second):
        parser.error(
            "--xtbml-groups weighs the xtbml model of a mix: give "
            "--second xtbml ... --ensemble"
        )
    if args.mix_only and not args.ensemble:
        parser.error("--mix-only leaves the sums out of --ensemble: give --ensemble")
    for flag in ("dispersion", "mbd"):
        if getattr(args, flag) and importlib.util.find_spec("dftd4") is None:
            parser.error(f'--{flag} needs dftd4: pip install -e ".[dispersion]"')
    if "soap" in args.second and importlib.util.find_spec("dscribe") is None:
        parser.error('--second soap needs dscribe: pip install -e ".[soap]"')
    X, y = load_labelled(args.data_dir, args.n_molecules)
    Z, _ = skqm7x.unpack_molecules(X)
    elements = np.unique(Z[Z > 0])
    counts = (Z[:, :, None] == elements).sum(axis=1).astype(float)
    print(
        f"{len(y)} labelled molecules, leave-one-out RMSE of LocalKernelRidge "
        f"on the remainder; {describe_machine(f'n_jobs={args.n_jobs}')}\n"
    )
    energies = {
        method: skqm7x.TightBindingEnergyTransformer(method=method, n_jobs=args.n_jobs)
        .fit_transform(X)
        .ravel()
        for method in ("GFN2-xTB", "GFN1-xTB")
    }
    gfn2, _ = remainder(y - energies["GFN2-xTB"], counts, [])
    both, coefficients = remainder(
        y, counts, [energies["GFN2-xTB"], energies["GFN1-xTB"]]
    )
    routes = [
        ("gfn2", gfn2, None, f"baseline RMSE {np.sqrt(np.mean(gfn2**2)):.4f}"),
        (
            "gfn1+gfn2",
            both,
            None,
            f"baseline RMSE {np.sqrt(np.mean(both**2)):.4f}; coefficients "
            f"GFN2 {coefficients[0]:.4f}, GFN1 {coefficients[1]:.4f}",
        ),
    ]
    second_terms = []
    if args.dispersion:
        second_terms.append(("gfn2+d4", "PBE0-D4", d4_energies))
    if args.mbd:
        second_terms.append(("gfn2+mbd", "MBD@rsSCS", mbd_energies))
    for name, label, energies_of in second_terms:
        target, (coefficient,) = remainder(
            y - energies["GFN2-xTB"], counts, [energies_of(X)]
        )
        note = (
            f"baseline RMSE {np.sqrt(np.mean(target**2)):.4f}; {label} "
            f"coefficient {coefficient:.4f}"
        )
        routes.append((name, target, None, note))
    for change, params in fchl19_changes:
        routes.append((f"fchl19 {change}", gfn2, params, ""))

    table = Table(
        [
            ("route", "<46"),
            ("LOO RMSE (eV)", ">14.5f"),
            ("gamma", ">11.5g"),
            ("alpha", ">8.0e"),
            ("fit s", ">8.1f"),
            ("  note", "<"),
        ]
    )
    for name, target, params, note in routes:
        rmse, gamma, alpha, seconds = screen(X, target, params, args.n_jobs)
        table.row(name, rmse, gamma, alpha, seconds, f"  {note}")
    if args.test_like:
        test_like_routes(X, y, energies["GFN2-xTB"], counts, table, args)
    if not (args.second or args.element_weights or atomic_routes):
        return
    watch = Stopwatch()
    environments = fchl19_environments(X, elements)
    quantities = None
    if atomic_routes or args.second_atomic:
        quantities = tight_binding_quantities(X, args.n_jobs)
    print(f"\n(FCHL19 vectors and GFN2-xTB quantities: {watch.seconds:.1f} s, once)")
    if args.second:
        if args.second_atomic:
            first = with_quantities(
                environments, quantities, args.second_atomic, args.per_element
            )
        else:
            first = environments
        second_kernel_routes(
            X,
            gfn2,
            first,
            args.second,
            args.n_jobs,
            on_best=args.on_best,
            ensemble=args.ensemble,
            sums=not args.mix_only,
            xtbml_groups=args.xtbml_groups,
        )
    if args.element_weights:
        element_weight_routes(gfn2, environments, elements, args.n_jobs)
    target = {"gfn2": gfn2, "gfn1+gfn2": both}[args.charges_on]
    for weights in atomic_routes:
        rmse, gamma, alpha, seconds = screen_with_quantities(
            target, environments, quantities, weights, args.n_jobs, args.per_element
        )
        spread = ", per element" if args.per_element else ""
        table.row(
            f"{args.charges_on} {format_weights(weights)}{spread}",
            rmse,
            gamma,
            alpha,
            seconds,
            "",
        )


def test_like_routes(X, y, gfn2_energies, counts, table, args):
    """The best model on the test-like molecules: scored there, fitted there."""
    test_like, line = load_test_like(X, args.data_dir)
    print(f"({line})")
    for name, rows in (
        ("gfn2, scored on the test-like", np.ones(len(y), dtype=bool)),
        ("gfn2, test-like only", test_like),
    ):
        target, _ = remainder(y[rows] - gfn2_energies[rows], counts[rows], [])
        model = skqm7x.LocalKernelRidge(
            gammas=DELTA_GAMMAS, alphas=DELTA_ALPHAS, n_jobs=args.n_jobs
        )
        watch = Stopwatch()
        model.fit(X[rows], target)
        errors = (model.loo_predictions_ - target)[test_like[rows]]
        rmse = float(np.sqrt(np.mean(errors**2)))
        note = f"  {test_like.sum()} molecules scored, {rows.sum()} fitted"
        table.row(name, rmse, model.gamma_, model.alpha_, watch.seconds, note)


def with_best_mbtr(mbtr, kernels):
    """``kernels`` (by label) each plus ``best``'s MBTR kernel, weighted as there."""
    return {
        label: K + MOLECULE_WEIGHT * np.mean(np.diag(K)) * mbtr
        for label, K in kernels.items()
    }


def second_kernel_routes(
    X,
    y,
    environments,
    names,
    n_jobs=None,
    on_best=False,
    ensemble=False,
    sums=True,
    xtbml_groups=False,
):
    """Print the best sum of the FCHL19 kernel and each second kernel.

    ``environments`` are the FCHL19 vectors, with any GFN2-xTB quantities
    appended (``--second-atomic``); with ``on_best`` the first kernel also
    holds ``best``'s MBTR kernel. With ``ensemble`` a second row mixes the
    two models' predictions instead (``screen_ensemble``), and a last line
    all of them; without ``sums`` only those. With ``xtbml_groups`` the
    weights of the xtbml columns' groups are then chosen for the mix of the
    first model, the other second kernels' models and the xtbml model
    (``xtbml_group_routes``).
    """
    watch = Stopwatch()
    first = dict(
        zip(
            DELTA_GAMMAS,
            local_kernels(environments, None, DELTA_GAMMAS, n_jobs=n_jobs),
            strict=True,
        )
    )
    best_mbtr = None

    def molecule_kernel():
        nonlocal best_mbtr
        if best_mbtr is None:
            (best_mbtr,) = mbtr_kernels(X, [MOLECULE_GAMMA]).values()
        return best_mbtr

    if on_best:
        first = with_best_mbtr(molecule_kernel(), first)
    xtbml = None
    print(f"\n(FCHL19 kernels at the {len(first)} widths: {watch.seconds:.1f} s, once)")

    table = Table(
        [
            ("second kernel", "<20"),
            ("LOO RMSE (eV)", ">14.5f"),
            ("gamma", ">11.5g"),
            ("  added", "<26"),
            ("w", ">6g"),
            ("alpha", ">8.0e"),
            ("s", ">8.1f"),
            ("  alone: LOO RMSE, kernel, alpha", "<"),
        ]
    )
    if on_best or ensemble:
        # The first kernel's own model, once: a row of its own, and the
        # model every (mix) row mixes with.
        watch = Stopwatch()
        (rmse, alpha), gamma = min(
            (best_penalty(first[gamma], y), gamma) for gamma in DELTA_GAMMAS[1:3]
        )
        if on_best:
            table.row(
                "(best's kernel)", rmse, gamma, "  none", 0, alpha, watch.seconds, ""
            )
        if ensemble:
            errors = leave_one_out_errors(first[gamma], y, alpha)
            mixed = {}
    for name in names:
        if name == "fchl19":
            for gamma in DELTA_GAMMAS:
                watch = Stopwatch()
                others = {f"fchl19 gamma {g:g}": first[g] for g in first if g != gamma}
                rmse, chosen = screen_second_kernel(y, first, others, [gamma])
                table.row(name, rmse, *chosen, watch.seconds, "")
            continue
        watch = Stopwatch()
        if name == "mbtr":
            second = mbtr_kernels(X)
        elif name == "soap":
            second = soap_kernels(X, n_jobs)
        elif name == "orbitals":
            second = orbital_kernels(X, n_jobs)
        elif name in ("xtbml", "xtbml-mbtr"):
            if xtbml is None:
                xtbml = xtbml_atoms(X, n_jobs)
            second = xtbml_kernels(xtbml, n_jobs=n_jobs)
            if name == "xtbml-mbtr":
                second = with_best_mbtr(molecule_kernel(), second)
        elif name == "slatm-gauss":
            second = slatm_gaussian_kernels(X)
        elif name == "scattering":
            second = scattering_kernels(X, n_jobs)
        elif name == "graph":
            graphs = skqm7x.bonding_graphs(X)
            second = {"same graph": (graphs[:, None] == graphs[None]).astype(float)}
        else:
            second = slatm_kernels(X)
        alone, alone_alpha, label = screen_alone(y, second)
        relative = alone_alpha / np.mean(np.diag(second[label]))
        alone_note = f"  {alone:.5f}, {label}, alpha {relative:.0e} x mean diagonal"
        if sums:
            rmse, chosen = screen_second_kernel(y, first, second, DELTA_GAMMAS[1:3])
            table.row(name, rmse, *chosen, watch.seconds, alone_note)
        if ensemble:
            watch = Stopwatch()
            mixed[name] = leave_one_out_errors(second[label], y, alone_alpha)
            rmse, (_, share) = screen_ensemble(y, {"first": errors, name: mixed[name]})
            table.row(
                f"{name} (mix)",
                rmse,
                gamma,
                f"  {label}",
                share,
                alpha,
                watch.seconds,
                alone_note,
            )
    if ensemble and len(mixed) > 1:
        rmse, shares = screen_ensemble(y, {"first": errors, **mixed})
        print(
            f"all (mix): LOO RMSE {rmse:.5f} eV, shares: first {shares[0]:.2f}, "
            + ", ".join(
                f"{name} {share:.2f}"
                for name, share in zip(mixed, shares[1:], strict=True)
            )
        )
    if xtbml_groups:
        others = {n: e for n, e in mixed.items() if not n.startswith("xtbml")}
        print()
        xtbml_group_routes(y, xtbml, {"first": errors, **others}, n_jobs)


def element_kernels(environments, elements, gammas, n_jobs=None):
    """The local FCHL19 kernels of each element's atoms alone, by element."""
    kernels = {}
    for element in elements:
        mask = environments.charges == element
        atoms = AtomicEnvironments(
            environments.vectors[mask],
            environments.charges[mask],
            environments.owners[mask],
            environments.n_molecules,
        )
        kernels[int(element)] = local_kernels(atoms, None, gammas, n_jobs=n_jobs)
    return kernels


def element_weight_routes(y, environments, elements, n_jobs=None):
    """Print the per-element weights that coordinate descent finds."""
    watch = Stopwatch()
    gammas = DELTA_GAMMAS[1:3]
    by_element = element_kernels(environments, elements, gammas, n_jobs)
    print(f"\n(FCHL19 kernels per element: {watch.seconds:.1f} s, once)")
    table = Table(
        [
            ("element weights", "<20"),
            ("LOO RMSE (eV)", ">14.5f"),
            ("gamma", ">11.5g"),
            ("alpha", ">8.0e"),
            ("s", ">8.1f"),
            ("  weights", "<"),
        ]
    )
    tuned = [element for element in (1, 6, 7, 8) if element in by_element]
    for k, gamma in enumerate(gammas):
        watch = Stopwatch()
        weights = dict.fromkeys(by_element, 1.0)

        def loo(weights, k=k):
            K = sum(weight * by_element[e][k] for e, weight in weights.items())
            return best_penalty(K, y)

        equal = best = loo(weights)
        for _ in range(2):
            for element in tuned:
                base = weights
                for factor in ELEMENT_FACTORS:
                    trial = {**base, element: base[element] * factor}
                    score = loo(trial)
                    if score[0] < best[0]:
                        best, weights = score, trial
        shown = ", ".join(f"{e}: {w:g}" for e, w in weights.items())
        table.row(
            "per element",
            best[0],
            gamma,
            best[1],
            watch.seconds,
            f"  {shown} (all 1: {equal[0]:.5f})",
        )


if __name__ == "__main__":
    main()
