"""The package's imports run one way, and a user's first prediction loads no plotting or table library.

Every ``import`` of ``spikebook`` (module level and inside functions) is read with :mod:`ast`; the layers,
lowest first, are::

    validate, signal, seeding, saving  →  generative, recognition, supervised, data, baselines, metrics,
    enumeration, plotting  →  objectives  →  training  →  recipes  →  pretrained  →  inference (and the
    package's ``spikebook.infer``)  →  experiments

A module may import its own layer or a lower one, never a higher one (and generative, recognition and
supervised not each other), and the import graph has no cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "spikebook"

#: Layer of each top-level part of the package (``spikebook.<part>``), lowest first.
LAYERS: dict[str, int] = {
    **dict.fromkeys(("validate", "signal", "seeding", "saving"), 0),
    **dict.fromkeys(("generative", "recognition", "supervised", "data", "baselines", "metrics", "enumeration",
                     "plotting"), 1),
    "objectives": 2,
    "training": 3,
    "recipes": 4,
    "pretrained": 5,
    "inference": 6,
    "": 6,  # the package itself: ``spikebook.infer``
    "experiments": 7,
}

#: Parts of one layer that must not import each other: the generative and recognition models meet only in
#: the objectives, and the supervised nets stand apart from both.
APART = {("generative", "recognition"), ("recognition", "generative"), ("supervised", "generative"),
         ("supervised", "recognition"), ("generative", "supervised"), ("recognition", "supervised")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """``module -> {spikebook modules it imports}``, every import statement included."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def part(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {part(m) for m in imports()} - {"__main__"}
    assert parts <= set(LAYERS), f"parts without a layer: {sorted(parts - set(LAYERS))}"


def test_imports_run_one_way() -> None:
    wrong = [f"{a} -> {b}" for a, targets in imports().items() for b in targets
             if part(a) in LAYERS and part(b) in LAYERS
             and (LAYERS[part(b)] > LAYERS[part(a)] or (part(a), part(b)) in APART)]
    assert not wrong, "imports from a lower layer into a higher one:\n" + "\n".join(sorted(wrong))


def test_no_import_cycle() -> None:
    graph = imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt] if nxt in path else [*path, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_the_layer_test_catches_a_wrong_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "spikebook"
    for name, text in {"__init__.py": "", "metrics.py": "from spikebook.training import fit_vimco\n",
                       "training.py": "import spikebook.metrics\n", "generative.py": "",
                       "recognition.py": "import spikebook.generative\n",
                       "data.py": "def f():\n    import spikebook\n    return spikebook.infer\n"}.items():
        (fake / name).parent.mkdir(parents=True, exist_ok=True)
        (fake / name).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match="spikebook.metrics -> spikebook.training") as info:
        test_imports_run_one_way()
    assert "spikebook.recognition -> spikebook.generative" in str(info.value)
    assert "spikebook.data -> spikebook\n" in str(info.value) + "\n"  # a lazy import of the package's infer
    with pytest.raises(pytest.fail.Exception, match="import cycle"):
        test_no_import_cycle()


def test_a_first_prediction_loads_no_plotting_table_or_baseline_library() -> None:
    code = ("import sys, numpy as np, spikebook\n"
            "spikebook.infer(np.zeros((1, 600)) + 0.01, 60.0, model='dsf-gcamp6f-60hz')\n"
            "print(sorted(m for m in ('matplotlib', 'pandas', 'sklearn', 'oasis', 'seaborn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
