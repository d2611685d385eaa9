"""The package's shape: layers that import only downwards, no import cycles (function-level imports
included), a short list of modules at the top, and one error family.

The imports are read from the source with ``ast``, so an import hidden inside a function counts
exactly as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import rkaudio

PACKAGE = Path(rkaudio.__file__).resolve().parent

#: The layers, lowest first. A module may import from its own layer and from layers below it.
LAYERS = ["core", "show", "audio", "speech", "transcripts", "publishing", "pipeline", "review", "cli"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every rkaudio module ``name`` imports, wherever in the file the import stands."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # "from pkg import mod" imports the module pkg.mod; "from mod import name" imports mod.
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _layer(name: str) -> int:
    parts = name.split(".")
    if len(parts) == 1:  # rkaudio itself: only the version
        return -1
    return LAYERS.index(parts[1])


def test_the_graph_reader_sees_imports_inside_functions() -> None:
    """The checks below mean nothing unless hidden imports are seen: cli imports the pipeline only
    inside its commands."""
    graph = _graph()
    assert "rkaudio.pipeline.process" in graph["rkaudio.cli.app"]
    assert "rkaudio.audio.ffmpeg_tool" in graph["rkaudio.audio.loudness"]  # "from . import ffmpeg_tool as ..."


def test_every_subpackage_is_a_layer() -> None:
    subpackages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert sorted(subpackages) == sorted(LAYERS)


def test_layers_import_only_downwards() -> None:
    wrong = [f"{a} (layer {LAYERS[_layer(a)]}) imports {b} (layer {LAYERS[_layer(b)]})"
             for a, targets in _graph().items() if _layer(a) >= 0
             for b in sorted(targets) if _layer(b) > _layer(a)]
    assert not wrong, "\n".join(wrong)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk of ``graph`` meets, each as the modules along it."""
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_no_import_cycles() -> None:
    cycles = find_cycles(_graph())
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_a_cycle_would_be_found() -> None:
    """The check can fail: one import added against the grain makes a cycle it reports."""
    graph = _graph()
    assert "rkaudio.core.errors" in graph["rkaudio.core.naming"]
    graph["rkaudio.core.errors"] = graph["rkaudio.core.errors"] | {"rkaudio.core.naming"}
    assert ["rkaudio.core.errors", "rkaudio.core.naming", "rkaudio.core.errors"] in find_cycles(graph)


def test_few_modules_at_the_top_and_each_subpackage_says_what_it_owns() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    subpackages = [p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()]
    assert len(subpackages) >= 4
    for folder in subpackages:
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, f"{folder.name}/__init__.py must say what it may import"
        for module in folder.glob("*.py"):
            if module.name not in ("__init__.py", "__main__.py"):
                assert ast.get_docstring(ast.parse(module.read_text(encoding="utf-8"))), \
                    f"{module.relative_to(PACKAGE)} has no docstring saying what it owns"


def test_errors_are_raised_by_kind_never_as_the_bare_base() -> None:
    """A bare RkaudioError would exit as a bug (70); every raise names the kind of failure."""
    bare = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if called == "RkaudioError":
                    bare.append(f"{name}:{node.lineno}")
                if called in ("ValueError", "TypeError", "KeyError", "RuntimeError", "Exception"):
                    bare.append(f"{name}:{node.lineno} raises {called}")
    assert not bare, bare
