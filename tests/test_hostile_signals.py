"""Issue #21, signals: Ctrl-C ends any command with one line and exit 130 (SIGTERM: 143), worker processes
included; a signal (even SIGKILL) while `ldyn notes` writes leaves every file old or new, never truncated."""
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LDYN = [sys.executable, "-m", "verify.cli"]
PNG_END = b"IEND\xaeB`\x82"  # the last 8 bytes of every complete PNG (IEND chunk and its CRC)


def _start(argv, **kwargs):
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, **kwargs)


def _group_gone(pid: int, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _wait_until_in_main(pid: int, seconds: float = 30) -> None:
    """Until ``ldyn``'s main() runs: it is the only code that catches SIGTERM (bit 14 of SigCgt in
    /proc/PID/status).  Before that the interpreter is still starting, where Ctrl-C is Python's own."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
        caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
        if caught >> (signal.SIGTERM - 1) & 1:
            return
        time.sleep(0.002)
    raise AssertionError("ldyn's main() never started")


@pytest.mark.parametrize("argv, delay", [
    (["notes", "--out", "{tmp}/notes"], 1.0),
    (["verify"], 2.0),
    (["sweep", "least-squares", "lr", "1:3", "--num", "2000", "--seeds", "10"], 2.0),  # a process pool
    (["experiment", "phase-transitions", "--out", "{tmp}/exp"], 3.0),
    (["audit", "hermosis"], 0.0),
    (["derive", "--list"], 0.0),  # while it imports SymPy
    (["modified-equation", "--loss", "(x**2 + y**2 + z**2 - 1)**2/4", "--order", "3"], 2.0),
    (["verify-impl", "tests/fixtures/hostile_user_code.py:sleep_in_step", "--rule", "sgd"], 2.0),  # a child process
], ids=["notes", "verify", "sweep", "experiment", "audit", "derive", "modified-equation", "verify-impl"])
@pytest.mark.parametrize("whole_group", [False, True], ids=["pid", "ctrl-c-group"])
def test_ctrl_c_ends_any_command_with_one_line_and_exit_130(argv, delay, whole_group, tmp_path):
    proc = _start(LDYN + [a.format(tmp=tmp_path) for a in argv])
    _wait_until_in_main(proc.pid)
    time.sleep(delay)
    (os.killpg if whole_group else os.kill)(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 130, err[-500:]
    assert err.endswith("ldyn: interrupted\n") and err.count("ldyn:") == 1, err[-500:]
    assert err == "ldyn: interrupted\n" or err.endswith("\nldyn: interrupted\n")  # on a line of its own
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "Exception ignored" not in err
    assert _group_gone(proc.pid)  # no worker process left behind


@pytest.mark.parametrize("whole_group", [False, True], ids=["pid", "group"])
def test_sigterm_during_a_pooled_sweep_exits_143_and_stops_the_workers(whole_group):
    proc = _start(LDYN + ["sweep", "least-squares", "lr", "1:3", "--num", "2000", "--seeds", "10"])
    _wait_until_in_main(proc.pid)
    time.sleep(2)
    (os.killpg if whole_group else os.kill)(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 143 and err.endswith("\nldyn: terminated\n"), err[-500:]
    assert "Traceback" not in err and "Exception ignored" not in err and _group_gone(proc.pid)


#: `ldyn notes` with the text files replaced by three small ones (building the real ones takes a minute) and the
#: certified rates of one figure replaced by closed forms (solving them takes ~17 s)
#: and, with a second argument, a slow disk: every binary file opened for writing (by open, io.open or
#: os.fdopen, whoever opens it) takes its data in 4 chunks, PAUSE seconds apart, so that a signal lands
#: while a file is half written.  The figures, the manifest, the writing, main() and its signal handling
#: are the real ones.
FAST_NOTES = """
import builtins, io, os, sys, time
import verify.notes as notes
notes._texts = lambda: {"README.md": "index\\n" * 1000, "a.md": "a\\n" * 50000, "b.tex": "b\\n" * 50000}
import numpy as np
import verify.figures.certify as cf  # its 28 SDPs take ~17 s; the figure is still drawn, from quadratic rates
cf.certified_rates = lambda kappas=cf.KAPPAS: {n: (1 - 1 / np.sqrt(np.array(kappas)),) * 2 for n in cf.TUNINGS}
if len(sys.argv) > 2:
    PAUSE = float(sys.argv[2])

    class Slow:
        def __init__(self, f):
            self._f = f
        def write(self, data):
            data = bytes(data)
            step = max(1, len(data) // 4)
            for i in range(0, len(data), step):
                self._f.write(data[i:i + step])
                self._f.flush()
                time.sleep(PAUSE)
            return len(data)
        def __getattr__(self, name):
            return getattr(self._f, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self._f.close()

    def slow(real):
        def opener(file, mode="r", *args, **kwargs):
            f = real(file, mode, *args, **kwargs)
            return Slow(f) if "w" in mode and "b" in mode else f
        return opener

    builtins.open = io.open = slow(io.open)
    os.fdopen = slow(os.fdopen)
from verify.cli import main
sys.exit(main(["notes", "--out", sys.argv[1]]))
"""


def _fast_notes(out, pause=None):
    return _start([sys.executable, "-c", FAST_NOTES, str(out)] + ([str(pause)] if pause else []))


@pytest.fixture(scope="module")
def fast_reference(tmp_path_factory) -> dict[str, bytes]:
    """relative path -> bytes of a complete FAST_NOTES tree."""
    out = tmp_path_factory.mktemp("fast") / "notes"
    proc = _fast_notes(out)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_a_signal_while_notes_writes_leaves_every_file_old_or_new(tmp_path, sig, fast_reference):
    new = fast_reference
    pngs = sorted(k for k in new if k.endswith(".png"))
    from verify.figures import FIGURES

    assert len(pngs) == len(FIGURES) and all(new[k].endswith(PNG_END) for k in pngs)
    old = dict(new)
    for k, other in zip(pngs, pngs[1:] + pngs[:1]):  # old PNGs: valid, but each another figure's
        old[k] = new[other]
    out = tmp_path / "notes"
    for delay in (0.0, 0.25, 0.7, 1.5):
        for rel, data in old.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(data)
        stamp = {k: (out / k).stat().st_mtime_ns for k in pngs}
        proc = _fast_notes(out, pause=0.05)
        end = time.monotonic() + 60
        while all((out / k).stat().st_mtime_ns == stamp[k] for k in pngs) and proc.poll() is None:
            assert time.monotonic() < end
            time.sleep(0.005)  # until the first figure is replaced: the run is writing
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        if sig == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
        else:
            assert proc.returncode == {signal.SIGTERM: 143, signal.SIGINT: 130}[sig], err
            assert err.decode() == {signal.SIGTERM: "ldyn: terminated\n", signal.SIGINT: "ldyn: interrupted\n"}[sig]
        replaced = 0
        for p in out.rglob("*"):
            if p.is_file():
                rel = str(p.relative_to(out))
                if rel.endswith(".tmp"):  # only a SIGKILL can leave a temporary file behind ...
                    assert sig == signal.SIGKILL, rel
                    p.unlink()
                    continue
                assert p.read_bytes() in (old[rel], new[rel]), (rel, delay)  # ... never a truncated file
                replaced += p.read_bytes() != old[rel]
        assert 1 <= replaced < len(pngs), delay  # the signal came while the figures were being replaced


#: a command during which Ctrl-C lands inside an at-fork callback (as it can when a process pool forks its
#: workers): there Python cannot raise, and prints "Exception ignored" unless ldyn handles it
CTRL_C_IN_A_FORK_CALLBACK = """
import os, signal, sys, time
import verify.cli as cli

def callback():
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(10 ** 5):  # the signal handler runs here, inside the callback
        pass

def command(args):
    os.register_at_fork(after_in_parent=callback)
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    time.sleep(30)
    return 0

cli.cmd_audit = command
sys.exit(cli.main(["audit", "hermosis"]))
"""


def test_ctrl_c_inside_a_fork_callback_still_ends_the_command_at_once():
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", CTRL_C_IN_A_FORK_CALLBACK], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 130 and proc.stderr == "ldyn: interrupted\n", proc.stderr
    assert time.monotonic() - start < 10  # not after the 30 s sleep
