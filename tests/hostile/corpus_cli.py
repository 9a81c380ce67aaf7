"""Hand-written hostile cases for verify, derive, stability, audit, experiment, notes (and no command)."""
from __future__ import annotations

from .case import LENIENT, NONFINITE, NOT_NUMBERS, Builder

GOOD_RULE = """name: myqhm
hyper: lr=0.1, momentum=0.9, nu=0.7
state: buf=0
buf = momentum*buf + (1 - momentum)*g(theta)
theta = theta - lr*((1 - nu)*g(theta) + nu*buf)
"""
BAD_RULES = {  # file -> (content, expectation)
    "garbage.rule": ("this is not a rule at all\n", "bad"),
    "empty.rule": ("", "bad"),
    "binary.rule": (bytes(range(256)) * 4, "bad"),
    "complex.rule": ("name: c\nhyper: lr=0.1\ntheta = theta - lr*sqrt(-1)*g(theta)\n", "bad"),
    "acos.rule": ("name: c\nhyper: lr=0.1\ntheta = theta - lr*acos(2)*g(theta)\n", "bad"),
    "nanhyper.rule": ("name: c\nhyper: lr=nan\ntheta = theta - lr*g(theta)\n", "bad"),
    "hugehyper.rule": ("name: c\nhyper: lr=1e400\ntheta = theta - lr*g(theta)\n", "bad"),
    "hugeexp.rule": ("name: c\nhyper: lr=0.1\ntheta = theta - lr*g(theta)**100000\n", "either"),
    "nestedexp.rule": ("name: c\nhyper: lr=0.1\ntheta = theta - lr*((g(theta)+1)**100)**100\n", "either"),
    "deep.rule": ("name: c\nhyper: lr=0.1\ntheta = theta - lr*" + "(" * 300 + "g(theta)" + ")" * 300 + "\n",
                  "either"),
    "clash.rule": ("name: c\nhyper: lr=0.1, I=0.5\ntheta = theta - lr*I*g(theta)\n", "either"),
    "inject.rule": ("name: c\nhyper: lr=0.1\ntheta = theta - lr*__import__('os').system('touch pwned')\n", "bad"),
    "unicode.rule": ("name: \u03b8\u03b8\nhyper: lr=0.1, \u03b2=0.5\ntheta = theta - lr*\u03b2*g(theta)\n",
                     "either"),
    "control.rule": ("name: c\x1b[31m\nhyper: lr=0.1\ntheta = theta - lr*g(theta)\x00\n", "bad"),
    "undefined.rule": ("name: c\nhyper: lr=0.1\ntheta = theta - lr*zzz*g(theta)\n", "bad"),
    "nothetaupdate.rule": ("name: c\nhyper: lr=0.1\nbuf = g(theta)\n", "bad"),
    "big.rule": ("# padding\n" * 200000 + GOOD_RULE, "either"),
}


def add(b: Builder) -> None:
    _verify(b)
    _derive(b)
    _stability(b)
    _audit(b)
    _experiment(b)
    _notes(b)
    _certify(b)
    _global(b)
    _stability_sgd(b)
    _sweep_scheduler(b)


def _verify(b: Builder) -> None:
    bad_names = ["tensor/zzz", "doesnotexist", "gd-critical-step/doesnotexist", "", " ", "tensor/", "/",
                 "tensor//first-derivatives", "*", "../tensor", "TENSOR", "tensor\x1b[2J", "t\u00e9nsor",
                 "\u202etensor", "tensor/" + "z" * 5000, "tensor\t", "-", "tensor,hessian", "tensor/first-derivatives/x"]
    for i, n in enumerate(bad_names):  # "tensor/" may be read as the group tensor
        b.add("verify", "unknown-name", [n], "either" if n == "tensor/" else "bad", sample=i in (0, 2))
    b.add("verify", "unknown-name", ["--json", "tensor/zzz"], "bad")
    b.add("verify", "unknown-name", ["tensor", "zzz"], "bad")
    b.add("verify", "valid", ["tensor"], "ok", sample=True)
    b.add("verify", "valid", ["--json", "tensor"], "ok")
    b.add("verify", "valid", ["tensor", "tensor"], "either")
    b.add("verify", "valid", ["tensor/hvp"], "ok")
    b.add("verify", "wrong-type", ["--json=yes", "tensor"], "bad")
    b.add("verify", "wrong-type", ["--bogus", "tensor"], "bad")


def _derive(b: Builder) -> None:
    for n in ["zzz", "", "rule-zzz", "../../etc/passwd", "/dev/null", "/etc/passwd", "missing.rule", "gd/../gd",
              "g\u0434", "gd\x1b[31m", "\uff47\uff44", "rule-", "x" * 5000, "gd gd"]:
        b.add("derive", "unknown-name", [n], "bad", sample=n == "zzz")
    b.add("derive", "wrong-type", ["gd", "--format", "pdf"], "bad")
    b.add("derive", "wrong-type", ["gd", "--format", ""], "bad")
    b.add("derive", "wrong-type", ["gd", "--format"], "bad")
    b.add("derive", "wrong-type", ["gd", "heavy-ball"], "bad")
    for limit in ("0", "-1", "nan", "inf", "abc", "1e400", ""):
        b.add("derive", "time-limit", ["gd", "--time-limit", limit], "bad")
    b.add("derive", "time-limit", ["gd", "--time-limit", "30"], "ok")
    b.add("derive", "option-not-taken", ["gd", "--format", "json", "--standalone"], "either")
    b.add("derive", "option-not-taken", ["--list", "zzz"], "either")
    b.add("derive", "valid", ["gd", "--format", "json"], "ok", sample=True)
    b.add("derive", "valid", ["rule-qhm", "--format", "markdown"], "ok")
    b.add("derive", "valid", ["gd", "--standalone"], "ok")
    b.add("derive", "valid", ["my.rule", "--format", "json"], "ok", files=(("my.rule", GOOD_RULE),))
    b.add("derive", "rule-file", ["dir.rule"], "bad", files=(("dir.rule", None),))
    for name, (text, expect) in BAD_RULES.items():
        b.add("derive", "rule-file", [name], expect, files=((name, text),), sample=name == "nestedexp.rule")


def _num(text: str, positive: bool = True, zero_ok: bool = False) -> str:
    """The expectation for a scalar option given ``text`` (a number that must be finite)."""
    if text in NONFINITE or text in NOT_NUMBERS:
        return "bad"
    if text in LENIENT:
        return "either"
    v = float(text)
    if positive and (v < 0 or (v == 0 and not zero_ok)):
        return "bad"
    return "ok"


def _stability(b: Builder) -> None:
    ev = ["--eigenvalues", "1,10"]
    for t in NONFINITE + NOT_NUMBERS + LENIENT + ("-0", "0", "-1", "1e-400", "0.1"):
        b.add("stability", "eta", ["gd", "--eta", t] + ev, _num(t), sample=t == "1e400")
    for t in ("nan,1", "1,inf", "1e400", "1,,10", ",", "", "1;10", "1 10", "abc", "1," * 3 + "nan"):
        b.add("stability", "eigenvalues", ["gd", "--eta", "0.1", "--eigenvalues", t], "bad")
    for t in ("-1", "0", "1e-400", "1e308,1e308", "\uff11,\uff12", "1e-300"):
        b.add("stability", "eigenvalues", ["gd", "--eta", "0.1", "--eigenvalues", t], "either")
    b.add("stability", "eigenvalues", ["gd", "--eta", "0.1", "--eigenvalues", ",".join(["1"] * 20000)], "either")
    # x = eta*lambda >= 1e150: the answer (unstable, radius huge) or a refusal, never NaN
    for m in ("heavy-ball", "nesterov"):
        for eta in ("1e150", "1e200", "1e300", "1.7e308"):
            b.add("stability", "huge-x", [m, "--eta", eta, "--beta", "0.5", "--eigenvalues", "1", "--json"],
                  "either", sample=(m, eta) == ("nesterov", "1e200"))
        b.add("stability", "huge-x", [m, "--eta", "1e-300", "--beta", "0.5", "--eigenvalues", "1e-10"], "either")
        b.add("stability", "huge-x", [m, "--mu", "1e-300", "--L", "1e300", "--json"], "either")
        for beta in ("1", "2", "-0.5", "nan", "1e400", "-1"):
            b.add("stability", "range", [m, "--eta", "0.1", "--beta", beta] + ev, "bad",
                  sample=(m, beta) == ("heavy-ball", "1"))
        b.add("stability", "valid", [m, "--eta", "0.1", "--beta", "0.999999"] + ev, "ok")
    b.add("stability", "option-not-taken", ["gd", "--beta", "0.5"] + ev, "bad", sample=True)
    b.add("stability", "option-not-taken", ["gd", "--beta", "0.5", "--mu", "1", "--L", "10"], "bad")
    b.add("stability", "option-not-taken", ["gd", "--eta", "0.1", "--out", "x.png"] + ev, "bad")
    b.add("stability", "option-not-taken", ["gd", "--tune", "momentum", "--mu", "1", "--L", "10"], "bad")
    b.add("stability", "option-not-taken", ["heavy-ball", "--tune", "momentum"] + ev, "bad")
    b.add("stability", "valid", ["gd", "--mu", "1", "--L", "10", "--json"], "either")
    for mu, L in (("10", "1"), ("-1", "10"), ("1", "nan"), ("1", "1e400"), ("abc", "1")):
        b.add("stability", "range", ["heavy-ball", "--mu", mu, "--L", L], "bad")
    b.add("stability", "range", ["heavy-ball", "--mu", "1"], "bad")
    b.add("stability", "range", ["heavy-ball", "--mu", "0", "--L", "1"], "either")
    for s in ("lr", "=1", "lr=", "lr=nan", "lr=1e400", "zzz=1", "\u03b2=0.5", "lr=0.1=2", "lr=-1"):
        b.add("stability", "set", ["adam", "--set", s, "--eigenvalues", "1,10"], "bad")
    b.add("stability", "set", ["heavy-ball", "--set", "momentum=2", "--eigenvalues", "1"], "bad")
    b.add("stability", "set", ["qhm", "--set", "nu=1e400", "--eigenvalues", "1"], "bad")
    b.add("stability", "valid", ["adam", "--set", "lr=0.1", "--eigenvalues", "1,10"], "ok")
    for t in ("zzz", "momentum=1:0", "momentum=0:2", "momentum=nan:1", "momentum=", "=0:1", "lr=0:1e400"):
        b.add("stability", "tune", ["heavy-ball", "--mu", "1", "--L", "10", "--tune", t], "bad")
    b.add("stability", "valid", ["qhm", "--mu", "1", "--L", "10", "--tune", "lr"], "ok")
    for t in ("zzz=0:1", "momentum=", "momentum=0:1e400", "momentum=nan:1", "momentum", "momentum=a:b"):
        b.add("stability", "map", ["qhm", "--map", t], "bad", sample=t == "momentum=0:1e400")
    b.add("stability", "map", ["qhm", "--map", "momentum=1:1"], "either")
    b.add("stability", "map", ["qhm", "--map", "momentum=-5:5"], "either")
    b.add("stability", "valid", ["qhm", "--map", "momentum=0:1", "--out", "m.png"], "ok", outputs=("m.png",))
    for out, files in (("", ()), ("afile/sub.png", (("afile", "x"),)), ("adir", (("adir", None),)),
                       ("n" * 300 + ".png", ())):
        b.add("stability", "output-path", ["qhm", "--map", "momentum=0:1", "--out", out], "bad", files=files,
              sample=out == "")
    b.add("stability", "output-path", ["qhm", "--map", "momentum=0:1", "--out", "/dev/null"], "either")
    for spec in ("zzz", "", "../../etc/passwd", "/dev/null", "missing.rule", "gd\x1b[31m", "\uff47\uff44", "-"):
        b.add("stability", "unknown-name", [spec, "--eigenvalues", "1"], "bad")
    b.add("stability", "unknown-name", ["lion", "--eigenvalues", "1"], "bad")  # sign(): cannot be linearised
    b.add("stability", "rule-file", ["dir.rule", "--eigenvalues", "1"], "bad", files=(("dir.rule", None),))
    for name in ("garbage.rule", "binary.rule", "complex.rule", "nanhyper.rule", "inject.rule", "hugeexp.rule",
                 "nestedexp.rule", "clash.rule", "deep.rule"):
        text, expect = BAD_RULES[name]
        b.add("stability", "rule-file", [name, "--eigenvalues", "1"], expect, files=((name, text),),
              sample=name == "complex.rule")
    b.add("stability", "valid", ["my.rule", "--eigenvalues", "1,10"], "ok", files=(("my.rule", GOOD_RULE),))


def _audit(b: Builder) -> None:
    for n in ("zzz", "", "HERMOSIS\x1b[2J", "herm\u00f6sis", "hermosis/../x", "\u202ehermosis", "x" * 5000):
        b.add("audit", "unknown-name", [n], "bad", sample=n == "")
    b.add("audit", "unknown-name", ["hermosis", "extra"], "bad")
    b.add("audit", "wrong-type", ["--json"], "bad")
    b.add("audit", "valid", ["hermosis", "--json"], "ok", sample=True)
    b.add("audit", "valid", ["hermosis"], "ok")


def _experiment(b: Builder) -> None:
    for n in ("zzz", "", "xor\x1b[31m", "x\u00f6r", "../xor", "XOR ", "x" * 5000):
        b.add("experiment", "unknown-name", [n, "--out", "o"], "bad")
    b.add("experiment", "unknown-name", ["--out", "o"], "bad")
    b.add("experiment", "unknown-name", ["--full"], "bad")
    for s in ("-1", "abc", "1e400", "1.5", "1" + "0" * 400, ""):  # a huge integer seed: NumPy takes it
        b.add("experiment", "seed", ["xor", "--seed", s, "--out", "o"], "either" if s.isdigit() else "bad",
              outputs=("o",) if s.isdigit() else (), sample=s == "-1")
    b.add("experiment", "seed", ["xor", "--seed", str(10**30), "--out", "o"], "either", outputs=("o",))
    sentinel = (("README.md", "the user's own README\n"),)
    b.add("experiment", "output-path", ["xor", "--out", ""], "bad", files=sentinel, sample=True)
    b.add("experiment", "output-path", ["xor", "--out", "afile"], "bad", files=(("afile", "x"),))
    b.add("experiment", "output-path", ["xor", "--out", "afile/sub"], "bad", files=(("afile", "x"),), sample=True)
    b.add("experiment", "output-path", ["xor", "--out", "/dev/null"], "bad")
    b.add("experiment", "output-path", ["xor", "--out", "n" * 300], "bad")
    b.add("experiment", "output-path", ["xor", "--out", "a b/\u00fc\u00df"], "ok", outputs=("a b",))
    b.add("experiment", "output-path", ["xor", "--out", "../sibling"], "ok", outputs=("../sibling",))
    for name in ("xor", "rate-network", "two-timescale", "population-credit", "vanishing-exploding"):
        b.add("experiment", "valid", [name, "--out", "o", "--json"], "ok", outputs=("o",),
              sample=name == "population-credit")
    b.add("experiment", "valid", ["--list", "--json"], "ok")
    b.add("experiment", "option-not-taken", ["--list", "zzz"], "either")


def _notes(b: Builder) -> None:
    sentinel = ("README.md", "the user's own README\n")
    slow = 150.0  # a full `ldyn notes` takes ~100 s: refusing a bad --out must come before that
    b.add("notes", "output-path", ["--out", ""], "bad", files=(sentinel,), timeout=slow, sample=True)
    b.add("notes", "output-path", ["--out", "afile"], "bad", files=(("afile", "x"),), timeout=slow, sample=True)
    b.add("notes", "output-path", ["--out", "/dev/null"], "bad", timeout=slow)
    b.add("notes", "output-path", ["--out", "afile/sub"], "bad", files=(("afile", "x"),), timeout=slow)
    b.add("notes", "output-path", ["--out", "n" * 300], "bad", timeout=slow)
    b.add("notes", "output-path", ["--check", "--out", ""], "bad", files=(sentinel,), timeout=slow)
    b.add("notes", "output-path", ["--check", "--out", "afile"], "bad", files=(("afile", "x"),), timeout=slow)
    b.add("notes", "wrong-type", ["--out"], "bad")
    b.add("notes", "wrong-type", ["--check=1"], "bad")
    b.add("notes", "wrong-type", ["extra"], "bad")
    b.add("notes", "valid", ["--check", "--out", "fresh"], "either", timeout=slow)  # stale, or "no such folder"
    b.add("notes", "valid", ["--out", "fresh"], "ok", outputs=("fresh",), timeout=240.0)
    # --book: every bad path is refused before the ~2 minutes of building
    for path, files in (("", ()), ("book.txt", ()), ("nodir/book.pdf", ()), ("adir", (("adir/x", "x"),)),
                        ("afile/book.pdf", (("afile", "x"),)), ("b" * 300 + ".pdf", ()), ("/dev/null", ())):
        b.add("notes", "output-path", ["--book", path], "bad", files=files, timeout=slow, sample=path == "book.txt")
    b.add("notes", "wrong-type", ["--book"], "bad")
    b.add("notes", "wrong-type", ["--book", "b.pdf", "--check"], "bad")
    b.add("notes", "valid", ["--book", "book.pdf"], "ok", outputs=("book.pdf",), timeout=400.0)


def _global(b: Builder) -> None:
    for argv in (["bogus"], [""], ["--json"], ["verify\x1b[31m"], ["\u202everify"], ["-x"]):
        b.add("ldyn", "unknown-name", argv, "bad")


def _certify(b) -> None:
    ok = ["gd", "--mu", "1", "--L", "10", "--set", "lr=1/L"]
    b.add("certify", "valid", ok, "ok", sample=True)
    b.add("certify", "valid", [*ok, "--json"], "ok")
    b.add("certify", "valid", [*ok, "--iqc", "sector", "--time-limit", "30"], "ok")
    b.add("certify", "valid", ["heavy-ball", "--mu", "1", "--L", "25", "--set", "lr=1/9", "--set", "momentum=4/9"],
          "ok")
    b.add("certify", "valid", ["my.rule", "--mu", "1", "--L", "10"], "ok", files=(("my.rule", GOOD_RULE),))
    for mu, L in (("2", "1"), ("0", "1"), ("-0", "1"), ("-1", "1"), ("nan", "1"), ("1", "inf"), ("1e400", "1e401"),
                  ("1", "1"), ("abc", "2")):
        b.add("certify", "hyperparameter", ["gd", "--mu", mu, "--L", L, "--set", "lr=0.1"], "bad",
              sample=mu == "nan")
    b.add("certify", "option-not-taken", ["gd", "--L", "2", "--set", "lr=0.1"], "bad")
    for name in ("doesnotexist", "", "adam", "lion", "muon", "rmsprop"):
        b.add("certify", "unknown-name", [name, "--mu", "1", "--L", "2"], "bad", sample=name == "adam")
    for item in ("foo=1", "lr", "lr=", "lr=1/x", "lr=((a+b)**100)**100", "lr=__import__('os')", "lr=sqrt(-L)",
                 "lr=exp(exp(exp(100)))", "lr=1/(L-L)"):
        b.add("certify", "injection" if "import" in item else "hyperparameter",
              ["gd", "--mu", "1", "--L", "2", "--set", item], "bad")
    for iqc in ("circle", "", "SECTOR"):
        b.add("certify", "wrong-type", [*ok, "--iqc", iqc], "bad")
    for limit in ("0", "-1", "nan", "inf", "abc"):
        b.add("certify", "time-limit", [*ok, "--time-limit", limit], "bad")
    b.add("certify", "rule-file", ["dir.rule", "--mu", "1", "--L", "2"], "bad", files=(("dir.rule", None),))


def _stability_sgd(b: Builder) -> None:
    """``ldyn stability sgd``'s two reports (issue #19): mean-square stability and the stationary noise."""
    pc, ok_data = "--per-sample-curvatures", "1,2,3,6"
    # the mean-square report
    for t in ("nan,1", "1e400", "1,,2", "", "-1,-2", "0,0,0", "-3,1"):
        b.add("stability", "sgd-curvatures", ["sgd", pc, t, "--batch", "1"], "bad", sample=t == "-3,1")
    for t in ("5", "1e300,3e300", "1e-300,3e-300", "-1,5", "1e308,1e308"):
        b.add("stability", "sgd-curvatures", ["sgd", pc, t, "--batch", "1", "--eta", "0.1"], "either")
    b.add("stability", "sgd-curvatures", ["sgd", pc, ",".join(["1", "2"] * 10000), "--batch", "7", "--json"], "either")
    for t in ("0", "-1", "5", "1.5", "nan", "", "1e300"):  # n = 4: 5 and 1e300 exceed n
        b.add("stability", "sgd-batch", ["sgd", pc, ok_data, "--batch", t], "bad", sample=t == "5")
    for t in ("4", "1e300"):
        b.add("stability", "sgd-batch", ["sgd", pc, ok_data, "--batch", t, "--with-replacement", "--json"], "either")
    for t in ("nan", "-inf", "1e400", "0", "-0", "-1"):
        b.add("stability", "sgd-eta", ["sgd", pc, ok_data, "--batch", "2", "--eta", t], "bad")
    for t in ("1e-300", "1e300", "10"):
        b.add("stability", "sgd-eta", ["sgd", pc, ok_data, "--batch", "2", "--eta", t, "--json"],
              "either" if t == "1e300" else "ok")  # 1e300: the growth factor overflows a float
    b.add("stability", "valid", ["sgd", pc, ok_data, "--batch", "2", "--eta", "0.4"], "ok", sample=True)
    b.add("stability", "valid", ["sgd", pc, ok_data, "--batch", "4", "--json"], "ok")
    b.add("stability", "valid", ["sgd", pc, "1", "--batch", "1", "--json"], "ok")  # n = 1: no noise, c not 0/0
    # the stationary-noise report
    noise = ["--curvature", "2", "--noise", "1"]
    for t in ("nan", "inf", "0", "-1"):
        b.add("stability", "sgd-noise", ["sgd", "--curvature", t, "--noise", "1", "--eta", "0.1"], "bad")
    for t in ("nan", "1e400", "-1e-300", "abc"):
        b.add("stability", "sgd-noise", ["sgd", "--curvature", "2", "--noise", t, "--eta", "0.1"], "bad")
    for t in ("0", "1e150"):
        b.add("stability", "sgd-noise", ["sgd", "--curvature", "2", "--noise", t, "--eta", "0.1", "--json"], "either")
    for eta in ("0.5", "1", "1.5", "1e300", "1e-300"):  # eta a = 1, 1.4, 2, 3: no exact SDE / no stationary state
        b.add("stability", "sgd-noise", ["sgd", *noise, "--eta", eta, "--json"], "ok" if eta != "1e300" else "either",
              sample=eta == "1")
    b.add("stability", "sgd-noise", ["sgd", "--curvature", "1e-300", "--noise", "1e300", "--eta", "1"], "either")
    b.add("stability", "sgd-noise", ["sgd", *noise, "--eta", "0.1", "--batch", "0"], "bad")
    b.add("stability", "sgd-noise", ["sgd", *noise, "--eta", "0.1", "--batch", "1e300"], "either")
    b.add("stability", "sgd-noise", ["sgd", *noise], "bad")
    b.add("stability", "sgd-noise", ["sgd", "--noise", "1", "--eta", "0.1"], "bad")
    b.add("stability", "valid", ["sgd", *noise, "--eta", "0.1", "--batch", "8"], "ok")
    # mixing modes, options of other reports, options without their mode
    b.add("stability", "option-not-taken", ["sgd", pc, ok_data, "--batch", "2", "--curvature", "1"], "bad",
          sample=True)
    b.add("stability", "option-not-taken", ["sgd", pc, ok_data, "--batch", "2", "--noise", "1"], "bad")
    for i, extra in enumerate((["--beta", "0.5"], ["--mu", "1"], ["--L", "10"], ["--set", "lr=0.1"],
                               ["--map", "momentum=0:1"], ["--tune", "lr"], ["--eigenvalues", "1,10"],
                               ["--out", "x.png"])):
        mode = [pc, ok_data, "--batch", "2"] if i % 2 else [*noise, "--eta", "0.1"]
        b.add("stability", "option-not-taken", ["sgd", *mode, *extra], "bad")
    b.add("stability", "option-not-taken", ["sgd", "--with-replacement"], "bad")
    b.add("stability", "option-not-taken", ["sgd", *noise, "--eta", "0.1", "--with-replacement"], "bad")
    b.add("stability", "option-not-taken", ["sgd", "--batch", "2"], "bad")
    b.add("stability", "option-not-taken", ["gd", "--eigenvalues", "1", pc, "1,2", "--batch", "1"], "bad")
    b.add("stability", "option-not-taken", ["heavy-ball", "--curvature", "1", "--noise", "1", "--eta", "0.1"], "bad")
    b.add("stability", "option-not-taken", ["adam", "--set", "lr=0.1", "--with-replacement"], "bad")



def _sweep_scheduler(b: Builder) -> None:
    """``ldyn sweep --scheduler ADDRESS`` (issue #18): an address that is not a Dask scheduler is one line, at once."""
    q = ["least-squares", "lr", "0.1,0.5", "--seeds", "2", "--set", "steps=20"]
    for address in ("nonsense", "", "tcp://127.0.0.1:1", "tcp://[::1", "http://127.0.0.1:8786", "tcp://no-such-host.invalid:8786"):
        b.add("sweep", "scheduler", q + ["--scheduler", address], "bad", sample=address == "tcp://127.0.0.1:1")
    b.add("sweep", "scheduler", q + ["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "bad")
