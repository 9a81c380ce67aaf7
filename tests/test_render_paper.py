"""Paper-ready output (issue 17), tested from the outside: pdflatex's log, the text of the renderings, the
JSON, the notebook reprs."""
import json
import re
import shutil
import subprocess

import pytest
import sympy as sp

from derive import markup
from derive.derivation import Derivation
from derive.render import derivation_latex, preamble
from derive.typeset import label, latex, rows, width

x, y = sp.symbols("x y", real=True)
eta, lam_max = sp.symbols("eta lambda_max", positive=True)


def _overfull(tex: str, tmp_path) -> list[float]:
    """The widths of pdflatex's Overfull \\hbox warnings for ``tex`` (compile errors fail the test)."""
    pdflatex = shutil.which("pdflatex")
    assert pdflatex, "pdflatex not found: install Debian's texlive-latex-base (.ci/run does)"
    (tmp_path / "doc.tex").write_text(tex)
    out = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=180)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert out.returncode == 0, log[-2000:]
    return [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


def _long_sum() -> Derivation:
    terms = sum(sp.Symbol(f"a_{i}", real=True) * x**i for i in range(60))
    d = Derivation("long", "A long sum", summary="The polynomial $p(x)$ has sixty terms.")
    d.equal(sp.Function("p")(x) * 0 + terms * (1 + y), sp.expand(terms * (1 + y)), "multiply out the factor $1 + y$")
    d.equal((x + y) ** 12, sp.expand((x + y) ** 12), "the binomial theorem", display=r"(x + y)^{12}")
    return d


def _wide_matrix() -> Derivation:
    m = sp.Matrix(3, 6, lambda i, j: sum(sp.Symbol(f"c_{i}{j}{k}") * x**k for k in range(6)))
    d = Derivation("wide", "A wide matrix")
    d.equal(m, m.applyfunc(sp.expand), "expand every entry")
    d.equal(sp.Matrix(2, 2, lambda i, j: (x + y) ** (i + j + 6)), sp.Matrix(2, 2, lambda i, j: sp.expand(
        (x + y) ** (i + j + 6))), "the binomial theorem, entry by entry")
    return d


@pytest.mark.parametrize("build", [_long_sum, _wide_matrix], ids=["long-sum", "wide-matrix"])
def test_standalone_document_has_no_overfull_box(build, tmp_path):
    d = build()
    tex = d.to_latex(standalone=True)
    assert not [w for w in _overfull(tex, tmp_path) if w > 1.0]
    assert r"\tag" not in tex and r"\begin{align*}" not in tex


def test_long_sum_is_broken_into_aligned_rows():
    tex = _long_sum().to_latex()
    assert r"&\quad +" in tex and r"\begin{aligned}" in tex
    assert r"(x + y)^{12} &:=" in tex  # name := lhs and = rhs on rows of their own when too wide


def test_rows_fit_their_width_estimate():
    big = latex(sp.expand((x + y + 1) ** 9))
    out = rows("q", [("=", big)], 300.0)
    assert len(out) > 3 and all(width(r) <= 330 for r in out)
    assert rows("a", [(r"\le", "b")], 300.0) == [r"a &\le b"]


def test_fragment_compiles_pasted_into_a_plain_document(tmp_path):
    body = derivation_latex(_wide_matrix())
    doc = "\\documentclass{article}\n\\usepackage{amsmath,amssymb,graphicx}\n\\begin{document}\n" + body
    doc += "\n" + body + "\\end{document}\n"  # twice: the macros are provided once
    assert not [w for w in _overfull(doc, tmp_path) if w > 1.0]
    assert r"\providecommand{\ldynfit}" in body and "usepackage" not in body
    assert "geometry" in preamble() and "mathtools" not in preamble() and "breqn" not in preamble()


def test_summary_reasons_and_references_are_set_as_math_not_escaped():
    d = Derivation("t", "Critical step", summary=r"Stable when $\eta < 2/\lambda_{\max}$; see `weight_decay`.")
    d.equal(2 / lam_max, 2 / lam_max, r"by the Jury conditions $P(1) > 0$ and $|a_0| < 1$")
    d.references.append("the `torch.optim.SGD` docs")
    tex = d.to_latex(standalone=True)
    assert r"Stable when $\eta < 2/\lambda_{\max}$" in tex and r"\texttt{weight\_" in tex
    assert r"$P(1) > 0$ and $|a_0| < 1$" in tex and r"\textbackslash" not in tex and r"\$" not in tex
    md = d.to_markdown()
    assert r"Stable when $\eta < 2/\lambda_{\max}$" in md and "`weight_decay`" in md


def test_a_reason_that_is_not_markup_is_escaped_not_fatal():
    d = Derivation("t", "t").equal(x, x, "x_n < 0 and {braces} 100%")
    with pytest.raises(markup.MarkupError):
        markup.segments("x_n < 0")
    assert r"x\_n \textless{} 0 and \{braces\} 100\%" in d.to_latex()
    assert r"x\_n" in d.to_markdown() and d.to_json()["steps"][0]["reason_plain"] == "x_n < 0 and {braces} 100%"


def test_names_print_with_upright_subscripts():
    assert latex(lam_max) == r"\lambda_{\max}"
    assert latex(sp.Symbol("eta_crit")) == r"\eta_{\mathrm{crit}}"
    assert latex(sp.Symbol("weight_decay")) == r"\mathrm{weight}_{\mathrm{decay}}"
    assert latex(sp.Symbol("theta_t")) == r"\theta_{t}" and latex(sp.Symbol("beta_2")) == r"\beta_{2}"
    assert latex(sp.Symbol("f_{11}")) == "f_{11}"


def test_result_labels():
    assert label("eta_critical") == r"\eta_{\mathrm{crit}}" and label("x_max") == r"x_{\max}"
    assert label("lambda_2") == r"\lambda_{2}" and label("G_F") == "G_{F}"
    assert label("energy_gradient") == r"\mathrm{energy\ gradient}"
    d = Derivation("t", "t").equal(eta, 2 / lam_max, "the threshold")
    d.result("eta_critical", 2 / lam_max).result("rate", eta, label=r"\rho")
    tex, md, js = d.to_latex(), d.to_markdown(), d.to_json()
    assert r"\eta_{\mathrm{crit}} &= \frac{2}{\lambda_{\max}}" in tex and r"\rho &= \eta" in tex
    assert r"- $\eta_{\mathrm{crit}} = \frac{2}{\lambda_{\max}}$" in md and "eta_critical" not in tex
    assert js["results"]["eta_critical"]["label"] == r"\eta_{\mathrm{crit}}"


def test_json_keeps_matrix_columns_and_the_prose_source():
    d = Derivation("t", "t", summary="A matrix $M$.").equal(sp.Matrix([[x, 1], [0, x]]) ** 2,
                                                           sp.Matrix([[x**2, 2 * x], [0, x**2]]), "square $M$")
    js = json.loads(json.dumps(d.to_json()))
    assert r"x^{2} & 2 x" in js["steps"][0]["latex"]
    assert js["steps"][0]["reason"] == "square $M$" and js["steps"][0]["reason_plain"] == "square M"
    assert js["summary"] == "A matrix $M$." and js["summary_plain"] == "A matrix M."


def test_markdown_renders_under_mathjax_and_katex():
    d = _wide_matrix()
    d.given(sp.Symbol("L"), x**2, "a definition with $x$").result("lambda_max", x)
    md = d.to_markdown()
    assert "```math" not in md and "$`" not in md
    assert not re.search(r"\\text\{[^}]*[_^]", md)
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if line == "$$":
            assert lines[i - 1] == "" or lines[i + 1] == ""  # a $$ block has blank lines around it
        if line.startswith("**") and i > 0:
            assert lines[i - 1] == ""  # a blank line before every bold label
    assert md.count("$$") % 2 == 0 and "**(1)** expand every entry" in md


def test_notebook_reprs_are_short_and_show_the_statuses():
    d = Derivation("t", "A title", summary="About $x$.").given(sp.Symbol("L"), x**2, "definition")
    d.equal((x + 1) ** 2, x**2 + 2 * x + 1, "expand").equal(x, x + 1, "oops")
    c = d.check()
    assert len(repr(c)) < 120 and "1 proved" in repr(c) and "1 failed" in repr(c)
    table = c._repr_markdown_()
    assert "| step | kind | status | method |" in table and "| 3 | equal | failed |" in table
    assert len(repr(d)) < 120
    md = d._repr_markdown_()
    assert "A title" in md and "About $x$." in md and "*(given)*" in md and "*(FAILED)*" in md
    tl = d._repr_latex_()
    assert tl.startswith("$$") and tl.endswith("$$") and "A title" in tl and "[FAILED]" in tl
    assert "x \\in \\mathbb{R}" in tl


def test_check_table_is_a_list_with_a_readable_table():
    from verify.checks import CheckResult, CheckTable, table

    rows_ = CheckTable([CheckResult("a", "b", 1e-9, 1e-6), CheckResult("c|d", "e", 1.0, 1e-6)])
    assert isinstance(rows_, list) and repr(rows_) == table(rows_)
    md = rows_._repr_markdown_()
    assert "| check | compared | error | tolerance | status |" in md and r"c\|d" in md and "**FAIL**" in md
    assert md.rstrip().endswith("1 passed, 1 failed")
