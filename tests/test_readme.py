"""The README stays true: its catalogue equals the code's, its scripting example runs."""
import contextlib
import io
import pathlib
import re

from verify.notes import catalogue_markdown

README = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_catalogue_is_current():
    block = README.split("<!-- catalogue:start -->\n")[1].split("<!-- catalogue:end -->")[0]
    assert block == catalogue_markdown()


def test_scripting_example_runs():
    scripting = README.split("## Scripting\n")[1].split("\n## ")[0]
    (code,) = re.findall(r"```python\n(.*?)```", scripting, flags=re.S)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert "proved" in lines[0] and lines[-1] == "True"


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    (block,) = re.findall(r"```sh\n(python3 -m venv.*?)```", README, flags=re.S)
    commands = block.strip().splitlines()
    assert len(commands) == 2 and "ldyn verify" in commands[0] and "pytest" in commands[1]
    ci = (pathlib.Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert commands[1] in ci


def _folders_in_map() -> set[str]:
    block = README.split("<!-- layout:start -->\n")[1].split("<!-- layout:end -->")[0]
    folders, parent = set(), ""
    for line in block.splitlines():
        m = re.match(r"( *)([\w.-]+/)\s", line)
        if not m:
            continue
        if m.group(1):
            folders.add(parent + m.group(2).rstrip("/"))
        else:
            parent = m.group(2)
            folders.add(parent.rstrip("/"))
    return folders


def test_where_things_are_matches_the_folders():
    root = pathlib.Path(__file__).resolve().parents[1]
    local = {".venv", "build", "experiments-out", "__pycache__"}  # ignored by git, made by a run
    top = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in local
           and not p.name.endswith(".egg-info")}
    subpackages = {str(p.parent.relative_to(root)) for pkg in ("derive", "numeric", "verify")
                   for p in (root / pkg).glob("*/__init__.py")}
    assert _folders_in_map() == top | subpackages


def test_analyse_your_own_rule_runs(tmp_path, monkeypatch, capsys):
    """The README's own-rule section: its files written out, every command run, every one exits 0, and the
    numbers its comments quote are what the commands print; then its Python block."""
    import json
    import shlex

    from verify.cli import main

    section = README.split("## Analyse your own rule\n")[1].split("\n## ")[0]
    for name, body in re.findall(r"<!-- file: (\S+) -->\n```\w+\n(.*?)```", section, flags=re.S):
        (tmp_path / name).write_text(body)
    monkeypatch.chdir(tmp_path)
    (block,) = re.findall(r"<!-- run: own-rule -->\n```sh\n(.*?)```", section, flags=re.S)
    outputs = []
    for line in block.strip().splitlines():
        argv = shlex.split(line.split("  #")[0])
        assert argv[0] == "ldyn"
        assert main(argv[1:]) == 0, line
        outputs.append(capsys.readouterr().out)
    assert "stable for 0 < x < 5.9375" in outputs[0]
    assert json.loads(outputs[1])["eta_critical"] == 0.59375
    assert (tmp_path / "qhm.png").stat().st_size > 0
    assert "\\begin{document}" in outputs[4] and "agree: yes" in outputs[5]
    import sympy as sp  # the regularizer the section's prose states, on L = theta^4/4 (|grad L|^2 = theta^6)

    me = json.loads(outputs[6])
    eta, beta, nu, theta = sp.symbols("eta beta nu theta")
    stated = eta * (1 - beta + 2 * nu * beta) / (4 * (1 - beta)) * theta**6
    names = {"eta": eta, "beta": beta, "nu": nu, "theta": theta}
    assert me["time_scale"] == "1" and sp.simplify(sp.sympify(me["regularizer"], locals=names) - stated) == 0
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    exec(compile(code, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "Matrix([[-g(theta)]])" and "proved" in lines[2]
