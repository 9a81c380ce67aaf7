"""notes/ is generated, current, and its LaTeX compiles."""
import pathlib
import shutil
import subprocess

import pytest

from verify import notes

ROOT = pathlib.Path(__file__).resolve().parents[1]
TEX = sorted((ROOT / "notes").glob("*.tex"))


def test_committed_notes_are_current():
    assert notes.stale(ROOT / "notes") == [], "run `ldyn notes` and commit notes/"


def test_stale_detects_edits_and_strays(tmp_path):
    notes.write(tmp_path)
    assert notes.stale(tmp_path) == []
    md = next(tmp_path.glob("*.md"))
    md.write_text(md.read_text() + "hand edit\n")
    (tmp_path / "stray.txt").write_text("x")
    bad = notes.stale(tmp_path)
    assert md.name in bad and any(b.startswith("stray.txt") for b in bad)


def test_every_derivation_has_tex_and_md():
    from derive import catalogue

    for name in catalogue.names():
        assert (ROOT / "notes" / f"{name}.tex").exists() and (ROOT / "notes" / f"{name}.md").exists()


@pytest.mark.parametrize("tex", TEX, ids=[t.name for t in TEX])
def test_latex_compiles(tex, tmp_path):
    pdflatex = shutil.which("pdflatex")
    assert pdflatex, "pdflatex not found: install Debian's texlive-latex-base (.ci/run does)"
    out = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp_path}",
                          str(tex)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:]
    assert (tmp_path / (tex.stem + ".pdf")).stat().st_size > 1000
