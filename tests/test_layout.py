"""The code's shape: layers import downward only (so no import cycle), imports inside
functions only for optional or slow dependencies (each says why), no long functions, and the
line budgets that keep the method readable in one sitting (README, "Map of the files")."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Lower layers never import higher ones (README, "Map of the files"): train -> rundir -> eval -> compare / protocols /
# distributed -> settings -> checkpoints -> smf_mini -> memory / scoring / data / plots -> common / tasks / stats / flags -> inputs.
LAYER = {"inputs": -1, "flags": 0, "progress": 0, "common": 0, "tasks": 0, "stats": 0, "memory": 1, "scoring": 1, "data": 1, "plots": 1, "lmeval": 1, "smf_mini": 2,
         "checkpoints": 3, "settings": 4, "distributed": 5, "protocols": 5, "compare": 5, "eval": 6, "rundir": 7, "train": 8}
# The method path: what a student reads to follow `python train.py --method smf`.
METHOD_FILES = ("memory", "smf_mini", "train")
METHOD_PATH_LINES = 1150
FILE_LINES = 600  # every other top-level file (eval.py, the largest, ~600 with --lm-eval and --plot); tasks.py, mostly word lists and templates (data tables), excepted
DATA_TABLE_FILES = {"tasks": 800}  # word lists, relation and paraphrase templates


def line_count(module: str) -> int:
    return len((ROOT / f"{module}.py").read_text().splitlines())


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


def test_line_budgets():
    method = sum(line_count(m) for m in METHOD_FILES)
    assert method <= METHOD_PATH_LINES, f"the method path ({' + '.join(METHOD_FILES)}) is {method} lines"
    for m in LAYER:
        budget = DATA_TABLE_FILES.get(m, FILE_LINES)
        assert line_count(m) <= budget, f"{m}.py is {line_count(m)} lines (budget {budget}): split it by idea"


def test_one_smf_step_stays_in_the_method_files():
    """From the loop to the row write, an SMF step calls into train.py, smf_mini.py and
    memory.py only: train.one_step's callees (and theirs, within train.py) use no other
    project module, and nothing outside smf_mini.py reads the optimizer's internals."""
    tree = ast.parse((ROOT / "train.py").read_text())
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    seen, todo, modules = set(), ["one_step"], set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for node in ast.walk(funcs[f]):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in funcs:
                todo.append(node.func.id)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in LAYER:
                modules.add(node.value.id)
    assert modules <= {"common", "memory", "smf_mini", "rundir"}, modules  # rundir: the divergence check only
    for m in LAYER:
        if m != "smf_mini":
            text = (ROOT / f"{m}.py").read_text()
            for internal in ("opt.counts", "opt.selected", "opt.mems", "opt.grads"):
                assert internal not in text, f"{m}.py reads {internal}"


def test_no_function_over_60_lines_outside_the_method_files():
    for module in ("train", "rundir", "settings", "eval", "compare", "checkpoints"):
        tree = ast.parse((ROOT / f"{module}.py").read_text())
        long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(tree)
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
        assert not long, f"{module}.py: {long}"


def test_the_reading_order_gives_true_sizes():
    """README's reading order and docs/METHOD.md name the method files' sizes (~N lines): within 10%."""
    import re  # only this test parses the docs

    for doc in ("README.md", "docs/METHOD.md"):
        text = (ROOT / doc).read_text()
        for m in METHOD_FILES:
            found = re.search(rf"`{m}\.py` \(~([\d,]+)", text)
            assert found, f"{doc} gives no size for {m}.py"
            said = int(found.group(1).replace(",", ""))
            assert abs(line_count(m) - said) <= 0.1 * said, f"{doc}: {m}.py is {line_count(m)} lines, not ~{said}"
