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
