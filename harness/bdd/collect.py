"""Collect `.feature` files directly (no per-folder Python glue) and hold them to the catalogue:
every scenario must carry at least one `@req:<ID>` tag and every id must exist; every
`@needs:<capability>` tag must name a capability of the vocabulary (`harness.api.capabilities`)."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from pytest_bdd.exceptions import GherkinParseError
from pytest_bdd.feature import get_feature
from pytest_bdd.parser import Feature

from harness.api.capabilities import NEEDS, needs_from_tags
from harness.catalogue import Catalogue, requirement_ids_from_tags

_GLUE = (
    "from pytest_bdd import scenarios as _scenarios\n"
    "_scenarios(_path, features_base_dir=_base)\n"
)


class FeatureError(ValueError):
    """A feature file that cannot be run; the message is one line with file and line."""


def parse_feature(path: Path) -> Feature:
    try:
        return get_feature(str(path.parent), path.name)
    except GherkinParseError as exc:
        raise FeatureError(f"{path}:{exc.line}: {exc.message}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FeatureError(f"{path}: cannot read: {exc}") from None
    except Exception as exc:  # the Gherkin parser raises several undocumented types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FeatureError(f"{path}: not a valid feature file: {first}") from None


def check_traceability(feature: Feature, catalogue: Catalogue) -> None:
    known = set(catalogue.by_id)
    path = feature.rel_filename or feature.filename
    if not feature.scenarios:
        raise FeatureError(f"{path}: the feature has no scenarios")
    for scenario in feature.scenarios.values():
        tags = set(feature.tags) | set(scenario.tags)
        ids = requirement_ids_from_tags(tags)
        where = f"{path}:{scenario.line_number}: scenario {scenario.name!r}"
        if not ids:
            raise FeatureError(f"{where} carries no @req:<ID> tag; every scenario must name "
                               "the requirement it checks")
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise FeatureError(f"{where}: @req:{unknown[0]} is not in the requirement catalogue")
        unknown_needs = [n for n in needs_from_tags(tags) if n not in NEEDS]
        if unknown_needs:
            raise FeatureError(f"{where}: @needs:{unknown_needs[0]} is not a known capability "
                               f"(known: {', '.join(sorted(NEEDS))})")


def validate_features(paths: list[Path], catalogue: Catalogue) -> list[Feature]:
    return [_validated(p, catalogue) for p in paths]


def _validated(path: Path, catalogue: Catalogue) -> Feature:
    feature = parse_feature(path)
    check_traceability(feature, catalogue)
    return feature


def feature_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(root.rglob("*.feature"))


class FeatureFile(pytest.Module):
    """A `.feature` file as a pytest module whose tests are its scenarios."""

    catalogue: Catalogue

    def _getobj(self) -> types.ModuleType:
        try:
            _validated(self.path, self.config.stash[CATALOGUE_KEY])
        except FeatureError as exc:
            raise self.CollectError(str(exc)) from None
        module = types.ModuleType(f"calharness_feature_{self.path.stem}")
        module.__file__ = str(self.path)
        module.__dict__.update(_path=str(self.path), _base=str(self.path.parent))
        # pytest-bdd binds scenarios into its caller's namespace: run its glue in the module's.
        exec(compile(_GLUE, str(self.path), "exec"), module.__dict__)
        return module


CATALOGUE_KEY = pytest.StashKey[Catalogue]()
