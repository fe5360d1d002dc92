"""fcray's packages form layers that only point down, and its modules import each other without cycles.

The import graph is read from the source (every ``import``/``from ... import`` of fcray's own modules,
function-local ones included: an import inside a function hides an edge, it does not remove it), the way
veRL checks its layout in CI. A module may import modules of its own layer or of lower layers, never of a
higher one; and no chain of imports may lead from a module back to itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fcray"

# Bottom to top. A top-level module or package of fcray belongs to exactly one layer.
LAYERS: list[tuple[str, ...]] = [
    ("fcray", "toolcall", "progress", "readiness", "sandbox", "credentials"),  # pure: the package root, tool-call checking/rewards,
                                                    # progress reports, waiting for a service to come up,
                                                    # confining what executes model output, API keys by reference
    ("config",),                        # typed configs and presets
    ("workdir", "data", "synth", "tracking"),  # the run-folder layout; canonical examples and their sources;
                                                # where runs log (TensorBoard, MLflow, W&B)
    ("model",),                         # the embedded base model and model-folder helpers
    ("cluster", "ray_trainer", "engine"),  # shared Ray services: heads and jobs, the Ray Train loop, vLLM engines
    ("sft", "grpo", "serve", "edge"),   # training and serving stages (never import evaluation)
    ("eval",),                          # evaluation of any model, and the report (which plots GRPO's curves)
    ("bench",),                         # load test and settings sweep of the served app
    ("console", "demo", "results", "cli"),  # what composes the stages: the main job, its results, the CLI
]
LAYER_OF = {name: level for level, names in enumerate(LAYERS) for name in names}


def module_names() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("fcray", *path.relative_to(PACKAGE).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """``{module: {fcray modules it imports}}``, function-local imports included."""
    modules = module_names()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {resolve(a.name) for a in node.names if a.name.split(".")[0] == "fcray"}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if source.split(".")[0] == "fcray":
                    targets |= {resolve(f"{source}.{a.name}") if f"{source}.{a.name}" in modules else resolve(source)
                                for a in node.names}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else module
    if top not in LAYER_OF:
        raise AssertionError(f"{module}: fcray.{top} is in no layer; add it to LAYERS in {__file__}")
    return LAYER_OF[top]


def upward_edges(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b} (layer {layer(a)} imports layer {layer(b)})"
                  for a, targets in graph.items() for b in targets if layer(b) > layer(a))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a readable chain."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_fcray_module_is_in_a_layer():
    for module in import_graph():
        layer(module)


def test_imports_only_point_down():
    assert upward_edges(import_graph()) == []


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("extra, found, message", [
    ({"fcray.sft.train": {"fcray.eval.stages"}}, upward_edges, "fcray.sft.train -> fcray.eval.stages"),
    ({"fcray.config.schema": {"fcray.data.schema"}}, upward_edges, "fcray.config.schema -> fcray.data.schema"),
    ({"fcray.grpo.train": {"fcray.sft.train"}, "fcray.sft.train": {"fcray.grpo.train"}}, cycles, "fcray.grpo.train"),
])
def test_an_added_upward_import_or_cycle_is_named(extra, found, message):
    graph = import_graph()
    for module, targets in extra.items():
        graph[module] = graph[module] | targets
    assert message in str(found(graph))


ENTRYPOINTS = sorted((PACKAGE.parent / "jobs").glob("*.py")) + sorted((PACKAGE.parent / "tune").glob("*.py"))


@pytest.mark.parametrize("path", ENTRYPOINTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_entrypoints_use_public_names_and_no_sys_path_edits(path):
    """jobs/ and tune/ run as ``python -m jobs.<stage>`` / ``python -m tune.sweep`` and call fcray's public API."""
    tree = ast.parse(path.read_text(), str(path))
    private = [f"{node.module}.{a.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and (node.module or "").startswith("fcray") for a in node.names if a.name.startswith("_")]
    assert private == []
    assert not any(isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys"
                   for node in ast.walk(tree)), "sys.path edit"
