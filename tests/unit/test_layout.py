"""The tree is the architecture: every package folder installs under the `careloop`
namespace, and the build's package list leaves none out (pyproject lists them, since the
folders map into the namespace rather than being found)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _package_folders() -> set[str]:
    """Every folder with an __init__.py under a folder mapped into the namespace."""
    found = set()
    for package, folder in SETUPTOOLS["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *relative)))
    return found


def test_every_package_folder_is_installed() -> None:
    listed = set(SETUPTOOLS["packages"])
    assert _package_folders() - listed == set()


def test_every_listed_package_is_a_folder_of_the_tree() -> None:
    listed = set(SETUPTOOLS["packages"]) - {"careloop.locales"}  # catalogs: data, no code
    assert listed - _package_folders() == set()


def test_every_top_level_folder_with_code_is_in_the_namespace() -> None:
    mapped = set(SETUPTOOLS["package-dir"].values())
    outside = {"tests", "bench", "examples"}  # run from a checkout, never installed
    code = {p.parent.name for p in ROOT.glob("*/__init__.py")} - outside
    assert code - mapped == set()


def test_the_import_contracts_name_every_package() -> None:
    roots = set(PYPROJECT["tool"]["importlinter"]["root_packages"])
    assert roots == set(SETUPTOOLS["package-dir"]) - {"careloop.locales"}
