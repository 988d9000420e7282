"""The core stays transport-neutral: only bot/runtime/ may import a Telegram framework."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {"aiogram", "telegram"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_frameworks_are_imported_only_by_the_runtimes() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("bot", "handlers", "surveys", "storage")
        for path in (ROOT / package).rglob("*.py")
        if "runtime" not in path.relative_to(ROOT).parts and _imports(path) & FRAMEWORKS
    ]
    assert offenders == []


def test_the_check_sees_a_framework_import(tmp_path: Path) -> None:
    sample = tmp_path / "leaky.py"
    sample.write_text("from aiogram.types import Message\nimport telegram.ext\n")
    assert _imports(sample) & FRAMEWORKS == {"aiogram", "telegram"}
