"""notes/ is generated and current (its LaTeX is compiled by tests/test_paper_output.py)."""
import pathlib

from verify import notes

ROOT = pathlib.Path(__file__).resolve().parents[1]


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


# Every notes/*.tex is compiled once, on 2 workers, by tests/test_paper_output.py (test_every_document_compiles,
# test_no_overfull_hbox), which also reads pdflatex's log.
