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
    (code,) = re.findall(r"```python\n(.*?)```", README, flags=re.S)
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
