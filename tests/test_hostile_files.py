"""Issue #21, files, signals, names and sweeps: --out validation, atomic writes, `ldyn notes --check` over
figures, Ctrl-C / SIGTERM, unknown check names, sweep limits and diverged counts, one-line errors."""
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from verify import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
LDYN = [sys.executable, "-m", "verify.cli"]
PNG_END = b"IEND\xaeB`\x82"  # the last 8 bytes of every complete PNG (IEND chunk and its CRC)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, kind: str = "ldyn: error:") -> None:
    assert err.startswith(kind) and err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert "Traceback" not in err


def tree(folder: pathlib.Path) -> dict[str, str]:
    """relative path -> SHA-256 of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- --out validation ---------------------------------------------------------------------------------
COMMANDS = {
    "notes": ["notes", "--out"],
    "notes-check": ["notes", "--check", "--out"],
    "experiment": ["experiment", "xor", "--out"],
    "sweep": ["sweep", "least-squares", "lr", "1:2", "--num", "3", "--seeds", "1", "--out"],
}


@pytest.mark.parametrize("bad", ["", " ", "afile", "/dev/null", "afile/sub", "/proc/ldyn-nope/x"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_bad_out_is_one_line_exit_2_and_nothing_written(command, bad, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("precious\n")
    (tmp_path / "README.md").write_text("keep me\n")
    before = tree(tmp_path)
    start = time.perf_counter()
    code, out, err = run(capsys, *COMMANDS[command], bad)
    assert code == 2 and out == ""
    one_error_line(err)
    assert "--out" in err
    assert tree(tmp_path) == before  # nothing written, nothing replaced, no folder created
    assert not (tmp_path / "figures").exists()
    assert time.perf_counter() - start < 20  # refused before the work (a notes run takes a minute)


def test_empty_out_names_the_reason(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "notes", "--out", "")
    assert code == 2 and "empty folder name" in err and "current folder" in err


def test_notes_refuses_a_folder_of_other_files(capsys, tmp_path):
    (tmp_path / "README.md").write_text("a project's own README\n")
    code, out, err = run(capsys, "notes", "--out", str(tmp_path))
    assert code == 2 and out == ""
    one_error_line(err)
    assert "did not write" in err and (tmp_path / "README.md").read_text() == "a project's own README\n"
    code, _, err = run(capsys, "notes", "--check", "--out", str(tmp_path / "missing"))
    assert code == 2 and "no such folder" in err and not (tmp_path / "missing").exists()


def test_python_api_validates_out_like_the_cli(tmp_path):
    from verify import experiments, notes
    from verify.figures.backend import OutputPathError, output_folder

    (tmp_path / "f").write_text("x")
    for bad in ("", tmp_path / "f", tmp_path / "f" / "sub", "/dev/null"):
        with pytest.raises(ValueError):
            notes.write(bad)
        with pytest.raises(OutputPathError):
            experiments.run("xor", out=bad)  # refused before the experiment runs
    with pytest.raises(OutputPathError, match="not a folder"):
        notes.stale(tmp_path / "f")
    assert output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert (tmp_path / "new" / "deeper").is_dir() and list((tmp_path / "new").rglob("*.*")) == []


# -- atomic writes --------------------------------------------------------------------------------------
def test_atomic_write_replaces_and_leaves_nothing_else(tmp_path):
    from verify.figures.backend import atomic_write

    target = tmp_path / "a.json"
    atomic_write(target, "old\n")
    atomic_write(target, b"new\n")
    assert target.read_bytes() == b"new\n" and os.listdir(tmp_path) == ["a.json"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # the mode a plain open(..., "w") gives


@pytest.mark.parametrize("fail_in", ["write", "fsync", "replace"])
def test_an_interrupted_atomic_write_leaves_the_old_file(tmp_path, monkeypatch, fail_in):
    from verify.figures import backend

    target = tmp_path / "fig.png"
    target.write_bytes(b"old bytes")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if fail_in == "write":
        real_fdopen = os.fdopen
        monkeypatch.setattr(backend.os, "fdopen", lambda fd, mode: _ExplodingFile(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(backend.os, fail_in, interrupt)
    with pytest.raises(KeyboardInterrupt):
        backend.atomic_write(target, b"new bytes" * 1000)
    monkeypatch.undo()
    assert target.read_bytes() == b"old bytes" and os.listdir(tmp_path) == ["fig.png"]


class _ExplodingFile:
    """A file that writes half of what it is given and then is interrupted."""

    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        self.f.write(data[: len(data) // 2])
        raise KeyboardInterrupt


def test_experiment_out_writes_png_and_json_atomically(tmp_path, capsys):
    code, out, err = run(capsys, "experiment", "xor", "--out", str(tmp_path / "o"), "--json")
    summary = json.loads(out)
    assert code in (0, 1) and sorted(os.listdir(tmp_path / "o")) == ["xor.json", "xor.png"]
    assert json.loads((tmp_path / "o" / "xor.json").read_text())["claims"] == summary["claims"]
    assert (tmp_path / "o" / "xor.png").read_bytes().endswith(PNG_END)


# -- notes: every file compared, figures included; twice in a row is byte-identical -------------------------
@pytest.fixture(scope="module")
def notes_tree(tmp_path_factory):
    from verify import notes

    out = tmp_path_factory.mktemp("notes")
    notes.write(out)
    return out


def test_notes_written_twice_is_byte_identical_and_equal_to_the_committed_notes(notes_tree, tmp_path):
    from verify import notes

    first = tree(notes_tree)
    assert first == tree(ROOT / "notes")  # the committed notes (figures and manifest included)
    mtimes = {p: p.stat().st_mtime_ns for p in notes_tree.rglob("*") if p.is_file()}
    notes.write(notes_tree)
    assert tree(notes_tree) == first
    assert {p: p.stat().st_mtime_ns for p in notes_tree.rglob("*") if p.is_file()} == mtimes  # nothing rewritten


@pytest.mark.parametrize("damage", ["zero-bytes", "truncated", "one-byte-changed", "deleted", "replaced"])
def test_notes_check_names_a_damaged_figure(notes_tree, tmp_path, damage, capsys):
    import shutil

    from verify import notes

    copy = tmp_path / "notes"
    shutil.copytree(notes_tree, copy)
    png = copy / "figures" / "gd-stability.png"
    data = png.read_bytes()
    if damage == "zero-bytes":
        png.write_bytes(b"")
    elif damage == "truncated":
        png.write_bytes(data[: len(data) // 2])
    elif damage == "one-byte-changed":
        png.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    elif damage == "deleted":
        png.unlink()
    else:  # a valid PNG, but another figure's
        png.write_bytes((copy / "figures" / "gd-vs-flows.png").read_bytes())
    assert notes.stale(copy) == ["figures/gd-stability.png"]
    code, out, _ = run(capsys, "notes", "--check", "--out", str(copy))
    assert code == 1 and "stale: figures/gd-stability.png" in out and "1 stale file(s)" in out


def test_notes_check_names_a_leftover_temporary_file(notes_tree, tmp_path):
    import shutil

    from verify import notes

    copy = tmp_path / "notes"
    shutil.copytree(notes_tree, copy)
    (copy / "figures" / ".gd-stability.png.abc.tmp").write_bytes(b"\x89PNG")
    assert notes.stale(copy) == ["figures/.gd-stability.png.abc.tmp (not generated: remove it)"]


def test_notes_writes_only_inside_its_folder(tmp_path, monkeypatch, notes_tree):
    from verify import notes

    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("outside\n")
    notes.write(tmp_path / "sub" / "notes")
    outside = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert {p for p in outside if not p.startswith("sub/notes/")} == {"README.md"}
    assert tree(tmp_path / "sub" / "notes") == tree(notes_tree)


def test_notes_check_finds_what_an_interrupted_run_left(notes_tree, tmp_path):
    import shutil

    from verify import notes

    out = tmp_path / "notes"
    shutil.copytree(notes_tree, out)
    (out / "figures" / "gd-vs-flows.png").write_bytes(b"")  # what the old `ldyn notes` left after SIGTERM
    (out / "figures" / ".momentum-vs-gd.png.x.tmp").write_bytes(b"\x89PNG")  # what a SIGKILL can leave
    assert notes.stale(out) == ["figures/gd-vs-flows.png", "figures/.momentum-vs-gd.png.x.tmp (not generated: "
                                "remove it)"]


# -- unknown names in `ldyn verify` ---------------------------------------------------------------------
@pytest.mark.parametrize("name, closest", [
    ("tensor/zzz", "tensor/"),
    ("gd-critical-step/doesnotexist", "gd-critical-step/1-10"),
    ("doesnotexist", None),
    ("tensr", "tensor"),
    ("gd-critical-stp", "gd-critical-step"),
    ("zzz/abc", "zoo-"),
])
def test_verify_unknown_name_exits_2_with_the_closest_names(name, closest, capsys):
    from verify.checks import GROUPS

    code, out, err = run(capsys, "verify", name)
    assert code == 2 and out == "" and "0 passed" not in out
    one_error_line(err)
    assert f"unknown check {name!r}" in err
    named = err.split("closest known: ")[1].split(" (")[0].strip().split(", ")
    assert 1 <= len(named) <= 5
    if "/" not in name or name.startswith("zzz"):
        assert set(named) <= set(GROUPS)
    if closest:
        assert named[0].startswith(closest)


def test_verify_group_and_check_names_together(capsys):
    code, out, _ = run(capsys, "verify", "tensor", "gd-critical-step/1-10", "--json")
    names = {r["check"] for r in json.loads(out)}
    assert code == 0 and "gd-critical-step/1-10" in names and "gd-critical-step/0.5-3-20" not in names
    assert {"tensor/hvp", "tensor/mlp-gradient", "tensor/first-derivatives"} <= names
    code, out, _ = run(capsys, "verify", "tensor/mlp", "--json")
    assert code == 0 and {r["check"] for r in json.loads(out)} >= {"tensor/mlp-gradient", "tensor/mlp-hvp"}


# -- sweep limits, diverged counts ------------------------------------------------------------------------
@pytest.mark.parametrize("extra, needle", [
    (["--seeds", "1000000000"], "at most 1,000 seeds"),
    (["--num", "1000000000"], "at most 10,000 grid values"),
    (["--num", "10000", "--seeds", "100"], "at most 100,000 runs"),
    (["--num", "1000", "--seeds", "100", "--set", "steps=100000"], "above the limit 100,000,000"),
    (["--set", "steps=1000000000000"], "steps = 1,000,000,000,000 is above the limit 1,000,000"),
    (["--set", "n=100000000"], "n = 100,000,000 is above the limit 100,000"),
    (["--set", "d=100000"], "d = 100,000 is above the limit 1,000"),
    (["--set", "n=50000", "--set", "d=500"], "n*d"),
    (["--workers", "1000000"], "worker processes"),
    (["--set", "momentum=1" + "0" * 400], "finite"),
    (["--set", "steps=1" + "0" * 5000], "steps needs an integer"),
])
def test_sweep_refuses_huge_grids_before_allocating(extra, needle):
    import resource

    def limit_memory():  # 1.5 GB: the grids refused here would need 8 to 30 GB
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    start = time.perf_counter()
    proc = subprocess.run(LDYN + ["sweep", "least-squares", "lr", "1:2", *extra], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, preexec_fn=limit_memory)
    assert proc.returncode == 2 and proc.stdout == ""
    one_error_line(proc.stderr)
    assert needle in proc.stderr and "sweep: [" not in proc.stderr
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize("extra, needle", [
    (["--set", "teacher_seed=-1"], "teacher_seed must be a non-negative integer"),
    (["--set", "width=1000000000"], "width = 1,000,000,000 is above the limit 1,000"),
    (["--set", "d=100", "--set", "width=30"], "parameters"),
    (["--set", "init=inf"], "init must be a finite number"),
    (["--seeds", "-3"], "--seeds must be a positive count"),
])
def test_two_layer_sweep_bad_input_is_one_line(extra, needle, capsys):
    code, out, err = run(capsys, "sweep", "two-layer", "lr", "0.1:1", "--num", "3", *extra)
    assert code == 2 and out == ""
    one_error_line(err)
    assert needle in err


def test_python_api_has_the_same_sweep_limits():
    from numeric import sweep
    from verify import sweeps

    def learner(v, s):
        return {"x": v}

    with pytest.raises(ValueError, match="at most 1,000 seeds"):
        sweep.sweep(learner, [0.0, 1.0], seeds=10**9)
    with pytest.raises(ValueError, match="at most 10,000 control values"):
        sweep.sweep(learner, np.arange(20_000.0))
    with pytest.raises(ValueError, match="runs"):
        sweep.sweep(learner, np.arange(5_000.0), seeds=100)
    with pytest.raises(ValueError, match="teacher_seed"):
        sweeps.run("two-layer", "lr", [0.1, 0.2], 1, {"teacher_seed": -1})
    with pytest.raises(ValueError, match="width"):
        sweeps.run("two-layer", "lr", [0.1, 0.2], 1, {"width": 10**9})


def test_sweep_help_states_the_limits_the_code_applies():
    from numeric import sweep
    from verify import sweeps

    text = " ".join(subprocess.run(LDYN + ["sweep", "--help"], cwd=ROOT, capture_output=True, text=True,
                                   check=True).stdout.split()).replace(",", "")
    for n in (sweep.MAX_VALUES, sweep.MAX_SEEDS, sweep.MAX_RUNS, *sweeps.LIMITS.values()):
        assert re.search(rf"\b{n}\b", text), n
    assert f"at most {sweep.MAX_WORKERS_PER_CORE} per core" in text


def test_sweep_table_says_diverged_in_k_of_n_seeds(capsys):
    """GD on least squares diverges iff lr > 2/lambda_max(X^T X/n) (Polyak 1964); lr is put at least 25%
    away from every seed's threshold so that a diverging run overflows within the 400 steps."""
    from numeric.models import learners

    lam = []
    for s in range(3):
        X, _ = learners.least_squares_data(s)
        lam.append(np.linalg.eigvalsh(X.T @ X / len(X))[-1])
    crit = sorted(2 / np.array(lam))
    values = [0.5 * crit[0], 1.3 * crit[2]]
    if 1.25 * crit[0] < 0.8 * crit[1]:
        values.insert(1, 1.25 * crit[0])
    code, out, _ = run(capsys, "sweep", "least-squares", "lr", ",".join(f"{v:.6f}" for v in values), "--seeds", "3",
                       "--workers", "1")
    assert code == 0
    rows = out.splitlines()[2:2 + len(values)]
    for v, row in zip(values, rows):
        k = int(sum(v * l > 2 for l in lam))
        assert (f"diverged in {k} of 3 seeds" in row) == (k > 0), row
    assert k == 3 and rows[-1].split()[1:5] == ["-"] * 4
    assert not re.search(r"\b(inf|nan)\b", out)
    code, out, _ = run(capsys, "sweep", "least-squares", "lr", ",".join(f"{v:.6f}" for v in values), "--seeds", "3",
                       "--workers", "1", "--json")
    rep = json.loads(out)
    assert rep["non_finite_seeds"][-1] == 3 and rep["non_finite_seeds"][0] == 0


# -- one-line errors ------------------------------------------------------------------------------------------
def test_an_error_after_the_progress_bar_starts_is_on_its_own_line(capsys, monkeypatch):
    from verify import sweeps

    def broken(value, seed, **kw):
        if value > 1.5:
            raise RuntimeError("the learner broke\nover two lines")
        return {"final_loss": 1.0, "grad_norm": 1.0, "sharpness": 1.0, "weight_norm": 1.0, "diverged": 0.0,
                "sharpness0": 1.0, "min_loss": 0.0}

    monkeypatch.setattr(sweeps, "_function", lambda name: broken)
    monkeypatch.setattr("numeric.models.learners.check", lambda *a, **k: None)
    code, out, err = run(capsys, "sweep", "least-squares", "lr", "1:2", "--num", "4", "--seeds", "1",
                         "--workers", "1")
    assert code == 1 and out == ""
    assert "sweep: [" in err  # the bar had started ...
    last = err.split("\n")[-2]
    assert err.endswith("\n") and last.startswith("ldyn: internal error:")  # ... the error has its own line
    assert "the learner broke over two lines" in last and err.count("ldyn:") == 1


def test_notes_out_with_a_newline_is_one_line(capsys, tmp_path):
    (tmp_path / "f").write_text("x")
    code, _, err = run(capsys, "notes", "--out", f"{tmp_path}/f/x\nsecond line")
    assert code == 2
    one_error_line(err)


def test_a_crashed_group_is_reported_not_taken_for_an_unknown_check(monkeypatch):
    from verify import checks

    monkeypatch.setitem(checks.GROUPS, "boom", "gd:does_not_exist")
    (r,) = checks.run(["boom/anything"])
    assert r.status == "fail" and r.check == "boom" and "AttributeError" in r.detail
