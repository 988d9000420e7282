"""Finds user-facing string literals that skip gettext.

A text reaches a person through a parameter called `text`, `caption`, `description` or
`question`: the effects (Send, Edit, Toast), buttons, the Messenger port, the command menu,
surveys, and every local helper such as `_reply(update, text)`. The scan reads the source
(no imports), learns each function's and dataclass's parameters, and checks what is passed
to those parameters: a literal with letters in it must come through `_()`, `gettext`,
`ngettext` or `N_`: the names the extraction knows (an alias such as
`staff_ = tr.gettext` translates at run time but never reaches the catalogs, so a call
through one is reported wherever it is). Literals inside `escape()`, `clip()`,
`.format()`, `.join()`, `+`, `... if ... else ...` and f-strings are followed; any other
call is the callee's business.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

TEXT_PARAMS = frozenset({"text", "caption", "description", "question"})
# The keywords `make i18n` extracts (Babel's defaults include these).
MARKERS = frozenset({"_", "gettext", "ngettext", "pgettext", "npgettext", "N_"})
PASS_THROUGH = frozenset({"escape", "clip", "str", "format", "join", "strip"})
# Callables from outside careloop that carry user-facing text, by keyword.
EXTERNAL = {"BotCommand": ["command", "description"]}


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    literal: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.literal!r} is not marked for translation"


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> list[str]:
    names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    if method and names and names[0] in ("self", "cls"):
        names = names[1:]
    return names + [a.arg for a in node.args.kwonlyargs]


def _is_dataclass(node: ast.ClassDef) -> bool:
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "dataclass":
            return True
    return False


def signatures(tree: ast.Module) -> dict[str, list[list[str]]]:
    """Parameter names by callable name: functions, methods and dataclass fields."""
    found: dict[str, list[list[str]]] = {}
    methods = {id(item) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
               for item in node.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.setdefault(node.name, []).append(_params(node, method=id(node) in methods))
        elif isinstance(node, ast.ClassDef) and _is_dataclass(node):
            fields = [i.target.id for i in node.body
                      if isinstance(i, ast.AnnAssign) and isinstance(i.target, ast.Name)]
            found.setdefault(node.name, []).append(fields)
    return found


def _aliases(tree: ast.Module) -> set[str]:
    """Local names bound to a translator's gettext under a name the extraction skips."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute)
                and node.value.attr in ("gettext", "ngettext")):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names - MARKERS


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _literals(expr: ast.expr, markers: set[str]) -> Iterator[ast.Constant]:
    """String constants with letters in `expr` that no marker wraps."""
    if isinstance(expr, ast.Constant):
        if isinstance(expr.value, str) and _has_letters(expr.value):
            yield expr
    elif isinstance(expr, ast.JoinedStr):
        for part in expr.values:
            if isinstance(part, ast.FormattedValue):
                yield from _literals(part.value, markers)
            else:
                yield from _literals(part, markers)
    elif isinstance(expr, ast.Call):
        name = _name(expr.func)
        if name in markers:
            return  # translated
        if name not in PASS_THROUGH:
            return  # another function's result: checked where it is built
        if isinstance(expr.func, ast.Attribute):
            yield from _literals(expr.func.value, markers)  # "…".format(), sep.join()
        for arg in (*expr.args, *(k.value for k in expr.keywords)):
            yield from _literals(arg, markers)
    elif isinstance(expr, ast.BinOp):
        yield from _literals(expr.left, markers)
        yield from _literals(expr.right, markers)
    elif isinstance(expr, ast.IfExp):
        yield from _literals(expr.body, markers)
        yield from _literals(expr.orelse, markers)
    elif isinstance(expr, ast.BoolOp):
        for value in expr.values:
            yield from _literals(value, markers)
    elif isinstance(expr, ast.GeneratorExp | ast.ListComp):
        yield from _literals(expr.elt, markers)
    elif isinstance(expr, ast.List | ast.Tuple):
        for elt in expr.elts:
            yield from _literals(elt, markers)


def _text_args(call: ast.Call, candidates: list[list[str]]) -> Iterator[ast.expr]:
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    for params in candidates:
        for index, param in enumerate(params):
            if param in TEXT_PARAMS and index < len(positional):
                yield positional[index]
    for keyword in call.keywords:
        if keyword.arg in TEXT_PARAMS:
            yield keyword.value


def scan_source(source: str, path: str,
                known: dict[str, list[list[str]]] | None = None) -> list[Finding]:
    """Unmarked user-facing literals in one module. `known` adds other modules' callables;
    the module's own definitions come first (two `_reply` helpers may differ)."""
    tree = ast.parse(source)
    local = signatures(tree)
    markers = set(MARKERS)
    aliases = _aliases(tree)
    findings: list[Finding] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name is None:
            continue
        if isinstance(node.func, ast.Name) and name in aliases:
            # Translated when it runs, but missing from every catalog.
            findings += [Finding(path, a.lineno, a.value) for a in node.args
                         if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            continue
        candidates = local.get(name) or (known or {}).get(name) or []
        if name in EXTERNAL:
            candidates = [*candidates, EXTERNAL[name]]
        seen: set[int] = set()
        for arg in _text_args(node, candidates):
            for literal in _literals(arg, markers):
                if id(literal) not in seen:
                    seen.add(id(literal))
                    findings.append(Finding(path, literal.lineno, literal.value))
    return sorted(findings, key=lambda f: f.line)


def python_files(root: Path, folders: Iterable[str], skip: Iterable[str]) -> list[Path]:
    skipped = tuple(root / s for s in skip)
    return sorted(p for folder in folders for p in (root / folder).rglob("*.py")
                  if not any(p.is_relative_to(s) for s in skipped))


def scan(root: Path, folders: Iterable[str], skip: Iterable[str] = ()) -> list[Finding]:
    files = python_files(root, folders, skip)
    sources = {p: p.read_text(encoding="utf-8") for p in files}
    known: dict[str, list[list[str]]] = {}
    for source in sources.values():
        for name, params in signatures(ast.parse(source)).items():
            known.setdefault(name, []).extend(params)
    findings: list[Finding] = []
    for path, source in sources.items():
        findings += scan_source(source, str(path.relative_to(root)), known)
    return findings
