"""Small helpers shared by several test modules."""

from contextlib import contextmanager

import numpy as np

from skqm7x import load_qm7x, pack_molecules, unpack_molecules
from skqm7x._molecules import ELEMENT_SYMBOLS

CHALLENGE_PROPERTIES = 'Properties=species:S:1:pos:R:3 pbc="F F F"'


def random_rotation(rng):
    """A uniformly random proper rotation matrix."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


MOTIONS = ("translation", "rotation", "permutation")


def moved(X, seed, motions=MOTIONS):
    """Each molecule translated, rotated and its atoms permuted, at random.

    ``motions`` picks which of the three are applied.
    """
    unknown = set(motions) - set(MOTIONS)
    assert not unknown, f"unknown motions {unknown}"
    rng = np.random.default_rng(seed)
    Z, R = unpack_molecules(X)
    molecules = []
    for z, r in zip(Z, R, strict=True):
        present = z > 0
        z, r = z[present], r[present]
        order = rng.permutation(len(z))
        rotation = random_rotation(rng)
        shift = rng.uniform(-50, 50, size=3)
        if "permutation" in motions:
            z, r = z[order], r[order]
        if "rotation" in motions:
            r = r @ rotation.T
        if "translation" in motions:
            r = r + shift
        molecules.append((z.astype(int), r))
    return pack_molecules(molecules, n_atoms_max=X.shape[1] // 4)


def assert_invariant(function, X, *, seeds=(0,), motions=MOTIONS, **tolerance):
    """``function`` gives the same output for the molecules, however moved.

    ``function`` maps packed molecules to features or predictions; it must
    give what it gives for ``X`` after each seed's random ``motions`` (see
    :func:`moved`), within ``tolerance`` (``rtol``, ``atol`` of
    ``numpy.testing.assert_allclose``).
    """
    expected = function(X)
    for seed in seeds:
        np.testing.assert_allclose(
            function(moved(X, seed, motions)),
            expected,
            err_msg=f"changed by the {', '.join(motions)} of seed {seed}",
            **tolerance,
        )


def write_challenge_layout(root, train_ids=range(1, 41), test_ids=range(3793, 3801)):
    """A folder in the challenge layout holding these molecules of the shipped set.

    The files are written as the challenge wrote them (an extended-xyz header,
    eight decimals, the energies in full precision), so reading the folder
    gives the shipped arrays bit for bit.
    """
    for subset, ids in (("train", train_ids), ("test", test_ids)):
        shipped = load_qm7x(subset=subset)
        rows = dict(zip(shipped.ids.tolist(), shipped.data, strict=True))
        folder = root / "atoms" / subset
        folder.mkdir(parents=True)
        for i in ids:
            Z, R = unpack_molecules(rows[i][None])
            lines = [str(int(np.sum(Z > 0))), CHALLENGE_PROPERTIES]
            lines += [
                f"{ELEMENT_SYMBOLS[int(z) - 1]:<2}{x:18.8f}{y:18.8f}{z_:18.8f}"
                for z, (x, y, z_) in zip(Z[0], R[0], strict=True)
                if z > 0
            ]
            (folder / f"id_{i}.xyz").write_text("\n".join(lines) + "\n")
        if subset == "train":
            energies = dict(
                zip(shipped.ids.tolist(), shipped.target.tolist(), strict=True)
            )
            (root / "energies").mkdir()
            (root / "energies" / "train.csv").write_text(
                "id,energy\n" + "".join(f"{i},{energies[i]!r}\n" for i in ids)
            )
    return root


def assert_search_chose_its_best(search):
    """A fitted search tried every candidate and refitted the best-scoring one.

    The candidates' scores must differ: a parameter that never reached the
    model would score every candidate alike.
    """
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert len(np.unique(scores)) == len(scores), "the candidates scored alike"
    assert search.best_params_ == search.cv_results_["params"][np.argmax(scores)]
    refitted = search.best_estimator_.get_params()
    for name, value in search.best_params_.items():
        assert refitted[name] == value, name


@contextmanager
def local_dask_cluster(n_workers=2):
    """A Dask cluster of worker processes on loopback, with joblib sent to it.

    Yields the client.
    """
    import distributed
    from joblib import parallel_config

    with (
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
        parallel_config(backend="dask"),
    ):
        yield client


def molecules_computed(monkeypatch, module, name):
    """Count the molecules ``module.name(Z, ...)`` is called on.

    Wraps the function (a per-chunk worker such as the tight-binding ones)
    for the test's duration; returns the list of each call's ``len(Z)``.
    """
    computed = []
    original = getattr(module, name)

    def counted(Z, *args):
        computed.append(len(Z))
        return original(Z, *args)

    monkeypatch.setattr(module, name, counted)
    return computed
