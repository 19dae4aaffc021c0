"""Which molecules share a bonding graph: conformers of one compound."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.utils import check_array

from skqm7x._molecules import check_molecules, element_symbol

# Covalent radii in Angstrom (Cordero et al., Dalton Trans. 2008, 2832; carbon
# sp3), for the elements of small organic molecules.
# fmt: off
COVALENT_RADII = {
    1: 0.31, 2: 0.28, 3: 1.28, 4: 0.96, 5: 0.84, 6: 0.76, 7: 0.71, 8: 0.66,
    9: 0.57, 10: 0.58, 11: 1.66, 12: 1.41, 13: 1.21, 14: 1.11, 15: 1.07,
    16: 1.05, 17: 1.02, 18: 1.06, 35: 1.20, 53: 1.39,
}
# fmt: on


def bonding_graphs(X, *, radius_factor=1.25, iterations=3):
    """A name for each molecule's bonding graph: equal for its conformers.

    Two atoms are bonded when their distance is at most ``radius_factor``
    times the sum of their covalent radii; the graph of the bonds, with each
    atom labelled by its element, is named by its Weisfeiler-Lehman hash
    (networkx). Conformers of one compound, which differ in their geometry
    but not in their bonds, get one name; so, rarely, may two graphs that
    the hash cannot tell apart. Grouping cross-validation folds by these
    names (``GroupKFold``; ``skqm7x cv --group-by-graph``) keeps every
    conformer of a compound on one side of a split.

    Parameters
    ----------
    X : array-like of shape (n_molecules, 4 * n_atoms_max)
        Packed molecules (see :func:`~skqm7x.pack_molecules`).
    radius_factor : float, default=1.25
        Bond threshold, relative to the sum of the two covalent radii.
    iterations : int, default=3
        Weisfeiler-Lehman iterations of the hash.

    Returns
    -------
    names : ndarray of str, shape (n_molecules,)
        The graph's name (a hex digest) of each molecule.

    Raises
    ------
    ValueError
        If a molecule has an element without a covalent radius here (those
        of small organic molecules: H to Ar, Br and I).

    See Also
    --------
    molecules_like : Which molecules are of a kind another set holds.

    Examples
    --------
    >>> import numpy as np
    >>> from skqm7x import bonding_graphs, load_qm7x
    >>> graphs = bonding_graphs(load_qm7x().data)
    >>> len(graphs), len(np.unique(graphs)) < len(graphs)
    (3792, True)
    """
    import networkx

    X = check_array(X, input_name="X")
    Z, R = check_molecules(X, "bonding_graphs")
    unknown = [z for z in np.unique(Z[Z > 0]) if z not in COVALENT_RADII]
    if unknown:
        raise ValueError(
            f"bonding_graphs: no covalent radius for {element_symbol(unknown[0])}; "
            "it knows H to Ar, Br and I."
        )
    radii = np.zeros(int(Z.max()) + 1)
    for z, radius in COVALENT_RADII.items():
        if z < len(radii):
            radii[z] = radius
    names = []
    for numbers, positions in zip(Z.astype(int), R, strict=True):
        present = numbers > 0
        numbers, positions = numbers[present], positions[present]
        distances = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
        reach = radius_factor * (radii[numbers][:, None] + radii[numbers][None])
        bonded = np.argwhere(np.triu(distances <= reach, k=1))
        graph = networkx.Graph()
        graph.add_nodes_from(
            (atom, {"element": element_symbol(z)}) for atom, z in enumerate(numbers)
        )
        graph.add_edges_from(map(tuple, bonded))
        names.append(
            networkx.weisfeiler_lehman_graph_hash(
                graph, node_attr="element", iterations=iterations
            )
        )
    return np.array(names)
