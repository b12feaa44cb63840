"""The code's shape: layers import downward only (so no import cycle), imports inside
functions only for optional or slow dependencies (each says why), no long functions."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# lower layers never import higher ones: train -> runs -> eval/distributed -> smf_mini -> memory/scoring -> tasks/common/stats
LAYER = {"common": 0, "tasks": 0, "stats": 0, "progress": 0, "memory": 1, "scoring": 1, "plots": 1, "lmeval": 1, "smf_mini": 2, "eval": 3, "distributed": 3, "runs": 4, "train": 5}


def local_imports(module: str) -> list[tuple[str, ast.AST]]:
    """(imported project module, import node) for every import in the file, nested ones too."""
    tree = ast.parse((ROOT / f"{module}.py").read_text())
    out = []
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if isinstance(node, ast.ImportFrom) else []
        out += [(n.split(".")[0], node) for n in names if n and n.split(".")[0] in LAYER]
    return out


def test_the_layout_matches_the_readme_file_map():
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{m}.py`" in readme for m in LAYER)
    assert sorted(p.stem for p in ROOT.glob("*.py")) == sorted(LAYER)


def test_layers_import_downward_only():
    for module, layer in LAYER.items():
        for dep, node in local_imports(module):
            assert LAYER[dep] < layer, f"{module}.py line {node.lineno} imports {dep} (layer {LAYER[dep]} >= {layer})"


def test_no_import_cycle():
    graph = {m: {d for d, _ in local_imports(m)} for m in LAYER}
    state: dict[str, int] = {}

    def visit(m, path):
        assert state.get(m) != 1, "import cycle: " + " -> ".join(path + [m])
        if state.get(m) == 2:
            return
        state[m] = 1
        for d in graph[m]:
            visit(d, path + [m])
        state[m] = 2

    for m in graph:
        visit(m, [])


def test_imports_inside_functions_say_why():
    for module in LAYER:
        lines = (ROOT / f"{module}.py").read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    assert "#" in lines[node.lineno - 1], f"{module}.py line {node.lineno}: a nested import without its reason"


def test_no_function_over_60_lines_in_train_runs_and_eval():
    for module in ("train", "runs", "eval"):
        tree = ast.parse((ROOT / f"{module}.py").read_text())
        long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(tree)
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
        assert not long, f"{module}.py: {long}"
