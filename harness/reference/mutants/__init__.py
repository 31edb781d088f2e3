"""A catalogue of mutants of the reference implementation: small, realistic bugs, each naming
the requirement(s) it breaks. `calharness prove` runs the features against every mutant and
reports whether the suite kills it (some scenario fails) and whether the requirements that fail
are the ones the mutant names (attributed).

A mutant is declarative: a list of (target, replacement) pairs. The target is
"module:attribute" (a function or a constant); the replacement is a factory that receives the
original and returns the broken version. `applied(mutant)` swaps it in every `harness.*` module
that binds the original object under that name (so `from x import f` copies are patched too) and
restores everything on exit.
"""

from __future__ import annotations

from harness.reference.mutants.core import Mutant, Patch, applied, mutant

__all__ = ["Mutant", "Patch", "applied", "catalogue", "get", "mutant"]


# The first areas, in the order the catalogue lists them; every other module of this package
# with a MUTANTS list (one per piece of work, e.g. `precision`) follows in name order.
_AREAS = ("versions", "domains", "privacy", "locks", "scopes", "access", "signin", "consent",
          "approval")


def catalogue() -> dict[str, Mutant]:
    """Every mutant, by name, in catalogue order."""
    import importlib
    import pkgutil

    import harness.reference.mutants as package

    found = sorted(info.name for info in pkgutil.iter_modules(package.__path__))
    names = [*_AREAS, *(n for n in found if n not in _AREAS and n != "core")]
    out: dict[str, Mutant] = {}
    for name in names:
        module = importlib.import_module(f"{package.__name__}.{name}")
        for m in getattr(module, "MUTANTS", ()):
            if m.name in out:
                raise ValueError(f"two mutants named {m.name!r}")
            out[m.name] = m
    return out


def get(name: str) -> Mutant:
    mutants = catalogue()
    if name not in mutants:
        raise KeyError(f"no mutant {name!r}; known: {', '.join(mutants)}")
    return mutants[name]
