"""No module of k4mlinference uses a private (`_`-prefixed) name of another k4mlinference module.

Checked statically on the source (ast), so it covers every module, imported by the suite or not:
- `from k4mlinference.x import _name` (absolute or relative);
- `module._name` where `module` was bound by importing a k4mlinference module
  (`from k4mlinference.inference import engine` ... `engine._helper`).
ruff's PLC2701 (import-private-name) covers only the first and is a preview rule in the pinned ruff.
Private names of third-party packages are not checked here (the onnxruntime fast path reaches into
onnxruntime's compiled layer in one function, with a tested fallback).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "k4mlinference"

# No exceptions: an entry here would be a known offender, and entries no longer found fail the test too.
ALLOWED: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str) -> bool:
    """Whether `dotted` names a module or package of k4mlinference (a file or folder on disk)."""
    if dotted != "k4mlinference" and not dotted.startswith("k4mlinference."):
        return False
    rel = Path(*dotted.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").is_file() or (PACKAGE.parent / rel / "__init__.py").is_file()


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(path: Path) -> list[tuple[str, str]]:
    module = _module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, str]] = []
    module_aliases: dict[str, str] = {}  # local name -> k4mlinference module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if _is_module(a.name):
                    module_aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, module, path.name == "__init__.py")
            if not _is_module(source):
                continue
            for a in node.names:
                if _private(a.name):
                    found.append((module, f"from {source} import {a.name} (line {node.lineno})"))
                elif _is_module(f"{source}.{a.name}"):
                    module_aliases[a.asname or a.name] = f"{source}.{a.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
            and module_aliases[node.value.id] != module
        ):
            found.append((module, f"{module_aliases[node.value.id]}.{node.attr} (line {node.lineno})"))
    return found


def test_no_module_uses_another_modules_private_names():
    found = [v for path in sorted(PACKAGE.rglob("*.py")) for v in violations(path)]
    unexpected = [f"{m}: {what}" for m, what in found if (m, what.split(" (line")[0]) not in ALLOWED]
    assert not unexpected, "private names used across modules:\n" + "\n".join(unexpected)
    stale = ALLOWED - {(m, what.split(" (line")[0]) for m, what in found}
    assert not stale, f"fixed: remove from ALLOWED: {sorted(stale)}"


def test_the_check_sees_both_forms(tmp_path, monkeypatch):
    pkg = tmp_path / "k4mlinference"
    (pkg / "inference").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "inference" / "__init__.py").write_text("")
    (pkg / "inference" / "engine.py").write_text("def _helper(): pass\n")
    bad = pkg / "inference" / "user.py"
    bad.write_text(
        "from k4mlinference.inference.engine import _helper\n"
        "from k4mlinference.inference import engine\n"
        "from . import engine as e\n"
        "engine._helper(); e._helper(); engine.__name__\n"
    )
    monkeypatch.setattr(f"{__name__}.PACKAGE", pkg)
    got = [what for _, what in violations(bad)]
    assert got == [
        "from k4mlinference.inference.engine import _helper (line 1)",
        "k4mlinference.inference.engine._helper (line 4)",
        "k4mlinference.inference.engine._helper (line 4)",
    ]
