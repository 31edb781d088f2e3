"""The wheel runs on its own: it carries the features, the requirement catalogue, the seed
documents and the report template, and `harness.bundled` finds them from an installed layout.

No network install: the wheel is unpacked into a folder that stands in for site-packages and
imported from there in a subprocess whose sys.path holds no checkout of this repository.
(.ci/run does the full thing: sdist, wheel, fresh venv, `calharness run` from a temp folder.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                             "--wheel-dir", str(out), str(ROOT)],
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (built,) = out.glob("calharness-*.whl")
    return built


def test_wheel_carries_features_catalogue_seeds_and_template(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    features = {f"harness/_bundled/features/{p.name}" for p in (ROOT / "features").glob("*")
                if p.is_file()}
    seeds = {f"harness/_bundled/seeds/{p.name}" for p in (ROOT / "docs" / "seeds").glob("*")}
    assert "harness/_bundled/features/requirements.yaml" in features
    assert any(name.endswith(".feature") for name in features)
    assert seeds, "no seed documents in docs/seeds"
    assert features <= names, sorted(features - names)
    assert seeds <= names, sorted(seeds - names)
    assert {"harness/bundled.py", "harness/reports/templates/report.html.j2",
            "mock_providers/tls.py"} <= names
    # Only the two packages at the top level: no stray features/ or docs/ in site-packages.
    tops = {name.split("/")[0] for name in names if not name.startswith("calharness-")}
    assert tops == {"harness", "mock_providers"}, tops


PROBE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    site = Path(sys.argv[1]).resolve()
    # Off sys.path: every folder holding another copy of the package (the repository, however
    # it got there: PYTHONPATH, an editable install's .pth, the working directory).
    sys.path[:] = [str(site)] + [p for p in sys.path
                                 if not (Path(p or ".") / "harness" / "__init__.py").exists()]
    import harness
    from harness import bundled
    from harness.catalogue import load_catalogue
    from harness.cli import DEFAULT_FEATURES
    from harness.reports.html import _environment
    from harness.runner import _isolated_from_enclosing_projects
    catalogue = load_catalogue()
    _environment().get_template("report.html.j2")
    print(json.dumps({
        "package": harness.__file__,
        "features": str(bundled.features_dir()),
        "catalogue": str(bundled.catalogue_file()),
        "seeds": str(bundled.seeds_dir()),
        "project_root": bundled.project_root(),
        "cli_default": str(DEFAULT_FEATURES),
        "requirements": len(catalogue.requirements),
        "feature_files": len(list(bundled.features_dir().glob("*.feature"))),
        "pytest_args": _isolated_from_enclosing_projects(bundled.features_dir()),
    }))
""")


def test_bundled_finds_the_data_in_an_installed_layout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(site)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", PROBE, str(site)], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout)
    bundle = site.resolve() / "harness" / "_bundled"
    assert Path(found["package"]).resolve() == site.resolve() / "harness" / "__init__.py"
    assert found["project_root"] is None
    assert Path(found["features"]) == bundle / "features" == Path(found["cli_default"])
    assert Path(found["catalogue"]) == bundle / "features" / "requirements.yaml"
    assert Path(found["seeds"]) == bundle / "seeds"
    assert found["feature_files"] == len(list((ROOT / "features").glob("*.feature")))
    assert found["requirements"] > 0
    # pytest must not pick up the configuration of whatever project the venv sits in.
    assert found["pytest_args"][:2] == ["--config-file", os.devnull]


def test_a_checkout_uses_the_repository_folders() -> None:
    from harness import bundled
    from harness.runner import _isolated_from_enclosing_projects

    assert bundled.bundled_root() is None
    assert bundled.project_root() == ROOT
    assert bundled.features_dir() == ROOT / "features"
    assert bundled.catalogue_file() == ROOT / "features" / "requirements.yaml"
    assert bundled.seeds_dir() == ROOT / "docs" / "seeds"
    assert _isolated_from_enclosing_projects(ROOT / "features") == []  # pyproject.toml applies
