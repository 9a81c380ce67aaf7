"""Run the hostile corpus against a checkout and classify every result.

    python -m tests.hostile.runner [--sample] [--pythonpath DIR] [--json FILE] [--only TEXT] [--workers N]

Each case runs as ``sys.executable -m verify.cli ARGS`` with ``PYTHONPATH=DIR`` (the code under test;
default: this checkout), in a fresh temporary folder as its working directory, with a wall limit (20 s
unless the case says otherwise), two at a time.  Classes, worst first:

* hang: still running at the wall limit (the process group is killed);
* traceback: the word Traceback on stderr, or stderr that is more than [argparse usage +] one line;
* files: wrote, changed or deleted a file outside the output folder it was given, or left a 0-byte,
  truncated (PNG without IEND, unparsable JSON) or temporary file;
* NaN: nan/inf on stdout (or a NaN/Infinity token in its JSON) where a number belongs, or an
  internal error about a NaN;
* wrong exit: the exit code or the form of the output is not the expected one (e.g. 0 for bad input,
  an internal error, a missing report);
* OK.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .case import COMMANDS, Case

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ("OK", "traceback", "hang", "NaN", "wrong exit", "files")
MEMORY_LIMIT = 6 * 2**30  # address space per case: a runaway expansion fails there instead of taking the machine

USAGE = re.compile(r"^usage: ")
ERROR = re.compile(r"^ldyn(?: [\w-]+)?: (error|internal error): \S")
PROGRESS = re.compile(r"^[^\s:][^:]*: \[[#.]*\] \d+/\d+$")
NONFINITE = re.compile(r"(?<![\w.'\"])[-+]?(nan|inf|infinity)(?![\w])", re.IGNORECASE)
TEMP_NAME = re.compile(r"(\.tmp|\.part|~)$|^\.?tmp[\w-]{6,}$|\.ldyn-")
SKIP_DIRS = {".git", ".venv", "__pycache__", ".hypothesis", ".pytest_cache"}


def _snapshot(folder: Path) -> dict[str, tuple]:
    """relative path -> (kind, size, digest) of everything under ``folder`` (symlinks not followed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), folder)] = ("dir", 0, "")
        for f in filenames:
            p = os.path.join(dirpath, f)
            try:
                with open(p, "rb") as fh:
                    data = fh.read()
                out[os.path.relpath(p, folder)] = ("file", len(data), hashlib.sha1(data).hexdigest())
            except OSError:
                out[os.path.relpath(p, folder)] = ("other", 0, "")
    return out


def _tree_state(code: Path) -> dict[str, tuple]:
    """(size, mtime) of every file of the checkout under test, for "the repo tree is untouched"."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(code):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for f in filenames:
            st = os.lstat(os.path.join(dirpath, f))
            out[os.path.relpath(os.path.join(dirpath, f), code)] = (st.st_size, st.st_mtime_ns)
    return out


def _prepare(case: Case, work: Path) -> None:
    for rel, content in case.files:
        p = work / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            p.mkdir()
        elif isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")


def _limits() -> None:  # in the child, before exec
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ValueError, OSError):
        pass


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _stderr_form(text: str) -> tuple[str | None, bool]:
    """(the error line or None, well-formed?): well-formed is [usage block +] at most one error line;
    progress bars (carriage-return segments) and the user's framed output (verify-impl) do not count, an
    error glued to a progress bar does."""
    # the user's own output, which verify-impl passes on framed and truncated, is theirs, not an error of ours
    text = re.sub(r"\[ldyn: output of your code[^\n]*\n.*?\[ldyn: end of your code's output\]\n?", "", text,
                  flags=re.S)
    lines = []
    for line in text.split("\n"):
        segments = [s for s in line.split("\r") if s.strip()]
        while segments and PROGRESS.match(segments[0]):
            segments.pop(0)
        if segments:
            lines.append("\r".join(segments))
    if lines and USAGE.match(lines[0]):
        lines.pop(0)
        while lines and lines[0][:1].isspace():
            lines.pop(0)
    if not lines:
        return None, True
    return (lines[0], True) if len(lines) == 1 and ERROR.match(lines[0]) else (lines[-1], False)


def _file_problems(case: Case, work: Path, before: dict, after: dict) -> list[str]:
    allowed = [os.path.normpath(o) for o in case.outputs]

    def inside(rel: str) -> bool:  # rel is relative to the case folder (work's parent)
        r = os.path.relpath(os.path.join(work.parent, rel), work)
        return any(r == a or r.startswith(a + os.sep) for a in allowed)

    problems = []
    for rel, info in after.items():
        if before.get(rel) == info:
            continue
        what = "changed" if rel in before else "wrote"
        if not inside(rel):
            problems.append(f"{what} {rel} outside its output folder")
            continue
        name, (kind, size, _) = os.path.basename(rel), info
        if kind != "file":
            continue
        if size == 0:
            problems.append(f"left a 0-byte file {rel}")
        elif TEMP_NAME.search(name):
            problems.append(f"left a temporary file {rel}")
        elif name.endswith(".png"):
            data = (work.parent / rel).read_bytes()
            if not data.startswith(b"\x89PNG\r\n\x1a\n") or not data.endswith(b"IEND\xaeB`\x82"):
                problems.append(f"left a truncated PNG {rel}")
        elif name.endswith(".json"):
            try:
                json.loads((work.parent / rel).read_text(), parse_constant=_no_constant)
            except ValueError as exc:
                problems.append(f"left a broken JSON {rel} ({exc})"[:160])
    problems += [f"deleted {rel}" for rel in before if rel not in after]
    return problems


def _no_constant(token: str):
    raise ValueError(f"{token} in JSON")


def classify(case: Case, rc: int | None, out: str, err: str, hung: bool, files: list[str]) -> tuple[str, str]:
    """(class, detail) of one result against the case's expectation."""
    if hung:
        return "hang", f"no exit within {case.timeout:g} s"
    if "Traceback" in err:
        last = [line for line in err.strip().splitlines() if line.strip()]
        return "traceback", (last[-1] if last else "Traceback")[:200]
    error, well_formed = _stderr_form(err)
    if "internal error" in err and "a NaN" in err:  # the root cause, even under a pile of overflow warnings
        return "NaN", next(x for x in err.splitlines() if "internal error" in x)[-200:]
    if not well_formed:
        n = len([line for line in err.splitlines() if line.strip()])
        return "traceback", f"stderr not one line ({n} lines): {error!r}"[:200]
    if files:
        return "files", "; ".join(files)[:300]
    internal = bool(error) and "internal error" in error
    if internal and "nan" in error.lower():
        return "NaN", error[:200]
    report = rc in (0, 1) and bool(out.strip()) and not error
    if report and not case.nonfinite_ok:
        m = NONFINITE.search(out)
        if m:
            line = out[out.rfind("\n", 0, m.start()) + 1:out.find("\n", m.end())][:160]
            return "NaN", f"{m.group(0)!r} on stdout: {line.strip()}"
        if "--json" in case.argv:
            try:
                json.loads(out, parse_constant=_no_constant)
            except ValueError as exc:
                return "wrong exit", f"stdout is not strict JSON ({exc})"[:200]
    if report:
        for pattern in case.forbid:
            if re.search(pattern, out):
                return "wrong exit", f"stdout matches {pattern!r} (a wrong result)"
    if error and "unrecognized arguments" in error and "--time-limit" in error:
        return "wrong exit", "--time-limit is not an option yet"
    refused = rc == 2 and bool(error) and not internal
    good = {"bad": refused, "ok": report, "fails": refused or (report and rc == 1),
            "either": refused or report}[case.expect]
    if good:
        return "OK", ""
    what = error or (f"stdout: {out.strip()[:80]!r}" if out.strip() else "no output")
    return "wrong exit", f"exit {rc}, expected {case.expect}: {what}"[:240]


def run_case(case: Case, pythonpath: str | Path = ROOT, keep: bool = False) -> dict:
    """Run one case in a fresh folder; return its result (class, detail, exit code, seconds, ...)."""
    base = Path(tempfile.mkdtemp(prefix="hostile-"))
    work = base / "work"
    work.mkdir()
    try:
        _prepare(case, work)
        before = _snapshot(base)
        argv = [a.replace("{cwd}", str(work)) for a in case.argv]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LDYN"))}
        env.update(PYTHONPATH=str(pythonpath), MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "verify.cli", *argv], cwd=work, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, preexec_fn=_limits)
        hung = False
        try:
            out, err = proc.communicate(timeout=case.timeout)
        except subprocess.TimeoutExpired:
            hung = True
            _kill_group(proc.pid)
            out, err = proc.communicate()
        _kill_group(proc.pid)  # what the command left running (workers, the user's child process)
        seconds = time.monotonic() - t0
        out_s, err_s = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        files = _file_problems(case, work, before, _snapshot(base))
        cls, detail = classify(case, proc.returncode, out_s, err_s, hung, files)
        return {**case.to_json(), "class": cls, "detail": detail, "rc": proc.returncode,
                "seconds": round(seconds, 2), "stderr": err_s[-600:], "stdout": out_s[:300]}
    finally:
        if not keep:
            for dirpath, dirnames, _ in os.walk(base):  # a case may have made a folder read-only
                for d in dirnames:
                    try:
                        os.chmod(os.path.join(dirpath, d), 0o700)
                    except OSError:
                        pass
            shutil.rmtree(base, ignore_errors=True)


def run_all(cases, pythonpath: str | Path = ROOT, workers: int = 2, progress=None) -> list[dict]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_case, c, pythonpath) for c in cases]
        results = []
        for i, (c, f) in enumerate(zip(cases, futures)):
            try:
                results.append(f.result())
            except Exception as exc:  # noqa: BLE001 - the runner could not start it: say so, keep going
                results.append({**c.to_json(), "class": "wrong exit", "detail": f"runner could not run it: {exc!r}",
                                "rc": None, "seconds": 0.0, "stderr": "", "stdout": ""})
            if progress:
                progress(i + 1, len(futures), results[-1])
    return results


def table(results: list[dict]) -> dict[str, dict[str, int]]:
    """command -> class -> count (with a "total" row)."""
    rows = {}
    for r in results:
        for key in (r["command"], "total"):
            row = rows.setdefault(key, {c: 0 for c in CLASSES})
            row[r["class"]] += 1
    order = [c for c in COMMANDS + ("ldyn",) if c in rows] + ["total"]
    return {k: rows[k] for k in order if k in rows}


def show_arg(a: str) -> str:
    """An argument, quoted, with control characters escaped and long ones shortened."""
    s = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in a)
    if len(s) > 60:
        s = s[:50] + f"...({len(a)} chars)"
    return "'" + s.replace("'", "'\\''") + "'" if (not s or any(c in s for c in " '\"$;()*|&<>\\!`")) else s


def format_report(results: list[dict]) -> str:
    t = table(results)
    width = max(len(k) for k in t) + 2
    lines = ["command".ljust(width) + "".join(f"{c:>12s}" for c in CLASSES) + f"{'total':>8s}"]
    for k, row in t.items():
        lines.append(k.ljust(width) + "".join(f"{row[c]:12d}" for c in CLASSES) + f"{sum(row.values()):8d}")
    bad = [r for r in results if r["class"] != "OK"]
    lines.append(f"\n{len(bad)} of {len(results)} cases not OK:" if bad else f"\nall {len(results)} cases OK")
    for r in sorted(bad, key=lambda r: (CLASSES.index(r["class"]), r["id"])):
        lines.append(f"  {r['class']:10s} {r['id']:38s} {r['detail'][:150]}\n"
                     f"  {'':10s} $ ldyn {' '.join(show_arg(a) for a in r['argv'])}"[:400])
    return "\n".join(lines)


def main(argv=None) -> int:
    from . import corpus

    p = argparse.ArgumentParser(prog="python -m tests.hostile.runner", description=__doc__.split("\n")[0])
    p.add_argument("--sample", action="store_true", help="only the quick sample (what pytest runs by default)")
    p.add_argument("--pythonpath", default=str(ROOT), help="the checkout to test (default: this one)")
    p.add_argument("--json", help="write every result here")
    p.add_argument("--only", help="only cases whose id contains this text")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    cases = corpus.sample() if args.sample else corpus.cases()
    if args.only:
        cases = tuple(c for c in cases if args.only in c.id)
    code = Path(args.pythonpath).resolve()
    tree_before = _tree_state(code)
    t0 = time.monotonic()

    def progress(done, total, r):
        if r["class"] != "OK" or done % 25 == 0 or done == total:
            print(f"[{done}/{total}] {r['class']:10s} {r['id']}", file=sys.stderr, flush=True)

    results = run_all(cases, code, args.workers, progress)
    tree_after = _tree_state(code)
    changed = sorted(k for k in set(tree_before) | set(tree_after) if tree_before.get(k) != tree_after.get(k))
    print(f"hostile corpus: {len(results)} cases against {code} ({time.monotonic() - t0:.0f} s, {args.workers} workers)")
    print(format_report(results))
    if changed:
        print(f"\nthe checkout under test changed during the run ({len(changed)} files; with other people editing "
              f"it this need not be the corpus): {', '.join(changed[:10])}")
    if args.json:
        Path(args.json).write_text(json.dumps({"pythonpath": str(code), "cases": results, "table": table(results),
                                               "tree_changed": changed}, indent=1))
    return 0 if all(r["class"] == "OK" for r in results) and not changed else 1


if __name__ == "__main__":
    sys.exit(main())
