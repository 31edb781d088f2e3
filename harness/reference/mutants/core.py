"""The mutant mechanism: a named list of (target, replacement) patches, applied in every
harness module that binds the target."""


from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock


@dataclass(frozen=True, slots=True)
class Patch:
    target: str  # "package.module:attribute"
    replace: Callable[[Any], Any]  # original -> broken replacement
    everywhere: bool = True  # False: only in the target's own module, not its importers


@dataclass(frozen=True, slots=True)
class Mutant:
    name: str
    breaks: tuple[str, ...]  # requirement ids
    description: str
    patches: tuple[Patch, ...]


def mutant(name: str, breaks: str | tuple[str, ...], description: str,
           *patches: tuple[Any, ...]) -> Mutant:
    """`patches`: (target, replacement factory[, everywhere]) tuples."""
    ids = (breaks,) if isinstance(breaks, str) else tuple(breaks)
    return Mutant(name, ids, description, tuple(Patch(*p) for p in patches))


def _resolve(target: str) -> tuple[str, str, Any]:
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise ValueError(f"mutant target {target!r} is not 'module:attribute'")
    owner: Any = importlib.import_module(module_name)
    path = attribute.split(".")
    for part in path[:-1]:
        owner = getattr(owner, part, None)
    if owner is None or not hasattr(owner, path[-1]):
        raise ValueError(f"mutant target {target!r}: {module_name} has no {attribute}")
    return module_name, attribute, getattr(owner, path[-1])


def _bindings(module_name: str, attribute: str, original: Any) -> list[Any]:
    """Every loaded harness module that binds `original` under `attribute`."""
    found = [sys.modules[module_name]]
    for name, module in list(sys.modules.items()):
        if name == module_name or not name.startswith("harness.") or module is None:
            continue
        if getattr(module, "__dict__", {}).get(attribute, None) is original:
            found.append(module)
    return found


@contextmanager
def applied(m: Mutant) -> Iterator[Mutant]:
    import harness.reference.service  # noqa: F401  (load every module that may bind a target)

    with ExitStack() as stack:
        for patch in m.patches:
            module_name, attribute, original = _resolve(patch.target)
            broken = patch.replace(original)
            if "." in attribute:  # a method: patched on its class
                class_name, _, method = attribute.rpartition(".")
                owner: Any = sys.modules[module_name]
                for part in class_name.split("."):
                    owner = getattr(owner, part)
                stack.enter_context(mock.patch.object(owner, method, broken))
                continue
            modules = _bindings(module_name, attribute, original) if patch.everywhere else [
                sys.modules[module_name]]
            for module in modules:
                stack.enter_context(mock.patch.object(module, attribute, broken))
        yield m


