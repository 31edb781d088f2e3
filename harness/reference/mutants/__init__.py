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


def catalogue() -> dict[str, Mutant]:
    """Every mutant, by name, in catalogue order."""
    from harness.reference.mutants import (
        access,
        approval,
        consent,
        domains,
        locks,
        privacy,
        scopes,
        signin,
        versions,
    )

    out: dict[str, Mutant] = {}
    for area in (versions, domains, privacy, locks, scopes, access, signin, consent, approval):
        for m in area.MUTANTS:
            if m.name in out:
                raise ValueError(f"two mutants named {m.name!r}")
            out[m.name] = m
    for area in _other_areas(out):
        for m in area.MUTANTS:
            if m.name in out:
                raise ValueError(f"two mutants named {m.name!r}")
            out[m.name] = m
    return out


def _other_areas(known: dict[str, Mutant]) -> list[object]:
    """Catalogue modules beyond the areas above (one per piece of work, e.g. `precision`),
    in name order: a module of this package with a MUTANTS list is part of the catalogue."""
    import importlib
    import pkgutil

    import harness.reference.mutants as package

    listed = {"core", "access", "consent", "domains", "locks", "privacy", "scopes", "signin",
              "versions"}
    areas = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name in listed:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        mutants = getattr(module, "MUTANTS", None)
        if mutants and not any(m.name in known for m in mutants):
            areas.append(module)
    return areas


def get(name: str) -> Mutant:
    mutants = catalogue()
    if name not in mutants:
        raise KeyError(f"no mutant {name!r}; known: {', '.join(mutants)}")
    return mutants[name]
