"""Where the compliance features, the requirement catalogue and the seed documents live.

A wheel carries them inside the package as ``harness/_bundled/features`` and
``harness/_bundled/seeds`` (hatch ``force-include`` in pyproject.toml), found through the package
with importlib.resources. A source checkout or an editable install has no ``_bundled`` folder and
uses the repository's ``features/`` and ``docs/seeds/`` instead, so edits there take effect
without a reinstall.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

BUNDLED = "_bundled"


def _package_dir() -> Path:
    root = files("harness")
    # pytest collects .feature files and the loader reads seeds from disk: a zipped install
    # (zipimport) would need extracting first. pip always installs wheels as plain files.
    if not isinstance(root, Path):
        raise RuntimeError(f"calharness needs its package on the file system, not in {root}")
    return root


def bundled_root() -> Path | None:
    """``harness/_bundled`` of an installed wheel, or None in a source checkout."""
    root = _package_dir() / BUNDLED
    return root if (root / "features").is_dir() else None


def project_root() -> Path | None:
    """The repository root when running from a source checkout (or editable install), else None."""
    if bundled_root() is not None:
        return None
    root = _package_dir().resolve().parent
    return root if (root / "features").is_dir() else None


def _data_dir(bundled_name: str, repo_relative: str) -> Path:
    bundled = bundled_root()
    if bundled is not None:
        return bundled / bundled_name
    # Neither bundled nor beside a checkout: name the repository path anyway, so the error a
    # caller reports ("... does not exist") says where it looked.
    return _package_dir().resolve().parent / repo_relative


def features_dir() -> Path:
    """The folder of the compliance ``.feature`` files."""
    return _data_dir("features", "features")


def catalogue_file() -> Path:
    """The requirement catalogue, ``requirements.yaml`` beside the features."""
    return features_dir() / "requirements.yaml"


def seeds_dir() -> Path:
    """The seed documents whose sentences the catalogue quotes."""
    return _data_dir("seeds", "docs/seeds")
