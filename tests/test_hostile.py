"""Issue #21: hostile input is normal input.  Every case of the hostile corpus (tests/hostile/) must end
as the issue's rules say: bad input -> exit 2 and one `ldyn: error:` line; otherwise a report; never a
traceback, a hang, a NaN in the output or a file written outside the folder given.

By default a fixed sample of the corpus runs (about 45 cases over every command and class of input,
two at a time); ``pytest --full`` runs all of it.  The classifier itself is tested on hand-written
outputs below, and the corpus against the CLI's own parser (every command and option covered).
"""
from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.hostile import corpus, generated, runner
from tests.hostile.case import Builder, Case


def pytest_generate_tests(metafunc):
    if "case_id" in metafunc.fixturenames:
        chosen = corpus.cases() if metafunc.config.getoption("--full") else corpus.sample()
        metafunc.parametrize("case_id", [c.id for c in chosen])


@pytest.fixture(scope="module")
def results(request):
    """Every selected case of this module, run two at a time (once)."""
    ids = [item.callspec.params["case_id"] for item in request.session.items
           if getattr(item, "callspec", None) and "case_id" in item.callspec.params]
    cases = [corpus.by_id(i) for i in dict.fromkeys(ids)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip([c.id for c in cases], pool.map(runner.run_case, cases)))


def test_hostile_case(case_id, results):
    r = results.get(case_id) or runner.run_case(corpus.by_id(case_id))
    argv = " ".join(runner.show_arg(a) for a in r["argv"])
    assert r["class"] == "OK", f"{r['class']}: {r['detail']}\n$ ldyn {argv}\nstderr: {r['stderr'][-400:]}"


# -- the corpus ----------------------------------------------------------------------------
def _subcommands() -> dict[str, argparse.ArgumentParser]:
    from verify.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_corpus_is_large_and_distinct():
    cases = corpus.cases()
    assert len({(c.argv, c.files) for c in cases}) == len(cases) >= 300
    assert len({c.id for c in cases}) == len(cases)


def test_corpus_covers_every_command_and_option():
    cases = corpus.cases()
    for name, parser in _subcommands().items():
        mine = [c for c in cases if c.command == name]
        assert len(mine) >= 10, name
        used = {a.split("=")[0] for c in mine for a in c.argv if a.startswith("--")}
        options = {o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
        assert options <= used, f"{name}: no hostile case for {sorted(options - used)}"


def test_corpus_covers_the_issue_classes():
    kinds = {c.kind for c in corpus.cases()}
    for k in ("unknown-name", "option-not-taken", "huge-expression", "complex-loss", "sympy-constant", "injection",
              "user-code", "user-spec", "hyperparameter", "output-path", "grid-size", "huge-x", "generated"):
        assert k in kinds, k
    args = {a for c in corpus.cases() for a in c.argv}
    for hostile in ("1e400", "-0", "nan", "inf", "1" + "0" * 400, "((a+b)**100)**100", "exp(exp(exp(100)))*theta",
                    "acos(2)*theta", "sqrt(-theta**2-1)", "tensor/zzz", "doesnotexist", "", "afile/sub",
                    "/dev/null", "1000000000", "width=1000000000", "momentum=2", "dampening=-1", "betas=1,0.9"):
        assert hostile in args, hostile


def test_sample_spans_every_command_and_expectation():
    sample = corpus.sample()
    assert 30 <= len(sample) <= 60
    assert {c.command for c in sample} == set(_subcommands())
    assert {c.expect for c in sample} == {"bad", "ok", "fails", "either"}


def test_generated_cases_are_the_same_every_time():
    first, second = Builder(), Builder()
    generated.add(first)
    generated.add(second)
    assert [c.argv for c in first.cases] == [c.argv for c in second.cases]
    assert len(first.cases) >= 100


# -- the classifier, on hand-written outputs ---------------------------------------------------
BAD = Case("t/bad/1", "stability", "t", ("stability", "gd", "--eta", "nan"), "bad")
OK = Case("t/ok/1", "sweep", "t", ("sweep", "least-squares", "lr", "1,2"), "ok")
JSON_OK = Case("t/ok/2", "stability", "t", ("stability", "gd", "--json"), "ok")
FAILS = Case("t/fails/1", "verify-impl", "t", ("verify-impl", "x.py:f", "--rule", "sgd"), "fails")
USAGE = "usage: ldyn stability [-h] [--eta ETA]\n                      SPEC\n"


@pytest.mark.parametrize("case, rc, out, err, expected", [
    (BAD, 2, "", "ldyn: error: --eta: nan is not a finite number\n", "OK"),
    (BAD, 2, "", USAGE + "ldyn stability: error: argument --eta: expected one argument\n", "OK"),
    (BAD, 2, "", "ldyn: error: one\nldyn: error: two\n", "traceback"),
    (BAD, 1, "", "Traceback (most recent call last):\n  File \"x\", line 1\nValueError: x\n", "traceback"),
    (BAD, 0, "radius 0.9\n", "", "wrong exit"),
    (BAD, 1, "", "ldyn: internal error: ValueError: x (please report it with the command)\n", "wrong exit"),
    (BAD, 1, "", "ldyn: internal error: a NaN reached the JSON output\n", "NaN"),
    (BAD, 2, "", "\rsweep: [###...] 3/6ldyn: error: bad\n", "traceback"),
    (BAD, 1, "", "x.py:3: RuntimeWarning: overflow\n  r = b*b\nldyn: internal error: a NaN reached the JSON output\n",
     "NaN"),
    (OK, 0, "lr  final_loss\n1  0.5\n", "\rsweep: [....] 0/2\rsweep: [####] 2/2\n", "OK"),
    (OK, 0, "lr  final_loss\n2  inf\n", "", "NaN"),
    (OK, 0, "lr  final_loss\n2  nan\n", "", "NaN"),
    (OK, 0, "", "", "wrong exit"),
    (OK, 0, "diverged in 2 of 5 seeds (infinite loss)\n", "", "OK"),
    (JSON_OK, 0, '{"rate": NaN}', "", "NaN"),
    (JSON_OK, 0, '{"rate": 0.5', "", "wrong exit"),
    (JSON_OK, 0, '{"rate": 0.5}', "", "OK"),
    (FAILS, 0, "agree: yes\n", "", "wrong exit"),
    (FAILS, 0, "", "", "wrong exit"),
    (FAILS, 1, "agree: no\n", "", "OK"),
    (FAILS, 2, "", "ldyn: error: your factory called os._exit(0)\n", "OK"),
    (FAILS, 2, "", "ldyn: error: unrecognized arguments: --time-limit 3\n", "wrong exit"),
])
def test_classify(case, rc, out, err, expected):
    assert runner.classify(case, rc, out, err, hung=False, files=[])[0] == expected


def test_classify_hang_and_files():
    assert runner.classify(OK, None, "", "", hung=True, files=[])[0] == "hang"
    assert runner.classify(BAD, 2, "", "ldyn: error: x\n", hung=False, files=["wrote work/x.png outside"])[0] == "files"


def test_run_case_sees_files_written_outside_the_output_folder(tmp_path):
    # a real command that writes into the current folder when given --out '' (or refuses: then no file)
    case = Case("t/files/1", "experiment", "t", ("experiment", "xor", "--out", "o"), "ok", outputs=())
    r = runner.run_case(case)
    assert r["class"] == "files" and "work/o" in r["detail"], r
    case = Case("t/files/2", "experiment", "t", ("experiment", "xor", "--out", "o"), "ok", outputs=("o",))
    assert runner.run_case(case)["class"] == "OK"
