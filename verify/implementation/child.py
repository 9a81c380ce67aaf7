"""The user's code of ``ldyn verify-impl`` in a child process, under a time limit.

Why: the user's import, factory, ``init`` and ``step`` may sleep, loop, crash the interpreter, call
``os._exit``, raise any ``BaseException`` or print megabytes; none of that may hang or end ``ldyn``
or reach its stdout.  So the reference (SymPy, lambdify) stays in this process and only the user's
calls go to one child per run (:class:`UserCode`), a fresh interpreter started with ``subprocess``
(no fork of a process holding SymPy, threads or locks) in its own session (Ctrl-C and a kill of the
group reach it only through us), which ignores SIGINT.

Protocol: pickled messages over two pipes; the child's stdin is /dev/null, its stdout and stderr
(the user's prints, from Python or from C) a third pipe that a thread here drains, keeping the first
``OUTPUT_LIMIT`` bytes (written to our stderr when the child ends, with a note of how much there
was).  Requests: ``load`` (the problems, then the import of SPEC: the keywords the callable accepts),
``build`` (the base configuration's optimizer: its kind), ``run`` (one configuration: the
implementation's Runs on every problem, closed-loop; one round-trip per configuration).  Before each
call into user code the child writes (phase, problem, step) into a shared page, so a time-out or a
crash names where it happened.  The time limit is one budget for all user code of the run: each
request's wait is charged to it; the time the reference takes here is not.  A fourth pipe, never
written, is the child's lifeline: when this process dies the child's watchdog thread sees EOF and
exits, even in the middle of a user loop.  POSIX only (pass_fds, sessions).
"""
from __future__ import annotations

import mmap
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection

import numpy as np

from verify.implementation.runs import run_implementation
from verify.implementation.user import InputError, _one_line, _signature, failing, implementation, load

#: bytes of the user's output shown on our stderr; the rest is counted, not shown
OUTPUT_LIMIT = 4096
#: seconds the child may take to start (import NumPy and this package): not charged to the user
STARTUP_SECONDS = 120
#: exit code of a child whose pipe to us was closed or broken by the user's code
_BROKEN_PIPE = 86
#: phases written to the shared page
_OURS, _IMPORT, _FACTORY, _INIT, _STEP = range(5)
_BOOT = ("import sys; sys.path[0] = sys.argv[-1]; "
         "from verify.implementation.child import main; main([int(a) for a in sys.argv[1:-1]])")


class UserCode:
    """One child process for the user's code of one run (a context manager; see the module docstring)."""

    def __init__(self, spec: str, time_limit: float) -> None:
        self.spec, self.limit, self.left = spec, float(time_limit), float(time_limit)
        self.problems, self.configuration = [], "base"
        self._proc = None

    # -- the requests -----------------------------------------------------------------
    def load(self, problems, steps: int, shape) -> list[str] | None:
        """Import SPEC in the child; the keywords its callable accepts (None: any)."""
        self.problems = list(problems)
        self._request(None, budget=STARTUP_SECONDS)  # the child's "ready"
        return self._request(("load", self.spec, list(sys.path), self.problems, steps, shape))

    def build(self, hyper: dict) -> str:
        """Build the base configuration's optimizer; its kind ("factory", "step function", ...)."""
        return self._request(("build", hyper))

    def run(self, configuration: str, hyper: dict | None, keys) -> list:
        """The implementation's Runs on every problem in one configuration (``hyper`` None: the base
        optimizer; else built anew with ``hyper``, a failure to build being that configuration's)."""
        self.configuration = configuration
        return self._request(("run", configuration, hyper, list(keys)))

    # -- the process ------------------------------------------------------------------
    def __enter__(self) -> "UserCode":
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        self._out_r, out_w = os.pipe()
        life_r, self._life_w = os.pipe()
        self._page = tempfile.TemporaryFile()
        self._page.truncate(mmap.PAGESIZE)
        self._map = mmap.mmap(self._page.fileno(), mmap.PAGESIZE)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        fds = (req_r, resp_w, life_r, self._page.fileno())
        self._kept, self._total = bytearray(), 0
        try:
            self._proc = subprocess.Popen([sys.executable, "-c", _BOOT, *map(str, fds), root], stdin=subprocess.DEVNULL,
                                          stdout=out_w, stderr=out_w, pass_fds=fds, start_new_session=True)
        except BaseException:
            for fd in (self._req_w, self._resp_r, self._out_r, self._life_w):
                os.close(fd)
            self._map.close()
            self._page.close()
            raise
        finally:
            for fd in (req_r, resp_w, out_w, life_r):
                os.close(fd)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self._send, self._recv = Connection(self._req_w, readable=False), Connection(self._resp_r, writable=False)
        return self  # the child starts (imports NumPy) while the caller builds the reference

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Kill the child (and anything it started in its session), then show the user's output."""
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        _kill(proc)
        for c in (self._send, self._recv):
            c.close()
        os.close(self._life_w)
        self._reader.join(timeout=2)
        self._map.close()
        self._page.close()
        self._show_output()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._out_r, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                os.close(self._out_r)
                return
            self._total += len(chunk)
            if len(self._kept) < OUTPUT_LIMIT:
                self._kept += chunk[:OUTPUT_LIMIT - len(self._kept)]

    def _show_output(self) -> None:
        """The user's output between two marker lines (the first says how much of it is shown)."""
        if not self._total:
            return
        text = self._kept.decode("utf-8", errors="replace")
        cut = self._total > len(self._kept)
        text = (f"[ldyn: output of your code ({self._total} bytes"
                + (f", the first {len(self._kept)} shown" if cut else "") + "):]\n" + text
                + ("" if text.endswith("\n") else " ...\n" if cut else "\n") + "[ldyn: end of your code's output]\n")
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed: nothing to show it on
            pass

    def _request(self, message, budget: float | None = None):
        """Send ``message`` (None: none, wait for "ready"), wait for the reply within the budget left."""
        start = time.monotonic()
        limit = self.left if budget is None else budget
        try:
            reply = self._exchange(message, start, limit)
        finally:
            if budget is None:
                self.left -= time.monotonic() - start
        if reply is None:
            self._timeout(budget is not None)
        if reply is EOFError:
            self._crashed(budget is not None)
        kind, value = reply
        if kind == "ok":
            return value
        if kind == "input":
            raise InputError(value)
        raise RuntimeError(f"verify-impl's process for your code failed: {value}")

    def _exchange(self, message, start: float, limit: float):
        """The reply; None if none came within ``limit`` seconds from ``start``, EOFError if the child ended."""
        try:
            if message is not None:
                self._send.send(message)
            while not self._recv.poll(min(max(limit - (time.monotonic() - start), 0.0), 3600.0)):
                if time.monotonic() - start >= limit:
                    return None
            reply = self._recv.recv()
        except (EOFError, OSError):
            return EOFError
        except Exception as exc:  # noqa: BLE001 - a reply the user's code garbled
            _kill(self._proc)
            raise InputError(f"the reply of the process running your code could not be read "
                             f"({type(exc).__name__}; did your code write to file descriptors it did not open?), "
                             f"{self._where()}") from None
        if not (isinstance(reply, tuple) and len(reply) == 2):
            _kill(self._proc)
            raise InputError(f"the process running your code sent a reply that is not ldyn's ({self._where()})")
        return reply

    def _state(self) -> tuple[int, int, int]:
        return struct.unpack_from("3q", self._map, 0)

    def _where(self) -> str:
        phase, problem, step = self._state()
        config = f"configuration {self.configuration}"
        name = self.problems[problem].name if 0 <= problem < len(self.problems) else str(problem)
        if phase == _IMPORT:
            return f"importing {self.spec.rpartition(':')[0]}"
        if phase == _FACTORY:
            return f"building your optimizer, {config}"
        if phase == _INIT:
            return f"in init, problem {name}, {config}"
        if phase == _STEP:
            return f"in step {step} of problem {name}, {config}"
        return f"after step {step} of problem {name}, {config}" if step else f"before your code ran, {config}"

    def _timeout(self, starting: bool):
        _kill(self._proc)
        if starting:
            raise RuntimeError(f"the process for your code did not start within {STARTUP_SECONDS} s")
        raise InputError(f"your code did not finish within {self.limit:g} s ({self._where()}); "
                         "if it is only slow, give more with --time-limit SECONDS")

    def _crashed(self, starting: bool):
        try:  # the pipe ended: the process has ended, or is ending (unless the user's code closed the pipe)
            self._proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        code = _kill(self._proc)
        if starting:
            self._reader.join(timeout=2)
            first = self._kept.decode("utf-8", errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"the process for your code did not start (exit code {code}"
                               + (f": {first[0][:200]})" if first else ")"))
        if code == _BROKEN_PIPE:
            how = "it closed or broke the pipe to ldyn"
        elif code is not None and code < 0:
            try:
                how = f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit code {code}"
        raise InputError(f"the process running your code ended ({how}, {self._where()}): your code must return "
                         "from init and step (no os._exit, no crash)")


def _kill(proc) -> int | None:
    """Kill ``proc``'s session (it leads one), wait for it; its return code."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
    else:  # ended: whatever it started in its session goes too
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        return None


# -- the child ------------------------------------------------------------------------------
def main(fds: list[int]) -> None:
    """The child's loop: the requests of :class:`UserCode`, one reply each."""
    req_fd, resp_fd, life_fd, page_fd = fds
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(life_fd,), daemon=True).start()
    page = mmap.mmap(page_fd, mmap.PAGESIZE)
    where = np.frombuffer(page, dtype=np.int64, count=3)
    requests, replies = Connection(req_fd, writable=False), Connection(resp_fd, readable=False)
    state = {"where": where}
    _reply(replies, ("ok", "ready"))
    while True:
        try:
            message = requests.recv()
        except (EOFError, OSError):
            os._exit(0)
        try:
            reply = ("ok", _handle(state, message))
        except InputError as exc:
            reply = ("input", str(exc))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, on one line
            reply = ("input" if where[0] != _OURS else "internal",
                     f"{_one_line(exc)} ({'in your code' if where[0] != _OURS else 'in verify-impl'})")
        where[0] = _OURS
        for stream in (sys.stdout, sys.stderr):  # the user's buffered prints, before we answer
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001 - the user may have closed or replaced them
                pass
        _reply(replies, reply)


def _reply(conn: Connection, reply) -> None:
    try:
        conn.send(reply)
    except BaseException:  # noqa: BLE001 - the user's code closed our pipe: nothing left to say
        os._exit(_BROKEN_PIPE)


def _watch(fd: int) -> None:
    """Exit when the parent is gone (EOF on the lifeline it holds open)."""
    try:
        while os.read(fd, 1):
            pass
    except OSError:  # the user's code closed the lifeline: stop watching
        return
    os._exit(0)


def _handle(state: dict, message):
    where = state["where"]
    kind = message[0]
    if kind == "load":
        _, spec, path, state["problems"], state["steps"], state["shape"] = message
        sys.path[:] = path
        where[:] = (_IMPORT, -1, 0)
        state["obj"] = obj = load(spec)
        where[0] = _OURS
        sig = _signature(obj)
        if sig is None or any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            return None
        return list(sig.parameters)
    if kind == "build":
        where[:] = (_FACTORY, -1, 0)
        state["base"] = impl = implementation(state["obj"], message[1], state["shape"])
        return impl.kind
    if kind == "run":
        _, _name, hyper, keys = message
        impl = state["base"]
        if hyper is not None:
            where[:] = (_FACTORY, -1, 0)
            try:
                impl = implementation(state["obj"], hyper, state["shape"])
            except InputError as exc:
                impl = failing(f"building your optimizer for this configuration: {exc}")
        runs = []
        for i, p in enumerate(state["problems"]):
            where[:] = (_INIT, i, 0)

            def progress(k):
                where[0], where[2] = (_STEP, k) if k else (_INIT, 0)

            with np.errstate(all="ignore"):
                runs.append(run_implementation(impl, p, state["steps"], keys, progress))
            where[0] = _OURS
        return runs
    raise ValueError(f"unknown request {kind!r}")
