"""One wording for the parameters that every estimator shares.

``n_jobs``, ``verbose``, ``memory`` and ``random_state`` mean the same thing
everywhere in the library (as in scikit-learn); each docstring says it in the
same words, taken from here, then what the estimator does with it.
"""

# SPDX-License-Identifier: BSD-3-Clause

_INDENT = " " * 8

SHARED_PARAMETERS = {
    "n_jobs": (
        "How many joblib jobs run at once: ``None`` means 1 unless in a\n"
        "``joblib.parallel_config`` context, ``-1`` all cores. It changes the\n"
        "speed, not the result (beyond rounding)."
    ),
    "verbose": "0 is silent; 1 or more shows a progress bar on standard error.",
    "memory": (
        "A cache folder, or a ``joblib.Memory`` whose location is one: what is\n"
        "computed from molecules is kept there and read back by any later call\n"
        "on the same molecules and settings, in this run or the next. The\n"
        "folder must be this user's own and writable by no one else, else\n"
        "``PermissionError``; a missing one is made for its owner alone; one\n"
        "that cannot be made warns and caches nothing. ``None`` keeps nothing\n"
        "once the estimator is gone."
    ),
    "random_state": (
        "Seeds what is random (see the scikit-learn glossary): an int gives\n"
        "the same result on every call."
    ),
}


def shared_parameters(documented):
    """Write the shared wording into a docstring's ``{name}`` placeholders.

    Each placeholder stands on a line of its own, under the parameter's name
    and type, at the indentation of a parameter's description; any other
    braces in the docstring are left alone.

    Examples
    --------
    >>> from skqm7x._utils._docstrings import shared_parameters
    >>> @shared_parameters
    ... def run(n_jobs=None):
    ...     '''Run.
    ...
    ...     Parameters
    ...     ----------
    ...     n_jobs : int, default=None
    ...         {n_jobs}
    ...         Molecules run in processes.
    ...     '''
    >>> print(run.__doc__.splitlines()[5])
            How many joblib jobs run at once: ``None`` means 1 unless in a
    """
    doc = documented.__doc__
    for name, text in SHARED_PARAMETERS.items():
        placeholder = f"{_INDENT}{{{name}}}\n"
        if placeholder in doc:
            indented = "".join(f"{_INDENT}{line}\n" for line in text.splitlines())
            doc = doc.replace(placeholder, indented)
    if any(f"{{{name}}}" in doc for name in SHARED_PARAMETERS):
        raise ValueError(
            f"{documented.__qualname__}: a shared-parameter placeholder is not on "
            "a line of its own at the indentation of a description."
        )
    documented.__doc__ = doc
    return documented
