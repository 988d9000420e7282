"""The core stays transport-neutral: only the two runtime modules may import a Telegram
framework. The scan reads every .py file of the project, not a list of packages, so a new
package is covered the day it appears."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {"aiogram", "telegram"}
RUNTIMES = {"bot/runtime/aiogram_runtime.py", "bot/runtime/aiogram_direct.py",
            "bot/runtime/ptb_runtime.py"}
# Folders that may import a framework: hosts that embed careloop (examples), tests that
# drive the frameworks, benchmarks that compare careloop with bare framework bots.
OUTSIDE = ("examples", "tests", "bench")
SKIPPED = (".venv", "build", "dist", ".git")
IMPORTERS = {"import_module", "__import__"}


def _imports(path: Path) -> set[str]:
    """Top-level modules imported, statically or by a literal importlib/__import__ call."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and _called(node.func) in IMPORTERS):
            names.add(node.args[0].value.split(".")[0])
    return names


def _called(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _project_files() -> list[Path]:
    return [path for path in ROOT.rglob("*.py")
            if not set(path.relative_to(ROOT).parts) & set(SKIPPED)
            and not any(part.endswith(".egg-info") for part in path.relative_to(ROOT).parts)]


def test_frameworks_are_imported_only_by_the_runtimes() -> None:
    offenders = []
    for path in _project_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative in RUNTIMES or relative.split("/")[0] in OUTSIDE:
            continue
        if _imports(path) & FRAMEWORKS:
            offenders.append(relative)
    assert offenders == []


def test_the_scan_covers_the_core_and_the_runtimes() -> None:
    scanned = {path.relative_to(ROOT).as_posix() for path in _project_files()}
    assert scanned >= RUNTIMES  # renamed runtimes would leave the allow-list stale
    for package in ("bot", "handlers", "surveys", "storage", "kernel", "cases", "care",
                    "campaigns", "customers", "sandbox"):
        assert any(name.startswith(f"{package}/") for name in scanned), package
    # The rest of bot/runtime/ (the Runtime protocol) is core: it imports no framework.
    assert "bot/runtime/__init__.py" in scanned
    assert not _imports(ROOT / "bot/runtime/__init__.py") & FRAMEWORKS


def test_each_runtime_imports_its_own_framework_only() -> None:
    assert _imports(ROOT / "bot/runtime/aiogram_runtime.py") & FRAMEWORKS == {"aiogram"}
    assert _imports(ROOT / "bot/runtime/ptb_runtime.py") & FRAMEWORKS == {"telegram"}


def test_the_check_sees_a_framework_import(tmp_path: Path) -> None:
    sample = tmp_path / "leaky.py"
    sample.write_text("from aiogram.types import Message\nimport telegram.ext\n")
    assert _imports(sample) & FRAMEWORKS == {"aiogram", "telegram"}


def test_the_check_sees_a_dynamic_import(tmp_path: Path) -> None:
    sample = tmp_path / "sneaky.py"
    sample.write_text("import importlib\nimportlib.import_module('telegram.ext')\n"
                      "__import__('aiogram')\n")
    assert _imports(sample) & FRAMEWORKS == {"aiogram", "telegram"}


def test_the_check_ignores_names_that_only_look_alike(tmp_path: Path) -> None:
    sample = tmp_path / "fine.py"
    sample.write_text("from careloop.bot.runtime import telegram_api\nimport aiogramish\n"
                      "from . import telegram\n")
    assert _imports(sample) & FRAMEWORKS == set()
