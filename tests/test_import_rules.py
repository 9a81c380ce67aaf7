"""DESIGN.md's import rules, enforced on the syntax tree (imports anywhere, lazy ones too)."""
import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def imported_packages(package: str) -> dict[str, set[str]]:
    out = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
                if node.args and isinstance(node.args[0], ast.Constant):
                    names.add(str(node.args[0].value).split(".")[0])
        out[str(path.relative_to(ROOT))] = names
    return out


def test_numeric_never_imports_derive_verify_or_sympy():
    for path, names in imported_packages("numeric").items():
        assert not names & {"derive", "verify", "sympy"}, f"{path} imports {names & {'derive', 'verify', 'sympy'}}"


def test_derive_never_imports_numeric_or_verify():
    for path, names in imported_packages("derive").items():
        assert not names & {"numeric", "verify"}, f"{path} imports {names & {'numeric', 'verify'}}"


def test_nothing_imports_the_cli():
    for pkg in ("derive", "numeric", "verify"):
        for path in (ROOT / pkg).rglob("*.py"):
            if path.name != "cli.py":
                text = path.read_text()
                assert "from .cli" not in text and "verify.cli" not in text and "import cli" not in text, path


def test_derive_uses_numpy_only_lazily():
    """DESIGN.md: derive/ may use NumPy only through lambdify; no module-level numpy/scipy import."""
    for path in (ROOT / "derive").rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            names = set()
            if isinstance(node, ast.Import):
                names = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = {node.module.split(".")[0]}
            assert not names & {"numpy", "scipy"}, f"{path.name} imports {names} at module level"


def test_the_rule_checker_itself_catches_a_violation(tmp_path, monkeypatch):
    bad = tmp_path / "numeric"
    bad.mkdir()
    (bad / "x.py").write_text("def f():\n    from derive import losses\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert imported_packages("numeric")["numeric/x.py"] == {"derive"}


def test_help_does_not_import_sympy_or_numpy():
    code = ("import sys, contextlib, io\nfrom verify import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        cli.main(['--help'])\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sympy', 'numpy', 'scipy', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the layout: subpackages by concept, no cycles, no crowded folder ---------------------------------------------
PACKAGES = ("derive", "numeric", "verify")


def _module_name(path: pathlib.Path, root: pathlib.Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST):
    """Import nodes executed at run time: everything but the body of ``if TYPE_CHECKING:``."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in skip]


def import_graph(root: pathlib.Path | None = None) -> dict[str, set[str]]:
    """module -> project modules it imports (lazy imports included; the implicit import of a parent package by
    Python's import system is not an edge: it cannot run the child's code before the child exists)."""
    root = root or ROOT
    files = {_module_name(p, root): p for pkg in PACKAGES for p in (root / pkg).rglob("*.py")}
    graph = {}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        deps = set()
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in files}
                continue
            if node.level:
                base = mod if is_pkg else mod.rsplit(".", 1)[0]
                for _ in range(node.level - 1):
                    base = base.rsplit(".", 1)[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for a in node.names:
                if f"{target}.{a.name}" in files:
                    deps.add(f"{target}.{a.name}")
                elif target in files:
                    deps.add(target)
        graph[mod] = deps - {mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    pkg = tmp_path / "verify"
    pkg.mkdir()
    for d in ("derive", "numeric"):
        (tmp_path / d).mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from verify import b\n")
    (pkg / "b.py").write_text("from .a import f\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from verify.a import f\n")
    (pkg / "d.py").write_text("from verify.c import x\n")
    g = import_graph(tmp_path)
    assert g["verify.a"] == {"verify.b"} and g["verify.c"] == set() and g["verify.d"] == {"verify.c"}
    assert cycles(g) == [["verify.a", "verify.b"]]


def test_no_folder_holds_more_than_15_modules():
    for pkg in PACKAGES:
        for folder in [ROOT / pkg, *(p for p in (ROOT / pkg).rglob("*") if p.is_dir() and p.name != "__pycache__")]:
            modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
            assert len(modules) <= 15, f"{folder.relative_to(ROOT)} holds {len(modules)} modules"
            if folder != ROOT / pkg and modules:  # a folder of data (derive/rules/text) needs no __init__
                assert (folder / "__init__.py").exists(), f"{folder.relative_to(ROOT)} is not a package"


def test_sources_hold_no_control_characters():
    """A '\\b' or '\\t' typed into a non-raw string becomes a control character that LaTeX rejects."""
    for pkg in (*PACKAGES, "tests"):
        for path in (ROOT / pkg).rglob("*.py"):
            bad = [c for c in path.read_text() if ord(c) < 32 and c not in "\n"]
            assert not bad, f"{path.relative_to(ROOT)} holds control character(s) {sorted(set(map(ord, bad)))}"
