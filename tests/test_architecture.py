"""The house rules of d4p/, checked on its source with ``ast``: no import cycle
(function-level imports count), no module uses another module's underscore names,
every module says its one job in its first docstring line, and none is too long."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "d4p"
MAX_LINES = 650  # "about 600": a module past this has more than one job


def _modules():
    """``{dotted name: path}`` of every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _package_of(name, path):
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _resolve(name, path, node):
    """The modules one import statement loads (its ``from`` names included when they
    are modules themselves)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = _from_base(name, path, node)
    submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
    # ``from . import _engine`` loads the module, not (again) the package's own names
    return ([base] if len(submodules) < len(node.names) else []) + submodules


def _graph():
    """``{module: [modules it imports]}``, function-level imports included."""
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets.update(t for t in _resolve(name, path, node) if t in MODULES)
        graph[name] = sorted(targets - {name})
    return graph


def _find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in graph:
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_import_graph_is_acyclic():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": ["b"], "b": [], "c": ["a"]}) is None


def _private(attr):
    return attr.startswith("_") and not (attr.startswith("__") and attr.endswith("__"))


def _from_base(name, path, node):
    """The module an ``ImportFrom`` names (relative levels resolved)."""
    if not node.level:
        return node.module or ""
    pkg = _package_of(name, path).split(".")
    pkg = pkg[: len(pkg) - node.level + 1]
    return ".".join(pkg + ([node.module] if node.module else []))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_uses_another_modules_underscore_names(name):
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    offences, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _from_base(name, path, node)
            if base.split(".")[0] != "d4p":
                continue
            for a in node.names:
                if f"{base}.{a.name}" in MODULES:
                    aliases[a.asname or a.name] = f"{base}.{a.name}"
                elif _private(a.name) and base != name:
                    offences.append(f"line {node.lineno}: from {base} import {a.name}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "d4p":
                    aliases[a.asname or "d4p"] = a.name if a.asname else "d4p"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module and module != name and _private(node.attr):
                offences.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert not offences, f"{name} uses other modules' private names:\n" + "\n".join(offences)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_says_its_job_and_is_short(name):
    path = MODULES[name]
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc and doc.splitlines()[0].strip(), f"{name} has no docstring saying its job"
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (at most {MAX_LINES})"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("d4p.kernels.")
                                        and n != "d4p.kernels.jit"))
def test_kernels_compile_through_d4p_kernel(name):
    """Every kernel goes through ``d4p.kernels.jit.kernel`` (cache, nogil, the per-node
    compile lock, the one first-run notice, the compile log): a bare Numba ``njit``
    would compile beside the lock, silently, on every rank at once."""
    tree = ast.parse(MODULES[name].read_text())
    bare = sorted({node.lineno for node in ast.walk(tree)
                   if isinstance(node, (ast.Name, ast.Attribute))
                   and (node.id if isinstance(node, ast.Name) else node.attr)
                   in ("njit", "jit", "generated_jit", "vectorize", "guvectorize")})
    assert not bare, f"{name}: Numba decorators used directly on lines {bare}"
